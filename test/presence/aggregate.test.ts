import { describe, expect, it } from 'vitest';
import {
  aggregateStatus,
  effectiveActivity,
  initialState,
  isLive,
  liveDevices,
  platformsOf,
  publishedRecord,
  samePublished,
  type Device,
  type KnownStatus,
  type ManualStatus,
  type Published,
  type UserState,
} from '../../presence/index.js';
import { DEFAULTS, MINUTE, T0, device } from './fixtures.js';

const IDLE_MS = DEFAULTS.idleMs;
const active = device({ deviceId: 'laptop', platform: 'DESKTOP', activity: 'ACTIVE', lastActiveAt: T0 });
const idle = device({ deviceId: 'phone', platform: 'MOBILE', activity: 'IDLE' });
/** Says ACTIVE, but has not reported activity for the whole idle timeout. */
const stale = device({ deviceId: 'tab', platform: 'WEB', activity: 'ACTIVE', lastActiveAt: T0 - IDLE_MS });

describe('isLive', () => {
  it.each([
    ['a millisecond before its expiry', true, T0 - 1],
    ['at its expiry', false, T0],
    ['after its expiry', false, T0 + 1],
  ])('should hold a device %s to be live: %s', (_name, live, now) => {
    expect(isLive(device({ deviceId: 'd', expiresAt: T0 }), now)).toBe(live);
  });
});

describe('effectiveActivity', () => {
  it.each([
    ['ACTIVE reported just now', 'ACTIVE', 'ACTIVE', T0],
    ['ACTIVE reported a millisecond short of the idle timeout ago', 'ACTIVE', 'ACTIVE', T0 - IDLE_MS + 1],
    ['ACTIVE reported exactly the idle timeout ago', 'IDLE', 'ACTIVE', T0 - IDLE_MS],
    ['ACTIVE reported an hour ago', 'IDLE', 'ACTIVE', T0 - 60 * MINUTE],
    ['IDLE reported just now', 'IDLE', 'IDLE', T0],
  ] as const)('should take %s as %s', (_name, expected, activity, lastActiveAt) => {
    expect(effectiveActivity(device({ deviceId: 'd', activity, lastActiveAt }), T0, IDLE_MS)).toBe(expected);
  });

  it('should count nothing as ACTIVE with an idle timeout of 0', () => {
    expect(effectiveActivity(device({ deviceId: 'd', lastActiveAt: T0 }), T0, 0)).toBe('IDLE');
  });
});

describe('aggregateStatus', () => {
  it.each([
    ['no device', 'OFFLINE', [], 'AUTO'],
    ['no device, even in DND', 'OFFLINE', [], 'DND'],
    ['one ACTIVE device', 'ONLINE', [active], 'AUTO'],
    ['one IDLE device', 'IDLE', [idle], 'AUTO'],
    ['an IDLE and an ACTIVE device', 'ONLINE', [idle, active], 'AUTO'],
    ['a device silent for the idle timeout', 'IDLE', [stale], 'AUTO'],
    ['a stale and an ACTIVE device', 'ONLINE', [stale, active], 'AUTO'],
    ['an ACTIVE device in DND', 'DND', [active], 'DND'],
    ['an IDLE device in DND', 'DND', [idle], 'DND'],
  ] satisfies [string, KnownStatus, Device[], ManualStatus][])('should aggregate %s to %s', (_name, expected, devices, manual) => {
    expect(aggregateStatus(devices, manual, T0, IDLE_MS)).toBe(expected);
  });

  it('should leave INVISIBLE to the published record and report the true status', () => {
    expect(aggregateStatus([active], 'INVISIBLE', T0, IDLE_MS)).toBe('ONLINE');
  });
});

describe('platformsOf', () => {
  it('should list each platform once, in the Platform enum order (WEB, DESKTOP, MOBILE)', () => {
    const devices = [
      device({ deviceId: 'a', platform: 'MOBILE' }),
      device({ deviceId: 'b', platform: 'WEB' }),
      device({ deviceId: 'c', platform: 'MOBILE' }),
      device({ deviceId: 'd', platform: 'DESKTOP' }),
    ];
    expect(platformsOf(devices)).toEqual(['WEB', 'DESKTOP', 'MOBILE']);
    expect(platformsOf([...devices].reverse())).toEqual(['WEB', 'DESKTOP', 'MOBILE']);
  });

  it('should list nothing for no device', () => {
    expect(platformsOf([])).toEqual([]);
  });
});

function stateWith(devices: Device[], overrides: Partial<UserState> = {}): UserState {
  return { ...initialState('alice'), devices: Object.fromEntries(devices.map((d) => [d.deviceId, d])), ...overrides };
}

describe('liveDevices', () => {
  it('should keep only the devices whose expiry has not passed', () => {
    const gone = device({ deviceId: 'gone', expiresAt: T0 });
    const here = device({ deviceId: 'here', expiresAt: T0 + 1 });
    expect(liveDevices(stateWith([gone, here]), T0)).toEqual([here]);
  });
});

describe('publishedRecord', () => {
  it('should publish the status and sorted platforms of live devices, with no last-seen while online', () => {
    const state = stateWith([idle, active], { lastSeen: T0 - 10 * MINUTE });
    expect(publishedRecord(state, T0, IDLE_MS)).toEqual({ status: 'ONLINE', platforms: ['DESKTOP', 'MOBILE'], lastSeen: null });
  });

  it('should publish OFFLINE with no platforms and the last-seen bucket once no device is live', () => {
    const expired = device({ deviceId: 'phone', platform: 'MOBILE', expiresAt: T0 });
    const state = stateWith([expired], { lastSeen: T0 - 10 * MINUTE });
    expect(publishedRecord(state, T0, IDLE_MS)).toEqual({ status: 'OFFLINE', platforms: [], lastSeen: T0 - 10 * MINUTE });
  });

  it('should leave out the platform of an expired device', () => {
    const expired = device({ deviceId: 'phone', platform: 'MOBILE', expiresAt: T0 });
    expect(publishedRecord(stateWith([expired, active]), T0, IDLE_MS)).toEqual({ status: 'ONLINE', platforms: ['DESKTOP'], lastSeen: null });
  });

  it('should publish DND while a device is live and the user chose DND', () => {
    expect(publishedRecord(stateWith([active], { manual: 'DND' }), T0, IDLE_MS)).toEqual({ status: 'DND', platforms: ['DESKTOP'], lastSeen: null });
  });

  it('should keep the frozen record while INVISIBLE, whatever the devices say', () => {
    const frozen: Published = { status: 'OFFLINE', platforms: [], lastSeen: T0 - 3 * MINUTE };
    expect(publishedRecord(stateWith([active, idle], { manual: 'INVISIBLE', published: frozen }), T0, IDLE_MS)).toBe(frozen);
  });
});

describe('samePublished', () => {
  const online: Published = { status: 'ONLINE', platforms: ['WEB', 'MOBILE'], lastSeen: null };
  it.each([
    ['an equal copy', true, { status: 'ONLINE', platforms: ['WEB', 'MOBILE'], lastSeen: null }],
    ['another status', false, { status: 'IDLE', platforms: ['WEB', 'MOBILE'], lastSeen: null }],
    ['fewer platforms', false, { status: 'ONLINE', platforms: ['WEB'], lastSeen: null }],
    ['other platforms', false, { status: 'ONLINE', platforms: ['WEB', 'DESKTOP'], lastSeen: null }],
    ['a last-seen', false, { status: 'ONLINE', platforms: ['WEB', 'MOBILE'], lastSeen: T0 }],
  ] satisfies [string, boolean, Published][])('should find a record and %s the same: %s', (_name, same, other) => {
    expect(samePublished(online, other)).toBe(same);
    expect(samePublished(other, online)).toBe(same);
  });
});

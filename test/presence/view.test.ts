import { describe, expect, it } from 'vitest';
import {
  SEE_ALL,
  SEE_NOTHING,
  initialState,
  sameView,
  selfView,
  unknownView,
  viewPresence,
  type PresenceRecord,
  type PresenceView,
} from '../../presence/index.js';
import { DEFAULTS, MINUTE, T0, heartbeat, last, run, setManual, signOff, timing } from './fixtures.js';

const online: PresenceRecord = { userId: 'alice', published: { status: 'ONLINE', platforms: ['WEB', 'MOBILE'], lastSeen: null }, version: 7 };
const offline: PresenceRecord = { userId: 'alice', published: { status: 'OFFLINE', platforms: [], lastSeen: T0 - 12 * MINUTE }, version: 8 };
const UNKNOWN_ALICE: PresenceView = { userId: 'alice', status: 'UNKNOWN', lastSeen: null, platforms: [], version: 0 };

describe('unknownView', () => {
  it('should say UNKNOWN with no last-seen, no platforms and version 0', () => {
    expect(unknownView('alice')).toEqual(UNKNOWN_ALICE);
  });
});

describe('viewPresence', () => {
  it('should show UNKNOWN, never a cached status, when the hot store cannot be read', () => {
    expect(viewPresence('alice', null, SEE_ALL)).toEqual(UNKNOWN_ALICE);
  });

  it('should show a hidden user exactly as an unreadable one, so the viewer cannot tell the two apart', () => {
    expect(viewPresence('alice', online, SEE_NOTHING)).toEqual(UNKNOWN_ALICE);
    expect(viewPresence('alice', offline, SEE_NOTHING)).toEqual(viewPresence('alice', null, SEE_ALL));
  });

  it('should show an allowed viewer the published status, platforms and version', () => {
    expect(viewPresence('alice', online, SEE_ALL)).toEqual({ userId: 'alice', status: 'ONLINE', lastSeen: null, platforms: ['WEB', 'MOBILE'], version: 7 });
  });

  it('should show the last-seen bucket of an OFFLINE user to a viewer allowed to see it', () => {
    expect(viewPresence('alice', offline, SEE_ALL)).toEqual({ userId: 'alice', status: 'OFFLINE', lastSeen: T0 - 12 * MINUTE, platforms: [], version: 8 });
  });

  it('should show the status but no last-seen to a viewer who may see only the status', () => {
    expect(viewPresence('alice', offline, { status: true, lastSeen: false })).toEqual({
      userId: 'alice',
      status: 'OFFLINE',
      lastSeen: null,
      platforms: [],
      version: 8,
    });
  });
});

describe('sameView', () => {
  const shown = viewPresence('alice', online, SEE_ALL);

  it('should ignore the version alone', () => {
    expect(sameView(shown, { ...shown, version: 99 })).toBe(true);
  });

  it.each([
    ['the status', { status: 'IDLE' }],
    ['the platforms', { platforms: ['WEB'] }],
    ['the order-sensitive platform list', { platforms: ['MOBILE', 'WEB'] }],
    ['the last-seen', { lastSeen: T0 }],
  ] satisfies [string, Partial<PresenceView>][])('should notice a change of %s', (_name, change) => {
    expect(sameView(shown, { ...shown, ...change })).toBe(false);
  });
});

describe('selfView', () => {
  it('should show the truth to the user while INVISIBLE, and what everyone else sees beside it', () => {
    const state = last(run(initialState('alice'), [heartbeat('web', 'WEB', T0), heartbeat('phone', 'MOBILE', T0 + 1_000), setManual('INVISIBLE', T0 + 2_000)])).state;
    expect(selfView(state, T0 + 3_000, DEFAULTS)).toEqual({
      userId: 'alice',
      status: 'ONLINE',
      manual: 'INVISIBLE',
      published: { status: 'OFFLINE', platforms: [], lastSeen: T0 },
      devices: [state.devices.phone, state.devices.web],
      lastSeen: null,
      version: 3,
    });
  });

  it('should show DND to a user who chose it', () => {
    const state = last(run(initialState('alice'), [heartbeat('web', 'WEB', T0), setManual('DND', T0 + 1_000)])).state;
    expect(selfView(state, T0 + 2_000, DEFAULTS)).toMatchObject({ status: 'DND', manual: 'DND', lastSeen: null });
  });

  it('should show the true last-seen once offline, even where the invisible record froze an earlier one', () => {
    const state = last(
      run(initialState('alice'), [heartbeat('web', 'WEB', T0), setManual('INVISIBLE', T0 + 1_000), heartbeat('web', 'WEB', T0 + 3 * MINUTE), signOff('web', T0 + 3 * MINUTE)]),
    ).state;
    expect(selfView(state, T0 + 4 * MINUTE, DEFAULTS)).toMatchObject({
      status: 'OFFLINE',
      published: { status: 'OFFLINE', platforms: [], lastSeen: T0 },
      devices: [],
      lastSeen: T0 + 3 * MINUTE,
    });
  });

  it('should leave out devices whose expiry has passed though no sweep has run yet', () => {
    const state = last(run(initialState('alice'), [heartbeat('web', 'WEB', T0)])).state;
    expect(selfView(state, T0 + 70_000, DEFAULTS)).toMatchObject({ status: 'OFFLINE', devices: [] });
  });

  it('should apply auto-idle to the user\'s own status', () => {
    const fast = timing({ idleMs: MINUTE });
    const state = last(run(initialState('alice'), [heartbeat('web', 'WEB', T0)], fast)).state;
    expect(selfView(state, T0 + MINUTE, fast).status).toBe('IDLE');
  });
});

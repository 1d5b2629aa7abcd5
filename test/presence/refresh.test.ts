/**
 * The refresh of an open socket's device (presence/state.ts `refreshDevice`) and the idle time stores
 * index (`nextIdle`). Unit cases, then a property over random worlds: refreshing and then ticking is the
 * heartbeat `apply` would make.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply, initialState, nextIdle, refreshDevice, type Applied, type UserState } from '../../presence/index.js';
import { DEFAULTS, MINUTE, T0, disconnect, heartbeat, last, run, setManual } from './fixtures.js';
import { scenarioArb, simulate } from './simulation.js';

const RUNS = { numRuns: Number(process.env.PRESENCE_PROPERTY_RUNS ?? 300), interruptAfterTimeLimit: 20_000 };
const TTL = DEFAULTS.ttlMs;

const after = (commands: Parameters<typeof run>[1]) => last(run(initialState('alice'), commands)).state;

/** What a heartbeat leaves that others can observe (rev is the store's token, not part of it). */
function observable(state: UserState) {
  const { rev: _rev, ...rest } = state;
  return rest;
}

describe('nextIdle', () => {
  it('should be the earliest auto-idle of an ACTIVE device still ahead, and null when none is', () => {
    const state = after([heartbeat('web', 'WEB', T0), heartbeat('phone', 'MOBILE', T0 + MINUTE)]);
    expect(nextIdle(state, T0, DEFAULTS)).toBe(T0 + DEFAULTS.idleMs);
    expect(nextIdle(state, T0 + DEFAULTS.idleMs, DEFAULTS)).toBe(T0 + MINUTE + DEFAULTS.idleMs);
    expect(nextIdle(state, T0 + MINUTE + DEFAULTS.idleMs, DEFAULTS)).toBeNull();
    expect(nextIdle(after([heartbeat('web', 'WEB', T0, 'IDLE')]), T0, DEFAULTS)).toBeNull();
  });
});

describe('refreshDevice', () => {
  it('should move only the device\'s last sign of life and expiry — the state a quiet heartbeat leaves', () => {
    const state = after([heartbeat('web', 'WEB', T0)]);
    const now = T0 + 30_000;
    const refreshed = refreshDevice(state, 'web', 'WEB', now, now + TTL);
    expect(refreshed).toEqual({ ...state, devices: { web: { ...state.devices.web!, lastSeenAt: now, expiresAt: now + TTL } } });
    const full = apply(state, heartbeat('web', 'WEB', now), DEFAULTS);
    expect(full.effect).toBe('refresh');
    expect(observable(refreshed!)).toEqual(observable(full.state));
  });

  it.each([
    ['an unknown device', 'tablet', 'WEB'],
    ['a device known with another platform', 'web', 'DESKTOP'],
  ] as const)('should refuse %s (a full heartbeat must decide)', (_why, deviceId, platform) => {
    expect(refreshDevice(after([heartbeat('web', 'WEB', T0)]), deviceId, platform, T0 + 1_000, T0 + 1_000 + TTL)).toBeNull();
  });

  it('should never move an expiry back, nor a last sign of life', () => {
    const state = after([heartbeat('web', 'WEB', T0 + 10_000)]);
    expect(refreshDevice(state, 'web', 'WEB', T0, T0 + TTL)!.devices.web).toEqual(state.devices.web);
  });

  it('should leave an auto-idle or another device\'s expiry to the tick, which then makes the heartbeat\'s transition', () => {
    const two = after([heartbeat('web', 'WEB', T0), heartbeat('phone', 'MOBILE', T0 + 60_000)]);
    const now = T0 + TTL + 1;
    const refreshed = refreshDevice(two, 'phone', 'MOBILE', now, now + TTL)!;
    expect(Object.keys(refreshed.devices)).toEqual(['web', 'phone']);
    const ticked = apply(refreshed, { type: 'tick', now }, DEFAULTS);
    const full = apply(two, heartbeat('phone', 'MOBILE', now), DEFAULTS);
    expect(ticked.transition).toMatchObject({ from: 'ONLINE', to: 'ONLINE', published: { platforms: ['MOBILE'] }, cause: 'EXPIRY' });
    expect(observable(ticked.state)).toEqual(observable(full.state));
  });

  it('should keep a device in its grace window as a reconnect would, and DND and INVISIBLE as they are', () => {
    const grace = after([heartbeat('web', 'WEB', T0), disconnect('web', T0 + 1_000)]);
    const now = T0 + 2_000;
    expect(observable(refreshDevice(grace, 'web', 'WEB', now, now + TTL)!)).toEqual(observable(apply(grace, heartbeat('web', 'WEB', now), DEFAULTS).state));
    for (const manual of ['DND', 'INVISIBLE'] as const) {
      const set = after([heartbeat('web', 'WEB', T0), setManual(manual, T0 + 1_000)]);
      expect(observable(refreshDevice(set, 'web', 'WEB', now, now + TTL)!)).toEqual(observable(apply(set, heartbeat('web', 'WEB', now), DEFAULTS).state));
    }
  });
});

describe('refreshDevice then tick is the heartbeat', () => {
  const same = (ticked: Applied, full: Applied) => {
    expect(observable(ticked.state)).toEqual(observable(full.state));
    expect(ticked.transition && { from: ticked.transition.from, to: ticked.transition.to, version: ticked.transition.version, published: ticked.transition.published }).toEqual(
      full.transition && { from: full.transition.from, to: full.transition.to, version: full.transition.version, published: full.transition.published },
    );
  };

  it('should leave the devices, published record, version and last-seen apply leaves, for every live device over random worlds', () => {
    let checked = 0;
    let refused = 0;
    fc.assert(
      fc.property(scenarioArb, fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 4 }), (scenario, gaps) => {
        const { timing, applications } = simulate(scenario);
        for (const { result, command } of applications) {
          const devices = [...Object.values(result.state.devices), { deviceId: 'stranger', platform: 'WEB' as const }];
          for (const device of devices) {
            for (const platform of [device.platform, device.platform === 'WEB' ? 'MOBILE' : 'WEB'] as const) {
              // A chain of refreshes, each followed by the tick the sweeper makes, against a chain of heartbeats.
              let viaRefresh = result.state;
              let viaHeartbeat = result.state;
              let now = command.now;
              for (const gap of gaps) {
                now += gap;
                const live = viaRefresh.devices[device.deviceId];
                if (!live || now >= live.expiresAt) break;
                const refreshed = refreshDevice(viaRefresh, device.deviceId, platform, now, now + timing.ttlMs);
                if (!refreshed) {
                  refused++;
                  break;
                }
                checked++;
                const ticked = apply(refreshed, { type: 'tick', now }, timing);
                const full = apply(viaHeartbeat, { type: 'heartbeat', deviceId: device.deviceId, platform, now }, timing);
                same(ticked, full);
                viaRefresh = ticked.state;
                viaHeartbeat = full.state;
              }
            }
          }
        }
      }),
      RUNS,
    );
    expect(checked).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});

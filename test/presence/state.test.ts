import { describe, expect, it } from 'vitest';
import { apply, initialState, nextDue, type Command, type Published } from '../../presence/index.js';
import {
  DEFAULTS,
  HOUR,
  MINUTE,
  T0,
  deepFreeze,
  deviceOf,
  disconnect,
  heartbeat,
  last,
  run,
  setManual,
  signOff,
  tick,
  timing,
} from './fixtures.js';

const OFFLINE_NEVER_SEEN: Published = { status: 'OFFLINE', platforms: [], lastSeen: null };

/** The state after `commands`, from a fresh user. */
function after(commands: readonly Command[], t = DEFAULTS) {
  return last(run(initialState('alice'), commands, t)).state;
}

/** Each step's transition cause, or null when the step published nothing. */
function causes(commands: readonly Command[], t = DEFAULTS) {
  return run(initialState('alice'), commands, t).map((step) => step.transition?.cause ?? null);
}

describe('initialState', () => {
  it('should start a user OFFLINE, never seen, with no devices, version 0 and rev 0', () => {
    expect(initialState('alice')).toEqual({
      userId: 'alice',
      devices: {},
      manual: 'AUTO',
      published: OFFLINE_NEVER_SEEN,
      version: 0,
      rev: 0,
      lastSeen: null,
    });
  });
});

describe('apply: heartbeat', () => {
  it('should turn the first heartbeat into a CONNECT transition OFFLINE→ONLINE at version 1', () => {
    const now = T0 + 12_345;
    expect(apply(initialState('alice'), heartbeat('web', 'WEB', now), DEFAULTS)).toEqual({
      effect: 'write',
      transition: {
        id: 'alice:1',
        userId: 'alice',
        from: 'OFFLINE',
        to: 'ONLINE',
        version: 1,
        bucket: T0,
        cause: 'CONNECT',
        published: { status: 'ONLINE', platforms: ['WEB'], lastSeen: null },
      },
      state: {
        userId: 'alice',
        devices: {
          web: { deviceId: 'web', platform: 'WEB', activity: 'ACTIVE', lastActiveAt: now, lastSeenAt: now, expiresAt: now + 70_000 },
        },
        manual: 'AUTO',
        published: { status: 'ONLINE', platforms: ['WEB'], lastSeen: null },
        version: 1,
        rev: 1,
        lastSeen: null,
      },
    });
  });

  it('should store a repeat heartbeat that changes nothing as a silent refresh of the timers', () => {
    const first = after([heartbeat('web', 'WEB', T0)]);
    const { state, effect, transition } = apply(first, heartbeat('web', 'WEB', T0 + 30_000), DEFAULTS);
    expect({ effect, transition, version: state.version, rev: state.rev }).toEqual({ effect: 'refresh', transition: null, version: 1, rev: 2 });
    expect(state.published).toEqual(first.published);
    expect(deviceOf(state, 'web')).toEqual({
      deviceId: 'web',
      platform: 'WEB',
      activity: 'ACTIVE',
      lastActiveAt: T0,
      lastSeenAt: T0 + 30_000,
      expiresAt: T0 + 100_000,
    });
  });

  it('should restart the auto-idle clock only when a heartbeat reports ACTIVE', () => {
    const first = after([heartbeat('web', 'WEB', T0)]);
    expect(deviceOf(apply(first, heartbeat('web', 'WEB', T0 + 30_000), DEFAULTS).state, 'web').lastActiveAt).toBe(T0);
    const reported = apply(first, heartbeat('web', 'WEB', T0 + 30_000, 'ACTIVE'), DEFAULTS);
    expect(reported.effect).toBe('refresh');
    expect(deviceOf(reported.state, 'web').lastActiveAt).toBe(T0 + 30_000);
  });

  it('should publish ONLINE→IDLE when the device reports IDLE', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), heartbeat('web', 'WEB', T0 + 30_000, 'IDLE')]);
    expect(last(steps).transition).toEqual({
      id: 'alice:2',
      userId: 'alice',
      from: 'ONLINE',
      to: 'IDLE',
      version: 2,
      bucket: T0,
      cause: 'ACTIVITY',
      published: { status: 'IDLE', platforms: ['WEB'], lastSeen: null },
    });
  });

  it('should keep an IDLE device IDLE on a heartbeat that names no activity, and publish ONLINE when it reports ACTIVE', () => {
    const steps = run(initialState('alice'), [
      heartbeat('web', 'WEB', T0, 'IDLE'),
      heartbeat('web', 'WEB', T0 + 30_000),
      heartbeat('web', 'WEB', T0 + 60_000, 'ACTIVE'),
    ]);
    expect(steps.map((s) => [s.effect, s.transition && `${s.transition.from}→${s.transition.to}`])).toEqual([
      ['write', 'OFFLINE→IDLE'],
      ['refresh', null],
      ['write', 'IDLE→ONLINE'],
    ]);
  });

  it('should publish a transition when a second device adds a platform, though the status stays ONLINE', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), heartbeat('phone', 'MOBILE', T0 + 20_000)]);
    expect(last(steps)).toMatchObject({
      effect: 'write',
      transition: {
        id: 'alice:2',
        from: 'ONLINE',
        to: 'ONLINE',
        version: 2,
        cause: 'CONNECT',
        published: { status: 'ONLINE', platforms: ['WEB', 'MOBILE'], lastSeen: null },
      },
    });
  });

  it('should store a second device on an already published platform without a transition', () => {
    const steps = run(initialState('alice'), [heartbeat('tab1', 'WEB', T0), heartbeat('tab2', 'WEB', T0 + 20_000)]);
    const { state, effect, transition } = last(steps);
    expect({ effect, transition, version: state.version, devices: Object.keys(state.devices) }).toEqual({
      effect: 'write',
      transition: null,
      version: 1,
      devices: ['tab1', 'tab2'],
    });
  });

  it('should publish a device moving to another platform', () => {
    const steps = run(initialState('alice'), [heartbeat('d', 'WEB', T0), heartbeat('d', 'DESKTOP', T0 + 30_000)]);
    expect(last(steps).transition?.published).toEqual({ status: 'ONLINE', platforms: ['DESKTOP'], lastSeen: null });
  });
});

describe('apply: disconnect and the grace window', () => {
  it('should keep a disconnected device online for the grace window, without a transition', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), disconnect('web', T0 + 40_000)]);
    const { state, effect, transition } = last(steps);
    expect({ effect, transition, published: state.published, version: state.version }).toEqual({
      effect: 'write',
      transition: null,
      published: { status: 'ONLINE', platforms: ['WEB'], lastSeen: null },
      version: 1,
    });
    expect(deviceOf(state, 'web')).toMatchObject({ lastSeenAt: T0 + 40_000, expiresAt: T0 + 55_000 });
  });

  it('should not flap OFFLINE/ONLINE when the device reconnects within the grace window', () => {
    const commands = [heartbeat('web', 'WEB', T0), disconnect('web', T0 + 40_000), tick(T0 + 54_999), heartbeat('web', 'WEB', T0 + 54_999)];
    const steps = run(initialState('alice'), commands);
    expect(steps.map((s) => [s.effect, s.transition?.cause ?? null])).toEqual([
      ['write', 'CONNECT'],
      ['write', null],
      ['none', null],
      ['refresh', null],
    ]);
    expect(deviceOf(last(steps).state, 'web').expiresAt).toBe(T0 + 54_999 + 70_000);
  });

  it('should give a closed socket the whole grace window even when its heartbeat expiry comes sooner', () => {
    const closed = after([heartbeat('web', 'WEB', T0), disconnect('web', T0 + 60_000)]);
    expect(deviceOf(closed, 'web').expiresAt).toBe(T0 + 75_000);
    expect(causes([heartbeat('web', 'WEB', T0), disconnect('web', T0 + 60_000), tick(T0 + 70_000), heartbeat('web', 'WEB', T0 + 74_999)])).toEqual([
      'CONNECT',
      null,
      null,
      null,
    ]);
  });

  it('should declare OFFLINE once the grace window has passed, last seen in the bucket of the socket close', () => {
    const steps = run(initialState('alice'), [
      heartbeat('web', 'WEB', T0),
      disconnect('web', T0 + 50_000),
      tick(T0 + 64_999),
      tick(T0 + 65_000),
    ]);
    expect(steps.map((s) => s.effect)).toEqual(['write', 'write', 'none', 'write']);
    expect(last(steps).transition).toEqual({
      id: 'alice:2',
      userId: 'alice',
      from: 'ONLINE',
      to: 'OFFLINE',
      version: 2,
      bucket: T0 + MINUTE,
      cause: 'EXPIRY',
      published: { status: 'OFFLINE', platforms: [], lastSeen: T0 },
    });
    expect(last(steps).state).toMatchObject({ devices: {}, lastSeen: T0, version: 2 });
  });

  it('should drop the device at once when the grace window is 0', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), disconnect('web', T0 + 5_000)], timing({ graceMs: 0 }));
    expect(last(steps).transition).toMatchObject({ from: 'ONLINE', to: 'OFFLINE', cause: 'DISCONNECT', published: { status: 'OFFLINE', platforms: [], lastSeen: T0 } });
    expect(last(steps).state.devices).toEqual({});
  });

  it('should ignore the disconnect of a device it does not know', () => {
    const online = after([heartbeat('web', 'WEB', T0)]);
    const result = apply(online, disconnect('ghost', T0 + 1_000), DEFAULTS);
    expect(result).toEqual({ state: online, effect: 'none', transition: null });
    expect(result.state).toBe(online);
  });
});

describe('apply: signOff', () => {
  it('should take the device offline at once, last seen in the bucket of the sign-off', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), heartbeat('web', 'WEB', T0 + 60_000), signOff('web', T0 + 90_000)]);
    expect(last(steps).transition).toEqual({
      id: 'alice:2',
      userId: 'alice',
      from: 'ONLINE',
      to: 'OFFLINE',
      version: 2,
      bucket: T0 + MINUTE,
      cause: 'SIGN_OFF',
      published: { status: 'OFFLINE', platforms: [], lastSeen: T0 + MINUTE },
    });
  });

  it('should keep the user ONLINE on another live device, publishing the platform that left', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), heartbeat('phone', 'MOBILE', T0 + 1_000), signOff('web', T0 + 2_000)]);
    expect(last(steps).transition).toMatchObject({
      from: 'ONLINE',
      to: 'ONLINE',
      cause: 'SIGN_OFF',
      published: { status: 'ONLINE', platforms: ['MOBILE'], lastSeen: null },
    });
  });

  it('should ignore the sign-off of a device it does not know', () => {
    const online = after([heartbeat('web', 'WEB', T0)]);
    expect(apply(online, signOff('ghost', T0 + 1_000), DEFAULTS)).toEqual({ state: online, effect: 'none', transition: null });
  });
});

describe('apply: expiry', () => {
  it('should keep a device live until its TTL passes, then declare OFFLINE last seen at its last heartbeat', () => {
    const online = after([heartbeat('web', 'WEB', T0 + 30_000)]);
    const early = apply(online, tick(T0 + 99_999), DEFAULTS);
    expect(early.effect).toBe('none');
    expect(early.state).toBe(online);
    expect(apply(online, tick(T0 + 100_000), DEFAULTS).transition).toEqual({
      id: 'alice:2',
      userId: 'alice',
      from: 'ONLINE',
      to: 'OFFLINE',
      version: 2,
      bucket: T0 + MINUTE,
      cause: 'EXPIRY',
      published: { status: 'OFFLINE', platforms: [], lastSeen: T0 },
    });
  });

  it('should sweep an expired device on any command, so a late sweep never leaves it behind', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), heartbeat('phone', 'MOBILE', T0 + 80_000)]);
    const { state, transition } = last(steps);
    expect(Object.keys(state.devices)).toEqual(['phone']);
    expect(state.lastSeen).toBe(T0);
    expect(transition).toMatchObject({ from: 'ONLINE', to: 'ONLINE', published: { status: 'ONLINE', platforms: ['MOBILE'], lastSeen: null } });
  });

  it('should never move last-seen backwards when an older device expires after a newer one left', () => {
    const steps = run(initialState('alice'), [
      heartbeat('phone', 'MOBILE', T0),
      heartbeat('web', 'WEB', T0 + 5_000),
      signOff('web', T0 + 65_000),
      tick(T0 + 70_000),
    ]);
    expect(last(steps).transition?.published).toEqual({ status: 'OFFLINE', platforms: [], lastSeen: T0 + MINUTE });
    expect(last(steps).state.lastSeen).toBe(T0 + MINUTE);
  });

  it('should do nothing on a tick when nothing is due', () => {
    const online = after([heartbeat('web', 'WEB', T0)]);
    expect(apply(online, tick(T0 + 1_000), DEFAULTS)).toEqual({ state: online, effect: 'none', transition: null });
    expect(apply(initialState('alice'), tick(T0), DEFAULTS)).toEqual({ state: initialState('alice'), effect: 'none', transition: null });
  });
});

describe('apply: auto-idle', () => {
  const fast = timing({ idleMs: MINUTE });

  it('should turn an ACTIVE device IDLE after idleMs without an ACTIVE report, though heartbeats continue', () => {
    const steps = run(
      initialState('alice'),
      [heartbeat('web', 'WEB', T0), heartbeat('web', 'WEB', T0 + 30_000), tick(T0 + 59_999), tick(T0 + 60_000)],
      fast,
    );
    expect(steps.map((s) => s.effect)).toEqual(['write', 'refresh', 'none', 'write']);
    expect(last(steps).transition).toEqual({
      id: 'alice:2',
      userId: 'alice',
      from: 'ONLINE',
      to: 'IDLE',
      version: 2,
      bucket: T0 + MINUTE,
      cause: 'IDLE_TIMEOUT',
      published: { status: 'IDLE', platforms: ['WEB'], lastSeen: null },
    });
  });

  it('should count idle from the last ACTIVE report', () => {
    expect(
      causes([heartbeat('web', 'WEB', T0), heartbeat('web', 'WEB', T0 + 30_000, 'ACTIVE'), tick(T0 + 60_000), tick(T0 + 89_999), tick(T0 + 90_000)], fast),
    ).toEqual(['CONNECT', null, null, null, 'IDLE_TIMEOUT']);
  });

  it('should publish ONLINE again when an auto-idled device reports ACTIVE', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), tick(T0 + 60_000), heartbeat('web', 'WEB', T0 + 65_000, 'ACTIVE')], fast);
    expect(last(steps).transition).toMatchObject({ from: 'IDLE', to: 'ONLINE', cause: 'ACTIVITY', version: 3 });
  });

  it('should auto-idle after 10 minutes by default, while heartbeats every 30 s keep the device alive', () => {
    const beats = Array.from({ length: 20 }, (_, i) => heartbeat('web', 'WEB', T0 + i * 30_000));
    const steps = run(initialState('alice'), [...beats, tick(T0 + 599_999), tick(T0 + 600_000)]);
    expect(steps.filter((s) => s.transition).map((s) => [s.transition?.cause, s.transition?.to])).toEqual([
      ['CONNECT', 'ONLINE'],
      ['IDLE_TIMEOUT', 'IDLE'],
    ]);
    expect(last(steps).transition?.bucket).toBe(T0 + 10 * MINUTE);
  });
});

describe('apply: DND', () => {
  it('should override ONLINE while a device is live', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), setManual('DND', T0 + 1_000)]);
    expect(last(steps).transition).toMatchObject({
      from: 'ONLINE',
      to: 'DND',
      cause: 'MANUAL_STATUS',
      published: { status: 'DND', platforms: ['WEB'], lastSeen: null },
    });
  });

  it('should override IDLE, and stay DND whatever the device reports', () => {
    const steps = run(initialState('alice'), [
      heartbeat('web', 'WEB', T0, 'IDLE'),
      setManual('DND', T0 + 1_000),
      heartbeat('web', 'WEB', T0 + 2_000, 'ACTIVE'),
      heartbeat('web', 'WEB', T0 + 3_000, 'IDLE'),
    ]);
    expect(steps.map((s) => s.transition && `${s.transition.from}→${s.transition.to}`)).toEqual(['OFFLINE→IDLE', 'IDLE→DND', null, null]);
  });

  it('should stay OFFLINE when no device is live, and show DND once one connects', () => {
    const steps = run(initialState('alice'), [setManual('DND', T0), heartbeat('web', 'WEB', T0 + 1_000)]);
    expect(steps.map((s) => [s.effect, s.state.published.status, s.state.version])).toEqual([
      ['write', 'OFFLINE', 0],
      ['write', 'DND', 1],
    ]);
  });

  it('should go OFFLINE when the last device leaves, and back to ONLINE on AUTO', () => {
    const steps = run(initialState('alice'), [
      heartbeat('web', 'WEB', T0),
      setManual('DND', T0 + 1_000),
      setManual('AUTO', T0 + 2_000),
      setManual('DND', T0 + 3_000),
      signOff('web', T0 + 4_000),
    ]);
    expect(steps.map((s) => s.transition && `${s.transition.from}→${s.transition.to}`)).toEqual([
      'OFFLINE→ONLINE',
      'ONLINE→DND',
      'DND→ONLINE',
      'ONLINE→DND',
      'DND→OFFLINE',
    ]);
  });

  it('should do nothing when the manual status is set to what it already is', () => {
    const dnd = after([heartbeat('web', 'WEB', T0), setManual('DND', T0 + 1_000)]);
    expect(apply(dnd, setManual('DND', T0 + 2_000), DEFAULTS)).toEqual({ state: dnd, effect: 'none', transition: null });
  });
});

describe('apply: INVISIBLE', () => {
  const online = [heartbeat('web', 'WEB', T0), heartbeat('web', 'WEB', T0 + 60_000)];
  const invisible = after([...online, setManual('INVISIBLE', T0 + 90_500)]);
  const frozen: Published = { status: 'OFFLINE', platforms: [], lastSeen: T0 + MINUTE };

  it('should publish OFFLINE with the last-seen frozen at the moment of going invisible', () => {
    expect(last(run(initialState('alice'), [...online, setManual('INVISIBLE', T0 + 90_500)])).transition).toEqual({
      id: 'alice:2',
      userId: 'alice',
      from: 'ONLINE',
      to: 'OFFLINE',
      version: 2,
      bucket: T0 + MINUTE,
      cause: 'MANUAL_STATUS',
      published: frozen,
    });
    expect(invisible).toMatchObject({ manual: 'INVISIBLE', published: frozen, version: 2 });
  });

  it('should change neither the published record nor the version for anything the user does while invisible', () => {
    const steps = run(invisible, [
      heartbeat('web', 'WEB', T0 + 100_000, 'IDLE'),
      heartbeat('phone', 'MOBILE', T0 + 110_000),
      heartbeat('web', 'DESKTOP', T0 + 120_000, 'ACTIVE'),
      setManual('INVISIBLE', T0 + 130_000),
      disconnect('phone', T0 + 140_000),
      tick(T0 + 155_000),
      signOff('web', T0 + 200_000),
      tick(T0 + 10 * HOUR),
      heartbeat('web', 'WEB', T0 + 11 * HOUR),
    ]);
    expect(steps.map((s) => [s.transition, s.state.version, s.state.published])).toEqual(steps.map(() => [null, 2, frozen]));
    expect(steps.map((s) => Object.keys(s.state.devices))).toEqual([['web'], ['web', 'phone'], ['web', 'phone'], ['web', 'phone'], ['web', 'phone'], ['web'], [], [], ['web']]);
  });

  it('should keep the last-seen it had when going invisible while already offline', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), signOff('web', T0 + 61_000), setManual('INVISIBLE', T0 + 5 * MINUTE)]);
    const { state, effect, transition } = last(steps);
    expect({ effect, transition, version: state.version, published: state.published }).toEqual({
      effect: 'write',
      transition: null,
      version: 2,
      published: { status: 'OFFLINE', platforms: [], lastSeen: T0 + MINUTE },
    });
  });

  it('should republish the truth when the user leaves INVISIBLE', () => {
    const back = apply(invisible, setManual('AUTO', T0 + 100_000), DEFAULTS);
    expect(back.transition).toEqual({
      id: 'alice:3',
      userId: 'alice',
      from: 'OFFLINE',
      to: 'ONLINE',
      version: 3,
      bucket: T0 + MINUTE,
      cause: 'MANUAL_STATUS',
      published: { status: 'ONLINE', platforms: ['WEB'], lastSeen: null },
    });
    expect(apply(invisible, setManual('DND', T0 + 100_000), DEFAULTS).transition).toMatchObject({ from: 'OFFLINE', to: 'DND', version: 3 });
  });

  it('should never reveal activity while invisible: leaving INVISIBLE while offline keeps the frozen last-seen', () => {
    const steps = run(invisible, [signOff('web', T0 + 3 * MINUTE), setManual('AUTO', T0 + 10 * MINUTE), tick(T0 + 11 * MINUTE)]);
    expect(steps.map((s) => [s.transition, s.state.published])).toEqual(steps.map(() => [null, frozen]));
    // Seen visibly again: the last-seen moves on from there.
    const seen = run(last(steps).state, [heartbeat('web', 'WEB', T0 + 20 * MINUTE), signOff('web', T0 + 21 * MINUTE)]);
    expect(last(seen).state.published).toEqual({ status: 'OFFLINE', platforms: [], lastSeen: T0 + 21 * MINUTE });
  });
});

describe('apply: versions and revisions', () => {
  it('should bump the version exactly on transitions and number them `${userId}:${version}`', () => {
    const steps = run(initialState('bob'), [
      heartbeat('web', 'WEB', T0),
      heartbeat('web', 'WEB', T0 + 10_000),
      heartbeat('web', 'WEB', T0 + 20_000, 'IDLE'),
      heartbeat('phone', 'MOBILE', T0 + 30_000),
      heartbeat('tab', 'WEB', T0 + 35_000),
      setManual('DND', T0 + 40_000),
      signOff('phone', T0 + 50_000),
      signOff('web', T0 + 60_000),
      signOff('tab', T0 + 70_000),
    ]);
    expect(steps.map((s) => s.state.version)).toEqual([1, 1, 2, 3, 3, 4, 5, 5, 6]);
    expect(steps.flatMap((s) => (s.transition ? [s.transition.id] : []))).toEqual(['bob:1', 'bob:2', 'bob:3', 'bob:4', 'bob:5', 'bob:6']);
  });

  it('should bump rev on every stored change, refreshes included, and leave it alone on a no-op', () => {
    const steps = run(initialState('alice'), [heartbeat('web', 'WEB', T0), heartbeat('web', 'WEB', T0 + 1_000), tick(T0 + 2_000), signOff('web', T0 + 3_000)]);
    expect(steps.map((s) => [s.effect, s.state.rev])).toEqual([
      ['write', 1],
      ['refresh', 2],
      ['none', 2],
      ['write', 3],
    ]);
  });

  it('should not mutate the state it is given', () => {
    const commands: Command[] = [
      heartbeat('web', 'WEB', T0),
      heartbeat('phone', 'MOBILE', T0 + 1_000, 'IDLE'),
      disconnect('phone', T0 + 2_000),
      setManual('DND', T0 + 3_000),
      setManual('INVISIBLE', T0 + 4_000),
      signOff('web', T0 + 5_000),
      tick(T0 + HOUR),
    ];
    let state = deepFreeze(initialState('alice'));
    for (const command of commands) {
      const before = structuredClone(state);
      const next = apply(state, command, DEFAULTS).state;
      expect(state).toEqual(before);
      state = deepFreeze(next);
    }
  });
});

describe('nextDue', () => {
  const fast = timing({ idleMs: MINUTE });

  it('should be null for a user with no device', () => {
    expect(nextDue(initialState('alice'), T0, DEFAULTS)).toBeNull();
  });

  it('should be the expiry of the device when it expires before it would go idle', () => {
    expect(nextDue(after([heartbeat('web', 'WEB', T0 + 1_000)]), T0 + 1_000, DEFAULTS)).toBe(T0 + 71_000);
  });

  it('should be the auto-idle time of an ACTIVE device when that comes first', () => {
    expect(nextDue(after([heartbeat('web', 'WEB', T0)], fast), T0, fast)).toBe(T0 + MINUTE);
  });

  it('should not schedule auto-idle for a device that already reports IDLE', () => {
    expect(nextDue(after([heartbeat('web', 'WEB', T0, 'IDLE')], fast), T0, fast)).toBe(T0 + 70_000);
  });

  it('should be the earliest time over all devices', () => {
    const state = after([heartbeat('web', 'WEB', T0, 'IDLE'), heartbeat('phone', 'MOBILE', T0 + 20_000, 'IDLE'), disconnect('phone', T0 + 30_000)]);
    expect(nextDue(state, T0 + 30_000, DEFAULTS)).toBe(T0 + 45_000);
  });

  it('should never return an auto-idle time at or before now', () => {
    const state = after([heartbeat('web', 'WEB', T0), heartbeat('web', 'WEB', T0 + 30_000)], fast);
    expect(nextDue(state, T0 + 59_999, fast)).toBe(T0 + MINUTE);
    expect(nextDue(state, T0 + MINUTE, fast)).toBe(T0 + 100_000);
    expect(nextDue(state, T0 + 90_000, fast)).toBe(T0 + 100_000);
  });

  it('should leave nothing to change before the time it returns', () => {
    const state = after([heartbeat('web', 'WEB', T0), heartbeat('phone', 'MOBILE', T0 + 10_000, 'IDLE')], fast);
    const due = nextDue(state, T0 + 10_000, fast);
    expect(due).toBe(T0 + MINUTE);
    expect(apply(state, tick(T0 + MINUTE - 1), fast).effect).toBe('none');
    expect(apply(state, tick(T0 + MINUTE), fast).transition).toMatchObject({ from: 'ONLINE', to: 'IDLE', cause: 'IDLE_TIMEOUT' });
  });
});

/**
 * Device sessions on their own (service/sessions.ts), on a clock moved by hand: what a session does to
 * its device when it opens, lives and closes, the order of a refresh and a disconnect, how closes that
 * come together are batched, and token expiry. Embedded stores; calls counted at the port.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EmbeddedHotStore } from '../../hot/embedded.js';
import type { HotStore } from '../../hot/port.js';
import { makeTiming, type UserId } from '../../presence/index.js';
import { EmbeddedLastSeenStore } from '../../prisma/embedded.js';
import { UNOBSERVED } from '../../service/observer.js';
import { PresenceService } from '../../service/presence.js';
import { DeviceSessions, DISCONNECT_BATCH, DISCONNECTS_IN_FLIGHT, type Session } from '../../service/sessions.js';
import { until } from '../support/clients.js';
import { manualClock } from '../support/clock.js';
import { switchable } from '../support/faults.js';

const timing = (() => {
  const made = makeTiming({ heartbeatMs: 1_000, jitterMs: 100, ttlMs: 2_500, graceMs: 500 });
  if (!made.ok) throw new Error(made.error);
  return made.timing;
})();

/** A hot store whose calls of `method` wait, while held, until released; the order of every call is kept. */
function gated(inner: HotStore, method: 'refresh' | 'load') {
  let gate: Promise<void> | null = null;
  let open: () => void = () => undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  const order: string[] = [];
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        order.push(String(prop));
        if (prop !== method) return (value as (...a: unknown[]) => unknown).apply(target, args);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          if (gate) await gate;
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          inFlight--;
        }
      };
    },
  });
  return {
    store,
    order,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    hold() {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    release() {
      gate = null;
      open();
    },
  };
}

function setup(hot: HotStore = new EmbeddedHotStore()) {
  const m = manualClock();
  const counted = switchable<HotStore>(hot, 'hot');
  const presence = new PresenceService({ hot: counted.store, lastSeen: new EmbeddedLastSeenStore(), timing, clock: m.now });
  const disconnects = { recorded: 0, failed: 0 };
  const sessions = new DeviceSessions({
    presence,
    log: pino({ level: 'silent' }),
    observer: { ...UNOBSERVED, disconnects: (outcome, count) => void (disconnects[outcome] += count) },
    clock: m.clock,
  });
  const open = async (userId: UserId, deviceId = `${userId}-d`, expiresAt: number | null = null, onExpired: () => void = () => undefined) => {
    const session = await sessions.open({ userId, expiresAt }, { deviceId, platform: 'WEB' }, onExpired);
    if (session === 'device-owned') throw new Error(`${deviceId} is owned by someone else`);
    return session;
  };
  const devicesOf = async (userId: UserId) => Object.keys((await presence.state(userId)).devices);
  return { m, hot: counted, presence, sessions, disconnects, open, devicesOf };
}

const users = (n: number, prefix = 'u') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('DeviceSessions', () => {
  it('should bring a device online when its session opens, and refresh every open device once per interval, a wheel slot per store call', async () => {
    const s = setup();
    const ids = users(100);
    for (const id of ids) await s.open(id);
    expect(s.sessions.size).toBe(100);
    expect(await s.devicesOf('u7')).toEqual(['u7-d']);
    s.hot.reset();
    s.m.advance(timing.heartbeatMs);
    const batches = (s.hot.args.refresh ?? []).map(([devices]) => (devices as { userId: string }[]).map((d) => d.userId));
    // 20 slots of 50 ms: at most one call per slot, every device in exactly one of them.
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.length).toBeLessThanOrEqual(timing.heartbeatMs / 50);
    expect(batches.flat().sort()).toEqual([...ids].sort());
  });

  it('should refresh each device once after the process stalled for several intervals, not once per slot it missed', async () => {
    const s = setup();
    const ids = users(40);
    for (const id of ids) await s.open(id);
    s.hot.reset();
    s.m.stall(5 * timing.heartbeatMs);
    const refreshed = (s.hot.args.refresh ?? []).flatMap(([devices]) => (devices as { userId: string }[]).map((d) => d.userId));
    expect(refreshed.sort()).toEqual([...ids].sort());
  });

  it('should keep a closed device online through its grace window, then let the sweeper take it offline', async () => {
    const s = setup();
    const session = await s.open('alice');
    await s.sessions.close(session);
    expect(s.disconnects).toEqual({ recorded: 1, failed: 0 });
    expect(s.sessions.size).toBe(0);
    expect(await s.devicesOf('alice')).toEqual(['alice-d']);
    // Closed sessions are refreshed no more.
    s.hot.reset();
    s.m.advance(timing.graceMs - 1);
    expect(s.hot.calls.refresh).toBeUndefined();
    expect((await s.presence.sweep()).transitions).toBe(0);
    s.m.advance(1);
    expect((await s.presence.sweep()).transitions).toBe(1);
    expect(await s.devicesOf('alice')).toEqual([]);
  });

  it('should record a disconnect only once the refresh of its device in flight is done', async () => {
    const g = gated(new EmbeddedHotStore(), 'refresh');
    const s = setup(g.store);
    const session = await s.open('alice');
    g.hold();
    s.m.advance(timing.heartbeatMs);
    expect(g.inFlight).toBe(1);
    const mark = g.order.length;
    const closing = s.sessions.close(session);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    // The disconnect's read of the user (disconnectAll) waits behind the refresh.
    expect(g.order.slice(mark)).toEqual([]);
    g.release();
    await closing;
    const last = g.order.lastIndexOf('refresh');
    expect(g.order.indexOf('load', last)).toBeGreaterThan(last);
    expect(s.disconnects.recorded).toBe(1);
  });

  it(`should record closes that come together ${DISCONNECT_BATCH} at a time, at most ${DISCONNECTS_IN_FLIGHT} batches at once`, async () => {
    const g = gated(new EmbeddedHotStore(), 'load');
    const s = setup(g.store);
    const ids = users(5 * DISCONNECT_BATCH - 100);
    const open: Session[] = [];
    for (const id of ids) open.push(await s.open(id));
    s.hot.reset();
    g.hold();
    const closing = Promise.all(open.map((session) => s.sessions.close(session)));
    await until(() => g.inFlight === DISCONNECTS_IN_FLIGHT, `${DISCONNECTS_IN_FLIGHT} batches out`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(g.inFlight).toBe(DISCONNECTS_IN_FLIGHT);
    g.release();
    await closing;
    const batches = (s.hot.args.load ?? []).map(([userIds]) => (userIds as string[]).length);
    expect(batches).toEqual([DISCONNECT_BATCH, DISCONNECT_BATCH, DISCONNECT_BATCH, DISCONNECT_BATCH, DISCONNECT_BATCH - 100]);
    expect(g.maxInFlight).toBe(DISCONNECTS_IN_FLIGHT);
    expect(s.disconnects).toEqual({ recorded: ids.length, failed: 0 });
    for (const id of ['u0', `u${ids.length - 1}`]) expect(await s.devicesOf(id)).toEqual([`${id}-d`]);
  });

  it('should try a failed disconnect once more, then count it failed and leave the device to its TTL', async () => {
    const s = setup();
    const sessions = [await s.open('a'), await s.open('b')];
    s.hot.reset();
    s.hot.down = true;
    await Promise.all(sessions.map((session) => s.sessions.close(session)));
    expect(s.hot.calls.load).toBe(2);
    expect(s.disconnects).toEqual({ recorded: 0, failed: 2 });
    s.hot.down = false;
    await s.sessions.close(await s.open('c'));
    expect(s.disconnects).toEqual({ recorded: 1, failed: 2 });
  });

  it('should call onExpired when the token expires while the session is open, and never for one closed before', async () => {
    const s = setup();
    const expired: string[] = [];
    await s.open('alice', 'a1', s.m.now() + 10_000, () => expired.push('alice'));
    const bob = await s.open('bob', 'b1', s.m.now() + 10_000, () => expired.push('bob'));
    await s.sessions.close(bob);
    s.m.advance(9_999);
    expect(expired).toEqual([]);
    s.m.advance(1);
    expect(expired).toEqual(['alice']);
    s.m.advance(60_000);
    expect(expired).toEqual(['alice']);
  });

  it('should open nothing for a device bound to another user', async () => {
    const s = setup();
    await s.open('alice', 'shared');
    const before = s.m.pending;
    expect(await s.sessions.open({ userId: 'mallory', expiresAt: s.m.now() + 60_000 }, { deviceId: 'shared', platform: 'WEB' }, () => undefined)).toBe('device-owned');
    expect(s.sessions.size).toBe(1);
    expect(s.m.pending).toBe(before);
    expect(await s.devicesOf('mallory')).toEqual([]);
  });

  it('should open a session while the hot store is down, and bring its device online at the first refresh after it is back', async () => {
    const s = setup();
    s.hot.down = true;
    await s.open('alice');
    expect(s.sessions.size).toBe(1);
    s.hot.down = false;
    expect(await s.devicesOf('alice')).toEqual([]);
    s.m.advance(timing.heartbeatMs);
    await until(async () => (await s.devicesOf('alice')).length === 1, 'alice online after the refresh');
    expect(await s.devicesOf('alice')).toEqual(['alice-d']);
  });

  it('should stop refreshing on stop, and resolve once the open sessions have closed and their disconnects are recorded', async () => {
    const s = setup();
    const open = [await s.open('a'), await s.open('b')];
    let stopped = false;
    const stopping = s.sessions.stop().then(() => (stopped = true));
    s.hot.reset();
    s.m.advance(timing.heartbeatMs);
    expect(s.hot.calls.refresh).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    await Promise.all(open.map((session) => s.sessions.close(session)));
    await stopping;
    expect(s.disconnects.recorded).toBe(2);
  });

  it('should stop waiting for sessions that never close after its deadline', async () => {
    const s = setup();
    await s.open('a');
    let stopped = false;
    const stopping = s.sessions.stop(1_000).then(() => (stopped = true));
    s.m.advance(999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    s.m.advance(1);
    await stopping;
    expect(s.sessions.size).toBe(1);
  });
});

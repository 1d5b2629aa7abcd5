/**
 * What every HotStore promises (hot/port.ts). Run against the embedded store and, with the real-stores
 * issue, against Redis: `hotStoreContract(name, make)`.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HotStore } from '../../hot/port.js';
import { apply, initialState, makeTiming, nextIdle, refreshDevice, type Applied, type Command, type Platform, type Timing, type Transition, type UserState } from '../../presence/index.js';

function valid(input: Parameters<typeof makeTiming>[0] = {}) {
  const t = makeTiming(input);
  if (!t.ok) throw new Error(t.error);
  return t.timing;
}
const timing = valid();
/** Auto-idle within a few heartbeats, so random histories cross it often. */
const quickIdle = valid({ idleMs: 45_000 });

export function hotStoreContract(name: string, make: () => Promise<{ store: HotStore; dispose(): Promise<void> }>): void {
  describe(`HotStore contract: ${name}`, () => {
    let store: HotStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dispose } = await make());
    });
    afterEach(() => dispose());

    const connect = (state: UserState, now: number, deviceId = 'd1') => apply(state, { type: 'heartbeat', deviceId, platform: 'WEB', now }, timing);
    /** Commits `applied`, decided from `prev`, as the service does. */
    const write = (prev: UserState, applied: Applied, now: number, t: Timing = timing) =>
      store.commit({ now, next: applied.state, before: prev.devices, expectedRev: prev.rev, transition: applied.transition, idleAt: nextIdle(applied.state, now, t) });
    const refresh = (userId: string, deviceId: string, now: number, platform: Platform = 'WEB', expiresAt = now + timing.ttlMs) =>
      store.refresh([{ userId, deviceId, platform }], now, expiresAt);

    it('should load nothing for users never written', async () => {
      expect(await store.load(['nobody'])).toEqual(new Map());
    });

    it('should store a state and load it back exactly', async () => {
      const applied = connect(initialState('u1'), 1_000);
      expect(await write(initialState('u1'), applied, 1_000)).toBe(true);
      const loaded = await store.load(['u1', 'u2']);
      expect([...loaded.keys()]).toEqual(['u1']);
      expect(loaded.get('u1')).toEqual(applied.state);
    });

    it('should refuse a write whose expected rev is stale (compare-and-set)', async () => {
      const first = connect(initialState('u1'), 1_000);
      expect(await write(initialState('u1'), first, 1_000)).toBe(true);
      const racing = connect(initialState('u1'), 1_001);
      expect(await write(initialState('u1'), racing, 1_001)).toBe(false);
      expect((await store.load(['u1'])).get('u1')).toEqual(first.state);
    });

    it('should publish a transition only to processes listening to that user', async () => {
      const heard: [string, Transition | string][] = [];
      store.feed.onEvent((userId, event) => heard.push([userId, event.type === 'transition' ? event.transition : event.userId]));
      await store.feed.listen(['u1']);
      const a1 = connect(initialState('u1'), 1_000);
      const a2 = connect(initialState('u2'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      await write(initialState('u2'), a2, 1_000);
      await store.publishVisibility('u1');
      await store.publishVisibility('u2');
      await expect.poll(() => heard.length).toBe(2);
      expect(heard).toEqual([
        ['u1', a1.transition],
        ['u1', 'u1'],
      ]);
      await store.feed.unlisten(['u1']);
      const a3 = apply(a1.state, { type: 'signOff', deviceId: 'd1', now: 2_000 }, timing);
      await write(a1.state, a3, 2_000);
      await store.publishVisibility('u1');
      // A later event for a user still listened to proves the two above were not delivered.
      await store.feed.listen(['u2']);
      await store.publishVisibility('u2');
      await expect.poll(() => heard.length).toBe(3);
      expect(heard[2]).toEqual(['u2', 'u2']);
    });

    it('should announce a visibility change on the visibility feed first, then the presence feed, to listeners only — and no transition there', async () => {
      const heard: string[] = [];
      store.visibility.onChange((userId) => heard.push(`visibility feed: ${userId}`));
      store.feed.onEvent((userId, event) => heard.push(`presence feed: ${event.type} ${userId}`));
      await store.visibility.listen(['u1']);
      await store.feed.listen(['u1']);
      await store.publishVisibility('u1');
      await store.publishVisibility('u2');
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      await expect.poll(() => heard.length).toBe(3);
      expect(heard).toEqual(['visibility feed: u1', 'presence feed: visibility u1', 'presence feed: transition u1']);
      await store.visibility.unlisten(['u1']);
      await store.publishVisibility('u1');
      await expect.poll(() => heard.length).toBe(4);
      expect(heard[3]).toBe('presence feed: visibility u1');
    });

    it('should append each transition to the outbox until acknowledged', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const quiet = apply(a1.state, { type: 'heartbeat', deviceId: 'd1', platform: 'WEB', now: 2_000 }, timing);
      expect(quiet.effect).toBe('refresh');
      await write(a1.state, quiet, 2_000);
      const entries = await store.outbox.read('c1', 10);
      expect(entries.map((e) => e.transition)).toEqual([a1.transition]);
      expect(await store.outbox.backlog()).toBe(1);
      await store.outbox.ack(entries.map((e) => e.id));
      expect(await store.outbox.backlog()).toBe(0);
      expect(await store.outbox.read('c1', 10)).toEqual([]);
    });

    it('should hand a user whose device expired to exactly one claimer, again after the lease, and not after a commit', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const expiry = a1.state.devices.d1!.expiresAt;
      expect(await store.claimDue(expiry - 1, 10, 5_000)).toEqual([]);
      expect(await store.claimDue(expiry, 10, 5_000)).toEqual(['u1']);
      expect(await store.claimDue(expiry, 10, 5_000)).toEqual([]);
      expect(await store.claimDue(expiry + 5_000, 10, 5_000)).toEqual(['u1']);
      const swept = apply(a1.state, { type: 'tick', now: expiry + 5_000 }, timing);
      expect(await write(a1.state, swept, expiry + 5_000)).toBe(true);
      expect(await store.claimDue(expiry + 60_000, 10, 5_000)).toEqual([]);
    });

    it('should hand a user out at their next auto-idle, and end the claim when they are committed', async () => {
      const a1 = apply(initialState('u1'), { type: 'heartbeat', deviceId: 'd1', platform: 'WEB', now: 0 }, quickIdle);
      await write(initialState('u1'), a1, 0, quickIdle);
      expect(await refresh('u1', 'd1', 30_000)).toEqual([true]);
      expect(await store.claimDue(quickIdle.idleMs - 1, 10, 5_000)).toEqual([]);
      expect(await store.claimDue(quickIdle.idleMs, 10, 5_000)).toEqual(['u1']);
      const state = (await store.load(['u1'])).get('u1')!;
      const idled = apply(state, { type: 'tick', now: quickIdle.idleMs }, quickIdle);
      expect(idled.transition).toMatchObject({ to: 'IDLE', cause: 'IDLE_TIMEOUT' });
      expect(await write(state, idled, quickIdle.idleMs, quickIdle)).toBe(true);
      // Committed: not claimed again for the idle (none is ahead), only at the device's expiry.
      expect(await store.claimDue(30_000 + timing.ttlMs - 1, 10, 5_000)).toEqual([]);
      expect(await store.claimDue(30_000 + timing.ttlMs, 10, 5_000)).toEqual(['u1']);
    });

    it('should keep nothing due for a user whose devices are gone', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const gone = apply(a1.state, { type: 'signOff', deviceId: 'd1', now: 2_000 }, timing);
      await write(a1.state, gone, 2_000);
      expect(await store.claimDue(10_000_000, 10, 5_000)).toEqual([]);
    });

    it('should read the published record and version alone, for known users only', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      expect(await store.records(['u1', 'nobody', 'u1'])).toEqual(new Map([['u1', { userId: 'u1', published: a1.state.published, version: 1 }]]));
      expect(await store.records([])).toEqual(new Map());
    });

    it('should refresh a known device\'s timers alone: its expiry moves, nothing else, and it is due later', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const now = 31_000;
      expect(await refresh('u1', 'd1', now)).toEqual([true]);
      expect((await store.load(['u1'])).get('u1')).toEqual(refreshDevice(a1.state, 'd1', 'WEB', now, now + timing.ttlMs));
      expect(await store.claimDue(a1.state.devices.d1!.expiresAt, 10, 5_000)).toEqual([]);
      expect(await store.claimDue(now + timing.ttlMs, 10, 5_000)).toEqual(['u1']);
      expect(await store.outbox.backlog()).toBe(1);
    });

    it('should refuse, writing nothing, an unknown user or device or another platform — answering each device in order', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const a2 = apply(initialState('u2'), { type: 'heartbeat', deviceId: 'd2', platform: 'MOBILE', now: 1_000 }, timing);
      await write(initialState('u2'), a2, 1_000);
      const now = 2_000;
      const answers = await store.refresh(
        [
          { userId: 'u1', deviceId: 'other', platform: 'WEB' },
          { userId: 'u2', deviceId: 'd2', platform: 'MOBILE' },
          { userId: 'u1', deviceId: 'd1', platform: 'DESKTOP' },
          { userId: 'nobody', deviceId: 'd1', platform: 'WEB' },
        ],
        now,
        now + timing.ttlMs,
      );
      expect(answers).toEqual([false, true, false, false]);
      expect((await store.load(['u1'])).get('u1')).toEqual(a1.state);
      expect(await store.load(['nobody'])).toEqual(new Map());
      expect(await store.refresh([], now, now + timing.ttlMs)).toEqual([]);
    });

    it('should never move an expiry back', async () => {
      const a1 = connect(initialState('u1'), 10_000);
      await write(initialState('u1'), a1, 10_000);
      expect(await refresh('u1', 'd1', 5_000)).toEqual([true]);
      expect((await store.load(['u1'])).get('u1')).toEqual(a1.state);
      expect(await store.claimDue(5_000 + timing.ttlMs, 10, 5_000)).toEqual([]);
      expect(await store.claimDue(a1.state.devices.d1!.expiresAt, 10, 5_000)).toEqual(['u1']);
    });

    it('should end a claim with the commit, so what comes due next is handed out before the lease would lapse', async () => {
      const web = connect(initialState('u1'), 1_000, 'web');
      await write(initialState('u1'), web, 1_000);
      const both = connect(web.state, 61_000, 'tab');
      await write(web.state, both, 61_000);
      const first = web.state.devices.web!.expiresAt;
      expect(await store.claimDue(first, 10, 600_000)).toEqual(['u1']);
      const swept = apply(both.state, { type: 'tick', now: first }, timing);
      expect(await write(both.state, swept, first)).toBe(true);
      expect(await store.claimDue(both.state.devices.tab!.expiresAt, 10, 600_000)).toEqual(['u1']);
    });

    it('should keep a refresh\'s later expiry through a write decided before it that did not touch the device', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      expect(await refresh('u1', 'd1', 40_000)).toEqual([true]);
      // Decided from the state read before the refresh: DND, the device untouched.
      const dnd = apply(a1.state, { type: 'setManual', manual: 'DND', now: 41_000 }, timing);
      expect(await write(a1.state, dnd, 41_000)).toBe(true);
      const stored = (await store.load(['u1'])).get('u1')!;
      expect(stored.manual).toBe('DND');
      expect(stored.devices.d1).toMatchObject({ lastSeenAt: 40_000, expiresAt: 40_000 + timing.ttlMs });
    });

    it('should let a write that sets a device\'s timers win over an earlier refresh (a close shortens to the grace window)', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      expect(await refresh('u1', 'd1', 40_000)).toEqual([true]);
      const closed = apply(a1.state, { type: 'disconnect', deviceId: 'd1', now: 41_000 }, timing);
      expect(await write(a1.state, closed, 41_000)).toBe(true);
      expect((await store.load(['u1'])).get('u1')!.devices.d1!.expiresAt).toBe(41_000 + timing.graceMs);
      expect(await store.claimDue(41_000 + timing.graceMs, 10, 5_000)).toEqual(['u1']);
    });

    it('should refuse a write that drops as expired a device a refresh kept alive since the read, and take it when still expired', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const expiry = a1.state.devices.d1!.expiresAt;
      // The sweeper read the state at the expiry; the socket's refresh landed in between.
      expect(await refresh('u1', 'd1', expiry - 1)).toEqual([true]);
      const swept = apply(a1.state, { type: 'tick', now: expiry }, timing);
      expect(swept.transition).toMatchObject({ to: 'OFFLINE' });
      expect(await write(a1.state, swept, expiry)).toBe(false);
      expect(await store.outbox.backlog()).toBe(1);
      // Read again, nothing is due; when the refreshed expiry passes, the sweep goes through.
      const fresh = (await store.load(['u1'])).get('u1')!;
      const later = fresh.devices.d1!.expiresAt;
      const offline = apply(fresh, { type: 'tick', now: later }, timing);
      expect(offline.transition).toMatchObject({ to: 'OFFLINE', cause: 'EXPIRY' });
      expect(await write(fresh, offline, later)).toBe(true);
      expect((await store.load(['u1'])).get('u1')!.devices).toEqual({});
    });

    it('should agree with the core over random histories of writes and refreshes, and claim exactly what is due', async () => {
      let refreshed = 0;
      let refused = 0;
      const stepArb = fc
        .record({
          gap: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 35_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 900_000 }) }),
          kind: fc.constantFrom('heartbeat', 'heartbeat', 'idle', 'refresh', 'refresh', 'refresh', 'refresh', 'disconnect', 'signOff', 'tick', 'dnd'),
          device: fc.constantFrom('a', 'b'),
          // Each device keeps its platform, but now and then a step names the other one.
          otherPlatform: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        })
        .map(({ device, otherPlatform, ...step }) => ({ ...step, device, platform: (device === 'a') !== otherPlatform ? ('WEB' as const) : ('MOBILE' as const) }));
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 12 }), async (steps) => {
          const userId = `r${run++}`;
          let state = initialState(userId);
          /** The auto-idle indexed by the last write (a refresh never moves it). */
          let idleAt: number | null = null;
          let now = 1_000_000 + run * 100_000_000;
          for (const step of steps) {
            now += step.gap;
            if (step.kind === 'refresh') {
              const expected = refreshDevice(state, step.device, step.platform, now, now + quickIdle.ttlMs);
              expect(await store.refresh([{ userId, deviceId: step.device, platform: step.platform }], now, now + quickIdle.ttlMs)).toEqual([expected !== null]);
              if (expected) {
                refreshed++;
                state = expected;
              } else refused++;
            } else {
              const command: Command =
                step.kind === 'heartbeat' || step.kind === 'idle'
                  ? { type: 'heartbeat', deviceId: step.device, platform: step.platform, activity: step.kind === 'idle' ? 'IDLE' : 'ACTIVE', now }
                  : step.kind === 'disconnect' || step.kind === 'signOff'
                    ? { type: step.kind, deviceId: step.device, now }
                    : step.kind === 'dnd'
                      ? { type: 'setManual', manual: 'DND', now }
                      : { type: 'tick', now };
              const applied = apply(state, command, quickIdle);
              if (applied.effect === 'none') continue;
              expect(await write(state, applied, now, quickIdle)).toBe(true);
              state = applied.state;
              idleAt = nextIdle(state, now, quickIdle);
            }
            expect((await store.load([userId])).get(userId) ?? initialState(userId)).toEqual(state);
          }
          // Due: the earliest device expiry, or the auto-idle indexed by the last write.
          const due = Math.min(idleAt ?? Infinity, ...Object.values(state.devices).map((d) => d.expiresAt));
          if (Number.isFinite(due)) {
            expect((await store.claimDue(due - 1, 1_000, 1)).filter((id) => id === userId)).toEqual([]);
            expect((await store.claimDue(due, 1_000, 1)).filter((id) => id === userId)).toEqual([userId]);
          }
        }),
        { numRuns: 120 },
      );
      expect(refreshed).toBeGreaterThan(20);
      expect(refused).toBeGreaterThan(20);
    });

    it('should bind a device to its first user', async () => {
      expect(await store.claimDevice('alice', 'dev-1')).toBe('alice');
      expect(await store.claimDevice('bob', 'dev-1')).toBe('alice');
      expect(await store.claimDevice('alice', 'dev-1')).toBe('alice');
    });

    it('should answer ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

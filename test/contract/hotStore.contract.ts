/**
 * What every HotStore promises (hot/port.ts). Run against the embedded store and, with the real-stores
 * issue, against Redis: `hotStoreContract(name, make)`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HotStore } from '../../hot/port.js';
import { apply, initialState, makeTiming, nextDue, type Transition, type UserState } from '../../presence/index.js';

const timing = (() => {
  const t = makeTiming();
  if (!t.ok) throw new Error(t.error);
  return t.timing;
})();

export function hotStoreContract(name: string, make: () => Promise<{ store: HotStore; dispose(): Promise<void> }>): void {
  describe(`HotStore contract: ${name}`, () => {
    let store: HotStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dispose } = await make());
    });
    afterEach(() => dispose());

    const connect = (state: UserState, now: number) => apply(state, { type: 'heartbeat', deviceId: 'd1', platform: 'WEB', now }, timing);
    const write = (prev: UserState, applied: ReturnType<typeof connect>, now: number) =>
      store.commit({ now, next: applied.state, expectedRev: prev.rev, effect: applied.effect as 'write', transition: applied.transition, due: nextDue(applied.state, now, timing) });

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

    it('should append each transition to the outbox until acknowledged', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const quiet = apply(a1.state, { type: 'heartbeat', deviceId: 'd1', platform: 'WEB', now: 2_000 }, timing);
      expect(quiet.effect).toBe('refresh');
      await store.commit({ now: 2_000, next: quiet.state, expectedRev: a1.state.rev, effect: 'refresh', transition: null, due: nextDue(quiet.state, 2_000, timing) });
      const entries = await store.outbox.read('c1', 10);
      expect(entries.map((e) => e.transition)).toEqual([a1.transition]);
      expect(await store.outbox.backlog()).toBe(1);
      await store.outbox.ack(entries.map((e) => e.id));
      expect(await store.outbox.backlog()).toBe(0);
      expect(await store.outbox.read('c1', 10)).toEqual([]);
    });

    it('should hand each due user to exactly one claimer, and again after the lease if not committed', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const due = nextDue(a1.state, 1_000, timing)!;
      expect(await store.claimDue(due - 1, 10, 5_000)).toEqual([]);
      expect(await store.claimDue(due, 10, 5_000)).toEqual(['u1']);
      expect(await store.claimDue(due, 10, 5_000)).toEqual([]);
      expect(await store.claimDue(due + 5_000, 10, 5_000)).toEqual(['u1']);
    });

    it('should drop a user from the due index when committed with due = null', async () => {
      const a1 = connect(initialState('u1'), 1_000);
      await write(initialState('u1'), a1, 1_000);
      const gone = apply(a1.state, { type: 'signOff', deviceId: 'd1', now: 2_000 }, timing);
      await store.commit({ now: 2_000, next: gone.state, expectedRev: a1.state.rev, effect: 'write', transition: gone.transition, due: null });
      expect(await store.claimDue(10_000_000, 10, 5_000)).toEqual([]);
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

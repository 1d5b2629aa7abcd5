/** The viewport stream on its own: ordering, coalescing, and what a slow consumer gets. */
import { describe, expect, it } from 'vitest';
import { EmbeddedHotStore } from '../../hot/embedded.js';
import type { PresenceView, Transition, UserId } from '../../presence/index.js';
import { InterestIndex } from '../../subscriptions/interest.js';
import { viewportStream } from '../../subscriptions/viewport.js';
import { until } from '../support/clients.js';

function world() {
  const hot = new EmbeddedHotStore();
  const interest = new InterestIndex(hot.feed);
  const versions = new Map<UserId, number>();
  let reads = 0;
  const read = async (ids: readonly UserId[]): Promise<PresenceView[]> => {
    reads++;
    return ids.map((userId) => ({ userId, status: (versions.get(userId) ?? 0) % 2 ? 'ONLINE' : 'IDLE', lastSeen: null, platforms: [], version: versions.get(userId) ?? 0 }));
  };
  const change = (userId: UserId) => {
    const version = (versions.get(userId) ?? 0) + 1;
    versions.set(userId, version);
    const transition = { id: `${userId}:${version}`, userId, from: 'IDLE', to: 'ONLINE', version, bucket: 0, cause: 'ACTIVITY', published: { status: 'ONLINE', platforms: [], lastSeen: null } } as Transition;
    hot.feed.publish(userId, { type: 'transition', transition });
  };
  return { hot, interest, read, change, reads: () => reads };
}

describe('viewportStream', () => {
  it('should give a consumer that stops pulling one batch with the latest state per user, not a queue', async () => {
    const w = world();
    const stream = viewportStream({ viewerId: 'me', ids: ['a', 'b', 'c'], interest: w.interest, coalesceMs: 0, read: w.read });
    const first = await stream.next();
    expect(first.value).toMatchObject({ snapshot: true });
    // The consumer stalls while 998 changes arrive for a and b (an odd number each: they end ONLINE).
    for (let i = 0; i < 499; i++) {
      w.change('a');
      w.change('b');
    }
    await until(() => w.hot.feed.received === 998, 'all changes delivered to the process');
    const readsBefore = w.reads();
    const batch = await stream.next();
    expect(batch.value).toEqual({
      snapshot: false,
      presences: [
        { userId: 'a', status: 'ONLINE', lastSeen: null, platforms: [], version: 499 },
        { userId: 'b', status: 'ONLINE', lastSeen: null, platforms: [], version: 499 },
      ],
    });
    // At most one read in flight was waiting for the consumer; the rest folded into the dirty set.
    expect(w.reads() - readsBefore).toBeLessThanOrEqual(1);
    await stream.return?.();
    expect(w.interest.watchedUsers).toBe(0);
  });

  it('should send nothing when the viewer would see no difference', async () => {
    const w = world();
    // a is hidden from this viewer (always UNKNOWN); b is visible.
    const read = async (ids: readonly UserId[]) => {
      const views = await w.read(ids);
      return views.map((v): PresenceView => (v.userId === 'a' ? { userId: 'a', status: 'UNKNOWN', lastSeen: null, platforms: [], version: 0 } : v));
    };
    const stream = viewportStream({ viewerId: 'me', ids: ['a', 'b'], interest: w.interest, coalesceMs: 0, read });
    await stream.next();
    w.change('a');
    w.change('a');
    await until(() => w.hot.feed.received === 2, 'both changes of a delivered');
    // b's change is the sentinel: the next frame is b alone, so a's changes made none.
    w.change('b');
    expect((await stream.next()).value).toEqual({ snapshot: false, presences: [{ userId: 'b', status: 'ONLINE', lastSeen: null, platforms: [], version: 1 }] });
    await stream.return?.();
  });

  it('should complete promptly and stop watching when the consumer returns while idle', async () => {
    const w = world();
    const stream = viewportStream({ viewerId: 'me', ids: ['a', 'b'], interest: w.interest, coalesceMs: 50, read: w.read });
    await stream.next();
    expect(w.interest.watchedUsers).toBe(3);
    const pending = stream.next();
    await stream.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(w.interest.watchedUsers).toBe(0);
  });
});

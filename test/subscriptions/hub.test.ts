/**
 * The viewport hub on its own (subscriptions/hub.ts): ordering, coalescing, what a slow consumer gets,
 * and views shared between viewers. Embedded feed and graph; records come from the transitions heard.
 */
import { describe, expect, it } from 'vitest';
import { CachedContactGraph } from '../../graph/cached.js';
import { EmbeddedContactGraph } from '../../graph/embedded.js';
import { EmbeddedHotStore } from '../../hot/embedded.js';
import type { PresenceRecord, Transition, UserId } from '../../presence/index.js';
import { VisibilityService } from '../../service/visibility.js';
import { ViewportHub, type PresenceBatch } from '../../subscriptions/hub.js';
import { InterestIndex } from '../../subscriptions/interest.js';
import { WatchedRecords } from '../../subscriptions/records.js';
import { until } from '../support/clients.js';

async function world(coalesceMs = 0) {
  const hot = new EmbeddedHotStore();
  const graph = new EmbeddedContactGraph();
  for (const id of ['me', 'you', 'a', 'b', 'c', 'hidden']) {
    await graph.ensureUser(id);
    if (id !== 'hidden') await graph.setPrivacy(id, 'EVERYONE');
  }
  const versions = new Map<UserId, number>();
  let recordReads = 0;
  const record = (userId: UserId): PresenceRecord => ({ userId, published: { status: (versions.get(userId) ?? 0) % 2 ? 'ONLINE' : 'IDLE', platforms: [], lastSeen: null }, version: versions.get(userId) ?? 0 });
  const read = async (ids: readonly UserId[]) => {
    recordReads++;
    return new Map(ids.map((id) => [id, record(id)]));
  };
  const records = new WatchedRecords(read);
  const visibility = new VisibilityService({ relations: new CachedContactGraph(graph, hot.visibility), records: read });
  const interest = new InterestIndex(hot.feed, { observe: (userId, event) => records.observe(userId, event), idle: (userId) => records.forget(userId) });
  const batches: PresenceBatch[] = [];
  const waits: (number | undefined)[] = [];
  const hub = new ViewportHub({
    interest,
    visibility,
    records,
    coalesceMs,
    onBatch: (batch, _path, waitedMs) => {
      batches.push(batch);
      waits.push(waitedMs);
    },
  });
  const change = (userId: UserId) => {
    const version = (versions.get(userId) ?? 0) + 1;
    versions.set(userId, version);
    const transition = { id: `${userId}:${version}`, userId, from: 'IDLE', to: 'ONLINE', version, bucket: 0, cause: 'ACTIVITY', published: record(userId).published } as Transition;
    hot.feed.publish(userId, { type: 'transition', transition });
  };
  return { hot, interest, hub, change, batches, waits, recordReads: () => recordReads };
}

/** A sink that records what it is given and holds each delivery until released. */
function heldSink() {
  const got: PresenceBatch[] = [];
  let release: (() => void) | null = null;
  return {
    got,
    release: () => release?.(),
    sink: { path: 'frames' as const, deliver: (batch: PresenceBatch) => new Promise<void>((resolve) => {
      got.push(batch);
      release = resolve;
    }), fail: (error: unknown) => { throw error; } },
  };
}

describe('ViewportHub', () => {
  it('should give a consumer that stops pulling one batch with the latest state per user, not a queue', async () => {
    const w = await world();
    const stream = w.hub.stream('me', ['a', 'b', 'c']);
    const first = await stream.next();
    expect(first.value).toMatchObject({ snapshot: true });
    // The consumer stalls while 998 changes arrive for a and b (an odd number each: they end ONLINE).
    for (let i = 0; i < 499; i++) {
      w.change('a');
      w.change('b');
    }
    await until(() => w.hot.feed.received === 998, 'all changes delivered to the process');
    const batch = await stream.next();
    expect(batch.value).toEqual({
      snapshot: false,
      presences: [
        { userId: 'a', status: 'ONLINE', lastSeen: null, platforms: [], version: 499 },
        { userId: 'b', status: 'ONLINE', lastSeen: null, platforms: [], version: 499 },
      ],
    });
    // Records came from the transitions themselves: one read, for the snapshot.
    expect(w.recordReads()).toBe(1);
    await stream.return?.();
    expect(w.interest.watchedUsers).toBe(0);
    expect(w.hub.size).toBe(0);
  });

  it('should send nothing when the viewer would see no difference', async () => {
    const w = await world();
    const stream = w.hub.stream('me', ['hidden', 'b']);
    expect((await stream.next()).value).toMatchObject({ snapshot: true, presences: [{ userId: 'hidden', status: 'UNKNOWN' }, { userId: 'b', status: 'IDLE' }] });
    w.change('hidden');
    w.change('hidden');
    await until(() => w.hot.feed.received === 2, 'both changes of the hidden user delivered');
    // b's change is the sentinel: the next batch is b alone, so the hidden user's changes made none.
    w.change('b');
    expect((await stream.next()).value).toEqual({ snapshot: false, presences: [{ userId: 'b', status: 'ONLINE', lastSeen: null, platforms: [], version: 1 }] });
    await stream.return?.();
  });

  it('should complete promptly and stop watching when the consumer returns while idle', async () => {
    const w = await world(50);
    const stream = w.hub.stream('me', ['a', 'b']);
    await stream.next();
    expect(w.interest.watchedUsers).toBe(3);
    const pending = stream.next();
    await stream.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(w.interest.watchedUsers).toBe(0);
  });

  it('should send a change after a quiet spell at once, and changes within the window together at its end', async () => {
    const w = await world(200);
    const held = heldSink();
    const handle = await w.hub.open('me', ['a', 'b', 'c'], held.sink);
    await until(() => held.got.length === 1, 'snapshot');
    held.release();
    // The snapshot was just sent: a change now waits for the end of its window, and takes company.
    const before = performance.now();
    w.change('a');
    w.change('b');
    await until(() => w.hot.feed.received === 2, 'both heard');
    w.change('c');
    await until(() => held.got.length === 2, 'one batch at the end of the window', 2_000);
    const after = performance.now();
    expect(held.got[1]!.presences.map((p) => p.userId)).toEqual(['a', 'b', 'c']);
    // The wait reported (presence_fanout_delay_seconds) is the oldest change's, from when it was heard:
    // none for the snapshot; for the batch, within the time the test saw pass since it made the change.
    expect(w.waits[0]).toBeUndefined();
    expect(w.waits[1]).toBeGreaterThan(0);
    expect(w.waits[1]).toBeLessThanOrEqual(after - before);
    await handle.close();
  });

  it('should hold further changes while the sink has not taken the last batch, then send the latest of each', async () => {
    const w = await world(0);
    const held = heldSink();
    const handle = await w.hub.open('me', ['a', 'b'], held.sink);
    await until(() => held.got.length === 1, 'snapshot');
    // The snapshot is still with the sink (not written yet): four changes fold into the dirty set.
    w.change('a');
    w.change('a');
    w.change('a');
    w.change('b');
    await until(() => w.hot.feed.received === 4, 'all heard');
    expect(held.got).toHaveLength(1);
    held.release();
    await until(() => held.got.length === 2, 'the held changes, as one batch');
    expect(held.got[1]!.presences).toEqual([
      { userId: 'a', status: 'ONLINE', lastSeen: null, platforms: [], version: 3 },
      { userId: 'b', status: 'ONLINE', lastSeen: null, platforms: [], version: 1 },
    ]);
    await handle.close();
  });

  it('should let the event loop in between slices of a long flush, and send every due subscription once, in turn', async () => {
    const w = await world(0);
    const order: number[] = [];
    /** Deliveries made by the time a timer set at the first one fired: the drain yielded if fewer than all. */
    let seenByTimer = -1;
    const spin = () => {
      const until = performance.now() + 0.1;
      while (performance.now() < until);
    };
    const handles = [];
    const COUNT = 300;
    for (let i = 0; i < COUNT; i++) {
      handles.push(
        await w.hub.open('me', ['a'], {
          path: 'frames',
          deliver: (batch) => {
            spin();
            if (batch.snapshot) return;
            if (order.length === 0) setTimeout(() => (seenByTimer = order.length), 0);
            order.push(i);
          },
          fail: (error) => {
            throw error;
          },
        }),
      );
    }
    await until(() => w.batches.length === COUNT, 'snapshots');
    // One change makes all 300 due at once: ~30 ms of writing, which the hub does a few ms at a time.
    w.change('a');
    await until(() => order.length === COUNT, 'the change, to every subscription');
    expect(seenByTimer).toBeGreaterThan(0);
    expect(seenByTimer).toBeLessThan(COUNT);
    // Each once, in the order they were told (the order they came due).
    expect(order).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    await Promise.all(handles.map((h) => h.close()));
  });

  it('should hand every viewer shown the same thing the very same view object (texts are shared by it)', async () => {
    const w = await world(0);
    const [mine, yours] = [heldSink(), heldSink()];
    const handles = [await w.hub.open('me', ['a'], mine.sink), await w.hub.open('you', ['a'], yours.sink)];
    await until(() => mine.got.length === 1 && yours.got.length === 1, 'snapshots');
    mine.release();
    yours.release();
    w.change('a');
    await until(() => mine.got.length === 2 && yours.got.length === 2, 'the change, to both');
    expect(mine.got[1]!.presences[0]).toBe(yours.got[1]!.presences[0]);
    await Promise.all(handles.map((h) => h.close()));
  });
});

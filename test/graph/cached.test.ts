/**
 * The relation cache in front of the contact graph (graph/cached.ts): it behaves as the graph it wraps
 * (the ContactGraph contract), reads each relation once, and never serves one a heard change replaced —
 * a change by another process, one made through it, one racing a read, a feed that lost its connection.
 */
import { describe, expect, it } from 'vitest';
import { CachedContactGraph } from '../../graph/cached.js';
import { EmbeddedContactGraph } from '../../graph/embedded.js';
import type { Audience, ContactGraph } from '../../graph/port.js';
import { EmbeddedVisibilityFeed } from '../../hot/embedded.js';
import type { VisibilityFeed } from '../../hot/port.js';
import { StoreUnavailableError, type UserId } from '../../presence/index.js';
import { contactGraphContract } from '../contract/contactGraph.contract.js';
import { until } from '../support/clients.js';

contactGraphContract('cached (over embedded)', async () => ({ graph: new CachedContactGraph(new EmbeddedContactGraph(), new EmbeddedVisibilityFeed()), dispose: async () => {} }));

/** A graph with alice (EVERYONE), bob (CONTACTS, lists viewer), carol (NOBODY), the viewer (CONTACTS). */
async function setup(options: { ttlMs?: number; renewAfter?: number; maxEntries?: number; confirmedForMs?: number; random?: () => number; feed?: VisibilityFeed } = {}) {
  const inner = new EmbeddedContactGraph();
  const feed = options.feed ?? new EmbeddedVisibilityFeed();
  const clock = { now: 1_000_000 };
  const graph = new CachedContactGraph(inner, feed, { ttlMs: options.ttlMs, renewAfter: options.renewAfter, maxEntries: options.maxEntries, confirmedForMs: options.confirmedForMs, random: options.random, clock: () => clock.now });
  for (const id of ['viewer', 'alice', 'bob', 'carol']) await inner.ensureUser(id);
  await inner.setPrivacy('alice', 'EVERYONE');
  await inner.addContact('bob', 'viewer');
  await inner.setPrivacy('carol', 'NOBODY');
  inner.queries = 0;
  return { inner, feed, graph, clock };
}

/** An Audience's three parts as a plain object (the cache's answer gathers its revisions in a getter). */
const plain = ({ viewerPrivacy, relations, revisions }: Audience) => ({ viewerPrivacy, relations, revisions });
const relation = async (graph: ContactGraph, target: UserId, viewer = 'viewer') => (await graph.audience(viewer, [target])).relations.get(target);
/** Lets a microtask-delivered change (the embedded feed's) arrive. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('CachedContactGraph', () => {
  it('should read a viewer\'s relations once, then answer from memory', async () => {
    const { inner, graph } = await setup();
    const first = plain(await graph.audience('viewer', ['alice', 'bob', 'carol']));
    expect(first).toEqual({
      viewerPrivacy: 'CONTACTS',
      relations: new Map([
        ['alice', { privacy: 'EVERYONE', listsViewer: false, blocksViewer: false }],
        ['bob', { privacy: 'CONTACTS', listsViewer: true, blocksViewer: false }],
        ['carol', { privacy: 'NOBODY', listsViewer: false, blocksViewer: false }],
      ]),
      // setup(): one change each for alice, bob and carol, none for the viewer.
      revisions: new Map([
        ['viewer', 0],
        ['alice', 1],
        ['bob', 1],
        ['carol', 1],
      ]),
    });
    // From memory, revisions included (gathered only when asked for).
    expect(plain(await graph.audience('viewer', ['carol', 'alice', 'bob', 'alice']))).toEqual(first);
    expect(inner.queries).toBe(1);
    expect(graph.stats).toEqual({ hits: 1, misses: 1, renewals: 0 });
    // Part from memory, part read: each relation with the revision it was read at, and the viewer's.
    await inner.ensureUser('dave');
    await inner.setPrivacy('dave', 'EVERYONE');
    await inner.setPrivacy('dave', 'NOBODY');
    const mixed = await graph.audience('viewer', ['alice', 'dave']);
    expect(mixed.revisions).toEqual(new Map([['viewer', 0], ['alice', 1], ['dave', 2]]));
    // A target named twice among those it must read: read once, answered once.
    await inner.ensureUser('erin');
    const before = inner.queries;
    const twice = await graph.audience('viewer', ['erin', 'alice', 'erin']);
    expect([...twice.relations.keys()]).toEqual(['alice', 'erin']);
    expect(inner.queries).toBe(before + 1);
  });

  it('should answer synchronously from memory only what it holds fresh, and nothing once a change is heard or a life ends', async () => {
    const { inner, graph, clock } = await setup({ ttlMs: 60_000, random: () => 0 });
    expect(graph.heldFor('viewer')).toBeUndefined();
    await graph.audience('viewer', ['alice', 'bob']);
    const held = graph.heldFor('viewer')!;
    expect(held.viewerPrivacy).toBe('CONTACTS');
    expect([held.relationOf('alice'), held.relationOf('bob')]).toEqual([
      { privacy: 'EVERYONE', listsViewer: false, blocksViewer: false },
      { privacy: 'CONTACTS', listsViewer: true, blocksViewer: false },
    ]);
    // A target it has not read: a read is needed.
    expect(held.relationOf('carol')).toBeUndefined();
    // Only look-ups that answered are counted, by done().
    expect(graph.stats).toEqual({ hits: 0, misses: 1, renewals: 0 });
    held.done();
    expect(graph.stats).toEqual({ hits: 1, misses: 1, renewals: 0 });
    expect(inner.queries).toBe(1);
    // A change of bob's made through the cache: he is read again, alice still held.
    await graph.removeContact('bob', 'viewer');
    expect(graph.heldFor('viewer')!.relationOf('bob')).toBeUndefined();
    expect(graph.heldFor('viewer')!.relationOf('alice')?.privacy).toBe('EVERYONE');
    // Past half its life a look-up renews it in the background once done; past its life, nothing is held.
    clock.now += 30_000;
    const aging = graph.heldFor('viewer')!;
    expect(aging.relationOf('alice')?.privacy).toBe('EVERYONE');
    aging.done();
    await until(() => graph.renewing === 0, 'the renewal');
    expect(graph.stats.renewals).toBe(1);
    clock.now += 60_000;
    expect(graph.heldFor('viewer')).toBeUndefined();
  });

  it('should read only the targets it does not hold, and keep relations per viewer', async () => {
    const { inner, graph } = await setup();
    await graph.audience('viewer', ['alice']);
    const read = inner.audience.bind(inner);
    const asked: string[][] = [];
    inner.audience = async (viewerId, ids) => {
      asked.push([viewerId, ...ids]);
      return read(viewerId, ids);
    };
    await graph.audience('viewer', ['alice', 'bob']);
    await graph.audience('alice', ['bob']);
    await graph.audience('alice', ['bob']);
    expect(asked).toEqual([
      ['viewer', 'bob'],
      ['alice', 'bob'],
    ]);
  });

  it('should forget a target\'s relations when a change of theirs is heard from another process', async () => {
    const { inner, feed, graph } = await setup();
    expect(await relation(graph, 'bob')).toMatchObject({ listsViewer: true });
    // Another process changes bob in the graph and announces it.
    await inner.block('bob', 'viewer');
    (feed as EmbeddedVisibilityFeed).publish('bob');
    await settle();
    expect(await relation(graph, 'bob')).toMatchObject({ listsViewer: true, blocksViewer: true });
    expect(inner.queries).toBe(3);
  });

  it('should forget a viewer\'s own mode when their change is heard (reciprocity), but not what others said of them', async () => {
    const { inner, feed, graph } = await setup();
    await graph.audience('viewer', ['alice']);
    await inner.setPrivacy('viewer', 'NOBODY');
    (feed as EmbeddedVisibilityFeed).publish('viewer');
    await settle();
    inner.queries = 0;
    expect((await graph.audience('viewer', ['alice'])).viewerPrivacy).toBe('NOBODY');
    expect(inner.queries).toBe(1);
  });

  it('should drop a changed target\'s relation for every viewer holding one, and nothing else', async () => {
    const { inner, feed, graph } = await setup();
    await graph.audience('viewer', ['alice', 'bob']);
    await graph.audience('carol', ['alice', 'bob']);
    // bob as a viewer: what alice says of bob does not depend on bob.
    await graph.audience('bob', ['alice']);
    // Three modes and five relations.
    expect(graph.size).toBe(8);
    const asked: string[][] = [];
    const read = inner.audience.bind(inner);
    inner.audience = async (viewerId, ids) => (asked.push([viewerId, ...ids]), read(viewerId, ids));
    await inner.addContact('bob', 'carol');
    (feed as EmbeddedVisibilityFeed).publish('bob');
    await settle();
    // bob's relations to the viewer and to carol, and bob's own mode, are gone; the rest stays.
    expect(graph.size).toBe(5);
    expect((await graph.audience('carol', ['alice', 'bob'])).relations.get('bob')).toMatchObject({ listsViewer: true });
    await graph.audience('viewer', ['alice', 'bob']);
    await graph.audience('bob', ['alice']);
    expect(asked).toEqual([['carol', 'bob'], ['viewer', 'bob'], ['bob']]);
    expect(graph.size).toBe(8);
  });

  it('should forget at once a change made through it, before anything is published', async () => {
    const { graph } = await setup();
    expect(await relation(graph, 'alice')).toMatchObject({ privacy: 'EVERYONE' });
    await graph.setPrivacy('alice', 'NOBODY');
    expect(await relation(graph, 'alice')).toMatchObject({ privacy: 'NOBODY' });
    expect(await relation(graph, 'bob')).toMatchObject({ listsViewer: true });
    expect(await graph.removeContact('bob', 'viewer')).toBe(true);
    expect(await relation(graph, 'bob')).toMatchObject({ listsViewer: false });
    expect(await graph.block('carol', 'viewer')).toBe(true);
    expect(await relation(graph, 'carol')).toMatchObject({ blocksViewer: true });
  });

  it('should answer a read that raced a heard change, but not keep it', async () => {
    const { inner, feed, graph } = await setup();
    const read = inner.audience.bind(inner);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    inner.audience = async (viewerId, ids) => {
      const answer = await read(viewerId, ids);
      await gate;
      return answer;
    };
    const racing = graph.audience('viewer', ['bob']);
    await settle();
    // The change lands after the read, and is heard while the read is still in flight.
    await inner.removeContact('bob', 'viewer');
    (feed as EmbeddedVisibilityFeed).publish('bob');
    await settle();
    release();
    expect((await racing).relations.get('bob')).toMatchObject({ listsViewer: true });
    inner.audience = read;
    expect(await relation(graph, 'bob')).toMatchObject({ listsViewer: false });
  });

  it('should drop everything when the feed may have missed changes, and read through uncached while it cannot listen', async () => {
    let handler: (id: UserId | null) => void = () => undefined;
    let up = true;
    const feed: VisibilityFeed = {
      listen: async () => {
        if (!up) throw new StoreUnavailableError('hot');
      },
      unlisten: async () => undefined,
      onChange: (h) => (handler = h),
    };
    const { inner, graph } = await setup({ feed });
    await relation(graph, 'alice');
    await relation(graph, 'alice');
    expect(inner.queries).toBe(1);
    up = false;
    handler(null);
    expect(graph.size).toBe(0);
    await relation(graph, 'alice');
    await relation(graph, 'alice');
    expect(inner.queries).toBe(3);
    expect(graph.size).toBe(0);
    up = true;
    await relation(graph, 'alice');
    await relation(graph, 'alice');
    expect(inner.queries).toBe(4);
  });

  it('should read again what it has held for its TTL (less up to a quarter, at random), however quiet the feed', async () => {
    const { inner, graph, clock } = await setup({ ttlMs: 60_000, renewAfter: 1 });
    expect(await relation(graph, 'alice')).toMatchObject({ privacy: 'EVERYONE' });
    // A change nobody announced (its process could not reach the hot store).
    await inner.setPrivacy('alice', 'NOBODY');
    clock.now += 44_999;
    expect(await relation(graph, 'alice')).toMatchObject({ privacy: 'EVERYONE' });
    clock.now += 15_001;
    expect(await relation(graph, 'alice')).toMatchObject({ privacy: 'NOBODY' });
  });

  it('should answer an entry used past half its TTL from memory and renew it in the background, once at a time', async () => {
    const { inner, graph, clock } = await setup({ ttlMs: 60_000 });
    await graph.audience('viewer', ['alice', 'bob']);
    await graph.contacts('bob', 10, null);
    expect(inner.queries).toBe(2);
    // A change nobody announced: the renewal is what brings it in before the TTL would have.
    await inner.setPrivacy('alice', 'NOBODY');
    inner.queries = 0;
    clock.now += 30_000;
    const asked: string[][] = [];
    const checked: string[][] = [];
    const read = inner.audience.bind(inner);
    const check = inner.changed.bind(inner);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    inner.audience = async (viewerId, ids) => {
      asked.push([viewerId, ...ids]);
      await held;
      return read(viewerId, ids);
    };
    inner.changed = async (known) => (checked.push([...known.keys()]), check(known));
    // Answered at once from memory (the read is held back, so a waiting answer would never come).
    expect((await graph.audience('viewer', ['alice', 'bob'])).relations.get('alice')).toMatchObject({ privacy: 'EVERYONE' });
    expect((await graph.audience('viewer', ['alice'])).relations.get('alice')).toMatchObject({ privacy: 'EVERYONE' });
    expect(await graph.contacts('bob', 10, null)).toMatchObject({ ids: ['viewer'], hasNextPage: false });
    // The renewal asks which of the three users its entries depend on changed, then reads alice alone again.
    await until(() => asked.length === 1, 'the renewal of the relations');
    expect(checked).toEqual([['viewer', 'alice', 'bob']]);
    expect(asked).toEqual([['viewer', 'alice']]);
    // The page's renewal waits in line behind it: one background renewal at a time.
    expect(graph.stats.renewals).toBe(2);
    expect(inner.queries).toBe(1);
    release();
    // The page's owner, bob, was vouched for by the relations' check a moment ago (within confirmedForMs):
    // the page lives on, neither checked again nor read.
    await until(() => inner.queries === 2, 'the renewal\'s read of alice');
    await until(() => graph.renewing === 0, 'the page\'s renewal');
    expect(checked).toEqual([['viewer', 'alice', 'bob']]);
    expect(inner.queries).toBe(2);
    // Renewed: the new relation is served, and the unchanged ones live a whole TTL from the renewal (70 s
    // after the first read, past any first life of at most 60 s) — answered from memory, no miss.
    inner.audience = read;
    inner.changed = check;
    clock.now += 40_000;
    const misses = graph.stats.misses;
    expect((await graph.audience('viewer', ['alice', 'bob'])).relations.get('alice')).toMatchObject({ privacy: 'NOBODY' });
    expect(await graph.contacts('bob', 10, null)).toMatchObject({ ids: ['viewer'], hasNextPage: false });
    expect(graph.stats.misses).toBe(misses);
  });

  it('should read again, not extend, an entry whose change was heard while the renewal asked what changed', async () => {
    const { inner, feed, graph, clock } = await setup({ ttlMs: 60_000 });
    await graph.audience('viewer', ['alice', 'bob']);
    clock.now += 30_000;
    // Another process changes bob and announces it while the renewal's check is on its way: the graph
    // answered "unchanged" before the change landed.
    const check = inner.changed.bind(inner);
    const asked: string[][] = [];
    const read = inner.audience.bind(inner);
    inner.audience = async (viewerId, ids) => (asked.push([viewerId, ...ids]), read(viewerId, ids));
    inner.changed = async (known) => {
      const answer = await check(known);
      await inner.block('bob', 'viewer');
      (feed as EmbeddedVisibilityFeed).publish('bob');
      await settle();
      return answer;
    };
    await graph.audience('viewer', ['alice', 'bob']);
    // Alice and the viewer's own mode are extended; bob, whose change was heard meanwhile, is read again.
    await until(() => asked.length === 1, 'the renewal\'s read of what changed');
    expect(asked).toEqual([['viewer', 'bob']]);
    await settle();
    inner.changed = check;
    inner.queries = 0;
    expect((await graph.audience('viewer', ['alice', 'bob'])).relations.get('bob')).toMatchObject({ blocksViewer: true });
    expect(inner.queries).toBe(0);
  });

  it('should extend nothing while the feed cannot listen: entries then run out their life and are read again', async () => {
    // A listen that fails before the feed's drop (handler(null)) has arrived: nothing may be extended.
    let up = true;
    const feed: VisibilityFeed = {
      listen: async () => {
        if (!up) throw new StoreUnavailableError('hot');
      },
      unlisten: async () => undefined,
      onChange: () => undefined,
    };
    const { inner, graph, clock } = await setup({ ttlMs: 60_000, feed });
    await graph.audience('viewer', ['alice']);
    clock.now += 30_000;
    up = false;
    const read = inner.audience.bind(inner);
    let renewed = false;
    // The renewal: a check (unchanged), nothing extended, then a read again that may not be kept either.
    inner.audience = async (viewerId, ids) => {
      renewed = true;
      return read(viewerId, ids);
    };
    await graph.audience('viewer', ['alice']);
    await until(() => renewed, 'the renewal\'s read');
    await settle();
    inner.audience = read;
    up = true;
    // Read at 0, its life at most 60 s: had the renewal extended it, it would still be held at 61 s.
    clock.now += 31_000;
    inner.queries = 0;
    await graph.audience('viewer', ['alice']);
    expect(inner.queries).toBe(1);
  });

  it('should renew a wave of viewers one background read at a time, and not hold a reader who must wait behind it', async () => {
    const { inner, graph, clock } = await setup({ ttlMs: 60_000 });
    const viewers = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const id of [...viewers, 'late']) await inner.ensureUser(id);
    for (const viewer of viewers) await graph.audience(viewer, ['alice', 'bob']);
    // Past any renewal point, before any expiry: every viewer comes back at once.
    clock.now += 45_000;
    let inFlight = 0;
    let most = 0;
    // Who each graph round trip was for: a renewal's check names the viewer first; a miss reads.
    const started: string[] = [];
    const counted = async <T>(viewerId: string, work: () => Promise<T>): Promise<T> => {
      started.push(viewerId);
      most = Math.max(most, ++inFlight);
      try {
        await settle();
        return await work();
      } finally {
        inFlight--;
      }
    };
    const read = inner.audience.bind(inner);
    const check = inner.changed.bind(inner);
    inner.audience = (viewerId, ids) => counted(viewerId, () => read(viewerId, ids));
    inner.changed = (known) => counted([...known.keys()][0]!, () => check(known));
    for (const viewer of viewers) await graph.audience(viewer, ['alice', 'bob']);
    expect(graph.stats.renewals).toBe(20);
    // A viewer never read is a miss: it reads at once, alongside the renewal in flight, not after the line.
    const renewedBefore = started.length;
    await graph.audience('late', ['alice']);
    expect(started.indexOf('late')).toBeLessThanOrEqual(renewedBefore);
    await until(() => started.length === 21 && inFlight === 0, 'every renewal read');
    expect(most).toBe(2);
    expect(started.filter((id) => id !== 'late')).toEqual(viewers);
  });

  it('should ask the graph once about a user many viewers hold, when their renewals come within confirmedForMs', async () => {
    const checkedBy = async (confirmedForMs: number | undefined) => {
      const { inner, graph, clock } = await setup({ ttlMs: 60_000, confirmedForMs });
      const viewers = Array.from({ length: 20 }, (_, i) => `v${i}`);
      for (const id of viewers) await inner.ensureUser(id);
      for (const viewer of viewers) await graph.audience(viewer, ['alice', 'bob']);
      clock.now += 45_000;
      const checked: string[][] = [];
      const check = inner.changed.bind(inner);
      inner.changed = async (known) => (checked.push([...known.keys()]), check(known));
      for (const viewer of viewers) await graph.audience(viewer, ['alice', 'bob']);
      await until(() => graph.renewing === 0, 'every renewal');
      inner.changed = check;
      // Every viewer renewed, and lives on: nothing changed, nothing read again.
      expect(graph.stats.renewals).toBe(20);
      inner.queries = 0;
      clock.now += 20_000;
      for (const viewer of viewers) await graph.audience(viewer, ['alice', 'bob']);
      expect(inner.queries).toBe(0);
      return checked;
    };
    // The first renewal asks about its viewer, alice and bob; the others only about their own viewer.
    expect(await checkedBy(undefined)).toEqual([['v0', 'alice', 'bob'], ...Array.from({ length: 19 }, (_, i) => [`v${i + 1}`])]);
    // confirmedForMs 0: each renewal asks about all three.
    expect((await checkedBy(0)).flat()).toHaveLength(60);
  });

  it('should give what it extends on another renewal\'s word the life of that word, not a fresh one', async () => {
    // Lives not shortened at random: a read at t lives exactly until t + 60 s, renewed from t + 30 s.
    const { inner, graph, clock } = await setup({ ttlMs: 60_000, random: () => 0 });
    const t0 = clock.now;
    await graph.audience('viewer', ['alice']);
    await inner.ensureUser('other');
    await graph.audience('other', ['alice']);
    const checked: string[][] = [];
    const check = inner.changed.bind(inner);
    inner.changed = async (known) => (checked.push([...known.keys()]), check(known));
    // At 30 s the viewer's renewal asks about alice; at 34 s the other's relies on that answer.
    clock.now = t0 + 30_000;
    await graph.audience('viewer', ['alice']);
    await until(() => graph.renewing === 0, 'the viewer\'s renewal');
    clock.now = t0 + 34_000;
    await graph.audience('other', ['alice']);
    await until(() => graph.renewing === 0, 'the other\'s renewal');
    expect(checked).toEqual([['viewer', 'alice'], ['other']]);
    // Past confirmedForMs (5 s) the word no longer counts: asked again.
    clock.now = t0 + 36_000;
    await graph.audience('viewer', ['alice']);
    expect(graph.renewing).toBe(0);
    // The other's entries live until 90 s (vouched for at 30 s), not 94 s (its renewal at 34 s).
    clock.now = t0 + 90_001;
    const misses = graph.stats.misses;
    await graph.audience('other', ['alice']);
    expect(graph.stats.misses).toBe(misses + 1);
  });

  it('should spread the expiries of reads made together, by different viewers, over the last quarter of the TTL', async () => {
    const { inner, graph, clock } = await setup({ ttlMs: 60_000, renewAfter: 1 });
    const viewers = Array.from({ length: 200 }, (_, i) => `v${i}`);
    for (const id of viewers) await inner.ensureUser(id);
    for (const viewer of viewers) await graph.audience(viewer, ['alice']);
    clock.now += 52_500;
    inner.queries = 0;
    for (const viewer of viewers) await graph.audience(viewer, ['alice']);
    // About half expired by the middle of the last quarter; none all at once.
    expect(inner.queries).toBeGreaterThan(40);
    expect(inner.queries).toBeLessThan(160);
  });

  it('should hold what one read brought on one life: it expires, and is renewed, as one read', async () => {
    const targets = Array.from({ length: 200 }, (_, i) => `t${i}`);
    const reads = async (graph: CachedContactGraph, inner: EmbeddedContactGraph, clock: { now: number }, from: number, to: number) => {
      const asked: number[] = [];
      const checked: number[] = [];
      const read = inner.audience.bind(inner);
      const check = inner.changed.bind(inner);
      inner.audience = async (viewerId, ids) => (asked.push(ids.length), read(viewerId, ids));
      inner.changed = async (known) => (checked.push(known.size), check(known));
      const start = clock.now;
      // The viewer comes back every 2 s.
      for (let at = from; at <= to; at += 2_000) {
        clock.now = start + at;
        await graph.audience('viewer', targets);
        await settle();
      }
      inner.audience = read;
      inner.changed = check;
      return { asked, checked };
    };

    // Expiry alone (no renewal ahead): somewhere in the last quarter of the TTL, all 200 at once.
    const expiring = await setup({ ttlMs: 60_000, renewAfter: 1 });
    for (const id of targets) await expiring.inner.ensureUser(id);
    await expiring.graph.audience('viewer', targets);
    expect(await reads(expiring.graph, expiring.inner, expiring.clock, 2_000, 60_000)).toEqual({ asked: [200], checked: [] });

    // Renewed ahead: once past half their life, one background check of all 201 users the entries depend on
    // (the 200 targets and the viewer, for their own mode), then none until the next half; nothing changed,
    // so nothing is read again.
    const renewing = await setup({ ttlMs: 60_000 });
    for (const id of targets) await renewing.inner.ensureUser(id);
    await renewing.graph.audience('viewer', targets);
    const misses = renewing.graph.stats.misses;
    expect(await reads(renewing.graph, renewing.inner, renewing.clock, 2_000, 44_000)).toEqual({ asked: [], checked: [201] });
    expect(renewing.graph.stats.renewals).toBe(1);
    expect(renewing.graph.stats.misses).toBe(misses);

    // Two of the 200 changed unannounced: the next renewal reads those two again, and only them — on the
    // life it gave the rest, so the viewer's entries still come due together: over the next minute every
    // renewal checks all 201 at once, never a slice.
    await renewing.inner.setPrivacy('t7', 'NOBODY');
    await renewing.inner.addContact('t9', 'viewer');
    const next = await reads(renewing.graph, renewing.inner, renewing.clock, 2_000, 60_000);
    expect(next.asked).toEqual([2]);
    expect(next.checked.length).toBeGreaterThanOrEqual(2);
    expect(next.checked.every((size) => size === 201)).toBe(true);
    const relations = (await renewing.graph.audience('viewer', ['t7', 't9'])).relations;
    expect(relations.get('t7')).toMatchObject({ privacy: 'NOBODY' });
    expect(relations.get('t9')).toMatchObject({ listsViewer: true });
  });

  it('should start over, and stop listening to everyone it held, past its bound', async () => {
    const unlistened: UserId[][] = [];
    const inner = new EmbeddedVisibilityFeed();
    const feed: VisibilityFeed = { listen: (ids) => inner.listen(ids), unlisten: async (ids) => void unlistened.push([...ids]), onChange: (h) => inner.onChange(h) };
    const { graph } = await setup({ maxEntries: 4, feed });
    await graph.audience('viewer', ['alice', 'bob']);
    expect(graph.size).toBe(3);
    await graph.audience('viewer', ['carol']);
    expect(graph.size).toBe(4);
    await graph.audience('alice', ['bob']);
    expect(graph.size).toBe(0);
    expect(unlistened.map((ids) => [...ids].sort())).toEqual([['alice', 'bob', 'carol', 'viewer']]);
  });

  it('should keep neither unregistered targets nor an unregistered viewer: they may sign in any moment', async () => {
    const { inner, graph } = await setup();
    expect(await graph.audience('stranger', ['nobody', 'alice'])).toMatchObject({ viewerPrivacy: undefined, relations: new Map([['alice', { privacy: 'EVERYONE', listsViewer: false, blocksViewer: false }]]) });
    await inner.ensureUser('nobody');
    await inner.ensureUser('stranger');
    expect(await graph.audience('stranger', ['nobody', 'alice'])).toMatchObject({ viewerPrivacy: 'CONTACTS', relations: new Map([['nobody', expect.anything()], ['alice', expect.anything()]]) });
  });

  it('should forget nothing when a registered user signs in again (every sign-in registers)', async () => {
    const { inner, graph } = await setup();
    await graph.audience('viewer', ['alice', 'bob']);
    await graph.audience('alice', ['viewer']);
    inner.queries = 0;
    for (const id of ['viewer', 'alice', 'bob']) await graph.ensureUser(id);
    await settle();
    const misses = graph.stats.misses;
    await graph.audience('viewer', ['alice', 'bob']);
    await graph.audience('alice', ['viewer']);
    expect(graph.stats.misses).toBe(misses);
    // Through it, a new user registers like any other (and was never held).
    await graph.ensureUser('newcomer');
    expect((await graph.audience('newcomer', ['alice'])).viewerPrivacy).toBe('CONTACTS');
  });

  it('should keep contacts pages per owner until the owner\'s change', async () => {
    const { inner, graph, feed } = await setup();
    await inner.addContact('viewer', 'alice');
    inner.queries = 0;
    expect(await graph.contacts('viewer', 10, null)).toMatchObject({ ids: ['alice'], hasNextPage: false });
    expect(await graph.contacts('viewer', 10, null)).toMatchObject({ ids: ['alice'], hasNextPage: false });
    expect(inner.queries).toBe(1);
    await inner.addContact('viewer', 'bob');
    (feed as EmbeddedVisibilityFeed).publish('viewer');
    await settle();
    expect(await graph.contacts('viewer', 10, null)).toMatchObject({ ids: ['alice', 'bob'], hasNextPage: false });
    expect(await graph.addContact('viewer', 'carol')).toBe(true);
    expect(await graph.contacts('viewer', 10, null)).toMatchObject({ ids: ['alice', 'bob', 'carol'], hasNextPage: false });
  });
});

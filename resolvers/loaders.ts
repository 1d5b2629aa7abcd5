/**
 * Per-request dataloaders: however many presences a query touches, each store is read once per tick —
 * one contact-graph `audience` for this viewer, then one hot-store read (with one durable last-seen read
 * for users it does not hold) of only the users the viewer may see: a hidden user's state is never read.
 *
 * They load lists, not single ids: every list asked in the same tick joins one read of their union, and
 * each caller gets its own list back, in order, from one promise. DataLoader's `loadMany` makes a promise
 * and a catch per id; for `presences(userIds: [500 ids])` under load those were a quarter of everything
 * the server promoted to its old space (a sampling heap profile of bench:batch-read), and the GC pauses
 * that cost were the tail of the batch-read latency.
 */
import DataLoader from 'dataloader';
import {
  decideVisibility,
  StoreUnavailableError,
  viewPresence,
  type PresenceRecord,
  type PresenceView,
  type PrivacyMode,
  type Relation,
  type UserId,
} from '../presence/index.js';
import type { App } from './context.js';
import { failUnlessRegistered } from './validate.js';

/**
 * What the graph said about a target: its relation to the viewer (the graph's own object, nothing made
 * per target), not registered, or unreadable.
 */
export type Audit = Relation | 'missing' | 'unavailable';

/** Reads for lists of ids, batched per tick, each id read at most once per request. */
export type ListLoader<V> = (ids: readonly UserId[]) => Promise<V[]>;

export interface Loaders {
  /** Published record per user, in order; null when the hot store cannot be read (→ UNKNOWN). */
  readonly records: ListLoader<PresenceRecord | null>;
  readonly audits: ListLoader<Audit>;
  /**
   * What this viewer is shown of each user, in order. The graph first (its answers are mostly held in
   * memory: graph/cached.ts), then the hot store for the users whose status the viewer may see, and
   * only those: a 500-id read makes two batches and no per-id work beyond them, and users hidden by
   * privacy (or by a graph that cannot be read) cost no hot-store or last-seen read at all.
   * With `mustExist`, fails with USER_NOT_FOUND (from the graph read) before anything else is read.
   */
  views(ids: readonly UserId[], options?: { mustExist?: boolean }): Promise<PresenceView[]>;
  /** The viewer's own privacy mode; undefined when the graph cannot be read. */
  viewerPrivacy(): Promise<PrivacyMode | undefined>;
}

/**
 * A DataLoader whose keys are lists: its batch is the lists asked in one tick, read as one union of the
 * ids neither held nor already being read. What was read is held for the request (DataLoader's cache, per
 * id); a read that fails is not held, and fails every list waiting on it. A read under way is found by
 * its own id set (one or two at a time per request), not by a map of every id to its read: that map's
 * set and delete per id were a tenth of what a 500-id request allocated (a sampling heap profile of
 * bench:batch-read, bench/preload/alloc-profile.cjs). Nor is what was read put in a map by id until a
 * later batch has to look ids up in it: most requests read once, one list whose answer is the read's.
 */
export function listLoader<V>(read: (ids: readonly UserId[]) => Promise<readonly V[]>): ListLoader<V> {
  /** What was read, by id, once a batch needed it; the reads finished since, until the next one does. */
  let held: Map<UserId, V> | undefined;
  const unindexed: { readonly ids: readonly UserId[]; readonly values: readonly V[] }[] = [];
  const index = (): Map<UserId, V> => {
    held ??= new Map();
    for (const { ids, values } of unindexed) ids.forEach((id, i) => held!.set(id, values[i]!));
    unindexed.length = 0;
    return held;
  };
  /** Reads under way: their ids, and their end. */
  const reading = new Set<{ readonly ids: ReadonlySet<UserId>; readonly done: Promise<void> }>();
  const loader = new DataLoader<readonly UserId[], V[]>(
    async (lists) => {
      const known = held || unindexed.length > 0 ? index() : undefined;
      const wanted = new Set<UserId>();
      const waits = new Set<Promise<void>>();
      for (const list of lists) {
        for (const id of list) {
          if (known?.has(id) || wanted.has(id)) continue;
          let pending: Promise<void> | undefined;
          for (const under of reading) if (under.ids.has(id)) pending = under.done;
          if (pending) waits.add(pending);
          else wanted.add(id);
        }
      }
      let mine: readonly V[] | undefined;
      if (wanted.size > 0) {
        const ids = [...wanted];
        const under = {
          ids: wanted,
          done: read(ids)
            .then((values) => {
              mine = values;
              if (held) ids.forEach((id, i) => held!.set(id, values[i]!));
              else unindexed.push({ ids, values });
            })
            .finally(() => reading.delete(under)),
        };
        reading.add(under);
        waits.add(under.done);
      }
      await Promise.all(waits);
      // One list, every id of it read just now and none twice: the read's answer is the list's.
      if (lists.length === 1 && mine && waits.size === 1 && wanted.size === lists[0]!.length) return [mine.slice()];
      const all = index();
      return lists.map((list) => list.map((id) => all.get(id)!));
    },
    // Lists are not cache keys (each call brings its own array); ids are held above.
    { cache: false },
  );
  return (ids) => (ids.length === 0 ? Promise.resolve([]) : loader.load(ids));
}

function rethrowUnlessUnavailable(error: unknown): void {
  if (!(error instanceof StoreUnavailableError)) throw error;
}

export function createLoaders(app: App, viewerId: UserId): Loaders {
  let viewerPrivacy: Promise<PrivacyMode | undefined> | undefined;

  const records = listLoader<PresenceRecord | null>(async (ids) => {
    try {
      const found = await app.service.records(ids);
      return ids.map((id) => found.get(id) ?? null);
    } catch (error) {
      rethrowUnlessUnavailable(error);
      app.metrics.storeFailures.inc({ store: 'hot' });
      return ids.map(() => null);
    }
  });

  const audits = listLoader<Audit>(async (ids) => {
    try {
      const audience = await app.graph.audience(viewerId, ids);
      viewerPrivacy ??= Promise.resolve(audience.viewerPrivacy);
      return ids.map((id): Audit => audience.relations.get(id) ?? 'missing');
    } catch (error) {
      rethrowUnlessUnavailable(error);
      app.metrics.storeFailures.inc({ store: 'graph' });
      viewerPrivacy ??= Promise.resolve(undefined);
      return ids.map((): Audit => 'unavailable');
    }
  });

  const loaders: Loaders = {
    records,
    audits,
    async views(ids, options = {}) {
      const auds = await audits(ids);
      if (options.mustExist) failUnlessRegistered(ids, auds);
      const privacy = await loaders.viewerPrivacy();
      const visibility = ids.map((id, i) => {
        const aud = auds[i]!;
        return decideVisibility(viewerId, id, privacy, typeof aud === 'object' ? aud : undefined);
      });
      const shown = await records(ids.filter((_, i) => visibility[i]!.status));
      // `shown` follows `ids` with the hidden ones left out: walk both in step.
      let k = 0;
      return ids.map((id, i) => viewPresence(id, visibility[i]!.status ? shown[k++]! : null, visibility[i]!));
    },
    async viewerPrivacy() {
      if (!viewerPrivacy) await audits([viewerId]);
      return viewerPrivacy;
    },
  };
  return loaders;
}

/**
 * Reads of lists of ids, batched per tick: every list asked in the same tick joins one read of their
 * union, each id is read at most once per loader, and each caller gets its own list back, in order, from
 * one promise. (DataLoader's `loadMany` makes a promise and a catch per id, which a 500-id read cannot
 * afford.)
 */
import DataLoader from 'dataloader';
import type { UserId } from '../presence/index.js';

/** Reads for lists of ids, batched per tick, each id read at most once per loader. */
export type ListLoader<V> = (ids: readonly UserId[]) => Promise<V[]>;

/**
 * A DataLoader whose keys are lists: its batch is the lists asked in one tick, read as one union of the
 * ids neither held nor already being read. What was read is held for the loader's life; a read that
 * fails is not held, and fails every list waiting on it. A read under way is found by its own id set,
 * not by a map of every id to its read, and what was read is indexed by id only once a later batch has
 * to look ids up in it: most loaders read once, one list whose answer is the read's, and per-id
 * bookkeeping is what a 500-id request must not pay for.
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

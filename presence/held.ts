/**
 * How long a cached read is trusted, and how it is renewed ahead — one policy for every read cache (the
 * relation cache in front of the contact graph, the durable last-seen reads of the service):
 *
 * - held for its TTL less up to a quarter at random, one draw per read and shared by everything that read
 *   brought: reads made at the same time (a warm-up, a busy minute) are not made again all at once,
 *   while what one read brought ages together and is renewed by one read. (A draw per entry made a
 *   viewer's 500 relations come due a slice at a time, one background graph read per visit: 0.6 of them
 *   per request in bench:batch-read at 100 req/s.)
 * - used past `renewAfter` of that life, it is still answered from memory and read again in the
 *   background — one background read per key at a time — so a reader who comes back within the TTL
 *   never waits for the store.
 *
 * Bookkeeping only: the caller's read does the I/O and `random` comes in from outside.
 */

export interface HeldLife {
  /** When it must be read again. */
  readonly until: number;
  /** From when a use of it renews it in the background. */
  readonly renewFrom: number;
}

/** The life of a read made at `at`; `random` in [0, 1) (Math.random()). */
export function heldLife(at: number, ttlMs: number, renewAfter: number, random: number): HeldLife {
  const life = ttlMs * (1 - random / 4);
  return { until: at + life, renewFrom: at + life * renewAfter };
}

/** Background re-reads in flight, by key: a key already being renewed is not renewed again. */
export class Renewals<K> {
  readonly #running = new Set<K>();

  /**
   * Starts `read` for those of `keys` not already being renewed (nothing when none is left). A failed
   * read changes nothing: what it would have renewed expires as it would have. Whether it started one.
   */
  renew(keys: Iterable<K>, read: (keys: readonly K[]) => Promise<unknown>): boolean {
    const fresh = [...keys].filter((k) => !this.#running.has(k));
    if (fresh.length === 0) return false;
    for (const k of fresh) this.#running.add(k);
    read(fresh)
      .catch(() => undefined)
      .finally(() => {
        for (const k of fresh) this.#running.delete(k);
      });
    return true;
  }
}

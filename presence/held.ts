/**
 * How long a cached read is trusted, and how it is renewed ahead — one policy for every read cache (the
 * relation cache in front of the contact graph, the durable last-seen reads of the service):
 *
 * - held for its TTL less up to a quarter at random, one draw per read and shared by everything that read
 *   brought: reads made at the same time (a warm-up, a busy minute) are not made again all at once,
 *   while what one read brought ages together and is renewed by one read. (A draw per entry would make
 *   a viewer's 500 relations come due a slice at a time, one background graph read per visit.)
 * - used past `renewAfter` of that life, it is still answered from memory and read again in the
 *   background — one background read per key at a time, and only so many at once per cache — so a
 *   reader who comes back within the TTL never waits for the store.
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

/**
 * Background re-reads, by key. A key already being renewed, or waiting to be, is not renewed again; at
 * most `concurrency` reads run at once and the rest wait in line, first come first served. So a wave of
 * renewals (a warm-up coming due together, readers back after a lull) reaches the store as a steady
 * trickle instead of a burst that would compete with the reads a request is waiting for.
 */
export class Renewals<K> {
  readonly #pending = new Set<K>();
  readonly #line: (() => void)[] = [];
  readonly #concurrency: number;
  #running = 0;

  /** `concurrency`: background reads at once (default 1). */
  constructor(concurrency = 1) {
    if (!(concurrency >= 1)) throw new RangeError(`Renewals: concurrency must be at least 1, got ${concurrency}`);
    this.#concurrency = concurrency;
  }

  /** Renewals waiting for their turn. */
  get waiting(): number {
    return this.#line.length;
  }

  /** Renewals under way or waiting. */
  get pending(): number {
    return this.#running + this.#line.length;
  }

  /**
   * Starts, or puts in line, `read` for those of `keys` not already renewing (nothing when none is left).
   * A failed read changes nothing: what it would have renewed expires as it would have. Whether it
   * started or lined one up.
   */
  renew(keys: Iterable<K>, read: (keys: readonly K[]) => Promise<unknown>): boolean {
    const fresh = [...keys].filter((k) => !this.#pending.has(k));
    if (fresh.length === 0) return false;
    for (const k of fresh) this.#pending.add(k);
    const run = () => {
      this.#running++;
      read(fresh)
        .catch(() => undefined)
        .finally(() => {
          for (const k of fresh) this.#pending.delete(k);
          this.#running--;
          this.#line.shift()?.();
        });
    };
    if (this.#running < this.#concurrency) run();
    else this.#line.push(run);
    return true;
  }
}

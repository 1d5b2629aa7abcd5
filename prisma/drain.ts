/**
 * The outbox drain: moves transitions from the hot store's outbox into the LastSeenStore, and keeps the
 * trail within its retention.
 *
 * Order of events, per batch: `outbox.read(consumer, batchSize)` → `store.record(transitions)` (one
 * transaction) → `outbox.ack(ids)` only after that transaction committed. So:
 * - a failure anywhere before the ack leaves the entries in the outbox, and the same batch is read again
 *   after a jittered, capped exponential backoff — nothing is lost, and Postgres being down only delays
 *   the trail (product.md: Outbox);
 * - a crash between the commit and the ack replays the batch, which `record` absorbs (idempotent on the
 *   transition id, last-seen forward-only);
 * - an entry `record` can never store (`invalidReason` is set: a bug upstream) is reported as a `poison`
 *   event and acknowledged, so it cannot block the outbox forever. Nothing else is ever dropped.
 *
 * Timers are unref'd: a running drain never keeps the process alive. `stop()` waits for the batch in
 * flight, so a graceful shutdown acknowledges what it recorded.
 */
import type { OutboxEntry, Outbox } from '../hot/port.js';
import { StoreUnavailableError } from '../presence/index.js';
import { invalidReason } from './plan.js';
import type { LastSeenStore } from './port.js';

/** Default trail retention: 24 h of detail (product.md). */
export const DEFAULT_RETENTION_MS = 24 * 60 * 60_000;

export interface BackoffOptions {
  /** First retry delay; default 200 ms. */
  initialMs?: number;
  /** Cap; default 30 s — a long outage is retried twice a minute, not hammered. */
  maxMs?: number;
  /** Growth per consecutive failure; default 2. */
  factor?: number;
}

/** The logging the drain does (pino's Logger fits). */
export interface DrainLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutboxDrainOptions {
  outbox: Outbox;
  store: LastSeenStore;
  /** This process's name in the outbox's consumer group. */
  consumer: string;
  /** Entries per read/record/ack; default 256. */
  batchSize?: number;
  /** Wait before polling again after a short (not full) batch; default 250 ms. A full batch polls at once. */
  idleMs?: number;
  backoff?: BackoffOptions;
  /** Trail rows older than this are pruned; default 24 h. */
  retentionMs?: number;
  /** How often the retention job runs; default 5 min (and once at `start()`). */
  pruneEveryMs?: number;
  /** Clock for the retention cut-off; default `Date.now`. */
  now?: () => number;
  /** Jitter source in [0, 1); default `Math.random`. */
  random?: () => number;
  log?: DrainLogger;
}

export type DrainEvent =
  /** A batch was recorded and acknowledged. */
  | { readonly type: 'drained'; readonly count: number }
  /** Reading, recording or acknowledging failed; the entries stay, retried after `delayMs`. */
  | { readonly type: 'retry'; readonly error: unknown; readonly attempt: number; readonly delayMs: number }
  /** An entry that can never be stored was acknowledged without being recorded. */
  | { readonly type: 'poison'; readonly entry: OutboxEntry; readonly reason: string }
  /** The retention job deleted `count` trail rows older than `before`. */
  | { readonly type: 'pruned'; readonly count: number; readonly before: number }
  | { readonly type: 'pruneFailed'; readonly error: unknown };

export interface DrainStats {
  /** Entries recorded and acknowledged. */
  readonly drained: number;
  /** Failed cycles (each followed by a backoff). */
  readonly failures: number;
  /** Failures since the last success: what the next backoff is computed from. */
  readonly consecutiveFailures: number;
  readonly poisoned: number;
  readonly pruned: number;
}

function positive(name: string, value: number, integer = false): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`drain: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

export class OutboxDrain {
  readonly #outbox: Outbox;
  readonly #store: LastSeenStore;
  readonly #consumer: string;
  readonly #batchSize: number;
  readonly #idleMs: number;
  readonly #backoff: Required<BackoffOptions>;
  readonly #retentionMs: number;
  readonly #pruneEveryMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #log: DrainLogger | undefined;
  readonly #listeners = new Set<(event: DrainEvent) => void>();

  #running = false;
  #timer: NodeJS.Timeout | null = null;
  #pruneTimer: NodeJS.Timeout | null = null;
  /** The batch being processed (loop or `drainOnce`); batches never overlap. */
  #inFlight: Promise<unknown> = Promise.resolve();
  #pruning: Promise<unknown> = Promise.resolve();
  #stats = { drained: 0, failures: 0, consecutiveFailures: 0, poisoned: 0, pruned: 0 };

  constructor(options: OutboxDrainOptions) {
    this.#outbox = options.outbox;
    this.#store = options.store;
    this.#consumer = options.consumer;
    this.#batchSize = positive('batchSize', options.batchSize ?? 256, true);
    this.#idleMs = positive('idleMs', options.idleMs ?? 250);
    this.#backoff = {
      initialMs: positive('backoff.initialMs', options.backoff?.initialMs ?? 200),
      maxMs: positive('backoff.maxMs', options.backoff?.maxMs ?? 30_000),
      factor: options.backoff?.factor ?? 2,
    };
    if (this.#backoff.factor < 1) throw new RangeError(`drain: backoff.factor must be at least 1, got ${this.#backoff.factor}`);
    if (this.#backoff.maxMs < this.#backoff.initialMs) {
      throw new RangeError(`drain: backoff.maxMs (${this.#backoff.maxMs}) must be at least backoff.initialMs (${this.#backoff.initialMs})`);
    }
    this.#retentionMs = positive('retentionMs', options.retentionMs ?? DEFAULT_RETENTION_MS);
    this.#pruneEveryMs = positive('pruneEveryMs', options.pruneEveryMs ?? 5 * 60_000);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#log = options.log;
  }

  get running(): boolean {
    return this.#running;
  }

  get stats(): DrainStats {
    return { ...this.#stats };
  }

  /** Subscribes to what the drain does; returns the unsubscribe function. A throwing listener is ignored. */
  on(listener: (event: DrainEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts the drain loop and the retention job. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
    void this.pruneOnce();
    this.#pruneTimer = setInterval(() => void this.pruneOnce(), this.#pruneEveryMs);
    this.#pruneTimer.unref();
  }

  /** Stops both loops and resolves once the batch (and prune) in flight has finished. Idempotent. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#pruneTimer) clearInterval(this.#pruneTimer);
    this.#timer = null;
    this.#pruneTimer = null;
    await Promise.allSettled([this.#inFlight, this.#pruning]);
  }

  /**
   * Processes one batch: read, record, then acknowledge. Resolves with the number of entries read
   * (recorded or poisoned); rejects — leaving every entry unacknowledged — when the outbox or the store
   * fails. Never overlaps another batch of this drain.
   */
  drainOnce(): Promise<number> {
    const run = this.#inFlight.then(
      () => this.#batch(),
      () => this.#batch(),
    );
    this.#inFlight = run.catch(() => {});
    return run;
  }

  /** Deletes trail rows older than the retention; resolves with the count (0 and a `pruneFailed` event on error). */
  pruneOnce(): Promise<number> {
    const run = this.#pruning.then(async () => {
      const before = this.#now() - this.#retentionMs;
      try {
        const count = await this.#store.prune(before);
        this.#stats.pruned += count;
        this.#emit({ type: 'pruned', count, before });
        return count;
      } catch (error) {
        this.#log?.warn({ err: error }, 'drain: pruning the trail failed; retrying at the next interval');
        this.#emit({ type: 'pruneFailed', error });
        return 0;
      }
    });
    this.#pruning = run;
    return run;
  }

  async #batch(): Promise<number> {
    const entries = await this.#outbox.read(this.#consumer, this.#batchSize);
    if (entries.length === 0) return 0;
    const valid: OutboxEntry[] = [];
    const poison: Array<{ entry: OutboxEntry; reason: string }> = [];
    for (const entry of entries) {
      const reason = invalidReason(entry.transition);
      if (reason === null) valid.push(entry);
      else poison.push({ entry, reason });
    }
    if (valid.length > 0) await this.#store.record(valid.map((e) => e.transition));
    // Only now is the batch durable: acknowledge it.
    await this.#outbox.ack(entries.map((e) => e.id));
    for (const p of poison) {
      this.#log?.error({ entryId: p.entry.id, reason: p.reason }, 'drain: dropped a transition that can never be stored');
      this.#emit({ type: 'poison', ...p });
    }
    this.#stats.poisoned += poison.length;
    this.#stats.drained += valid.length;
    this.#emit({ type: 'drained', count: valid.length });
    return entries.length;
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => void this.#cycle(), delayMs);
    this.#timer.unref();
  }

  async #cycle(): Promise<void> {
    this.#timer = null;
    if (!this.#running) return;
    let next: number;
    try {
      const count = await this.drainOnce();
      this.#stats.consecutiveFailures = 0;
      next = count >= this.#batchSize ? 0 : this.#idleMs;
    } catch (error) {
      this.#stats.failures++;
      const attempt = ++this.#stats.consecutiveFailures;
      next = this.backoffDelay(attempt);
      const unavailable = error instanceof StoreUnavailableError;
      // An outage is expected and logged once per streak; anything else is a bug and logged every time.
      if (!unavailable) this.#log?.error({ err: error, attempt, delayMs: next }, 'drain: batch failed; entries kept, retrying');
      else if (attempt === 1) this.#log?.warn({ store: error.store, delayMs: next }, 'drain: store unavailable; entries kept, retrying');
      this.#emit({ type: 'retry', error, attempt, delayMs: next });
    }
    this.#schedule(next);
  }

  /** Delay before retry `attempt` (1-based): equal jitter over a capped exponential. */
  backoffDelay(attempt: number): number {
    const { initialMs, maxMs, factor } = this.#backoff;
    const ceiling = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  #emit(event: DrainEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not stall the drain.
      }
    }
  }
}

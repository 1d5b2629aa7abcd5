/**
 * Every `presence(viewport:)` subscription of this process, driven by one engine: first a snapshot of
 * the whole viewport as its viewer may see it, then only changes of users in the viewport, coalesced —
 * a change after a quiet spell goes out at once, changes within `coalesceMs` of the last batch go out
 * together at the end of that window.
 *
 * A change walks one line: feed → interest index → each watching subscription marks the user dirty and
 * joins the hub's ready queue → the hub drains the queue in turn, oldest first, a few ms at a time, and
 * reads the feed again in between (one drain for the process, no timer or promise per subscription; one
 * waiting for the end of its window sits on a timer shared with those due on the same 2 ms tick) → views
 * made by the visibility service (service/visibility.ts) from held relations and records (records.ts),
 * one shared object per record and visibility → the subscription's sink. Two sinks: frames written
 * straight to a graphql-ws socket, serialized once per view and selection (frames.ts); or batches
 * handed to graphql-js execution through an async iterator (SSE, and selections frames.ts declines).
 *
 * Order of events: the watcher is registered before the snapshot is read, so a change that races the
 * snapshot is re-read after it (and dropped if the viewer sees no difference). The viewer is watched too:
 * their own visibility change (reciprocity) re-reads the whole viewport.
 *
 * Backpressure: a change only marks its user dirty. While a sink has not taken the last batch (not yet
 * written to the socket, not yet pulled), nothing more is sent: further changes fold into the dirty set
 * (at most one entry per viewport user), and the consumer gets the latest state of each when it is ready.
 */
import { Repeater } from 'graphql-yoga';
import { sameView, type PresenceView, type UserId } from '../presence/index.js';
import type { FeedEvent } from '../hot/port.js';
import type { VisibilityService } from '../service/visibility.js';
import type { InterestIndex, Watcher } from './interest.js';
import type { WatchedRecords } from './records.js';

export interface PresenceBatch {
  readonly snapshot: boolean;
  readonly presences: readonly PresenceView[];
}

/** Where one subscription's batches go. */
export interface ViewportSink {
  /** `frames`: serialized and written by the hub's caller; `execute`: executed by graphql-js (metrics). */
  readonly path: 'frames' | 'execute';
  /** Takes a batch; when it returns a promise, the next batch waits for it (the consumer is not ready). */
  deliver(batch: PresenceBatch): Promise<void> | void;
  /** The subscription cannot go on (a bug, not a store outage: those read UNKNOWN). */
  fail(error: unknown): void;
}

export interface HubOptions {
  readonly interest: InterestIndex;
  /** Who may see what: every snapshot and batch is made there. */
  readonly visibility: VisibilityService;
  /** The records of watched users, kept by the interest index's feed. */
  readonly records: WatchedRecords;
  /** Changes arriving within this window after a batch go out together at its end. */
  readonly coalesceMs: number;
  /**
   * Sees every batch sent (metrics), with how long its oldest change waited in this process — from the
   * feed event that made it due to the hand-over to the sink (coalescing, reads, scheduling); undefined
   * for snapshots.
   */
  readonly onBatch?: (batch: PresenceBatch, path: ViewportSink['path'], waitedMs: number | undefined) => void;
  /** A subscription opened (+1) or closed (-1) (metrics). */
  readonly onCount?: (delta: 1 | -1) => void;
}

/** Coalescing windows end on this grid (ms): subscriptions due together share one timer. */
const TICK_MS = 2;

/**
 * How long one drain of the ready queue may write before it lets the event loop read the feed again:
 * short enough that a change is heard (and its subscription queued) within a few ms on a busy process,
 * long enough that the turns of the loop stay few.
 */
const SLICE_MS = 4;

class Subscription implements Watcher {
  readonly inViewport: ReadonlySet<UserId>;
  readonly watched: readonly UserId[];
  readonly sent = new Map<UserId, PresenceView>();
  readonly dirty = new Set<UserId>();
  /** When the oldest change in `dirty` was heard (performance.now()). */
  dirtySince = 0;
  lastSentAt = Number.NEGATIVE_INFINITY;
  /** The snapshot has been read; changes may go out. */
  live = false;
  /** A batch is being read or is with the sink. */
  busy = false;
  /** In the scheduler's queue. */
  scheduled = false;
  closed = false;

  constructor(
    readonly hub: ViewportHub,
    readonly viewerId: UserId,
    readonly ids: readonly UserId[],
    readonly sink: ViewportSink,
  ) {
    this.inViewport = new Set(ids);
    this.watched = this.inViewport.has(viewerId) ? ids : [...ids, viewerId];
  }

  notify(userId: UserId, event: FeedEvent): void {
    if (this.dirty.size === 0) this.dirtySince = performance.now();
    // Everyone watched is in the viewport but, perhaps, the viewer: only then is the set asked.
    if (userId !== this.viewerId || this.inViewport.has(userId)) this.dirty.add(userId);
    // The viewer's own privacy changed (e.g. to NOBODY: no last-seen of anyone): re-read everything.
    if (userId === this.viewerId && event.type === 'visibility') for (const id of this.ids) this.dirty.add(id);
    if (this.dirty.size > 0) this.hub.schedule(this);
  }
}

/** An open subscription: close it when its consumer goes away. */
export interface ViewportHandle {
  close(): Promise<void>;
}

export class ViewportHub {
  readonly #options: HubOptions;
  /** Due now, in the order they became due: flushed from `#head` on, a slice at a time. */
  #ready: Subscription[] = [];
  #head = 0;
  /** A drain is scheduled or running. */
  #draining = false;
  /** Due later, by the end of their window on the TICK_MS grid. */
  readonly #later = new Map<number, Subscription[]>();
  #open = 0;

  constructor(options: HubOptions) {
    this.#options = options;
  }

  /** Open subscriptions. */
  get size(): number {
    return this.#open;
  }

  /**
   * Watches `ids` for `viewerId` and sends to `sink`: the snapshot as soon as it is read, then changes.
   * Resolves once the watcher is registered (the snapshot follows without waiting for it).
   */
  async open(viewerId: UserId, ids: readonly UserId[], sink: ViewportSink): Promise<ViewportHandle> {
    const sub = new Subscription(this, viewerId, ids, sink);
    await this.#options.interest.watch(sub, sub.watched);
    this.#open++;
    this.#options.onCount?.(1);
    this.#snapshot(sub);
    return {
      close: async () => {
        if (sub.closed) return;
        sub.closed = true;
        this.#open--;
        this.#options.onCount?.(-1);
        await this.#options.interest.unwatch(sub, sub.watched);
      },
    };
  }

  /** The same subscription as an async iterator of batches, for graphql-js execution (pulling is taking). */
  stream(viewerId: UserId, ids: readonly UserId[]): AsyncIterableIterator<PresenceBatch> {
    return new Repeater<PresenceBatch>(async (push, stop) => {
      const handle = await this.open(viewerId, ids, { path: 'execute', deliver: async (batch) => void (await push(batch)), fail: (error) => stop(error) });
      await stop;
      await handle.close();
    });
  }

  /**
   * Queues `sub` for a flush: it joins the back of the ready queue at once, and when its turn comes, goes
   * out if its window has passed, or else waits on a timer for the end of the window. On a busy process
   * the queue itself is longer than a window, so a change waits its turn once — not a window, then a turn.
   */
  schedule(sub: Subscription): void {
    if (sub.closed || !sub.live || sub.busy || sub.scheduled || sub.dirty.size === 0) return;
    sub.scheduled = true;
    this.#enqueue(sub);
  }

  /** Holds `sub` until the end of its window (`due`), on the TICK_MS grid: then it joins the ready queue. */
  #wait(sub: Subscription, due: number, now: number): void {
    const at = Math.ceil(due / TICK_MS) * TICK_MS;
    let group = this.#later.get(at);
    if (!group) {
      const created: Subscription[] = [];
      group = created;
      this.#later.set(at, created);
      setTimeout(() => {
        this.#later.delete(at);
        for (const member of created) this.#enqueue(member);
      }, at - now).unref();
    }
    group.push(sub);
  }

  /** `sub` is due: it joins the back of the ready queue, and a drain is on its way. */
  #enqueue(sub: Subscription): void {
    this.#ready.push(sub);
    if (this.#draining) return;
    this.#draining = true;
    setImmediate(this.#drain);
  }

  /**
   * Flushes ready subscriptions, oldest first, for at most SLICE_MS; then, if any are left, yields to the
   * event loop (the feed's socket is read before the next slice) and goes on. A busy process thus keeps
   * reading changes while it writes, and every due subscription waits its turn once, never a whole
   * backlog of timers run in one go.
   */
  readonly #drain = (): void => {
    let now = performance.now();
    const deadline = now + SLICE_MS;
    const ready = this.#ready;
    const { coalesceMs } = this.#options;
    while (this.#head < ready.length) {
      const sub = ready[this.#head]!;
      ready[this.#head++] = undefined as unknown as Subscription;
      const due = sub.lastSentAt + coalesceMs;
      if (due > now && !sub.closed) {
        this.#wait(sub, due, now);
        continue;
      }
      sub.scheduled = false;
      this.#flush(sub);
      now = performance.now();
      if (now >= deadline) break;
    }
    if (this.#head < ready.length) {
      // Drop the taken prefix once it is most of the array, so the queue does not grow without bound.
      if (this.#head > 1024 && this.#head * 2 > ready.length) {
        this.#ready = ready.slice(this.#head);
        this.#head = 0;
      }
      setImmediate(this.#drain);
      return;
    }
    this.#ready = [];
    this.#head = 0;
    this.#draining = false;
  };

  #snapshot(sub: Subscription): void {
    sub.busy = true;
    const { visibility, records } = this.#options;
    const held = visibility.viewsNow(sub.viewerId, sub.ids, records);
    if (held) this.#sendSnapshot(sub, held);
    else visibility.views(sub.viewerId, sub.ids, records).then((views) => this.#sendSnapshot(sub, views), (error: unknown) => this.#failed(sub, error));
  }

  #sendSnapshot(sub: Subscription, views: PresenceView[]): void {
    if (sub.closed) return this.#done(sub);
    for (const view of views) sub.sent.set(view.userId, view);
    sub.live = true;
    this.#taken(sub, this.#deliver(sub, { snapshot: true, presences: views }));
  }

  #flush(sub: Subscription): void {
    if (sub.closed || sub.busy || sub.dirty.size === 0) return;
    sub.busy = true;
    const ids = [...sub.dirty];
    const since = sub.dirtySince;
    sub.dirty.clear();
    // From what is held when it can (no promise), else read with every other subscription's misses.
    const { visibility, records } = this.#options;
    const held = visibility.viewsNow(sub.viewerId, ids, records);
    if (held) this.#sendChanges(sub, held, since);
    else visibility.views(sub.viewerId, ids, records).then((views) => this.#sendChanges(sub, views, since), (error: unknown) => this.#failed(sub, error));
  }

  #sendChanges(sub: Subscription, views: PresenceView[], since: number): void {
    const changed: PresenceView[] = [];
    for (const view of views) {
      const before = sub.sent.get(view.userId);
      // The version alone does not count: only what the viewer would see differently.
      if (before === view || (before !== undefined && sameView(before, view))) continue;
      sub.sent.set(view.userId, view);
      changed.push(view);
    }
    if (changed.length === 0 || sub.closed) return this.#done(sub);
    this.#taken(sub, this.#deliver(sub, { snapshot: false, presences: changed }, since));
  }

  /** The subscription is free for its next flush once the sink has taken the batch. */
  #taken(sub: Subscription, taking: Promise<void> | undefined): void {
    if (!taking) return this.#done(sub);
    taking.then(
      () => this.#done(sub),
      (error: unknown) => this.#failed(sub, error),
    );
  }

  #done(sub: Subscription): void {
    sub.busy = false;
    this.schedule(sub);
  }

  #failed(sub: Subscription, error: unknown): void {
    sub.sink.fail(error);
    this.#done(sub);
  }

  #deliver(sub: Subscription, batch: PresenceBatch, since?: number): Promise<void> | undefined {
    sub.lastSentAt = performance.now();
    this.#options.onBatch?.(batch, sub.sink.path, since === undefined ? undefined : sub.lastSentAt - since);
    try {
      return sub.sink.deliver(batch) ?? undefined;
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

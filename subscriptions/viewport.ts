/**
 * One `presence(viewport:)` subscription: first a snapshot of the whole viewport as this viewer may see
 * it, then only changes of users in the viewport, coalesced: a change after a quiet spell goes out at
 * once, changes within `coalesceMs` of the last batch go out together at the end of that window.
 *
 * Order of events: the watcher is registered before the snapshot is read, so a change that races the
 * snapshot is re-read after it (and dropped if the viewer sees no difference). Each tick reads through
 * fresh loaders, so a privacy change is seen by the next tick (pothos#1421).
 *
 * Backpressure: a change only marks its user dirty; a slow consumer never builds a queue — while it is
 * not pulling, further changes fold into the dirty set (at most one entry per viewport user), and it
 * gets the latest state of each when it pulls again.
 */
import { Repeater } from 'graphql-yoga';
import { sameView, type PresenceView, type UserId } from '../presence/index.js';
import type { InterestIndex, Watcher } from './interest.js';

export interface PresenceBatch {
  readonly snapshot: boolean;
  readonly presences: readonly PresenceView[];
}

export interface ViewportOptions {
  /** The signed-in user: their own visibility changes (reciprocity) re-read the whole viewport. */
  readonly viewerId: UserId;
  readonly ids: readonly UserId[];
  readonly interest: InterestIndex;
  /** Changes arriving within this window after the first one go out as one batch. */
  readonly coalesceMs: number;
  /** Views of these users as the viewer may see them now, read through fresh per-tick loaders. */
  readonly read: (ids: readonly UserId[]) => Promise<PresenceView[]>;
  readonly onBatch?: ((batch: PresenceBatch) => void) | undefined;
  readonly onClose?: (() => void) | undefined;
}

export function viewportStream(options: ViewportOptions): AsyncIterableIterator<PresenceBatch> {
  const { ids, interest, coalesceMs, read, viewerId } = options;
  const inViewport = new Set(ids);
  const watched = inViewport.has(viewerId) ? ids : [...ids, viewerId];
  return new Repeater<PresenceBatch>(async (push, stop) => {
    let closed = false;
    const stopped = stop.then(() => {
      closed = true;
    });
    const dirty = new Set<UserId>();
    let wake: (() => void) | null = null;
    let lastSentAt = Number.NEGATIVE_INFINITY;
    const watcher: Watcher = {
      notify(userId, event) {
        if (inViewport.has(userId)) dirty.add(userId);
        // The viewer's own privacy changed (e.g. to NOBODY: no last-seen of anyone): re-read everything.
        if (userId === viewerId && event.type === 'visibility') for (const id of ids) dirty.add(id);
        if (dirty.size > 0) wake?.();
      },
    };
    await interest.watch(watcher, watched);
    try {
      const snapshot = await read(ids);
      const sent = new Map(snapshot.map((v) => [v.userId, v]));
      await emit({ snapshot: true, presences: snapshot });
      while (!closed) {
        if (dirty.size === 0) await Promise.race([new Promise<void>((r) => (wake = r)), stopped]);
        wake = null;
        if (closed) break;
        // Throttle, not debounce: a change after a quiet spell goes out at once; changes within
        // `coalesceMs` of the last batch wait out the rest of the window and go out together.
        const wait = lastSentAt + coalesceMs - performance.now();
        if (wait > 0) await Promise.race([delay(wait), stopped]);
        if (closed) break;
        const batchIds = [...dirty];
        dirty.clear();
        const views = await read(batchIds);
        const changed = views.filter((v) => {
          const previous = sent.get(v.userId);
          return !previous || !sameView(previous, v);
        });
        if (changed.length === 0) continue;
        for (const v of changed) sent.set(v.userId, v);
        await emit({ snapshot: false, presences: changed });
      }
    } finally {
      await interest.unwatch(watcher, watched);
      options.onClose?.();
    }

    async function emit(batch: PresenceBatch): Promise<void> {
      options.onBatch?.(batch);
      lastSentAt = performance.now();
      await push(batch);
    }
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

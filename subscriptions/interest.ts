/**
 * The per-process interest index: watched user → local watchers. The process listens on the feed only
 * for users at least one local subscription watches, and stops when the last watcher leaves, so a change
 * of a user nobody here watches costs this process nothing.
 */
import type { FeedEvent, PresenceFeed } from '../hot/port.js';
import type { UserId } from '../presence/index.js';

export interface Watcher {
  notify(userId: UserId, event: FeedEvent): void;
}

export interface InterestHooks {
  /** Sees every event for a watched user before the watchers are told (subscriptions/records.ts). */
  observe?(userId: UserId, event: FeedEvent): void;
  /** The last local watcher of a user left. */
  idle?(userId: UserId): void;
}

export class InterestIndex {
  readonly #watchers = new Map<UserId, Set<Watcher>>();
  readonly #feed: PresenceFeed;
  readonly #hooks: InterestHooks;

  constructor(feed: PresenceFeed, hooks: InterestHooks = {}) {
    this.#feed = feed;
    this.#hooks = hooks;
    feed.onEvent((userId, event) => {
      const watchers = this.#watchers.get(userId);
      if (!watchers) return;
      hooks.observe?.(userId, event);
      for (const w of watchers) w.notify(userId, event);
    });
  }

  /** Users with at least one local watcher. */
  get watchedUsers(): number {
    return this.#watchers.size;
  }

  async watch(watcher: Watcher, userIds: readonly UserId[]): Promise<void> {
    const fresh: UserId[] = [];
    for (const id of userIds) {
      let set = this.#watchers.get(id);
      if (!set) {
        set = new Set();
        this.#watchers.set(id, set);
        fresh.push(id);
      }
      set.add(watcher);
    }
    if (fresh.length > 0) await this.#feed.listen(fresh);
  }

  async unwatch(watcher: Watcher, userIds: readonly UserId[]): Promise<void> {
    const gone: UserId[] = [];
    for (const id of userIds) {
      const set = this.#watchers.get(id);
      if (!set?.delete(watcher) || set.size > 0) continue;
      this.#watchers.delete(id);
      this.#hooks.idle?.(id);
      gone.push(id);
    }
    if (gone.length > 0) await this.#feed.unlisten(gone);
  }
}

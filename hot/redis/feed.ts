/**
 * The Redis side of a process's PresenceFeed: one subscriber connection, one channel per watched user
 * (subscribed on the first local watcher, unsubscribed after the last). When the connection drops or
 * comes back, every listened user is reported stale, so open subscriptions re-read (and read UNKNOWN
 * while Redis is down) instead of trusting what they last saw.
 */
import type { Redis } from 'ioredis';
import { StoreUnavailableError, type UserId } from '../../presence/index.js';
import type { FeedEvent, PresenceFeed, VisibilityFeed } from '../port.js';
import { userChannel, userOfChannel, userOfVisibilityChannel, visibilityChannel, type KeySpace } from './keys.js';
import type { TurnWrites } from './turn.js';

export class RedisFeed implements PresenceFeed {
  readonly #sub: Redis;
  readonly #space: KeySpace;
  /** SUBSCRIBEs of one turn leave in one write (each connecting socket's viewport is a listen). */
  readonly #writes: TurnWrites;
  readonly #listening = new Set<UserId>();
  #handler: ((userId: UserId, event: FeedEvent) => void) | null = null;
  #received = 0;
  #wasConnected = false;
  /** Users unlistened this turn of the event loop, unsubscribed together at its end (`#unsubscribeLater`). */
  #leaving: { readonly userIds: UserId[]; readonly done: Promise<void> } | null = null;

  constructor(subscriber: Redis, space: KeySpace, writes: TurnWrites) {
    this.#sub = subscriber;
    this.#space = space;
    this.#writes = writes;
    // The store connects before making the feed: an already open connection counts as connected.
    this.#wasConnected = subscriber.status === 'ready';
    subscriber.on('message', (channel: string, message: string) => {
      const userId = userOfChannel(space, channel);
      if (userId === null || !this.#listening.has(userId)) return;
      let event: FeedEvent;
      try {
        event = JSON.parse(message) as FeedEvent;
      } catch {
        return;
      }
      this.#received++;
      this.#handler?.(userId, event);
    });
    subscriber.on('ready', () => {
      // The connection is new (first connect or a reconnect): subscribe to everything listened to
      // meanwhile, then tell watchers that what they hold may be stale.
      if (this.#listening.size > 0) {
        subscriber.subscribe(...[...this.#listening].map((id) => userChannel(space, id))).catch(() => undefined);
      }
      if (this.#wasConnected) this.#staleAll();
      this.#wasConnected = true;
    });
    subscriber.on('close', () => {
      if (this.#wasConnected) this.#staleAll();
    });
  }

  get received(): number {
    return this.#received;
  }

  async listen(userIds: readonly UserId[]): Promise<void> {
    const fresh = userIds.filter((id) => !this.#listening.has(id));
    for (const id of fresh) this.#listening.add(id);
    // While disconnected, the 'ready' handler subscribes everything on reconnect.
    if (fresh.length > 0 && this.#sub.status === 'ready') {
      this.#writes.hold();
      await this.#sub.subscribe(...fresh.map((id) => userChannel(this.#space, id)));
    }
  }

  async unlisten(userIds: readonly UserId[]): Promise<void> {
    const gone = userIds.filter((id) => this.#listening.delete(id));
    if (gone.length > 0 && this.#sub.status === 'ready') await this.#unsubscribeLater(gone);
  }

  /**
   * One UNSUBSCRIBE for every user unlistened in this turn of the event loop, not one per caller: when
   * thousands of sockets close together, each subscription's unwatch was a command (and a write) of its
   * own. A user listened to again before it goes out is left subscribed; one listened to again after
   * is subscribed again behind it on the same connection, so Redis applies both in order. Messages for
   * a user not listened to are dropped on arrival either way.
   */
  #unsubscribeLater(userIds: readonly UserId[]): Promise<void> {
    if (this.#leaving) {
      this.#leaving.userIds.push(...userIds);
      return this.#leaving.done;
    }
    const leaving: UserId[] = [...userIds];
    const done = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.#leaving = null;
        const channels = leaving.filter((id) => !this.#listening.has(id)).map((id) => userChannel(this.#space, id));
        if (channels.length === 0 || this.#sub.status !== 'ready') return resolve();
        this.#writes.hold();
        this.#sub.unsubscribe(...channels).then(() => resolve(), reject);
      });
    });
    this.#leaving = { userIds: leaving, done };
    return done;
  }

  onEvent(handler: (userId: UserId, event: FeedEvent) => void): void {
    this.#handler = handler;
  }

  #staleAll(): void {
    for (const userId of this.#listening) this.#handler?.(userId, { type: 'visibility', userId });
  }
}

/**
 * The Redis side of a process's VisibilityFeed: `vis:<user>` channels on the same subscriber connection
 * as the presence feed's. A user's channel is subscribed once; `listen` resolves only when every named
 * user's SUBSCRIBE has been acknowledged (its own or an earlier caller's still in flight), so a read
 * made after it cannot miss a change. While the connection is down `listen` rejects, and losing or
 * regaining it tells the handler that anything may have changed (null).
 */
export class RedisVisibilityFeed implements VisibilityFeed {
  readonly #sub: Redis;
  readonly #space: KeySpace;
  readonly #writes: TurnWrites;
  /** Listened users → their SUBSCRIBE (settled once acknowledged). */
  readonly #listening = new Map<UserId, Promise<void>>();
  #handler: ((userId: UserId | null) => void) | null = null;
  #wasConnected: boolean;
  /** The re-subscription after a reconnect: nothing is heard before it is acknowledged. */
  #resubscribed: Promise<void> = Promise.resolve();

  constructor(subscriber: Redis, space: KeySpace, writes: TurnWrites) {
    this.#sub = subscriber;
    this.#space = space;
    this.#writes = writes;
    this.#wasConnected = subscriber.status === 'ready';
    subscriber.on('message', (channel: string) => {
      const userId = userOfVisibilityChannel(space, channel);
      if (userId !== null && this.#listening.has(userId)) this.#handler?.(userId);
    });
    subscriber.on('ready', () => {
      const all = [...this.#listening.keys()];
      this.#resubscribed = all.length === 0 ? Promise.resolve() : this.#subscribe(all);
      if (this.#wasConnected) this.#handler?.(null);
      this.#wasConnected = true;
    });
    subscriber.on('close', () => {
      if (this.#wasConnected) this.#handler?.(null);
    });
  }

  async listen(userIds: readonly UserId[]): Promise<void> {
    if (this.#sub.status !== 'ready') throw new StoreUnavailableError('hot');
    const fresh = userIds.filter((id) => !this.#listening.has(id));
    if (fresh.length > 0) {
      const subscribed = this.#subscribe(fresh);
      for (const id of fresh) this.#listening.set(id, subscribed);
      // A failed SUBSCRIBE leaves them unlistened, so the next caller tries again.
      subscribed.catch(() => {
        for (const id of fresh) if (this.#listening.get(id) === subscribed) this.#listening.delete(id);
      });
    }
    await Promise.all([this.#resubscribed, ...new Set(userIds.map((id) => this.#listening.get(id)))]);
  }

  async unlisten(userIds: readonly UserId[]): Promise<void> {
    const gone = userIds.filter((id) => this.#listening.delete(id));
    if (gone.length > 0 && this.#sub.status === 'ready') {
      this.#writes.hold();
      await this.#sub.unsubscribe(...gone.map((id) => visibilityChannel(this.#space, id)));
    }
  }

  onChange(handler: (userId: UserId | null) => void): void {
    this.#handler = handler;
  }

  async #subscribe(userIds: readonly UserId[]): Promise<void> {
    try {
      this.#writes.hold();
      await this.#sub.subscribe(...userIds.map((id) => visibilityChannel(this.#space, id)));
    } catch (error) {
      throw new StoreUnavailableError('hot', { cause: error });
    }
  }
}

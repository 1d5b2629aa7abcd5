/**
 * The HotStore on Redis (ioredis). Reads fail fast while Redis is unreachable (no offline queue, short
 * timeouts) and surface as StoreUnavailableError — reads then answer UNKNOWN, writes are refused — while
 * ioredis keeps reconnecting in the background, so the process recovers by itself.
 */
import { Redis, ReplyError } from 'ioredis';
import { StoreUnavailableError, type DeviceId, type UserId, type UserState } from '../../presence/index.js';
import type { HotStore, HotWrite } from '../port.js';
import { RedisFeed } from './feed.js';
import { allPartitions, deviceKey, partitionOf, stateKey, userChannel, type KeySpace } from './keys.js';
import { RedisOutbox, throwFirst } from './outbox.js';
import { claimDueKeysArgs, commitKeysArgs, defineScripts, parseState, type ScriptedRedis } from './scripts.js';

export interface RedisHotStoreOptions {
  readonly url: string;
  /** Key and channel prefix; default "presence:". Tests use one each. */
  readonly prefix?: string;
  /** Fixed partition count (expiry index and outbox streams); default 16. */
  readonly partitions?: number;
  /** The device TTL: the state key lives this long past the latest device expiry (safety net). */
  readonly ttlMs: number;
  /** Connect and command timeout; default 2 000 ms (a dead Redis must fail fast, not hang requests). */
  readonly timeoutMs?: number;
  /** `all`: the feed hears every user (the eager-broadcast baseline); default `interest`. */
  readonly feed?: 'interest' | 'all';
}

/** How long a device id stays bound to its user after its last claim. */
const DEVICE_BINDING_MS = 30 * 24 * 3600 * 1000;

/** Redis replies that mean "not available right now" rather than "this request is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|READONLY|MASTERDOWN|TRYAGAIN|NOSCRIPT)/;

export class RedisHotStore implements HotStore {
  readonly feed: RedisFeed;
  readonly outbox: RedisOutbox;
  readonly #redis: ScriptedRedis;
  readonly #subscriber: Redis;
  readonly #space: KeySpace;
  readonly #ttlMs: number;
  /** Round trips so far, so tests can prove batching. */
  roundTrips = 0;

  private constructor(redis: ScriptedRedis, subscriber: Redis, space: KeySpace, ttlMs: number, feed: 'interest' | 'all') {
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#space = space;
    this.#ttlMs = ttlMs;
    this.feed = new RedisFeed(subscriber, space, feed);
    this.outbox = new RedisOutbox(redis, space);
  }

  /**
   * Connects both connections (commands, subscriber). If Redis is down now, resolves anyway: the store
   * answers "unavailable" until ioredis has reconnected.
   */
  static async connect(options: RedisHotStoreOptions): Promise<RedisHotStore> {
    const timeout = options.timeoutMs ?? 2_000;
    const common = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: timeout,
      // Reconnect forever, backing off to 2 s with jitter so a fleet does not reconnect in lockstep.
      retryStrategy: (times: number) => Math.min(2_000, 50 * 2 ** Math.min(times, 6)) * (0.5 + Math.random() / 2),
    } as const;
    // Auto-pipelining: commands issued in the same tick (a wheel slot of refreshes, a burst of
    // subscription reads) leave in one socket write instead of one each.
    const redis = defineScripts(new Redis(options.url, { ...common, commandTimeout: timeout, enableAutoPipelining: true }));
    const subscriber = new Redis(options.url, { ...common, autoResubscribe: false });
    redis.on('error', () => undefined);
    subscriber.on('error', () => undefined);
    await Promise.allSettled([redis.connect(), subscriber.connect()]);
    const space = { prefix: options.prefix ?? 'presence:', partitions: options.partitions ?? 16 };
    return new RedisHotStore(redis, subscriber, space, options.ttlMs, options.feed ?? 'interest');
  }

  get keySpace(): KeySpace {
    return this.#space;
  }

  async load(userIds: readonly UserId[]): Promise<Map<UserId, UserState>> {
    const unique = [...new Set(userIds)];
    const out = new Map<UserId, UserState>();
    if (unique.length === 0) return out;
    const pipeline = this.#redis.pipeline();
    for (const id of unique) pipeline.hget(stateKey(this.#space, id), 'state');
    const results = await this.#guard(async () => throwFirst(await pipeline.exec()));
    results.forEach((json, i) => {
      if (typeof json === 'string') out.set(unique[i]!, parseState(json));
    });
    return out;
  }

  async commit(write: HotWrite): Promise<boolean> {
    const applied = await this.#guard(() => this.#redis.presenceCommit(...commitKeysArgs(this.#space, write, write.now, this.#ttlMs)));
    return applied === 1;
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<UserId[]> {
    const partitions = allPartitions(this.#space);
    const per = Math.max(1, Math.ceil(limit / partitions.length));
    const pipeline = this.#redis.pipeline();
    for (const p of partitions) {
      const [key, ...args] = claimDueKeysArgs(this.#space, p, now, per, leaseMs);
      (pipeline as unknown as { presenceClaimDue(...a: (string | number)[]): void }).presenceClaimDue(key!, ...args);
    }
    const results = await this.#guard(async () => throwFirst(await pipeline.exec()));
    return (results as string[][]).flat();
  }

  async claimDevice(userId: UserId, deviceId: DeviceId): Promise<UserId> {
    // SET … NX GET: binds the device if free and returns the previous owner otherwise, in one command.
    const previous = await this.#guard(() => this.#redis.set(deviceKey(this.#space, deviceId), userId, 'PX', DEVICE_BINDING_MS, 'NX', 'GET'));
    return previous ?? userId;
  }

  async publishVisibility(userId: UserId): Promise<void> {
    await this.#guard(() => this.#redis.publish(userChannel(this.#space, userId), JSON.stringify({ type: 'visibility', userId })));
  }

  async ping(): Promise<void> {
    await this.#guard(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#redis.quit(), this.#subscriber.quit()]);
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }

  /** Deletes every key under this store's prefix (tests). */
  async purge(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', `${this.#space.prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await this.#redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  /** Which partition a user's keys live in (tests, tools). */
  partitionOf(userId: UserId): number {
    return partitionOf(userId, this.#space);
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    this.roundTrips++;
    try {
      return await run();
    } catch (error) {
      if (error instanceof ReplyError && !TRANSIENT_REPLY.test((error as Error).message)) throw error;
      throw new StoreUnavailableError('hot', { cause: error });
    }
  }
}

/**
 * The HotStore on Redis (ioredis). Reads fail fast while Redis is unreachable (no offline queue, short
 * timeouts) and surface as StoreUnavailableError — reads then answer UNKNOWN, writes are refused — while
 * ioredis keeps reconnecting in the background, so the process recovers by itself.
 */
import { Redis, ReplyError } from 'ioredis';
import { StoreUnavailableError, type DeviceId, type PresenceRecord, type UserId, type UserState } from '../../presence/index.js';
import type { DeviceRefresh, HotStore, HotWrite } from '../port.js';
import { decodeRecords, decodeState } from './codec.js';
import { RedisFeed, RedisVisibilityFeed } from './feed.js';
import { allPartitions, deviceKey, partitionOf, userChannel, visibilityChannel, type KeySpace } from './keys.js';
import { RedisOutbox, throwFirst } from './outbox.js';
import { claimDueKeysArgs, commitKeysArgs, defineScripts, loadKeysArgs, recordsKeys, refreshKeysArgs, type ScriptedRedis } from './scripts.js';
import { TurnWrites } from './turn.js';

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
}

/** How long a device id stays bound to its user after its last claim. */
const DEVICE_BINDING_MS = 30 * 24 * 3600 * 1000;

/** Devices per presence_refresh.lua call at most: bounds how long one call holds Redis. */
const REFRESH_CHUNK = 200;

/** Redis replies that mean "not available right now" rather than "this request is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|READONLY|MASTERDOWN|TRYAGAIN|NOSCRIPT)/;

export class RedisHotStore implements HotStore {
  readonly feed: RedisFeed;
  readonly visibility: RedisVisibilityFeed;
  readonly outbox: RedisOutbox;
  readonly #redis: ScriptedRedis;
  readonly #subscriber: Redis;
  readonly #space: KeySpace;
  readonly #ttlMs: number;
  /** Commands issued in one turn of the event loop leave in one write. */
  readonly #writes: TurnWrites;

  private constructor(redis: ScriptedRedis, subscriber: Redis, space: KeySpace, ttlMs: number) {
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#space = space;
    this.#ttlMs = ttlMs;
    this.#writes = new TurnWrites(redis);
    const subscriberWrites = new TurnWrites(subscriber);
    this.feed = new RedisFeed(subscriber, space, subscriberWrites);
    this.visibility = new RedisVisibilityFeed(subscriber, space, subscriberWrites);
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
    // No auto-pipelining: the commands of a turn leave in one write anyway (TurnWrites corks the socket
    // until the turn ends), without a Pipeline object per tick, whose per-instance `length` accessor V8
    // keeps in the old generation with the pipeline behind it (`bench/redis-gc.ts` shows it).
    const prefix = options.prefix ?? 'presence:';
    // Named, so an operator can tell them apart in CLIENT LIST (and a test can drop just its own).
    const redis = defineScripts(new Redis(options.url, { ...common, commandTimeout: timeout, enableAutoPipelining: false, connectionName: `${prefix}cmd` }));
    const subscriber = new Redis(options.url, { ...common, autoResubscribe: false, connectionName: `${prefix}sub` });
    redis.on('error', () => undefined);
    subscriber.on('error', () => undefined);
    await Promise.allSettled([redis.connect(), subscriber.connect()]);
    const space = { prefix, partitions: options.partitions ?? 16 };
    return new RedisHotStore(redis, subscriber, space, options.ttlMs);
  }

  async load(userIds: readonly UserId[]): Promise<Map<UserId, UserState>> {
    const unique = [...new Set(userIds)];
    const out = new Map<UserId, UserState>();
    if (unique.length === 0) return out;
    // One script call per partition (its keys share a hash tag); issued together, all in flight at once.
    await this.#together(() =>
      [...this.#byPartition(unique, (id) => id)].map(async ([p, ids]) => {
        const found = await this.#redis.presenceLoad(...loadKeysArgs(this.#space, p, ids));
        found.forEach((fields, i) => {
          const [user, t, ...scores] = fields;
          if (user !== undefined && t !== undefined) out.set(ids[i]!, decodeState(ids[i]!, user, t, scores, this.#ttlMs));
        });
      }),
    );
    return out;
  }

  async records(userIds: readonly UserId[]): Promise<Map<UserId, PresenceRecord>> {
    const out = new Map<UserId, PresenceRecord>();
    if (userIds.length === 0) return out;
    // One script call per partition rather than a command per user: ioredis' per-command work (objects,
    // timers) would dominate a 500-id read. An id named twice is read twice.
    await this.#together(() =>
      [...this.#byPartition(userIds, (id) => id)].map(async ([p, ids]) => {
        decodeRecords(ids, await this.#redis.presenceRecords(...recordsKeys(this.#space, p, ids)), out);
      }),
    );
    return out;
  }

  async commit(write: HotWrite): Promise<boolean> {
    const applied = await this.#guard(() => this.#redis.presenceCommit(...commitKeysArgs(this.#space, write, write.now, this.#ttlMs)));
    return applied === 1;
  }

  async refresh(devices: readonly DeviceRefresh[], now: number, expiresAt: number): Promise<boolean[]> {
    const out = new Array<boolean>(devices.length).fill(true);
    // One script call per partition and chunk (indexes into `devices`); issued together, all in flight at once.
    await this.#together(() =>
      [...this.#byPartition(devices.keys(), (i) => devices[i]!.userId)].flatMap(([p, indexes]) =>
        chunks(indexes, REFRESH_CHUNK).map(async (chunk) => {
          const args = refreshKeysArgs(this.#space, p, chunk.map((i) => devices[i]!), now, expiresAt, this.#ttlMs);
          const answers = await this.#redis.presenceRefresh(...args);
          if (answers.length > 0) chunk.forEach((i, k) => (out[i] = answers[k] === 1));
        }),
      ),
    );
    return out;
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<UserId[]> {
    const partitions = allPartitions(this.#space);
    const per = Math.max(1, Math.ceil(limit / partitions.length));
    const pipeline = this.#redis.pipeline();
    for (const p of partitions) {
      (pipeline as unknown as { presenceClaimDue(...a: (string | number)[]): void }).presenceClaimDue(...claimDueKeysArgs(this.#space, p, now, per, leaseMs));
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
    // One MULTI, in this order: caches forget what they hold before subscriptions re-read through them.
    await this.#guard(async () =>
      throwFirst(
        await this.#redis
          .multi()
          .publish(visibilityChannel(this.#space, userId), '')
          .publish(userChannel(this.#space, userId), JSON.stringify({ type: 'visibility', userId }))
          .exec(),
      ),
    );
  }

  async ping(): Promise<void> {
    await this.#guard(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#redis.quit(), this.#subscriber.quit()]);
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }

  /**
   * The calls `issue` makes without waiting for any (one script call per partition), as one round trip:
   * they leave in this turn's one write (TurnWrites) rather than one write each — a 500-id read is a
   * call per partition, and each write is a syscall that also runs Redis's side of loopback, besides a
   * read for Redis — then are waited for together.
   * Replies are untouched: each call still settles on its own.
   */
  async #together(issue: () => Promise<void>[]): Promise<void> {
    await this.#guard(() => Promise.all(issue()));
  }

  /** `items` grouped by the partition of the user each belongs to. */
  #byPartition<T>(items: Iterable<T>, userOf: (item: T) => UserId): Map<number, T[]> {
    const groups = new Map<number, T[]>();
    for (const item of items) {
      const p = partitionOf(userOf(item), this.#space);
      const group = groups.get(p);
      if (group) group.push(item);
      else groups.set(p, [item]);
    }
    return groups;
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    this.#writes.hold();
    try {
      return await run();
    } catch (error) {
      if (error instanceof ReplyError && !TRANSIENT_REPLY.test((error as Error).message)) throw error;
      throw new StoreUnavailableError('hot', { cause: error });
    }
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

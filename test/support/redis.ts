/** The machine's Redis for tests: each test gets its own key prefix and removes its keys afterwards. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { KeySpace } from '../../hot/redis/keys.js';
import { RedisHotStore } from '../../hot/redis/store.js';
import { TEST_REDIS_URL } from '../../scripts/services.js';

export function testPrefix(): string {
  return `test:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under `prefix`; how many. */
export async function purgePrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let removed = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) removed += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

export async function redisHotStore(options: { prefix?: string; ttlMs?: number; partitions?: number; url?: string } = {}) {
  const url = options.url ?? TEST_REDIS_URL;
  const space: KeySpace = { prefix: options.prefix ?? testPrefix(), partitions: options.partitions ?? 4 };
  const store = await RedisHotStore.connect({ url, prefix: space.prefix, ttlMs: options.ttlMs ?? 70_000, partitions: space.partitions });
  return {
    store,
    /** The store's key prefix and partition count (hot/redis/keys.ts builds its keys from them). */
    space,
    async dispose() {
      await store.close();
      await purgePrefix(url, space.prefix).catch(() => undefined);
    },
  };
}

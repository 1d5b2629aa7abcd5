/** The machine's Redis for tests: each test gets its own key prefix and purges it afterwards. */
import { randomUUID } from 'node:crypto';
import { RedisHotStore } from '../../hot/redis/store.js';

import { TEST_REDIS_URL } from '../../scripts/services.js';

export function testPrefix(): string {
  return `test:${randomUUID().slice(0, 8)}:`;
}

export async function redisHotStore(options: { prefix?: string; ttlMs?: number; partitions?: number; url?: string } = {}) {
  const store = await RedisHotStore.connect({ url: options.url ?? TEST_REDIS_URL, prefix: options.prefix ?? testPrefix(), ttlMs: options.ttlMs ?? 70_000, partitions: options.partitions ?? 4 });
  return {
    store,
    async dispose() {
      await store.purge().catch(() => undefined);
      await store.close();
    },
  };
}

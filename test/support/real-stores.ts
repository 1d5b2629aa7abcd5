/**
 * The real Redis, Neo4j and PostgreSQL behind the ports, isolated per test: a Redis key prefix, a Neo4j
 * namespace and a migrated PostgreSQL schema of its own, all removed by dispose().
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import neo4jDriver from 'neo4j-driver';
import { Neo4jContactGraph } from '../../graph/neo4j.js';
import { RedisHotStore } from '../../hot/redis/store.js';
import type { Stores } from '../../server/stores.js';
import { neo4jConnection } from '../../scripts/neo4j/control.js';
import { TEST_REDIS_URL } from '../../scripts/services.js';
import { DATABASE_URL, migratedSchema, openStore } from '../prisma/postgres.js';
import { FAST_ENV } from './server.js';

export interface RealStores {
  readonly stores: Stores;
  readonly prefix: string;
  readonly namespace: string;
  readonly schema: string;
  dispose(): Promise<void>;
}

export interface RealStoreOptions {
  readonly ttlMs: number;
  /** Override where each store is reached (e.g. through a TcpProxy). */
  readonly redisUrl?: string;
  readonly neo4jUri?: string;
  readonly databaseUrl?: string;
  /** Share another test server's stores' data (same prefix / namespace / schema). */
  readonly share?: Pick<RealStores, 'prefix' | 'namespace' | 'schema'>;
}

export async function realStores(options: RealStoreOptions): Promise<RealStores> {
  const id = randomUUID().slice(0, 8);
  const prefix = options.share?.prefix ?? `test:${id}:`;
  const namespace = options.share?.namespace ?? `test-${id}`;
  const owned = options.share ? null : await migratedSchema('api');
  const schema = options.share?.schema ?? owned!.schema;
  const neo4j = neo4jConnection();
  const hot = await RedisHotStore.connect({ url: options.redisUrl ?? TEST_REDIS_URL, prefix, ttlMs: options.ttlMs, partitions: 4 });
  const graph = new Neo4jContactGraph({ uri: options.neo4jUri ?? neo4j.uri, user: neo4j.user, password: neo4j.password, namespace });
  await graph.migrate();
  const lastSeen = await openStore({ databaseUrl: options.databaseUrl ?? DATABASE_URL, schema });
  return {
    stores: { hot, graph, lastSeen, kinds: { hot: 'redis', graph: 'neo4j', lastSeen: 'postgres' } },
    prefix,
    namespace,
    schema,
    /** Removes the test's data with connections of its own (the server has closed the stores by now). */
    async dispose() {
      if (!owned) return;
      const redis = new Redis(TEST_REDIS_URL);
      const driver = neo4jDriver.driver(neo4j.uri, neo4jDriver.auth.basic(neo4j.user, neo4j.password));
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
        await driver.executeQuery('MATCH (u:User {ns: $ns}) DETACH DELETE u', { ns: namespace });
        await owned.drop();
      } finally {
        redis.disconnect();
        await driver.close();
      }
    },
  };
}

/**
 * The environment that points a spawned server process (scripts/server-process.ts) at these stores:
 * the same Redis prefix and Neo4j namespace, and — with `postgres` — the same PostgreSQL schema
 * (otherwise its last-seen store is embedded). Short test timings; `overrides` win.
 */
export function serverEnv(real: RealStores, overrides: Record<string, string> = {}, options: { postgres?: boolean } = {}): Record<string, string> {
  const database = new URL(DATABASE_URL);
  database.searchParams.set('schema', real.schema);
  return {
    ...FAST_ENV,
    LOG_LEVEL: 'warn',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: real.prefix,
    REDIS_PARTITIONS: '4',
    NEO4J_URI: neo4jConnection().uri,
    NEO4J_NAMESPACE: real.namespace,
    DEMO_SEED: 'false',
    ...(options.postgres ? { DATABASE_URL: database.toString() } : {}),
    ...overrides,
  };
}

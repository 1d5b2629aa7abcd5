/**
 * Picks each store from the configuration: the real one when its URL is set, else the embedded one.
 * The core and the resolvers only ever see the ports (and the graph only through the relation cache
 * server/app.ts puts in front of it).
 *
 * A real store that is down at start-up does not stop the server: it serves (that store's reads answer
 * UNKNOWN, its writes are refused) and its schema migration is retried in the background until it
 * succeeds. A migration that is refused (changed checksum, failed migration) stops start-up: that needs
 * a human.
 */
import type { Logger } from 'pino';
import { EmbeddedContactGraph } from '../graph/embedded.js';
import type { ContactGraph } from '../graph/port.js';
import { EmbeddedHotStore } from '../hot/embedded.js';
import type { HotStore } from '../hot/port.js';
import { StoreUnavailableError } from '../presence/index.js';
import { EmbeddedLastSeenStore } from '../prisma/embedded.js';
import type { LastSeenStore } from '../prisma/port.js';
import type { Config } from './config.js';

export interface Stores {
  readonly hot: HotStore;
  readonly graph: ContactGraph;
  readonly lastSeen: LastSeenStore;
  /** Which implementation backs each store, for the start-up banner and /ready. */
  readonly kinds: { readonly hot: string; readonly graph: string; readonly lastSeen: string };
}

export function embeddedStores(): Stores {
  return {
    hot: new EmbeddedHotStore(),
    graph: new EmbeddedContactGraph(),
    lastSeen: new EmbeddedLastSeenStore(),
    kinds: { hot: 'embedded', graph: 'embedded', lastSeen: 'embedded' },
  };
}

/** How often a migration that could not reach its store is retried. */
const MIGRATION_RETRY_MS = 5_000;

export async function openStores(config: Config, log: Logger): Promise<Stores> {
  const [hot, graph, lastSeen] = await Promise.all([openHot(config), openGraph(config, log), openLastSeen(config, log)]);
  return {
    hot,
    graph,
    lastSeen,
    kinds: {
      hot: config.redisUrl ? 'redis' : 'embedded',
      graph: config.neo4j ? 'neo4j' : 'embedded',
      lastSeen: config.databaseUrl ? 'postgres' : 'embedded',
    },
  };
}

async function openHot(config: Config): Promise<HotStore> {
  if (!config.redisUrl) return new EmbeddedHotStore();
  const { RedisHotStore } = await import('../hot/redis/store.js');
  return RedisHotStore.connect({ url: config.redisUrl, prefix: config.redisPrefix, partitions: config.redisPartitions, ttlMs: config.timing.ttlMs });
}

async function openGraph(config: Config, log: Logger): Promise<ContactGraph> {
  if (!config.neo4j) return new EmbeddedContactGraph();
  const { Neo4jContactGraph } = await import('../graph/neo4j.js');
  const graph = new Neo4jContactGraph(config.neo4j);
  await migrateOrRetry('graph', () => graph.migrate(), log);
  return graph;
}

async function openLastSeen(config: Config, log: Logger): Promise<LastSeenStore> {
  if (!config.databaseUrl) return new EmbeddedLastSeenStore();
  const databaseUrl = config.databaseUrl;
  const [{ PrismaLastSeenStore }, { applyMigrations }, { isConnectionFailure }] = await Promise.all([
    import('../prisma/store.js'),
    import('../prisma/migrate.js'),
    import('../prisma/unavailable.js'),
  ]);
  await migrateOrRetry(
    'lastSeen',
    () =>
      applyMigrations(databaseUrl, { connectTimeoutMs: 3_000 }).catch((error: unknown) => {
        throw isConnectionFailure(error) ? new StoreUnavailableError('lastSeen', { cause: error }) : error;
      }),
    log,
  );
  return new PrismaLastSeenStore({ databaseUrl });
}

async function migrateOrRetry(store: string, migrate: () => Promise<unknown>, log: Logger): Promise<void> {
  try {
    await migrate();
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    log.warn({ store }, `${store} store unreachable at start-up: serving UNKNOWN for it, retrying its migration every ${MIGRATION_RETRY_MS / 1000} s`);
    const retry = setInterval(() => {
      migrate().then(
        () => {
          clearInterval(retry);
          log.info({ store }, `${store} store reachable: migration applied`);
        },
        () => undefined,
      );
    }, MIGRATION_RETRY_MS);
    retry.unref();
  }
}

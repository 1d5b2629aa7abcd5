/**
 * The eager baseline for `npm run -w bench bench:fanout -- --modes eager`: our server with the N² design put
 * back around it — every process hears every user's changes (one pattern subscription to all presence
 * channels, instead of a channel per watched user), and the bench's watchers subscribe to all of their
 * contacts instead of what is on screen (bench/fanout.ts). Everything else is the product as shipped:
 * the same hub, privacy checks per viewer on every event, coalescing, frames. Benchmarks only.
 *
 *   REDIS_URL=… REDIS_PREFIX=… npx tsx bench/baselines/eager/server.ts   # the server's own environment
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { FeedEvent, HotStore, PresenceFeed } from '../../../hot/port.js';
import { userOfChannel, type KeySpace } from '../../../hot/redis/keys.js';
import type { UserId } from '../../../presence/index.js';
import { createServer } from '../../../server/app.js';
import { loadConfig } from '../../../server/config.js';
import { openStores } from '../../../server/stores.js';

/** A presence feed that hears every user, whoever listens: what "push every change to every contact" costs a process. */
class EverythingFeed implements PresenceFeed {
  readonly #subscriber: Redis;
  #handler: ((userId: UserId, event: FeedEvent) => void) | null = null;
  #received = 0;

  private constructor(subscriber: Redis, space: KeySpace) {
    this.#subscriber = subscriber;
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
      const userId = userOfChannel(space, channel);
      if (userId === null) return;
      this.#received++;
      this.#handler?.(userId, JSON.parse(message) as FeedEvent);
    });
  }

  static async connect(url: string, space: KeySpace): Promise<EverythingFeed> {
    const subscriber = new Redis(url, { connectionName: `${space.prefix}eager-sub` });
    await subscriber.psubscribe(`${space.prefix}ch:*`);
    return new EverythingFeed(subscriber, space);
  }

  get received(): number {
    return this.#received;
  }

  async listen(): Promise<void> {}

  async unlisten(): Promise<void> {}

  onEvent(handler: (userId: UserId, event: FeedEvent) => void): void {
    this.#handler = handler;
  }

  close(): void {
    this.#subscriber.disconnect();
  }
}

const config = loadConfig();
if (!config.redisUrl) throw new Error('eager baseline: set REDIS_URL (it measures what every process hearing every change costs)');
const log = pino({ level: config.logLevel });
const stores = await openStores(config, log);
const feed = await EverythingFeed.connect(config.redisUrl, { prefix: config.redisPrefix, partitions: config.redisPartitions });
// The store as opened, but for its presence feed (methods bound: the store keeps private fields).
const hot = new Proxy(stores.hot, {
  get: (target, name, receiver) => {
    if (name === 'feed') return feed;
    const value: unknown = Reflect.get(target, name, receiver);
    return typeof value === 'function' ? value.bind(target) : value;
  },
}) as HotStore;
const server = await createServer({ config, stores: { ...stores, hot }, log });
const url = await server.listen(config.port);
// scripts/server-process.ts waits for this line.
console.log(`presence-graph (eager baseline) is up\n  GraphiQL    ${url}/graphql`);
const stop = () => {
  void server.close().finally(() => {
    feed.close();
    process.exit(0);
  });
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

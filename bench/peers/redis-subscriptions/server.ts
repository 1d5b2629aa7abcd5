/**
 * The peer for `npm run -w bench bench:fanout -- --modes peer`: the presence server a team would assemble from
 * the docs of graphql-redis-subscriptions, graphql-yoga and graphql-ws — one Redis topic that every
 * presence change is published to, and a `withFilter` per subscription that keeps the changes of the
 * ids in its viewport. Benchmarks only: no auth (any connectionParams are accepted), no privacy, no
 * state store, no coalescing.
 *
 *   npm run -w bench bench:peer-server            # PORT (4000, 0 = a free one), HOST, REDIS_URL, PEER_TOPIC
 *
 * What differs from the libraries' docs, and why (see bench/peers/README.md):
 * - the first event of a subscription is a snapshot of the viewport with every status UNKNOWN
 *   (version 0): the peer has no state to read, and the bench counts snapshots to know that every
 *   watcher is subscribed. Its filtered listener is registered before the snapshot goes out, so no
 *   change published after the snapshot is missed;
 * - `/metrics` (prom-client default metrics, like our server's) plus `peer_redis_messages_total`,
 *   the messages this process received on the topic, counted by one `pubsub.subscribe` made at start-up
 *   (which also means the topic's Redis SUBSCRIBE is confirmed before the URL is printed).
 */
import { createServer } from 'node:http';
import { withFilter } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import { Redis } from 'ioredis';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { WebSocketServer } from 'ws';

/** What the publisher sends for every presence change: `pubsub.publish(PRESENCE_CHANGED, payload)`. */
export interface PresenceChanged {
  userId: string;
  status: 'ONLINE' | 'IDLE' | 'DND' | 'OFFLINE' | 'UNKNOWN';
  version: number;
}

interface PresenceBatch {
  snapshot: boolean;
  presences: PresenceChanged[];
}

const PRESENCE_CHANGED = process.env.PEER_TOPIC || 'PRESENCE_CHANGED';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// graphql-redis-subscriptions' "Creating a Redis Client": pass your own publisher and subscriber.
// It is typed against (and optionally installs) ioredis 5; these are this repo's ioredis 6 clients,
// which expose the same publish/subscribe/'message' API the library uses.
const pubsub = new RedisPubSub({
  publisher: new Redis(redisUrl) as unknown as NonNullable<ConstructorParameters<typeof RedisPubSub>[0]>['publisher'],
  subscriber: new Redis(redisUrl) as unknown as NonNullable<ConstructorParameters<typeof RedisPubSub>[0]>['subscriber'],
});

const typeDefs = /* GraphQL */ `
  enum PresenceStatus {
    ONLINE
    IDLE
    DND
    OFFLINE
    UNKNOWN
  }
  type Presence {
    userId: ID!
    status: PresenceStatus!
    version: Int!
  }
  type PresenceBatch {
    snapshot: Boolean!
    presences: [Presence!]!
  }
  type Query {
    ok: Boolean!
  }
  type Subscription {
    presence(viewport: [ID!]!): PresenceBatch!
  }
`;

/** The docs' `withFilter`: every subscription hears the whole topic and keeps its viewport's ids. */
const presenceChanged = withFilter(
  () => pubsub.asyncIterableIterator<PresenceChanged>(PRESENCE_CHANGED),
  (payload: PresenceChanged | undefined, variables: { viewport: string[] } | undefined) => variables!.viewport.includes(payload!.userId),
);

const schema = createSchema({
  typeDefs,
  resolvers: {
    Query: { ok: () => true },
    Subscription: {
      presence: {
        subscribe: async (_root: unknown, args: { viewport: string[] }, context: unknown, info: unknown) => {
          // withFilter hands the root only to the iterator factory above, which ignores it.
          const changes = await presenceChanged(undefined, args, context, info);
          const snapshot: PresenceBatch = { snapshot: true, presences: args.viewport.map((userId) => ({ userId, status: 'UNKNOWN', version: 0 })) };
          return startWith(snapshot, changes);
        },
        resolve: (event: PresenceBatch | PresenceChanged): PresenceBatch => ('presences' in event ? event : { snapshot: false, presences: [event] }),
      },
    },
  },
});

/**
 * `first`, then everything `rest` yields. `rest.next()` is called at once: graphql-redis-subscriptions
 * registers an iterator's listener on its first `next()`, and this must happen before the snapshot is
 * sent. `return()` reaches `rest` (the library then unsubscribes), whatever is pending.
 */
function startWith<T, U>(first: T, rest: AsyncIterator<U>): AsyncIterableIterator<T | U> {
  let head: Promise<IteratorResult<T | U>> | undefined = rest.next();
  let sent = false;
  return {
    next() {
      if (!sent) {
        sent = true;
        return Promise.resolve({ value: first, done: false });
      }
      if (head) {
        const pending = head;
        head = undefined;
        return pending;
      }
      return rest.next();
    },
    return: () => rest.return?.() ?? Promise.resolve({ value: undefined, done: true }),
    throw: (error: unknown) => rest.throw?.(error) ?? Promise.reject(error),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const registry = new Registry();
collectDefaultMetrics({ register: registry });
const received = new Counter({ name: 'peer_redis_messages_total', help: 'Messages this process received on the presence topic', registers: [registry] });
await pubsub.subscribe(PRESENCE_CHANGED, () => received.inc());

// graphql-yoga's "Subscriptions → GraphQL over WebSocket Protocol via graphql-ws".
const yoga = createYoga({ schema, logging: false, graphiql: { subscriptionsProtocol: 'WS' } });
const httpServer = createServer((req, res) => {
  if (req.url === '/metrics') {
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
    return;
  }
  void yoga(req, res);
});
const wsServer = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint });

interface EnvelopedRoot {
  execute: (args: unknown) => unknown;
  subscribe: (args: unknown) => unknown;
}

useServer(
  {
    execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
    subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const args = {
        schema,
        operationName: params.operationName,
        document: parse(params.query),
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      const errors = validate(args.schema, args.document);
      if (errors.length) return errors;
      return args;
    },
  },
  wsServer,
);

const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? '127.0.0.1';
httpServer.listen(port, host, () => {
  const address = httpServer.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
  console.log(
    [
      `peer (graphql-redis-subscriptions, topic ${PRESENCE_CHANGED}) is up`,
      `  GraphiQL    ${url}/graphql`,
      `  WebSocket   ${url.replace(/^http/, 'ws')}/graphql  (graphql-transport-ws; any connectionParams)`,
      `  metrics     ${url}/metrics`,
    ].join('\n'),
  );
});

const shutdown = () => {
  wsServer.clients.forEach((socket) => socket.close(1001, 'Going away'));
  httpServer.close();
  void pubsub.close().finally(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

/**
 * One presence-graph server process: HTTP (GraphQL, SSE, GraphiQL, /health, /ready, /metrics),
 * graphql-ws on the same path, the expiry sweeper and the outbox drain. Used by `server/main.ts` and by
 * tests, which start as many as they need on free ports.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { CachedContactGraph } from '../graph/cached.js';
import type { UserId } from '../presence/index.js';
import { OutboxDrain } from '../prisma/drain.js';
import type { Api } from '../resolvers/context.js';
import { ErrorCode, fail, httpStatus, isRetryable } from '../resolvers/errors.js';
import { PresenceService } from '../service/presence.js';
import { PrivacyService } from '../service/privacy.js';
import { DeviceSessions } from '../service/sessions.js';
import { startSweeper, type Sweeper } from '../service/sweeper.js';
import { VisibilityService } from '../service/visibility.js';
import { ViewportHub } from '../subscriptions/hub.js';
import { InterestIndex } from '../subscriptions/interest.js';
import { WatchedRecords } from '../subscriptions/records.js';
import { createVerifier, signToken } from './auth.js';
import type { Config } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { Stores } from './stores.js';
import { attachGateway, type Gateway } from './ws.js';
import { createPresenceYoga, type PresenceYoga } from './yoga.js';

/** What one server process is made of: its stores, use cases and API. Shared by every request. */
export interface App {
  readonly config: Config;
  /** What the resolvers are given. */
  readonly api: Api;
  readonly presence: PresenceService;
  readonly privacy: PrivacyService;
  readonly visibility: VisibilityService;
  readonly sessions: DeviceSessions;
  /** The one relation cache in front of the contact graph. */
  readonly relations: CachedContactGraph;
  readonly interest: InterestIndex;
  readonly records: WatchedRecords;
  readonly hub: ViewportHub;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export interface PresenceServer {
  readonly app: App;
  readonly stores: Stores;
  readonly yoga: PresenceYoga;
  readonly gateway: Gateway;
  readonly sweeper: Sweeper;
  readonly drain: OutboxDrain;
  /** Listens (port 0 = a free one); resolves with the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops accepting, closes sockets (1001), stops the sweeper and drain, closes the stores. */
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly config: Config;
  readonly stores: Stores;
  readonly clock?: () => number;
  readonly log?: Logger;
  /** Serve a dev token for this user in GraphiQL's headers (dev secret only). */
  readonly graphiqlUser?: UserId;
}

export async function createServer(options: ServerOptions): Promise<PresenceServer> {
  const { config, stores } = options;
  const log = options.log ?? pino({ level: config.logLevel });
  const clock = options.clock ?? Date.now;
  const metrics = createMetrics({ defaults: true });
  const { observer } = metrics;
  const presence = new PresenceService({ hot: stores.hot, lastSeen: stores.lastSeen, timing: config.timing, clock, observer });
  // Every read of who may see whom goes through this one cache, kept right by the visibility feed.
  const relations = new CachedContactGraph(stores.graph, stores.hot.visibility, { clock });
  const privacy = new PrivacyService({ graph: relations, hot: stores.hot, log });
  const visibility = new VisibilityService({ relations, records: (ids) => presence.records(ids), unavailable: (store) => observer.unavailable(store) });
  const records = new WatchedRecords((ids) => presence.records(ids));
  const interest = new InterestIndex(stores.hot.feed, { observe: (userId, event) => records.observe(userId, event), idle: (userId) => records.forget(userId) });
  // A busy hub sends batches far more often than it is scraped: counted in plain numbers (added to the
  // counters at scrape time), the delay observed through a child bound once.
  const delay = { frames: metrics.fanoutDelaySeconds.labels({ path: 'frames' }), execute: metrics.fanoutDelaySeconds.labels({ path: 'execute' }) };
  const hub = new ViewportHub({
    interest,
    visibility,
    records,
    coalesceMs: config.coalesceMs,
    onBatch: (batch, path, waitedMs) => {
      metrics.countBatch(path, batch.presences.length);
      if (waitedMs !== undefined) delay[path].observe(waitedMs / 1000);
    },
    onCount: (delta) => metrics.subscriptions.inc(delta),
  });
  const sessions = new DeviceSessions({ presence, log, observer });
  const limiter = new RateLimiterMemory({ points: config.limits.mutationsPerMinute, duration: 60 });
  const api: Api = {
    limits: config.limits,
    timing: config.timing,
    clock,
    presence,
    privacy,
    visibility,
    hub,
    async rateLimit(userId, points) {
      try {
        await limiter.consume(userId, points);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        throw fail(ErrorCode.RATE_LIMITED, `too many changes; retry in ${Math.ceil(error.msBeforeNext / 1000)} s`, { retryAfterMs: error.msBeforeNext });
      }
    },
  };
  const app: App = { config, api, presence, privacy, visibility, sessions, relations, interest, records, hub, metrics, log };

  const verify = createVerifier(config);
  const graphiqlHeaders =
    config.graphiql && config.auth.kind === 'secret' && config.auth.dev && options.graphiqlUser
      ? JSON.stringify({ Authorization: `Bearer ${await signToken(config.auth.secret, options.graphiqlUser, { ttlSeconds: 7 * 24 * 3600 })}` })
      : undefined;
  const yoga = createPresenceYoga({ api, config, verify, privacy, graphiqlHeaders });

  const httpServer = createHttpServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  metrics.track({
    feedReceived: () => stores.hot.feed.received,
    watchedUsers: () => interest.watchedUsers,
    sockets: () => gateway.sockets,
    subscriptionReads: () => ({ hot: records.reads, graph: visibility.graphReads }),
    graphCache: () => ({ ...relations.stats, entries: relations.size, renewing: relations.renewing }),
    auth: () => verify.stats,
    connections: () => new Promise((resolve) => httpServer.getConnections((error, count) => resolve(error ? 0 : count))),
  });
  httpServer.keepAliveTimeout = config.httpKeepAliveMs;
  // Must exceed the keep-alive, or a request arriving as the connection idles out could be cut off.
  httpServer.headersTimeout = config.httpKeepAliveMs + 1_000;
  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') return json(res, 200, { status: 'ok' });
    if (path === '/ready') {
      const checks = await readiness(stores);
      return json(res, Object.values(checks).every((s) => s === 'up') ? 200 : 503, { stores: checks, kinds: stores.kinds });
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      return res.end(await metrics.registry.metrics());
    }
    if (path === '/') {
      res.writeHead(302, { location: yoga.graphqlEndpoint });
      return res.end();
    }
    // Streams (SSE subscriptions) live as long as their client: not requests to time.
    if (!req.headers.accept?.includes('text/event-stream')) {
      const timer = metrics.httpSeconds.startTimer();
      res.once('close', () => timer({ status: res.writableFinished ? `${Math.floor(res.statusCode / 100)}xx` : 'aborted' }));
    }
    const refusal = bodyRefusal(req, config.limits.maxBodyBytes);
    if (refusal) return refuse(res, refusal, config.limits.maxBodyBytes);
    return yoga(req, res);
  };

  const gateway = attachGateway(httpServer, yoga, { sessions, privacy, limits: config.limits, verify });
  const sweeper = startSweeper(presence, config.sweepMs, log);
  const drain = new OutboxDrain({
    outbox: stores.hot.outbox,
    store: stores.lastSeen,
    consumer: `server-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    retentionMs: config.trailRetentionMs,
    log,
  });
  drain.start();

  return {
    app,
    stores,
    yoga,
    gateway,
    sweeper,
    drain,
    listen(port, host = config.host) {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          const { port: bound } = httpServer.address() as AddressInfo;
          resolve(`http://${host === '0.0.0.0' ? 'localhost' : host}:${bound}`);
        });
      });
    },
    async close() {
      await gateway.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await sweeper.stop();
      await drain.stop();
      await Promise.allSettled([stores.hot.close(), relations.close(), stores.lastSeen.close()]);
    },
  };
}

async function readiness(stores: Stores): Promise<Record<'hot' | 'graph' | 'lastSeen', 'up' | 'down'>> {
  const check = (p: Promise<void>) =>
    Promise.race([p.then(() => 'up' as const), new Promise<'down'>((r) => setTimeout(() => r('down'), 2_000).unref())]).catch(() => 'down' as const);
  const [hot, graph, lastSeen] = await Promise.all([check(stores.hot.ping()), check(stores.graph.ping()), check(stores.lastSeen.ping())]);
  return { hot, graph, lastSeen };
}

/**
 * Why a request body is refused before yoga reads it, if it is: over the limit by its Content-Length, or
 * chunked (no Content-Length), whose size could only be learnt by reading it. Node's parser holds a body
 * to its Content-Length, so one that passes here cannot grow past the limit. (yoga's own limit, off in
 * server/yoga.ts, pipes every body through a stream to count it, whatever its Content-Length.)
 */
export function bodyRefusal(req: Pick<IncomingMessage, 'headers'>, limit: number): ErrorCode | null {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > limit ? ErrorCode.PAYLOAD_TOO_LARGE : null;
  return req.headers['transfer-encoding'] !== undefined ? ErrorCode.LENGTH_REQUIRED : null;
}

/** A GraphQL-over-HTTP error answer to a body never read; the connection closes after it, dropping the body. */
function refuse(res: ServerResponse, code: ErrorCode, limit: number): void {
  const message = code === ErrorCode.PAYLOAD_TOO_LARGE ? `Request body too large: at most ${limit} bytes` : 'Request body needs a Content-Length (chunked bodies are not accepted)';
  res.setHeader('connection', 'close');
  json(res, httpStatus(code) ?? 400, { errors: [{ message, extensions: { code, retryable: isRetryable(code), limit } }] });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Prometheus metrics (prom-client), one registry per server so several servers can share a process. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceObserver } from '../service/observer.js';

export interface Metrics {
  readonly registry: Registry;
  readonly subscriptions: Gauge;
  readonly batches: Counter<'path'>;
  readonly fanoutDelaySeconds: Histogram<'path'>;
  readonly presencesSent: Counter<'path'>;
  /**
   * One batch sent on `path` with `presences` entries: counted in plain numbers and added to `batches`
   * and `presencesSent` when they are read (a scrape) — the hub sends far more batches than there are
   * scrapes, and a prom-client `inc` hashes its labels every time.
   */
  countBatch(path: 'frames' | 'execute', presences: number): void;
  /** GraphQL-over-HTTP requests, from the handler to the answer handed to the kernel, by status class. */
  readonly httpSeconds: Histogram<'status'>;
  /** What the use cases report, counted here. */
  readonly observer: ServiceObserver;
  /** Reports the counters the process keeps itself at scrape time. */
  track(sources: {
    feedReceived: () => number;
    watchedUsers: () => number;
    /** Open graphql-ws sockets that completed connection init. */
    sockets: () => number;
    /** Store reads subscriptions made (records of watched users; relations not held in memory). */
    subscriptionReads: () => { hot: number; graph: number };
    /** The relation cache in front of the graph. */
    graphCache: () => { hits: number; misses: number; renewals: number; entries: number; renewing: number };
    /** Token signatures checked, and tokens answered from ones that passed (server/auth.ts). */
    auth: () => { checked: number; reused: number };
    /** Open TCP connections to the HTTP server (net.Server#getConnections: a count it keeps). */
    connections: () => Promise<number>;
  }): void;
}

/**
 * prom-client defaults left out: each walks every open handle or file descriptor of the process at every
 * scrape, on the event loop (`process_open_fds` is a readdir of /proc/self/fd), so every scrape would
 * stall heartbeats and fan-out in proportion to the connections held (`bench/metrics-scrape.ts` shows
 * it). `presence_http_connections` and `presence_ws_sockets` count connections instead, kept as they
 * open and close; `process_max_fds` stays.
 */
export const PER_HANDLE_DEFAULT_METRICS = ['process_open_fds', 'nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_resources', 'nodejs_active_resources_total'] as const;

export function createMetrics(options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults) {
    collectDefaultMetrics({ register: registry });
    for (const name of PER_HANDLE_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  /** Counts per path not yet added to their counter: each counter adds its own when it is read. */
  const pendingBatches = { frames: 0, execute: 0 };
  const pendingPresences = { frames: 0, execute: 0 };
  const addPending = (pending: Record<'frames' | 'execute', number>) =>
    function (this: Counter<'path'>) {
      for (const path of ['frames', 'execute'] as const) {
        if (pending[path] > 0) this.inc({ path }, pending[path]);
        pending[path] = 0;
      }
    };
  const transitions = new Counter({ name: 'presence_transitions_total', help: 'Transitions made by this process', labelNames: ['cause'], registers: [registry] });
  const heartbeats = new Counter({ name: 'presence_heartbeats_total', help: 'Heartbeats handled, by store effect', labelNames: ['effect'], registers: [registry] });
  const disconnects = new Counter({
    name: 'presence_disconnects_total',
    help: 'Device sessions whose socket closed, by outcome: recorded (the device entered its grace window in the hot store) or failed (not recorded; the device expires by its TTL)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const heartbeatSeconds = new Histogram({
    name: 'presence_heartbeat_seconds',
    help: 'Time to handle one heartbeat (claim, decide, commit), by path: gateway refresh or the heartbeat mutation',
    labelNames: ['path'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const storeFailures = new Counter({ name: 'presence_store_failures_total', help: 'Reads answered UNKNOWN because a store was down', labelNames: ['store'], registers: [registry] });
  // Bound once: the gateway observes every device of every wheel slot.
  const bySeconds = { gateway: heartbeatSeconds.labels({ path: 'gateway' }), mutation: heartbeatSeconds.labels({ path: 'mutation' }) };
  const observer: ServiceObserver = {
    transition: (transition) => transitions.inc({ cause: transition.cause }),
    heartbeats(path, effect, count, seconds) {
      heartbeats.inc({ effect }, count);
      for (let i = 0; i < count; i++) bySeconds[path].observe(seconds);
    },
    disconnects: (outcome, count) => disconnects.inc({ outcome }, count),
    unavailable: (store) => storeFailures.inc({ store }),
  };
  return {
    registry,
    observer,
    batches: new Counter({
      name: 'presence_batches_sent_total',
      help: 'PresenceBatch events sent (snapshots included), by path: frames written by the hub, or executed by graphql-js',
      labelNames: ['path'],
      registers: [registry],
      collect: addPending(pendingBatches),
    }),
    presencesSent: new Counter({ name: 'presence_presences_sent_total', help: 'Presence entries sent in batches, by path', labelNames: ['path'], registers: [registry], collect: addPending(pendingPresences) }),
    countBatch(path, presences) {
      pendingBatches[path]++;
      pendingPresences[path] += presences;
    },
    subscriptions: new Gauge({ name: 'presence_viewport_subscriptions', help: 'Open viewport subscriptions', registers: [registry] }),
    fanoutDelaySeconds: new Histogram({
      name: 'presence_fanout_delay_seconds',
      help: 'Per batch of changes, how long its oldest change waited in this process: from the feed event to the batch handed to the subscription (frames: written to the socket) — coalescing window, reads and scheduling',
      labelNames: ['path'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'presence_http_request_seconds',
      help: 'GraphQL-over-HTTP requests: from the request reaching this process\'s handler to the last byte of the answer handed to the kernel, by status class (2xx, 4xx, 5xx; aborted: the client left first). SSE streams are not timed; time spent before the handler ran (a busy event loop) is not in it',
      labelNames: ['status'],
      // Fine from 5 to 100 ms, where the latency goals are: a quantile is interpolated within its bucket.
      buckets: [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    track(sources) {
      new Counter({
        name: 'presence_feed_messages_total',
        help: 'Presence messages this process received from the hot store (only for users it watches)',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(sources.feedReceived());
        },
      });
      new Gauge({
        name: 'presence_watched_users',
        help: 'Users at least one local subscription watches',
        registers: [registry],
        collect() {
          this.set(sources.watchedUsers());
        },
      });
      new Gauge({
        name: 'presence_ws_sockets',
        help: 'Open graphql-ws sockets',
        registers: [registry],
        collect() {
          this.set(sources.sockets());
        },
      });
      new Counter({
        name: 'presence_relay_reads_total',
        help: 'Store reads made by subscriptions: records of watched users not heard on the feed (hot), relations not held in memory (graph)',
        labelNames: ['store'],
        registers: [registry],
        collect() {
          const reads = sources.subscriptionReads();
          this.reset();
          this.inc({ store: 'hot' }, reads.hot);
          this.inc({ store: 'graph' }, reads.graph);
        },
      });
      new Counter({
        name: 'presence_graph_cache_reads_total',
        help: 'Contact-graph reads answered by the process-wide relation cache (hit) or read from the graph (miss); renewal: a background renewal of entries used past half their TTL (a check of which users changed, then a read of those that did)',
        labelNames: ['result'],
        registers: [registry],
        collect() {
          const stats = sources.graphCache();
          this.reset();
          this.inc({ result: 'hit' }, stats.hits);
          this.inc({ result: 'miss' }, stats.misses);
          this.inc({ result: 'renewal' }, stats.renewals);
        },
      });
      new Gauge({
        name: 'presence_http_connections',
        help: 'Open TCP connections to the HTTP server, graphql-ws sockets included',
        registers: [registry],
        async collect() {
          this.set(await sources.connections());
        },
      });
      new Gauge({
        name: 'presence_graph_cache_renewals_pending',
        help: 'Background renewals of the relation cache under way or waiting their turn',
        registers: [registry],
        collect() {
          this.set(sources.graphCache().renewing);
        },
      });
      new Counter({
        name: 'presence_auth_tokens_total',
        help: 'Tokens presented, by how they were verified: checked (the signature verified) or reused (a token that passed within the last minute)',
        labelNames: ['verification'],
        registers: [registry],
        collect() {
          const { checked, reused } = sources.auth();
          this.reset();
          this.inc({ verification: 'checked' }, checked);
          this.inc({ verification: 'reused' }, reused);
        },
      });
      new Gauge({
        name: 'presence_graph_cache_entries',
        help: 'Relations, modes and contacts pages the relation cache holds',
        registers: [registry],
        collect() {
          this.set(sources.graphCache().entries);
        },
      });
    },
  };
}

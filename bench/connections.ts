/**
 * Connections held: N idle graphql-ws device sessions, each with ONE `presence(viewport:)` subscription
 * of V ids, on ONE real server process. Measures the server's memory per connection (RSS and V8 heap,
 * subscription state included), the time to connect them all, and the client side's own RSS.
 *
 *   npm run bench:connections -- [--connections 20000] [--viewport 20] [--targets 1000] [--concurrency 500]
 *                                [--per-address auto] [--idle-seconds 5] [--max-seconds 600]
 *                                [--server-heap-mb 8192] [--max-total-gib 16] [--heap-snapshot <file>]
 *                                [--redis redis://127.0.0.1:6379]
 *
 * Stores: the real Redis (hot state, fan-out; a unique REDIS_PREFIX, removed with SCAN+DEL at the end),
 * the embedded contact graph and the embedded last-seen store (no NEO4J_URI, no DATABASE_URL, DEMO_SEED
 * off). Every user — T viewport targets and the N connecting users — is registered over HTTP before the
 * "before" figure is taken, so the per-connection figure holds what a connection costs (socket,
 * graphql-ws and session state, device timers, the subscription, its relay and interest entries), not
 * the embedded graph's user records, which a deployment keeps in Neo4j. What registration cost is
 * reported separately.
 *
 * Client side: a minimal graphql-transport-ws client on raw `ws` sockets (connection_init → ack →
 * subscribe → the first `next` is the snapshot; protocol pings answered with pongs, WebSocket pings by
 * ws itself), spread over client worker processes (the open-files limit is per process) and over source
 * addresses 127.0.0.2 … 127.0.0.K (an address's ephemeral ports run out at ~28 k), with at most
 * --concurrency handshakes in flight. The first connection error stops the run and names the limit hit.
 * (That client, its workers and the pre-flight checks live in ws-load.ts, shared with heartbeat.ts --mode gateway.)
 *
 * Server memory: scraped from /metrics (process_resident_memory_bytes, nodejs_heap_size_used_bytes)
 * after V8's last-resort GC (compacting; frees pages back to the OS — where an idle server settles),
 * run through the server's inspector (--expose-gc, inspector on a random loopback port): once on the
 * fresh server, once after registration ("before"), once after all N are connected and idle ("after").
 * bytes per connection = (after − before) / N. The idle RSS before that GC is reported too.
 *
 * Bounded: --max-seconds (default 600) for the whole run, --max-total-gib (default 16) of RSS for the
 * server and the clients together; everything is closed, the server stopped and its keys removed.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { spawnServer, type ServerProcess } from '../scripts/server-process.js';
import { commandLine, DEPLOYED_ENV, environment, round, summary } from './stats.js';
import {
  BENCH_JWT_SECRET as JWT_SECRET,
  SERVER_FD_RESERVE,
  SUBSCRIPTION,
  addressProblem,
  checkAddresses,
  clientPlan,
  connectAll,
  connectProgress,
  delay,
  getText,
  Inspector,
  mb,
  openFiles,
  openFilesLimit,
  purgePrefix,
  registerUsers,
  stopLoad,
  rssOf,
  serverRoomProblem,
  startWorkers,
  targetOf,
  type ClientWorker,
  perAddressFor,
} from './ws-load.js';

const GOAL = { connections: 100_000, maxBytesPerConnection: 40_960 } as const;

interface Scrape {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  cpuSeconds: number;
  wsSockets: number;
  viewportSubscriptions: number;
  watchedUsers: number;
}


async function scrape(server: ServerProcess): Promise<Scrape> {
  const text = await getText(`${server.url}/metrics`);
  const value = (name: string) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)`, 'm'))?.[1] ?? Number.NaN);
  return {
    rss: value('process_resident_memory_bytes'),
    heapUsed: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
    cpuSeconds: value('process_cpu_seconds_total'),
    wsSockets: value('presence_ws_sockets'),
    viewportSubscriptions: value('presence_viewport_subscriptions'),
    watchedUsers: value('presence_watched_users'),
  };
}

async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(info.match(/^used_memory:(\d+)/m)?.[1] ?? Number.NaN);
}

const kb = (bytes: number) => round(bytes / 1024, 2);
const memory = (s: Scrape) => ({ rssBytes: s.rss, heapUsedBytes: s.heapUsed, heapTotalBytes: s.heapTotal, externalBytes: s.external });

async function coordinator(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '20000' },
      viewport: { type: 'string', default: '20' },
      targets: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '500' },
      'per-address': { type: 'string', default: 'auto' },
      'idle-seconds': { type: 'string', default: '5' },
      'max-seconds': { type: 'string', default: '600' },
      'server-heap-mb': { type: 'string', default: '8192' },
      'max-total-gib': { type: 'string', default: '16' },
      'heap-snapshot': { type: 'string' },
      redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    },
  });
  const N = Number(values.connections);
  const V = Number(values.viewport);
  const T = Number(values.targets);
  const concurrency = Number(values.concurrency);
  const perAddress = perAddressFor(N, values['per-address']);
  const idleSeconds = Math.min(Number(values['idle-seconds']), 120);
  const maxSeconds = Math.min(Number(values['max-seconds']), 3600);
  const serverHeapMb = Number(values['server-heap-mb']);
  const maxTotalBytes = Number(values['max-total-gib']) * 2 ** 30;
  const heapSnapshot = values['heap-snapshot'];
  const log = (line: string) => process.stderr.write(`[connections] ${line}\n`);

  const { clientLimit, workerCount, addressCount, addresses } = clientPlan(N, perAddress);
  const parameters = {
    connections: N,
    viewport: V,
    targets: T,
    concurrency,
    perAddress,
    sourceAddresses: addressCount > 0 ? `${addresses[0]}…${addresses.at(-1)}` : 'none',
    clientProcesses: workerCount,
    idleSeconds,
    maxSeconds,
    serverHeapMb,
    stores: { hot: 'redis', graph: 'embedded', lastSeen: 'embedded' },
    subscription: V > 0 ? SUBSCRIPTION : 'none (device session only)',
  };
  const started = performance.now();
  const env = environment();

  const fatal = (message: string): never => {
    throw new Error(message);
  };
  if (!Number.isSafeInteger(N) || N < 1) fatal('--connections must be a whole number ≥ 1');
  if (!Number.isSafeInteger(V) || V < 0 || V > 200) fatal('--viewport must be 0–200 (0: device sessions without a subscription)');
  if (!Number.isSafeInteger(T) || T < Math.max(V, 1)) fatal('--targets must be ≥ --viewport');
  const addressIssue = addressProblem(perAddress, addressCount);
  if (addressIssue) fatal(addressIssue);

  // Everything below is aborted — and cleaned up — on the first failure, the time cap or the memory cap.
  let abort!: (error: Error) => void;
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  aborted.catch(() => undefined);
  const race = <T>(p: Promise<T>) => Promise.race([p, aborted]);
  const cap = setTimeout(() => abort(new Error(`time cap: the run exceeded --max-seconds ${maxSeconds}`)), maxSeconds * 1000);

  const prefix = `bench:conn:${randomUUID().slice(0, 8)}:`;
  let server: ServerProcess | undefined;
  let inspector: Inspector | undefined;
  let workers: ClientWorker[] = [];
  let watchdog: NodeJS.Timeout | undefined;
  let peakTotalRss = 0;
  const redis = new Redis(values.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });

  try {
    await redis.connect();
    const redisBefore = await redisUsedMemory(redis);
    log(`server: one process, Redis prefix ${prefix}, embedded graph and last-seen, heap limit ${serverHeapMb} MB`);
    server = await race(
      spawnServer(
        { ...DEPLOYED_ENV, REDIS_URL: values.redis, REDIS_PREFIX: prefix, NEO4J_URI: '', DATABASE_URL: '', DEMO_SEED: 'false', JWT_SECRET, LOG_LEVEL: 'warn' },
        60_000,
        { nodeFlags: [`--max-old-space-size=${serverHeapMb}`, '--expose-gc', '--inspect=127.0.0.1:0'] },
      ),
    );
    const srv = server;
    void srv.exited.then((code) => abort(new Error(`the server exited (${code}) during the run:\n${srv.output().slice(-2000)}`)));
    const pid = srv.child.pid!;
    const inspectorUrl = srv.output().match(/Debugger listening on (ws:\/\/\S+)/)?.[1];
    if (!inspectorUrl) fatal(`the server's inspector did not start:\n${srv.output()}`);
    inspector = await race(Inspector.connect(inspectorUrl!));
    const insp = inspector;
    const measure = async (): Promise<Scrape> => {
      // Full collections until the heap stops shrinking (at most 4): the inspector's precise GC, then V8's
      // last-resort one (compacting; returns free pages to the OS — where an idle server settles).
      let last = Number.POSITIVE_INFINITY;
      let figures = await race(scrape(srv));
      for (let k = 0; k < 4; k++) {
        await race(insp.call('HeapProfiler.collectGarbage'));
        await race(insp.call('Runtime.evaluate', { expression: "gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })" }));
        await delay(200);
        figures = await race(scrape(srv));
        if (figures.heapUsed > last * 0.995) break;
        last = figures.heapUsed;
      }
      return figures;
    };

    // Can the server hold N more sockets? (Its open-files limit is inherited from this process.)
    const serverLimit = openFilesLimit(pid);
    const roomIssue = serverRoomProblem(pid, N);
    if (roomIssue) fatal(roomIssue);
    watchdog = setInterval(() => {
      const total = rssOf(pid) + workers.reduce((sum, w) => sum + (w.child.pid ? rssOf(w.child.pid) : 0), 0) + rssOf('self');
      peakTotalRss = Math.max(peakTotalRss, total);
      if (total > maxTotalBytes) abort(new Error(`memory cap: server and clients hold ${mb(total)} MB RSS together, over --max-total-gib ${values['max-total-gib']}`));
    }, 1_000);

    const fresh = await measure();

    // Targets first (viewport ids must be registered users), then the N connecting users, in the workers.
    const onFailure = (message: string) => abort(new Error(message));
    // Every 5 %.
    const progress = connectProgress(N, log, pid);
    workers = startWorkers(N, workerCount, progress.onProgress, onFailure);
    const registerStart = performance.now();
    log(`registering ${T} targets and ${N} users over HTTP`);
    await race(registerUsers(srv.url, Array.from({ length: T }, (_, j) => targetOf(j)), 64));
    await race(Promise.all(workers.map((w) => w.request({ type: 'register', url: srv.url, from: w.from, to: w.to, concurrency: Math.ceil(64 / workerCount) }, 'registered'))));
    const registerSeconds = (performance.now() - registerStart) / 1000;
    const before = await measure();
    log(`registered ${T + N} users in ${round(registerSeconds, 1)} s; server RSS ${mb(before.rss)} MB, heap ${mb(before.heapUsed)} MB`);

    // Every source address must reach the server (Linux routes all of 127/8 to lo; other systems need aliases).
    const port = Number(new URL(srv.url).port);
    await race(checkAddresses(addresses, port));

    log(`connecting ${N} device sessions (viewport ${V}) from ${workerCount} client process(es) over ${addressCount} source address(es), ${concurrency} in flight`);
    const cpuBefore = before.cpuSeconds;
    const connectStart = performance.now();
    progress.start();
    const done = await race(connectAll(workers, { wsUrl: srv.wsUrl, concurrency, viewport: V, targets: T, perAddress }));
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const latency = summary(done.flatMap((d) => d.latencies));
    const atConnected = await race(scrape(srv));
    log(`all ${N} connected in ${round(connectSeconds, 1)} s (${Math.round(N / connectSeconds)}/s); idle ${idleSeconds} s`);

    await race(delay(idleSeconds * 1000));
    const idleEnd = await race(scrape(srv));
    const after = await measure();
    const serverOpenAfter = openFiles(pid);
    const clients = await race(Promise.all(workers.map((w) => w.request({ type: 'stats' }, 'stats'))));
    const redisAfter = await redisUsedMemory(redis);
    if (after.wsSockets !== N || (V > 0 && after.viewportSubscriptions !== N)) {
      fatal(`the server counts ${after.wsSockets} sockets and ${after.viewportSubscriptions} viewport subscriptions, expected ${N} and ${V > 0 ? N : 0}`);
    }
    if (heapSnapshot) {
      log(`writing a heap snapshot of the server to ${heapSnapshot}`);
      await race(insp.heapSnapshot(heapSnapshot));
    }

    const rssPerConnection = (after.rss - before.rss) / N;
    const heapPerConnection = (after.heapUsed - before.heapUsed) / N;
    const clientRss = clients.reduce((sum, c) => sum + c.rss, 0) + rssOf('self');
    const projectedRss = before.rss + rssPerConnection * GOAL.connections;
    const withinBytes = rssPerConnection <= GOAL.maxBytesPerConnection;
    const reached = N >= GOAL.connections;
    const capNote =
      !reached && serverLimit && serverLimit.hard < GOAL.connections + SERVER_FD_RESERVE
        ? ` (not reachable here: one process may hold at most ${serverLimit.hard} files — open-files hard limit ${serverLimit.hard})`
        : '';
    const verdict = {
      pass: reached && withinBytes,
      withinBytesPerConnection: withinBytes,
      reachedGoalConnections: reached,
      rssBytesPerConnection: Math.round(rssPerConnection),
      projectedServerRssAtGoalBytes: Math.round(projectedRss),
      summary:
        `${withinBytes ? 'within' : 'OVER'} the per-connection budget: ${kb(rssPerConnection)} KB RSS per connection ${withinBytes ? '≤' : '>'} ${GOAL.maxBytesPerConnection / 1024} KB at ${N} connections; ` +
        (reached ? `${N} connections held in ${mb(after.rss)} MB server RSS` : `${GOAL.connections} connections not run${capNote}; projected ${mb(projectedRss)} MB server RSS at ${GOAL.connections}`) +
        ` → ${reached && withinBytes ? 'PASS' : reached ? 'FAIL' : withinBytes ? 'PASS per connection, 100 k not demonstrated' : 'FAIL'}`,
    };

    const results = {
      connected: clients.reduce((sum, c) => sum + c.live, 0),
      connectSeconds: round(connectSeconds, 2),
      connectionsPerSecond: Math.round(N / connectSeconds),
      connectLatencyMs: { p50: round(latency.p50, 1), p99: round(latency.p99, 1), max: round(latency.max, 1) },
      server: {
        fresh: memory(fresh),
        before: memory(before),
        after: memory(after),
        afterBeforeGc: memory(idleEnd),
        rssBytesPerConnectionBeforeGc: Math.round((idleEnd.rss - before.rss) / N),
        rssBytesPerConnection: Math.round(rssPerConnection),
        heapUsedBytesPerConnection: Math.round(heapPerConnection),
        heapTotalBytesPerConnection: Math.round((after.heapTotal - before.heapTotal) / N),
        externalBytesPerConnection: Math.round((after.external - before.external) / N),
        registration: {
          users: T + N,
          seconds: round(registerSeconds, 1),
          rssBytesPerUser: Math.round((before.rss - fresh.rss) / (T + N)),
          heapUsedBytesPerUser: Math.round((before.heapUsed - fresh.heapUsed) / (T + N)),
        },
        cpuSecondsPerThousandConnections: round(((atConnected.cpuSeconds - cpuBefore) / N) * 1000, 3),
        idleCpuShare: round((idleEnd.cpuSeconds - atConnected.cpuSeconds) / idleSeconds, 3),
        wsSockets: after.wsSockets,
        viewportSubscriptions: after.viewportSubscriptions,
        watchedUsers: after.watchedUsers,
        openFiles: serverOpenAfter,
        openFilesLimit: serverLimit,
      },
      client: {
        processes: workerCount,
        sourceAddresses: addressCount,
        rssBytes: clientRss,
        rssBytesPerConnection: Math.round(clientRss / N),
        droppedWhileIdle: clients.reduce((sum, c) => sum + c.dropped, 0),
        updatesWhileIdle: clients.reduce((sum, c) => sum + c.updates, 0),
        openFilesLimit: clientLimit,
      },
      redis: { usedMemoryDeltaBytes: redisAfter - redisBefore, note: 'shared instance: other runs may move it' },
      peakTotalRssBytes: peakTotalRss,
      runSeconds: round((performance.now() - started) / 1000, 1),
    };
    log(verdict.summary);
    console.log(JSON.stringify({ scenario: 'connections', command: commandLine(), parameters, environment: env, results, goal: GOAL, verdict }, null, 2));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`FAILED: ${message}`);
    console.log(
      JSON.stringify(
        { scenario: 'connections', command: commandLine(), parameters, environment: env, error: message, goal: GOAL, verdict: { pass: false, summary: `error: ${message.split('\n')[0]}` } },
        null,
        2,
      ),
    );
    process.exitCode = 1;
  } finally {
    clearTimeout(cap);
    if (watchdog) clearInterval(watchdog);
    inspector?.close();
    await stopLoad(workers, server, log);
    try {
      const removed = await purgePrefix(redis, prefix);
      log(`removed ${removed} Redis keys under ${prefix}`);
    } catch (error) {
      log(`could not remove the Redis keys under ${prefix}: ${error instanceof Error ? error.message : String(error)}`);
    }
    redis.disconnect();
  }
}

await coordinator();

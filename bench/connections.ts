/**
 * Connections held: N idle graphql-ws device sessions, each with ONE `presence(viewport:)` subscription
 * of V ids, on real server processes — one when its open-files limit holds N sockets, else the fewest
 * that do (--processes auto), each holding a contiguous share. Measures the servers' memory per
 * connection (RSS and V8 heap, subscription state included) and in all, the time to connect them all,
 * and the client side's own RSS.
 *
 *   npm run -w bench bench:connections -- [--connections 20000] [--processes auto] [--viewport 20] [--targets 1000]
 *                                [--concurrency 500] [--per-address auto] [--idle-seconds 5] [--max-seconds 600]
 *                                [--server-heap-mb 8192] [--max-total-gib 16] [--heap-snapshot <file>]
 *                                [--drop-seconds 120] [--profile <dir>] [--server-flags="<node flags for the servers>"]
 *                                [--redis redis://127.0.0.1:6379]
 *
 * Several processes share the one Redis (one prefix) as a deployment's do; each has its own embedded
 * graph, so the targets are registered on each and each user on the server it connects to. Every figure
 * is the processes' sum; `server.perProcess` keeps each one's.
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
 * Then the storm: every client socket reset at once (a region's network drops). Timed until the servers
 * have counted every disconnect (presence_disconnects_total: recorded, the device in its grace window, or
 * failed, left to expire by its TTL), at most --drop-seconds (120), with their CPU per disconnect;
 * --profile <dir> writes each server's CPU profile of that span, and one of the connect phase.
 *
 * Bounded: --max-seconds (default 600) for the whole run, --max-total-gib (default 16) of RSS for the
 * server and the clients together; everything is closed, the server stopped and its keys removed.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { spawnServer, type ServerProcess } from '../scripts/server-process.js';
import { commandLine, DEPLOYED_ENV, HOST_SERVER_FLAGS, environment, round, summary } from './stats.js';
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
  metricSum,
  parseMetrics,
  resetWorkers,
  type Sample,
} from './ws-load.js';

const GOAL = { connections: 100_000, maxBytesPerConnection: 40_960, maxServerRssBytes: 4 * 2 ** 30 } as const;
/** Files a fresh server holds before any connection (stdio, epoll, its Redis connections, the inspector…), at most: sizes --processes auto. */
const SERVER_BASE_FILES = 150;

interface Scrape {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  cpuSeconds: number;
  wsSockets: number;
  viewportSubscriptions: number;
  watchedUsers: number;
  disconnectsRecorded: number;
  disconnectsFailed: number;
}


async function scrape(server: ServerProcess): Promise<Scrape> {
  const samples = parseMetrics(await getText(`${server.url}/metrics`));
  const value = (name: string) => metricSum(samples, name);
  return {
    rss: value('process_resident_memory_bytes'),
    heapUsed: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
    cpuSeconds: value('process_cpu_seconds_total'),
    wsSockets: value('presence_ws_sockets'),
    viewportSubscriptions: value('presence_viewport_subscriptions'),
    watchedUsers: value('presence_watched_users'),
    disconnectsRecorded: countOf(samples, 'presence_disconnects_total', { outcome: 'recorded' }),
    disconnectsFailed: countOf(samples, 'presence_disconnects_total', { outcome: 'failed' }),
  };
}

/** A labelled counter's value, 0 before its first count (it has no sample until then). */
function countOf(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>>): number {
  const value = metricSum(samples, name, match);
  return Number.isNaN(value) ? 0 : value;
}

/** The fewest server processes that hold `n` sockets under an open-files limit of `limit` each. */
function processesFor(n: number, limit: number): number {
  return Math.max(1, Math.ceil(n / Math.max(1, limit - SERVER_FD_RESERVE - SERVER_BASE_FILES)));
}

/** Several processes' figures as one server's: every field summed. */
function sumScrapes(scrapes: readonly Scrape[]): Scrape {
  const total = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, cpuSeconds: 0, wsSockets: 0, viewportSubscriptions: 0, watchedUsers: 0, disconnectsRecorded: 0, disconnectsFailed: 0 };
  for (const s of scrapes) for (const k of Object.keys(total) as (keyof Scrape)[]) total[k] += s[k];
  return total;
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
      'drop-seconds': { type: 'string', default: '120' },
      profile: { type: 'string' },
      'server-flags': { type: 'string', default: '' },
      processes: { type: 'string', default: 'auto' },
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
  const dropSeconds = Math.min(Number(values['drop-seconds']), 600);
  const profileDir = values.profile;
  const log = (line: string) => process.stderr.write(`[connections] ${line}\n`);

  const { clientLimit, workerCount: clientWorkers, addressCount, addresses } = clientPlan(N, perAddress);
  // Server processes: one when its open-files limit (inherited from this process) holds N sockets, else
  // the fewest that do, each holding a contiguous share of the connections — a machine that caps a
  // process below the goal still shows the goal held, the cap said beside the figures.
  const serverFileLimit = openFilesLimit('self')?.soft ?? Number.POSITIVE_INFINITY;
  const P = values.processes === 'auto' ? processesFor(N, serverFileLimit) : Number(values.processes);
  // Workers a multiple of P, so that each worker's connections all go to one server.
  const workerCount = P * Math.ceil(clientWorkers / P);
  /** Connections of each server: [k·N/P, (k+1)·N/P), the ranges of its workers (startWorkers splits N the same way). */
  const shares = Array.from({ length: P }, (_, k) => Math.floor(((k + 1) * N) / P) - Math.floor((k * N) / P));
  const serverOfWorker = (w: number) => Math.floor(w / (workerCount / P));
  const parameters = {
    connections: N,
    viewport: V,
    targets: T,
    concurrency,
    perAddress,
    sourceAddresses: addressCount > 0 ? `${addresses[0]}…${addresses.at(-1)}` : 'none',
    serverProcesses: P,
    clientProcesses: workerCount,
    idleSeconds,
    dropSeconds,
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
  if (!(dropSeconds > 0)) fatal('--drop-seconds must be a number > 0');
  if (!Number.isSafeInteger(P) || P < 1 || P > Math.min(N, 32)) fatal('--processes must be "auto" or a whole number from 1 to 32, at most --connections');
  const addressIssue = addressProblem(perAddress, addressCount);
  if (addressIssue) fatal(addressIssue);

  // Everything below is aborted — and cleaned up — on the first failure, the time cap or the memory cap.
  let abort!: (error: Error) => void;
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  aborted.catch(() => undefined);
  const race = <T>(p: Promise<T>) => Promise.race([p, aborted]);
  const cap = setTimeout(() => abort(new Error(`time cap: the run exceeded --max-seconds ${maxSeconds}`)), maxSeconds * 1000);

  const prefix = `bench:conn:${randomUUID().slice(0, 8)}:`;
  const servers: ServerProcess[] = [];
  const inspectors: Inspector[] = [];
  let workers: ClientWorker[] = [];
  let watchdog: NodeJS.Timeout | undefined;
  let peakTotalRss = 0;
  const redis = new Redis(values.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });

  try {
    await redis.connect();
    const redisBefore = await redisUsedMemory(redis);
    log(`server: ${P === 1 ? 'one process' : `${P} processes (one may hold at most ${serverFileLimit} files here), ${[...new Set([Math.min(...shares), Math.max(...shares)])].join('–')} connections each`}, Redis prefix ${prefix}, embedded graph and last-seen, heap limit ${serverHeapMb} MB`);
    // Started one after another, so each reads its code without the others competing for the CPUs.
    for (let k = 0; k < P; k++) {
      const srv = await race(
        spawnServer(
          { ...DEPLOYED_ENV, REDIS_URL: values.redis, REDIS_PREFIX: prefix, NEO4J_URI: '', DATABASE_URL: '', DEMO_SEED: 'false', JWT_SECRET, LOG_LEVEL: 'warn' },
          60_000,
          { nodeFlags: [...HOST_SERVER_FLAGS, `--max-old-space-size=${serverHeapMb}`, '--expose-gc', '--inspect=127.0.0.1:0', ...values['server-flags'].split(/\s+/).filter(Boolean)] },
        ),
      );
      servers.push(srv);
      void srv.exited.then((code) => abort(new Error(`server ${k} exited (${code}) during the run:\n${srv.output().slice(-2000)}`)));
      const inspectorUrl = srv.output().match(/Debugger listening on (ws:\/\/\S+)/)?.[1];
      if (!inspectorUrl) fatal(`the inspector of server ${k} did not start:\n${srv.output()}`);
      inspectors.push(await race(Inspector.connect(inspectorUrl!)));
    }
    const pids = servers.map((srv) => srv.child.pid!);
    /** One server's figures after full collections until its heap stops shrinking (at most 4). */
    const measureOne = async (srv: ServerProcess, insp: Inspector): Promise<Scrape> => {
      // The inspector's precise GC, then V8's last-resort one (compacting; returns free pages to the OS —
      // where an idle server settles).
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
    /** Every server's figures as they are now, summed. */
    const scrapeAll = async (): Promise<Scrape> => sumScrapes(await race(Promise.all(servers.map((srv) => scrape(srv)))));
    /** Each server's figures after full collections, one after another. */
    const measure = async (): Promise<Scrape[]> => {
      const each: Scrape[] = [];
      for (let k = 0; k < P; k++) each.push(await measureOne(servers[k]!, inspectors[k]!));
      return each;
    };

    /** `span` run, with --profile under a CPU profile of every server (`connections-<phase>-N-p<k>.cpuprofile`). */
    const profiled = async <R>(phase: string, span: () => Promise<R>): Promise<R> => {
      if (!profileDir) return span();
      for (const insp of inspectors) await race(insp.startProfile());
      const result = await span();
      for (const [k, insp] of inspectors.entries()) await race(insp.stopProfile(join(profileDir, `connections-${phase}-${N}-p${k}.cpuprofile`)));
      return result;
    };

    /**
     * The storm: every client socket reset at once, as when a region's network drops. Each server handles
     * its share of closes and records each device's disconnect (its grace window) in the hot store; timed
     * until every disconnect is counted, recorded or failed (presence_disconnects_total), at most
     * --drop-seconds.
     */
    const dropAll = async () => {
      const start = await scrapeAll();
      log(`dropping all ${N} connections at once`);
      const t0 = performance.now();
      await race(resetWorkers(workers));
      let closedMs: number | null = null;
      let last = start;
      const counted = (s: Scrape) => s.disconnectsRecorded + s.disconnectsFailed - start.disconnectsRecorded - start.disconnectsFailed;
      while (performance.now() - t0 < dropSeconds * 1000) {
        await race(delay(100));
        last = await scrapeAll();
        if (closedMs === null && last.wsSockets === 0) closedMs = performance.now() - t0;
        if (counted(last) >= N) break;
      }
      const seconds = (performance.now() - t0) / 1000;
      const complete = counted(last) >= N;
      const recorded = last.disconnectsRecorded - start.disconnectsRecorded;
      const failed = last.disconnectsFailed - start.disconnectsFailed;
      log(
        complete
          ? `all ${N} disconnects recorded in ${round(seconds, 1)} s (${Math.round(N / seconds)}/s; sockets closed after ${round((closedMs ?? 0) / 1000, 1)} s)${failed ? `, ${failed} failed` : ''}`
          : `only ${recorded + failed} of ${N} disconnects counted after --drop-seconds ${dropSeconds}`,
      );
      return {
        sockets: N,
        complete,
        recorded,
        failed,
        closedSeconds: closedMs === null ? null : round(closedMs / 1000, 2),
        recordedSeconds: complete ? round(seconds, 2) : null,
        disconnectsPerSecond: complete ? Math.round(N / seconds) : null,
        serverCpuSeconds: round(last.cpuSeconds - start.cpuSeconds, 2),
        serverCpuMsPerDisconnect: round(((last.cpuSeconds - start.cpuSeconds) * 1000) / N, 3),
      };
    };

    // Can each server hold its share of sockets? (Its open-files limit is inherited from this process.)
    const serverLimit = openFilesLimit(pids[0]!);
    for (let k = 0; k < P; k++) {
      const roomIssue = serverRoomProblem(pids[k]!, shares[k]!);
      if (roomIssue) fatal(`server ${k}: ${roomIssue}`);
    }
    watchdog = setInterval(() => {
      const total = pids.reduce((sum, pid) => sum + rssOf(pid), 0) + workers.reduce((sum, w) => sum + (w.child.pid ? rssOf(w.child.pid) : 0), 0) + rssOf('self');
      peakTotalRss = Math.max(peakTotalRss, total);
      if (total > maxTotalBytes) abort(new Error(`memory cap: servers and clients hold ${mb(total)} MB RSS together, over --max-total-gib ${values['max-total-gib']}`));
    }, 1_000);

    const freshEach = await measure();
    const fresh = sumScrapes(freshEach);

    // Targets first (viewport ids must be registered users), then the N connecting users, in the workers.
    const onFailure = (message: string) => abort(new Error(message));
    // Every 5 %.
    const progress = connectProgress(N, log, pids);
    workers = startWorkers(N, workerCount, progress.onProgress, onFailure);
    const registerStart = performance.now();
    // Each server's embedded graph holds the targets and the users connecting to it.
    log(`registering ${T} targets${P > 1 ? ` on each of the ${P} servers` : ''} and ${N} users over HTTP`);
    for (const srv of servers) await race(registerUsers(srv.url, Array.from({ length: T }, (_, j) => targetOf(j)), 64));
    await race(Promise.all(workers.map((w, i) => w.request({ type: 'register', url: servers[serverOfWorker(i)]!.url, from: w.from, to: w.to, concurrency: Math.ceil(64 / workerCount) }, 'registered'))));
    const registerSeconds = (performance.now() - registerStart) / 1000;
    const beforeEach = await measure();
    const before = sumScrapes(beforeEach);
    log(`registered ${T * P + N} users in ${round(registerSeconds, 1)} s; server RSS ${mb(before.rss)} MB, heap ${mb(before.heapUsed)} MB${P > 1 ? ` (${P} processes)` : ''}`);

    // Every source address must reach the server (Linux routes all of 127/8 to lo; other systems need aliases).
    const port = Number(new URL(servers[0]!.url).port);
    await race(checkAddresses(addresses, port));

    log(`connecting ${N} device sessions (viewport ${V}) from ${workerCount} client process(es) over ${addressCount} source address(es), ${concurrency} in flight`);
    const cpuBefore = before.cpuSeconds;
    const connectStart = performance.now();
    progress.start();
    const done = await profiled('connect', () => race(connectAll(workers, { wsUrl: (i) => servers[serverOfWorker(i)]!.wsUrl, concurrency, viewport: V, targets: T, perAddress })));
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const latency = summary(done.flatMap((d) => d.latencies));
    const atConnected = await scrapeAll();
    log(`all ${N} connected in ${round(connectSeconds, 1)} s (${Math.round(N / connectSeconds)}/s); idle ${idleSeconds} s`);

    await race(delay(idleSeconds * 1000));
    const idleEnd = await scrapeAll();
    const afterEach = await measure();
    const after = sumScrapes(afterEach);
    const serverOpenAfter = pids.map((pid) => openFiles(pid));
    const clients = await race(Promise.all(workers.map((w) => w.request({ type: 'stats' }, 'stats'))));
    const redisAfter = await redisUsedMemory(redis);
    afterEach.forEach((a, k) => {
      const share = shares[k]!;
      if (a.wsSockets !== share || (V > 0 && a.viewportSubscriptions !== share)) {
        fatal(`server ${k} counts ${a.wsSockets} sockets and ${a.viewportSubscriptions} viewport subscriptions, expected ${share} and ${V > 0 ? share : 0}`);
      }
    });
    if (heapSnapshot) {
      log(`writing a heap snapshot of ${P === 1 ? 'the server' : 'server 0'} to ${heapSnapshot}`);
      await race(inspectors[0]!.heapSnapshot(heapSnapshot));
    }

    const drop = await profiled('drop', dropAll);
    const rssPerConnection = (after.rss - before.rss) / N;
    const heapPerConnection = (after.heapUsed - before.heapUsed) / N;
    const clientRss = clients.reduce((sum, c) => sum + c.rss, 0) + rssOf('self');
    // One process at the goal: a process's own memory before any connection, plus the goal's connections.
    const projectedRss = before.rss / P + rssPerConnection * GOAL.connections;
    const withinBytes = rssPerConnection <= GOAL.maxBytesPerConnection;
    const reached = N >= GOAL.connections;
    const withinTotal = after.rss <= GOAL.maxServerRssBytes;
    const capNote =
      !reached && serverLimit && serverLimit.hard < GOAL.connections + SERVER_FD_RESERVE
        ? ` (one process may hold at most ${serverLimit.hard} files here — open-files hard limit ${serverLimit.hard}; --processes ${processesFor(GOAL.connections, serverLimit.hard)} holds it in several)`
        : '';
    const held =
      P === 1
        ? `${N} connections held in ${mb(after.rss)} MB server RSS`
        : `${N} connections held by ${P} server processes (one may hold at most ${serverFileLimit} files here) in ${mb(after.rss)} MB server RSS together, ${mb(before.rss)} MB of it theirs before any connection`;
    const verdict = {
      pass: reached && withinBytes && withinTotal,
      withinBytesPerConnection: withinBytes,
      reachedGoalConnections: reached,
      withinServerRss: withinTotal,
      serverProcesses: P,
      serverRssBytes: after.rss,
      rssBytesPerConnection: Math.round(rssPerConnection),
      projectedServerRssAtGoalBytes: Math.round(projectedRss),
      summary:
        `${withinBytes ? 'within' : 'OVER'} the per-connection budget: ${kb(rssPerConnection)} KB RSS per connection ${withinBytes ? '≤' : '>'} ${GOAL.maxBytesPerConnection / 1024} KB at ${N} connections; ` +
        (reached
          ? `${held} ${withinTotal ? '≤' : '>'} ${mb(GOAL.maxServerRssBytes)} MB (4 GiB)`
          : `${GOAL.connections} connections not run${capNote}; projected ${mb(projectedRss)} MB server RSS at ${GOAL.connections}${P > 1 ? ' in one process' : ''}`) +
        ` → ${reached && withinBytes && withinTotal ? 'PASS' : reached ? 'FAIL' : withinBytes ? 'PASS per connection, 100 k not demonstrated' : 'FAIL'}`,
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
          users: T * P + N,
          seconds: round(registerSeconds, 1),
          rssBytesPerUser: Math.round((before.rss - fresh.rss) / (T * P + N)),
          heapUsedBytesPerUser: Math.round((before.heapUsed - fresh.heapUsed) / (T * P + N)),
        },
        cpuSecondsPerThousandConnections: round(((atConnected.cpuSeconds - cpuBefore) / N) * 1000, 3),
        idleCpuShare: round((idleEnd.cpuSeconds - atConnected.cpuSeconds) / idleSeconds, 3),
        wsSockets: after.wsSockets,
        viewportSubscriptions: after.viewportSubscriptions,
        watchedUsers: after.watchedUsers,
        openFiles: P === 1 ? serverOpenAfter[0] : serverOpenAfter,
        openFilesLimit: serverLimit,
        processes: P,
        ...(P > 1
          ? {
              perProcess: afterEach.map((a, k) => ({
                connections: shares[k]!,
                rssBytesBefore: beforeEach[k]!.rss,
                rssBytesAfter: a.rss,
                rssBytesPerConnection: Math.round((a.rss - beforeEach[k]!.rss) / shares[k]!),
                heapUsedBytesPerConnection: Math.round((a.heapUsed - beforeEach[k]!.heapUsed) / shares[k]!),
              })),
            }
          : {}),
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
      drop,
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
    for (const insp of inspectors) insp.close();
    await stopLoad(workers, servers, log);
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

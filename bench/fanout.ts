/**
 * Fan-out: viewport-scoped lazy fan-out against the naive eager broadcast and against the peer stack
 * (graphql-redis-subscriptions + withFilter over one topic), same workload, same run.
 *
 *   npm run -w bench bench:fanout -- [--users 20000] [--watchers 200] [--contacts 200] [--viewport 20]
 *                           [--rate 500] [--seconds 10] [--processes 2] [--modes viewport,eager,peer]
 *                           [--server-flags="<node flags for our servers>"]
 *
 * N users (all EVERYONE), W watchers each listing C of them as contacts and subscribing to a viewport
 * of V of those; P real server processes (server/main.ts) on the real Redis and Neo4j; T transitions/s
 * (activity toggles of random users) for S seconds, driven straight into Redis as other server
 * processes would. For each mode it prints frames and presences received by the watchers, delivery
 * latency, Redis messages received per process, CPU seconds and resident memory per process; then the
 * eager/viewport and peer/viewport ratios.
 *
 * In eager mode (bench/baselines/eager/server.ts) every process hears every change and every watcher
 * subscribes to all of its contacts — "push every change to every contact" — the design that does not scale.
 * In peer mode the P processes are bench/peers/redis-subscriptions/server.ts — the stack a team would
 * assemble from the libraries' docs: every transition is published as `{ userId, status, version }` to
 * one topic, every process receives all of them, and every subscription's `withFilter` keeps the ids of
 * its viewport. Same watchers, same viewports, same subscription document, same transitions.
 * Bounded: one run per mode, S ≤ 60 s, at most 30 s of draining; everything it created is removed.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import neo4jDriver from 'neo4j-driver';
import { RedisHotStore } from '../hot/redis/store.js';
import { makeTiming } from '../presence/index.js';
import { EmbeddedLastSeenStore } from '../prisma/embedded.js';
import { ensureNeo4j } from '../scripts/neo4j/control.js';
import { PresenceService } from '../service/presence.js';
import { DEFAULT_LIMITS } from '../resolvers/limits.js';
import { spawnServer, type ServerProcess } from '../scripts/server-process.js';
import type { PresenceChanged } from './peers/redis-subscriptions/server.js';
import { spawnEager } from './baselines/eager/spawn.js';
import { spawnPeer } from './peers/redis-subscriptions/spawn.js';
import { commandLine, corePercent, cpuTicks, DEPLOYED_ENV, HOST_SERVER_FLAGS, environment, pin, round, schedBetween, schedStat, sumSchedStats, summary } from './stats.js';
import {
  BENCH_JWT_SECRET,
  bucketsBetween,
  clientPlan,
  histogramQuantile,
  Inspector,
  metricSum,
  parseMetrics,
  perAddressFor,
  purgeRedis,
  startWorkers,
  stopLoad,
  userOf,
  type Bucket,
  type ClientWorker,
  type Sample,
} from './ws-load.js';

type Mode = 'viewport' | 'eager' | 'peer';
const MODES: readonly Mode[] = ['viewport', 'eager', 'peer'];

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    watchers: { type: 'string', default: '200' },
    contacts: { type: 'string', default: '200' },
    viewport: { type: 'string', default: '20' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    /** Seconds driven at the same rate before the measured window, on the same servers and sockets, not measured. */
    warmup: { type: 'string', default: '3' },
    processes: { type: 'string', default: '2' },
    modes: { type: 'string', default: MODES.join(',') },
    /**
     * Measured windows per rate, one after another on the same warm servers and sockets (each S seconds,
     * drained); the figures reported are the median window's by delivery p99, every window's listed.
     */
    windows: { type: 'string', default: '1' },
    /** Write a V8 CPU profile of each server process (viewport/eager) into this folder. */
    profile: { type: 'string' },
    /** Extra node/V8 flags for our server processes, space-separated (GC experiments, diagnostic preloads). */
    'server-flags': { type: 'string', default: '' },
    /**
     * Server process i on CPU i alone, this driver and its watcher workers on the CPUs left (the stores
     * float): a server does not share its core with its own load generator, as deployed.
     */
    pin: { type: 'boolean', default: false },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const N = Number(values.users);
const W = Number(values.watchers);
const C = Math.min(Number(values.contacts), N);
const V = Math.min(Number(values.viewport), C);
/** One rate, or a comma-separated series (a saturation search: each rate on fresh servers, in order). */
const RATES = values.rate.split(',').map((r) => Number(r.trim()));
if (RATES.some((r) => !(r > 0))) throw new Error(`--rate must be one or more positive numbers, got ${values.rate}`);
const S = Math.min(Number(values.seconds), 60);
const P = Number(values.processes);
const modes = values.modes.split(',').map((m) => m.trim()) as Mode[];
for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}; one or more of ${MODES.join(',')}`);
// An eager watcher subscribes to all of its contacts, in one viewport.
if (modes.includes('eager') && C > DEFAULT_LIMITS.viewport) throw new Error(`eager: --contacts must be at most ${DEFAULT_LIMITS.viewport} (one viewport per watcher), got ${C}`);
const CPUS = availableParallelism();
if (values.pin) {
  if (P >= CPUS) throw new Error(`--pin: ${P} server process(es) need a CPU each and the load generator one more; this machine has ${CPUS}`);
  // Every thread of this process now; the workers forked later inherit it.
  pin(process.pid, `${P}-${CPUS - 1}`);
}
/** After the last transition: wait at least this long, and until no delivery arrived for this long. */
const QUIET_MS = 1_000;
/** Seconds of unmeasured transitions at the run's rate before its window (0: none). */
const WARMUP_S = Number(values.warmup);
if (!(WARMUP_S >= 0 && WARMUP_S <= 30)) throw new Error(`--warmup must be seconds from 0 to 30, got ${values.warmup}`);
const MAX_DRAIN_MS = 30_000;
const WINDOWS = Number(values.windows);
if (!(Number.isInteger(WINDOWS) && WINDOWS >= 1 && WINDOWS <= 9)) throw new Error(`--windows must be a whole number from 1 to 9, got ${values.windows}`);

/** Deterministic pseudo-random numbers, so all modes get the same graph and the same transitions. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const users = Array.from({ length: N }, (_, i) => `u${i}`);
/** The client workers sign each connection's token for userOf(i): the watchers are those users. */
const watchers = Array.from({ length: W }, (_, i) => userOf(i));
const SUBSCRIPTION = 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot presences { userId status version } } }';
const pick = rng(42);
const contactsOf = watchers.map(() => {
  const set = new Set<string>();
  while (set.size < C) set.add(users[Math.floor(pick() * N)]!);
  // In drawing order: a viewport (the first V) is a random V of the contacts, not the lowest ids.
  return [...set];
});
/** How many watchers should receive a change of each user: every copy a correct design must deliver. */
const countWatchers = (lists: string[][]) => {
  const counts = new Map<string, number>();
  for (const list of lists) for (const u of list) counts.set(u, (counts.get(u) ?? 0) + 1);
  return counts;
};
const viewportWatchers = countWatchers(contactsOf.map((c) => c.slice(0, V)));
const contactWatchers = countWatchers(contactsOf);

const results: Record<string, unknown>[] = [];
if (modes.some((m) => m !== 'peer')) {
  const neo4j = await ensureNeo4j();
  const namespace = `bench-${randomUUID().slice(0, 8)}`;
  const driver = neo4jDriver.driver(neo4j.uri, neo4jDriver.auth.basic(neo4j.user, neo4j.password));
  try {
    // One graph for both of our modes: every user EVERYONE, watcher → contact edges.
    await driver.executeQuery('UNWIND $ids AS id CREATE (:User {ns: $ns, id: id, privacy: "EVERYONE"})', { ns: namespace, ids: [...users, ...watchers] });
    const edges = watchers.flatMap((w, i) => contactsOf[i]!.map((c) => ({ w, c })));
    for (let i = 0; i < edges.length; i += 5_000) {
      await driver.executeQuery('UNWIND $edges AS e MATCH (w:User {ns: $ns, id: e.w}), (c:User {ns: $ns, id: e.c}) CREATE (w)-[:CONTACT]->(c)', { ns: namespace, edges: edges.slice(i, i + 5_000) });
    }
    for (const rate of RATES) for (const mode of modes) results.push(await run(mode, { uri: neo4j.uri, namespace }, rate));
  } finally {
    await driver.executeQuery('MATCH (u:User {ns: $ns}) DETACH DELETE u', { ns: namespace }).catch(() => undefined);
    await driver.close();
  }
} else {
  for (const rate of RATES) for (const mode of modes) results.push(await run(mode, undefined, rate));
}

type Figures = Record<string, number> & { deliveryLatencyMs: Record<string, number>; rssMbPerProcess: Record<string, number> };
// Ratios compare the modes at the first rate.
const byMode = (mode: Mode) => results.find((r) => r.mode === mode && r.rate === RATES[0]) as Figures | undefined;
const [viewport, eager, peer] = [byMode('viewport'), byMode('eager'), byMode('peer')];
const figure = (r: Figures, key: string) =>
  key === 'deliveryLatencyP99' ? r.deliveryLatencyMs.p99! : key === 'rssMbPerProcess' ? r.rssMbPerProcess.peak! : r[key]!;
const ratio = (other: Figures | undefined, key: string, digits = 1) =>
  viewport && other ? round(figure(other, key) / Math.max(figure(viewport, key), 1e-9), digits) : undefined;
const ratios = (other: Figures | undefined, existing: number) => ({
  frames: ratio(other, 'frames', existing),
  presences: ratio(other, 'presences', existing),
  redisMessagesPerProcess: ratio(other, 'redisMessagesPerProcess', existing),
  cpuSecondsPerProcess: ratio(other, 'cpuSecondsPerProcess', existing),
  deliveriesPerSecond: ratio(other, 'deliveriesPerSecond', 2),
  deliveryLatencyP99: ratio(other, 'deliveryLatencyP99', 2),
  rssMbPerProcess: ratio(other, 'rssMbPerProcess', 2),
});
console.log(
  JSON.stringify(
    {
      command: commandLine(),
      environment: environment(),
      parameters: {
        users: N,
        watchers: W,
        contactsPerWatcher: C,
        viewport: V,
        transitionsPerSecond: RATES.length === 1 ? RATES[0] : RATES,
        seconds: S,
        processes: P,
        pinned: values.pin ? { servers: P === 1 ? 'CPU 0' : `CPUs 0-${P - 1}, one each`, loadGenerator: `CPUs ${P}-${CPUS - 1}`, stores: 'any CPU' } : false,
      },
      results,
      eagerOverViewport: ratios(eager, 1),
      peerOverViewport: ratios(peer, 2),
      notes: [
        'expectedPresences: copies a design that sends every change to every watcher of it would deliver (viewport and peer: watchers with the user in their viewport; eager: watchers listing the user as a contact). viewport coalesces per subscription (PRESENCE_COALESCE_MS, 25 ms: at most one batch per window, the latest state of each user in it), so it sends fewer: only the latest state of a user within a window.',
        'deliveryLatencyMs: from before the transition was written to its arrival at a watcher. viewport/eager: before the Lua commit (state + XADD + PUBLISH); peer: before a bare PUBLISH of { userId, status, version } on its one topic (the peer keeps no state).',
        'peer: no auth, no privacy checks (no contacts, modes or blocks: every payload goes to every viewport listing the user), no coalescing, no state; its snapshot is the viewport with every status UNKNOWN. viewport/eager check privacy per viewer on every event.',
        'redisMessagesPerProcess: presence messages each server process received from Redis (viewport: only for users it watches; eager and peer: all of them).',
        'cpuSecondsPerProcess and rssMbPerProcess: process_cpu_seconds_total and process_resident_memory_bytes of each server process from its /metrics (prom-client default metrics, the same for both servers); cpu from just before the first transition to the end of draining; rss sampled every second over the same span (peak) and at its end.',
        'serverDelayMs (viewport; the table\'s in-server p99): presence_fanout_delay_seconds{path="frames"} of the servers over the run — per batch, from its oldest change reaching the process\'s feed to the batch written to the socket (coalescing window, relay reads, scheduling, GC pauses in between); p50/p99 interpolated within its buckets. What deliveryLatencyMs adds to it: the commit, Redis and the client side (kernel, watcher workers sharing the cores).',
        'watcherLoopLagMs: the watcher workers\' own event-loop delay while recording (monitorEventLoopDelay, 2 ms resolution), the worst worker\'s p99 and the worst single delay: an arrival is stamped when its worker gets to it, so this is how much of deliveryLatencyMs can be the measuring side\'s own wait.',
        'serverMainThread: each server process\'s main thread — where its JavaScript runs — as the kernel\'s scheduler accounted it over the same span (/proc/<pid>/task/<pid>/schedstat; Linux), the processes pooled (each one\'s mean share): cpuPercent and waitPercent, the share of the span it ran and the share it was ready to run but waited for a CPU; waitShareOfReadyPercent, of the time it was ready, the share it waited; waitPerSliceMs, its mean wait each time it was put on a CPU. That wait is delay in every batch that no profile of the process shows; with --pin, what shares CPU 0 with the server is the stores (they may run on any CPU).',
        'coreBusyPercent: how busy each CPU was from the first transition to the end of draining (/proc/stat), everything on it counted — with --pin, CPU 0 is the server\'s alone and the rest hold the driver, the watcher workers and Redis: a full load-generator CPU means deliveryLatencyMs beyond serverDelayMs is spent waiting for it. coreStealPercent: the share of each CPU the hypervisor gave to another machine while this one was ready to run (steal in /proc/stat; not counted as busy).',
        'loopLagMs: prom-client\'s event-loop delay of each server, one figure per second (its monitor restarts at every scrape): the median and the worst per-second p99, and the worst single delay — GC pauses and long tasks show here.',
        'deliveriesPerSecond: presences received / seconds from the first transition to the last delivery; drainMs: from the last transition sent to the last delivery received.',
        ...(WINDOWS > 1
          ? [
              `windows: each rate measured ${WINDOWS} times in a row (${S} s each, drained in between) on the same warm servers and sockets; every other figure of the row is the median window's by deliveryLatencyMs.p99 (the lower middle of an even count), and windows lists each window's headline figures in the order they ran, and the p99 of all windows' deliveries pooled — on a shared machine one window can catch the host's slow minute.`,
            ]
          : []),
        `warmup: before the measured window(s), ${WARMUP_S} s of transitions at the same rate on the same servers and sockets, then a drain, not counted in any other figure (--warmup 0: none) — the window times a warm server, as deployed; deliveryP99Ms is that cold start's own p99 (a fresh server's first ~10k frames run unoptimised code at ~2.5× the cost, and at 100/s that first second alone had set the run's p99: 144-187 ms cold, 33-48 ms warm).`,
        values.pin
          ? 'Pinned (--pin): each server process alone on a CPU of its own; this driver and its watcher workers on the others; Redis and Neo4j on any. Still one machine: compare figures from the same run only.'
          : 'Everything (driver, watchers, P servers, Redis, Neo4j) shares this machine: compare figures from the same run only.',
      ],
    },
    null,
    2,
  ),
);

async function run(mode: Mode, graph: { uri: string; namespace: string } | undefined, T: number): Promise<Record<string, unknown>> {
  const prefix = `bench:fan:${randomUUID().slice(0, 8)}:`;
  const timing = makeTiming();
  if (!timing.ok) throw new Error(timing.error);
  const topic = `${prefix}PRESENCE_CHANGED`;
  const servers: ServerProcess[] =
    mode === 'peer'
      ? await Promise.all(Array.from({ length: P }, () => spawnPeer({ ...DEPLOYED_ENV, REDIS_URL: values.redis, PEER_TOPIC: topic }, 60_000)))
      : await Promise.all(
          Array.from({ length: P }, () =>
            (mode === 'eager' ? spawnEager : spawnServer)(
              {
                REDIS_URL: values.redis,
                REDIS_PREFIX: prefix,
                NEO4J_URI: graph!.uri,
                NEO4J_NAMESPACE: graph!.namespace,
                DEMO_SEED: 'false',
                ...DEPLOYED_ENV,
                JWT_SECRET: BENCH_JWT_SECRET,
                LOG_LEVEL: 'warn',
              },
              60_000,
              { nodeFlags: [...HOST_SERVER_FLAGS, ...values['server-flags'].split(/\s+/).filter(Boolean), ...(values.profile ? ['--inspect=127.0.0.1:0'] : [])] },
            ),
          ),
        );
  if (values.pin) servers.forEach((server, i) => pin(server.child.pid!, String(i)));
  // viewport/eager: transitions are committed by the service into the hot store, as another server
  // process would. peer: they are published with RedisPubSub, as a team on that stack would.
  let hot: RedisHotStore | undefined;
  let pubsub: RedisPubSub | undefined;
  let workers: ClientWorker[] = [];
  try {
    let commit: (userId: string, active: boolean) => Promise<number | undefined>;
    if (mode === 'peer') {
      // Typed against ioredis 5 (its optional dependency); this repo's ioredis 6 clients work as they are.
      type Client = NonNullable<ConstructorParameters<typeof RedisPubSub>[0]>['publisher'];
      const peerPubsub = new RedisPubSub({ publisher: new Redis(values.redis) as unknown as Client, subscriber: new Redis(values.redis) as unknown as Client });
      pubsub = peerPubsub;
      const versions = new Map<string, number>();
      commit = async (userId, active) => {
        const version = (versions.get(userId) ?? 0) + 1;
        versions.set(userId, version);
        await peerPubsub.publish<PresenceChanged>(topic, { userId, status: active ? 'ONLINE' : 'IDLE', version });
        return version;
      };
    } else {
      const store = await RedisHotStore.connect({ url: values.redis, prefix, ttlMs: timing.timing.ttlMs });
      hot = store;
      const driverService = new PresenceService({ hot: store, lastSeen: new EmbeddedLastSeenStore(), timing: timing.timing, clock: Date.now });
      // Everyone online first, so every transition below is a visible ACTIVE/IDLE toggle.
      for (let i = 0; i < N; i += 500) await Promise.all(users.slice(i, i + 500).map((u) => driverService.heartbeat(u, `${u}-d`, 'WEB', 'ACTIVE')));
      commit = async (userId, active) => (await driverService.heartbeat(userId, `${userId}-d`, 'WEB', active ? 'ACTIVE' : 'IDLE')).transition?.version;
    }
    // The watchers: real graphql-transport-ws sockets from client worker processes (at least two, so
    // parsing frames does not bound the figures), each with its viewport on its server (round-robin),
    // recording every presence received after the snapshot with its arrival time.
    const perAddress = perAddressFor(W, undefined);
    // A worker that fails says so and answers nothing more: every wait on the workers races that.
    let failed!: (error: Error) => void;
    const failure = new Promise<never>((_, reject) => (failed = reject));
    failure.catch(() => undefined);
    const orFail = <R>(work: Promise<R>) => Promise.race([work, failure]);
    workers = startWorkers(W, Math.max(2, clientPlan(W, perAddress).workerCount), () => undefined, (message) => failed(new Error(`${mode}: ${message}`)));
    await orFail(Promise.all(workers.map((w) => w.request({ type: 'register', url: null, from: w.from, to: w.to, concurrency: 1 }, 'registered'))));
    await orFail(Promise.all(
      workers.map((w) =>
        w.request(
          {
            type: 'connect',
            wsUrl: servers[0]!.wsUrl,
            wsUrls: watchers.slice(w.from, w.to).map((_, k) => servers[(w.from + k) % P]!.wsUrl),
            from: w.from,
            to: w.to,
            concurrency: 100,
            viewport: 0,
            targets: 0,
            perAddress,
            // The eager baseline watches every contact, not what is on screen.
            viewports: contactsOf.slice(w.from, w.to).map((c) => (mode === 'eager' ? c : c.slice(0, V))),
            query: SUBSCRIPTION,
            record: true,
            device: false,
          },
          'connected',
        ),
      ),
    ));
    const framesSoFar = async () => (await orFail(Promise.all(workers.map((w) => w.request({ type: 'stats' }, 'stats'))))).reduce((sum, s) => sum + s.updates, 0);

    /** When each (user, version) was committed (epoch ms, the clock the client workers stamp arrivals with). */
    const committedAt = new Map<string, number>();
    const toggle = rng(7);
    const active = new Map(users.map((u) => [u, true]));
    /** One writer per user, as in a deployment: a user whose change is still being committed is not picked. */
    const inFlight = new Set<string>();
    const epoch = () => performance.timeOrigin + performance.now();
    /** Drives T transitions/s for `seconds`, each committed as its user's only writer: how many, and the presences they call for. */
    const drive = async (seconds: number, label: string) => {
      const started = Date.now();
      let transitions = 0;
      let expectedPresences = 0;
      process.stderr.write(`[${mode}] ${label} ${T}/s for ${seconds}s `);
      while (Date.now() - started < seconds * 1000) {
        const due = Math.floor(((Date.now() - started) / 1000) * T) - transitions;
        const commits: Promise<void>[] = [];
        for (let k = 0; k < due; k++) {
          let u = users[Math.floor(toggle() * N)]!;
          for (let tries = 0; inFlight.has(u) && tries < 20; tries++) u = users[Math.floor(toggle() * N)]!;
          if (inFlight.has(u)) break;
          inFlight.add(u);
          const next = !active.get(u);
          active.set(u, next);
          transitions++;
          expectedPresences += (mode === 'eager' ? contactWatchers : viewportWatchers).get(u) ?? 0;
          const sent = epoch();
          // Timed from before the commit: the figure includes the Redis round trip of the write.
          commits.push(
            commit(u, next)
              .then((version) => {
                if (version !== undefined) committedAt.set(`${u}:${version}`, sent);
              })
              .finally(() => inFlight.delete(u)),
          );
        }
        await Promise.all(commits);
        if (transitions % T < due) process.stderr.write('.');
        await new Promise((r) => setTimeout(r, 10));
      }
      return { transitions, expectedPresences };
    };
    /**
     * Lets in-flight frames land (a benchmark may wait; tests may not): at least QUIET_MS, and until no
     * frame arrived for QUIET_MS — a design that queues keeps delivering after the driver stopped.
     */
    const drain = async () => {
      const drivenAt = epoch();
      let seen = await framesSoFar();
      let quietSince = epoch();
      while (epoch() - drivenAt < MAX_DRAIN_MS) {
        await new Promise((r) => setTimeout(r, 200));
        const now = await framesSoFar();
        if (now !== seen) {
          seen = now;
          quietSince = epoch();
        }
        if (epoch() - drivenAt >= QUIET_MS && epoch() - quietSince >= QUIET_MS) break;
      }
      return drivenAt;
    };
    /** Receipts since the last call (each worker starts over) and their latencies from `committedAt`. */
    const collect = async () => {
      const receipts = await orFail(Promise.all(workers.map((w) => w.request({ type: 'receipts' }, 'receipts'))));
      const latencies: number[] = [];
      let lastArrival = 0;
      for (const r of receipts) {
        for (let i = 0; i < r.at.length; i++) {
          const at = r.at[i]!;
          lastArrival = Math.max(lastArrival, at);
          const sent = committedAt.get(`${r.users[r.user[i]!]}:${r.version[i]}`);
          if (sent !== undefined) latencies.push(at - sent);
        }
      }
      return { receipts, latencies, lastArrival };
    };

    // Warm-up, not measured: the same rate on the same servers and sockets first, so the window below
    // times the servers' steady state, not their first second of unoptimised code (cold, a server's
    // first ~10 k frames cost ~2.5× the steady ~40 µs each, and at 100/s that first second alone set the p99).
    let warmup: Record<string, unknown> | undefined;
    if (WARMUP_S > 0) {
      const { transitions } = await drive(WARMUP_S, 'warm-up');
      await drain();
      process.stderr.write(' done\n');
      const { latencies } = await collect();
      const lat = summary(latencies);
      warmup = { seconds: WARMUP_S, transitions, deliveryP99Ms: round(lat.p99, 1) };
      committedAt.clear();
    }

    // --profile: a CPU profile of each server over the measured windows and their drains only.
    const inspectors = values.profile && mode !== 'peer' ? await Promise.all(servers.map((srv) => Inspector.connect(srv.output().match(/Debugger listening on (ws:\/\/\S+)/)![1]!))) : [];
    for (const inspector of inspectors) await inspector.startProfile();
    /** Every window's delivery latencies together (kept only when there are several windows). */
    const pooled: number[] = [];
    /** One measured window: S seconds driven, drained, and every figure of it. */
    const measure = async (label: string) => {
      const before = await Promise.all(servers.map(scrape));
      const peakRss = before.map((b) => b.rss);
      /** Event-loop delay of each second (prom-client's monitor restarts at every scrape), every process. */
      const loopLag = { p99: [] as number[], max: [] as number[] };
      const sampler = setInterval(() => {
        servers.forEach((server, i) =>
          scrape(server).then(
            (s) => {
              peakRss[i] = Math.max(peakRss[i]!, s.rss);
              if (Number.isFinite(s.lagP99)) loopLag.p99.push(s.lagP99 * 1000);
              if (Number.isFinite(s.lagMax)) loopLag.max.push(s.lagMax * 1000);
            },
            () => undefined,
          ),
        );
      }, 1_000);
      const startedAt = epoch();
      const cores0 = cpuTicks();
      const mainThreads = () => sumSchedStats(servers.map((server) => schedStat(server.child.pid)));
      const threads0 = mainThreads();
      const threadsFrom = performance.now();
      const { transitions, expectedPresences } = await drive(S, label);
      const drivenAt = await drain();
      clearInterval(sampler);
      const cores1 = cpuTicks();
      const threadsMs = performance.now() - threadsFrom;
      const mainThread = schedBetween(threads0, mainThreads(), threadsMs * servers.length);
      process.stderr.write(' done\n');
      const after = await Promise.all(servers.map(scrape));
      after.forEach((a, i) => (peakRss[i] = Math.max(peakRss[i]!, a.rss)));
      const collected = await collect();
      const { receipts, latencies } = collected;
      const lastArrival = Math.max(drivenAt, collected.lastArrival);
      const frames = receipts.reduce((sum, r) => sum + r.frames, 0);
      const presences = receipts.reduce((sum, r) => sum + r.presences, 0);
      const bytes = receipts.reduce((sum, r) => sum + r.bytes, 0);
      const perProcess = (key: 'feed' | 'cpu') => after.reduce((sum, a, i) => sum + (a[key] - before[i]![key]), 0) / P;
      const meanMb = (bytesPerProcess: number[]) => round(bytesPerProcess.reduce((sum, b) => sum + b, 0) / P / 2 ** 20, 1);
      const lat = summary(latencies);
      if (WINDOWS > 1) for (const l of latencies) pooled.push(l);
      // In the server: from a change reaching a process's feed to its batch written to the socket (all processes).
      const delayBuckets = mergeBuckets(after.map((a, i) => bucketsBetween(before[i]!.samples, a.samples, 'presence_fanout_delay_seconds', { path: 'frames' })));
      const delayMs = (q: number) => round(histogramQuantile(q, delayBuckets).value * 1000, 1);
      const lagP99 = summary(loopLag.p99);
      return {
        mode,
        rate: T,
        transitions,
        deliveryLatencyMs: { p50: round(lat.p50, 1), p99: round(lat.p99, 1), max: round(lat.max, 1), samples: lat.n },
        frames,
        presences,
        expectedPresences,
        bytes,
        framesPerSecond: round(frames / S, 1),
        deliveriesPerSecond: round(presences / Math.max(S, (lastArrival - startedAt) / 1000), 1),
        drainMs: Math.max(0, Math.round(lastArrival - drivenAt)),
        redisMessagesPerProcess: round(perProcess('feed'), 1),
        cpuSecondsPerProcess: round(perProcess('cpu'), 2),
        ...(delayBuckets.length && (delayBuckets.at(-1)?.count ?? 0) > 0
          ? { serverDelayMs: { p50: delayMs(0.5), p99: delayMs(0.99), beyondLastBucket: histogramQuantile(0.99, delayBuckets).beyondLastBucket, batches: delayBuckets.at(-1)!.count } }
          : {}),
        loopLagMs: { p99OfSeconds: { p50: round(lagP99.p50, 1), max: round(lagP99.max, 1) }, max: round(Math.max(0, ...loopLag.max), 1), seconds: lagP99.n },
        coreBusyPercent: corePercent(cores0, cores1, 'busy'),
        coreStealPercent: corePercent(cores0, cores1, 'steal'),
        ...(mainThread ? { serverMainThread: mainThread } : {}),
        watcherLoopLagMs: {
          p99: round(Math.max(0, ...receipts.map((r) => r.loopLagMs?.p99 ?? 0)), 1),
          max: round(Math.max(0, ...receipts.map((r) => r.loopLagMs?.max ?? 0)), 1),
        },
        rssMbPerProcess: { before: meanMb(before.map((b) => b.rss)), peak: meanMb(peakRss), after: meanMb(after.map((a) => a.rss)) },
      };
    };

    const windows: Awaited<ReturnType<typeof measure>>[] = [];
    for (let k = 1; k <= WINDOWS; k++) {
      windows.push(await measure(WINDOWS === 1 ? 'driving' : `window ${k}/${WINDOWS}:`));
      committedAt.clear();
    }
    for (const [i, inspector] of inspectors.entries()) {
      await inspector.stopProfile(join(values.profile!, `fanout-${mode}-${T}-p${i}.cpuprofile`));
      inspector.close();
    }
    // Several windows: the figures of the median one by delivery p99 (the lower middle of an even count),
    // and each window's headline figures beside them, in the order they ran.
    const median = [...windows].sort((a, b) => a.deliveryLatencyMs.p99 - b.deliveryLatencyMs.p99)[(windows.length - 1) >> 1]!;
    return {
      ...median,
      ...(WINDOWS > 1
        ? {
            windows: {
              count: WINDOWS,
              reported: windows.indexOf(median) + 1,
              deliveryP99Ms: windows.map((w) => w.deliveryLatencyMs.p99),
              // Every window's deliveries as one sample: the figure a single window of their total length would give.
              pooledDeliveryP99Ms: round(summary(pooled).p99, 1),
              serverP99Ms: windows.map((w) => w.serverDelayMs?.p99),
              deliveriesPerSecond: windows.map((w) => w.deliveriesPerSecond),
              framesPerSecond: windows.map((w) => w.framesPerSecond),
              cpuSecondsPerProcess: windows.map((w) => w.cpuSecondsPerProcess),
              watcherLoopLagP99Ms: windows.map((w) => w.watcherLoopLagMs.p99),
              serverWaitPercent: windows.map((w) => w.serverMainThread?.waitPercent),
              coreBusyPercent: Object.fromEntries(Object.keys(median.coreBusyPercent).map((cpu) => [cpu, windows.map((w) => w.coreBusyPercent[cpu])])),
            },
          }
        : {}),
      ...(warmup ? { warmup } : {}),
    };
  } finally {
    await stopLoad(workers, [], () => undefined);
    await Promise.all(servers.map((s) => s.stop()));
    if (hot) await purgeRedis(values.redis, prefix);
    await hot?.close();
    await pubsub?.close();
  }
}

interface Scrape {
  readonly feed: number;
  readonly cpu: number;
  readonly rss: number;
  /** Event-loop delay since the previous scrape (s). */
  readonly lagP99: number;
  readonly lagMax: number;
  readonly samples: Sample[];
}

/** Both servers expose prom-client's default metrics; the Redis message counter is each one's own. */
async function scrape(server: ServerProcess): Promise<Scrape> {
  const samples = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
  const value = (name: string) => metricSum(samples, name);
  const feed = value('presence_feed_messages_total');
  return {
    feed: Number.isNaN(feed) ? value('peer_redis_messages_total') : feed,
    cpu: value('process_cpu_seconds_total'),
    rss: value('process_resident_memory_bytes'),
    lagP99: value('nodejs_eventloop_lag_p99_seconds'),
    lagMax: value('nodejs_eventloop_lag_max_seconds'),
    samples,
  };
}

/** One histogram of several processes' buckets (same bounds). */
function mergeBuckets(perProcess: readonly Bucket[][]): Bucket[] {
  const sum = new Map<number, number>();
  for (const buckets of perProcess) for (const b of buckets) sum.set(b.le, (sum.get(b.le) ?? 0) + b.count);
  return [...sum].map(([le, count]) => ({ le, count }));
}

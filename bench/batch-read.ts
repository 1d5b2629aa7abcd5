/**
 * Batch read: `presences(userIds: [500 ids])` and `contacts(first: 100)` under concurrent load, over HTTP,
 * against one real server process on the real Redis, Neo4j and (by default) PostgreSQL.
 *
 *   npm run -w bench bench:batch-read -- [--users 20000] [--readers 200] [--contacts 120] [--degree 10]
 *                               [--online 0.3] [--concurrency 32] [--seconds 10] [--warmup 2]
 *                               [--unloaded 3] [--lastseen postgres|embedded]
 *                               [--mode closed|open|both] [--rates 10,20,40,60] [--rate-seconds 10] [--settle 2]
 *                               [--judge-seconds 60]
 *                               [--arrivals poisson|uniform] [--sockets 1024] [--profile <dir>]
 *                               [--server-flags="<node flags for the server>"]
 *
 * Setup (all removed at the end): N users in a Neo4j namespace of their own with mixed privacy (80 %
 * CONTACTS, 12 % EVERYONE, 8 % NOBODY); R readers, each listing C contacts that list the reader back
 * (3 % of them also block the reader); every user lists `degree` random others besides. A fraction of
 * the users is online (ACTIVE, IDLE or DND), committed straight into Redis under the server's key
 * prefix; 10 % signed off a moment ago; of the rest, with `--lastseen postgres`, two thirds have a
 * last-seen row in a migrated PostgreSQL schema of their own, and the others were never seen.
 *
 * Load: `--concurrency` HTTP clients (Node's fetch, keep-alive) for `--seconds`, after `--warmup`
 * seconds not recorded; requests alternate between the two queries, each as the next reader (a signed
 * token per reader). Every answer is checked: no `errors`, 500 presences in the order asked, the
 * reader's first 100 contacts in id order, and each status (and whether a last-seen is shown) equal to
 * what privacy allows — a wrong or fail-closed (UNKNOWN) answer counts, so a fast wrong answer cannot
 * pass. Server CPU and memory come from its /metrics; the CPU Neo4j, Redis and the whole machine used
 * meanwhile is reported too, since they all share the same cores.
 *
 * Modes. `closed` (the default): the closed loop above, each client re-sending as soon as its answer
 * arrives — it finds the maximum throughput, and its latencies are mostly queueing. `open`: for each
 * rate in `--rates` (requests/s, half presences and half contacts, alternating), `--rate-seconds` of
 * (lengthened, up to 60 s, until `--min-samples` per query are expected: a p99 of fifty is their maximum)
 * arrivals on a fixed schedule drawn before the run — Poisson by default (exponential gaps, seeded),
 * or evenly spaced with `--arrivals uniform` — each sent at its time on a connection of its own from a
 * node:http keep-alive Agent (`--sockets` of them at most; a reused idle one when there is one) in a
 * process of its own that does nothing else (bench/open-loop-sender.ts: its GC pauses count as latency),
 * whether or not earlier ones have answered. Latency runs from the scheduled send time, not from when
 * the request actually left, so a stalled client or server cannot hide the wait of the requests it
 * delayed (no coordinated omission). Each rate's schedule starts `--settle` seconds (2) before its window:
 * those arrivals are sent and checked but not timed, so the window measures the steady state at that rate,
 * not the passage from what ran before it (the closed loop's saturation, or the previous rate). Each rate
 * waits for its stragglers, then rests a second; per rate:
 * requests, achieved rate, p50/p99/max per query, errors and wrong answers, server and machine CPU.
 * `both`: the closed loop, then the open-loop rates, on the same setup. The saturation rate is the
 * lower of the closed-loop maximum (when measured) and the first rate that saturated in the open loop
 * (achieved < 90 % of offered, or a p99 over ten times the lowest rate's); the goal is judged on the
 * worst p99 at half of it, measured after the series over `--judge-seconds` (60; 0: judged on the
 * series' highest rate at or below half instead), arrivals of another seed: a 12 s window holds one or
 * two of the events that set a p99 here, or none, and the figure judged was a draw. Windows of 30 s or
 * more also give each 10 s slice's p99 and the load generator's worst send delay in it.
 *
 * Before the load, each query runs alone for `--unloaded` seconds with one client: its latency without
 * queueing and the server CPU one request of it costs (0 skips this).
 *
 * Device TTLs are set far beyond the run (PRESENCE_HEARTBEAT_MS=600000) so no state expires while
 * measuring: this scenario measures reads; heartbeats have their own (bench:heartbeat).
 * Bounded: --seconds ≤ 120, setup by its counts; SIGINT stops the load and still cleans up.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import neo4jDriver from 'neo4j-driver';
import pg from 'pg';
import { RedisHotStore } from '../hot/redis/store.js';
import { makeTiming, type PrivacyMode } from '../presence/index.js';
import { EmbeddedLastSeenStore } from '../prisma/embedded.js';
import { ensureGenerated } from '../prisma/generate.js';
import { applyMigrations } from '../prisma/migrate.js';
import { signToken } from '../server/auth.js';
import { ensureNeo4j } from '../scripts/neo4j/control.js';
import { spawnServer, type ServerProcess } from '../scripts/server-process.js';
import { PresenceService } from '../service/presence.js';
import { OpenLoopSender } from './open-loop-sender.js';
import { commandLine, cpuTicks, DEPLOYED_ENV, HOST_SERVER_FLAGS, environment, machineShare, recordGcPauses, round, schedBetween, schedStat, summary, ticksBetween, useLoadGeneratorHeapPolicy, type CpuTicks, type SchedShare, type SchedStat } from './stats.js';
import { bucketsBetween, histogramQuantile, metricSum, parseMetrics, purgeRedis, type Sample } from './ws-load.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    readers: { type: 'string', default: '200' },
    contacts: { type: 'string', default: '120' },
    degree: { type: 'string', default: '10' },
    online: { type: 'string', default: '0.3' },
    concurrency: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    unloaded: { type: 'string', default: '3' },
    lastseen: { type: 'string', default: 'postgres' },
    mode: { type: 'string', default: 'closed' },
    rates: { type: 'string', default: '10,20,40,60' },
    'rate-seconds': { type: 'string', default: '10' },
    /** Seconds each open-loop rate runs before its window, not timed (see the header). */
    settle: { type: 'string', default: '2' },
    /** Half of saturation is measured after the series over a window of this many seconds (0: judged on the series' row at or below it). */
    'judge-seconds': { type: 'string', default: '60' },
    /** Per query and rate: a rate's window is lengthened (up to 60 s) until this many are expected, so its p99 is not just its maximum. */
    'min-samples': { type: 'string', default: '300' },
    arrivals: { type: 'string', default: 'poisson' },
    sockets: { type: 'string', default: '1024' },
    /** Write a V8 CPU profile of the server process into this folder (summarise with bench/profile-summary.ts). */
    profile: { type: 'string' },
    /** Extra node/V8 flags for the server process, space-separated (e.g. "--max-semi-space-size=64"). */
    'server-flags': { type: 'string', default: '' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' },
  },
});
const N = Number(values.users);
const R = Math.min(Number(values.readers), N);
const C = Number(values.contacts);
const DEGREE = Number(values.degree);
const ONLINE = Number(values.online);
const CONCURRENCY = Number(values.concurrency);
const SECONDS = Math.min(Number(values.seconds), 120);
const WARMUP = Math.min(Number(values.warmup), 30);
const UNLOADED = Math.min(Number(values.unloaded), 30);
const LASTSEEN = values.lastseen;
const MODE = values.mode;
const RATES = values.rates.split(',').filter(Boolean).map(Number).sort((a, b) => a - b);
const RATE_SECONDS = Math.min(Number(values['rate-seconds']), 60);
const MIN_SAMPLES = Number(values['min-samples']);
const SETTLE_SECONDS = Number(values.settle);
const JUDGE_SECONDS = Number(values['judge-seconds']);
/** The slices a long window is cut into for its per-slice p99 (OpenRate.slices). */
const SLICE_MS = 10_000;
/** The window of one open-loop rate: `--rate-seconds`, or longer (≤ 60 s) to expect `--min-samples` per query. */
const windowSecondsOf = (rate: number) => Math.min(60, Math.max(RATE_SECONDS, Math.ceil((MIN_SAMPLES * 2) / rate)));
const ARRIVALS = values.arrivals;
const SOCKETS = Number(values.sockets);
/** Stragglers of one rate still unanswered this long after their scheduled time count as errors. */
const OPEN_TIMEOUT_MS = 30_000;
/** The warm-up's first pass, run again while stores just started fail reads: at most this many in all. */
const WARM_PASSES = 3;
const IDS = 500;
const PAGE = 100;
const SIGNED_OFF = 0.1;
const PG_ROWS = 2 / 3;
if (LASTSEEN !== 'postgres' && LASTSEEN !== 'embedded') throw new Error(`--lastseen must be postgres or embedded, got ${LASTSEEN}`);
if (![N, R, C, DEGREE, CONCURRENCY, SECONDS].every((n) => Number.isInteger(n) && n >= 0) || N < IDS + 1 || C >= N || R < 1 || CONCURRENCY < 1) {
  throw new Error('--users must exceed 500; --readers, --concurrency ≥ 1; --contacts < --users; all whole numbers');
}
if (MODE !== 'closed' && MODE !== 'open' && MODE !== 'both') throw new Error(`--mode must be closed, open or both, got ${MODE}`);
if (ARRIVALS !== 'poisson' && ARRIVALS !== 'uniform') throw new Error(`--arrivals must be poisson or uniform, got ${ARRIVALS}`);
if (MODE !== 'closed' && (!RATES.length || !RATES.every((r) => r > 0 && r <= 2_000) || !(RATE_SECONDS > 0) || !(MIN_SAMPLES >= 0) || !(SETTLE_SECONDS >= 0 && SETTLE_SECONDS <= 10) || !(JUDGE_SECONDS >= 0 && JUDGE_SECONDS <= 120) || !(SOCKETS >= 1) || RATES.reduce((sum, r) => sum + windowSecondsOf(r), 0) > 600)) {
  throw new Error('--rates: requests/s between 0 and 2000, comma-separated; --rate-seconds > 0, --min-samples ≥ 0 (at most 600 s of windows in all); --settle 0-10 s; --judge-seconds 0-120; --sockets ≥ 1');
}
if (!(ONLINE >= 0 && ONLINE + SIGNED_OFF <= 1)) throw new Error(`--online must be between 0 and ${1 - SIGNED_OFF}`);

const say = (line: string) => process.stderr.write(`[batch-read] ${line}\n`);

/**
 * The load generator's own GC pauses: a pause while requests are out delays reading their answers, and
 * so shows as latency the server did not cause. Reported per phase (total and worst pause).
 */
const clientGc = recordGcPauses();
useLoadGeneratorHeapPolicy();

let stopping = false;
/** The open loop's sender process (bench/open-loop-sender.ts), while the open loop runs. */
let sender: OpenLoopSender | undefined;
// `on`, not `once`: npm and tsx relay the signal the process group already got, and a second
// SIGINT under the default handler would kill the run before it has cleaned up.
const onSignal = () => {
  if (!stopping) say('interrupted: stopping the load, then cleaning up');
  stopping = true;
  sender?.stop();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/**
 * Arrival times (ms) in [from, to) at `rate` per second: Poisson (exponential gaps from a stream seeded by
 * rate and `seed`) or, with `--arrivals uniform`, evenly spaced and ending one gap before `to`.
 */
function arrivalsBetween(rate: number, from: number, to: number, seed: number): number[] {
  const gapMs = 1000 / rate;
  const times: number[] = [];
  if (ARRIVALS === 'uniform') {
    if (from >= 0) for (let k = 0; from + k * gapMs < to; k++) times.push(from + k * gapMs);
    else for (let k = 1; to - k * gapMs >= from; k++) times.unshift(to - k * gapMs);
  } else {
    const gap = rng(7_919 * rate + seed);
    const next = () => -Math.log(1 - 0.999_999 * gap()) * gapMs;
    for (let t = from + next(); t < to; t += next()) times.push(t);
  }
  return times;
}

/** Deterministic pseudo-random numbers: the same arguments give the same graph. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

// ---- the workload, in memory: what the stores will hold and what each answer must be ---------------

type Real = 'ONLINE' | 'IDLE' | 'DND' | 'OFFLINE';
interface UserSpec {
  readonly id: string;
  readonly privacy: PrivacyMode;
  readonly state: 'active' | 'idle' | 'dnd' | 'signedOff' | 'cold-seen' | 'cold-never';
}
const draw = rng(2026);
const users: UserSpec[] = Array.from({ length: N }, (_, i) => {
  const p = draw();
  const privacy: PrivacyMode = p < 0.8 ? 'CONTACTS' : p < 0.92 ? 'EVERYONE' : 'NOBODY';
  const s = draw();
  let state: UserSpec['state'];
  if (s < ONLINE) {
    const a = draw();
    state = a < 0.75 ? 'active' : a < 0.95 ? 'idle' : 'dnd';
  } else if (s < ONLINE + SIGNED_OFF) state = 'signedOff';
  else {
    const seen = draw() < PG_ROWS; // drawn either way: both --lastseen modes get the same graph
    state = LASTSEEN === 'postgres' && seen ? 'cold-seen' : 'cold-never';
  }
  return { id: `u${i}`, privacy, state };
});
const byId = new Map(users.map((u) => [u.id, u]));
const readers = users.slice(0, R);
const realStatus = (u: UserSpec): Real => (u.state === 'active' ? 'ONLINE' : u.state === 'idle' ? 'IDLE' : u.state === 'dnd' ? 'DND' : 'OFFLINE');
const lastSeenKnown = (u: UserSpec) => u.state === 'signedOff' || u.state === 'cold-seen';

/** `a>b`: a lists b as a contact. */
const contactEdges = new Set<string>();
const blockEdges = new Set<string>();
const out = new Map<string, string[]>();
const addContact = (a: string, b: string) => {
  if (a === b || contactEdges.has(`${a}>${b}`)) return;
  contactEdges.add(`${a}>${b}`);
  (out.get(a) ?? out.set(a, []).get(a)!).push(b);
};
const randomUser = () => users[Math.floor(draw() * N)]!.id;
const contactsOf = new Map<string, string[]>();
for (const reader of readers) {
  const chosen = new Set<string>();
  while (chosen.size < C) {
    const c = randomUser();
    if (c !== reader.id) chosen.add(c);
  }
  contactsOf.set(reader.id, [...chosen]);
  for (const c of chosen) {
    addContact(reader.id, c);
    addContact(c, reader.id);
    if (draw() < 0.03) blockEdges.add(`${c}>${reader.id}`);
  }
}
for (const u of users) for (let k = 0; k < DEGREE; k++) addContact(u.id, randomUser());

/** The reader's first page of contacts: ascending id (Cypher and JS compare these ASCII ids alike). */
const firstPage = new Map(readers.map((r) => {
  const all = [...(out.get(r.id) ?? [])].sort();
  return [r.id, { ids: all.slice(0, PAGE), hasNextPage: all.length > PAGE }];
}));
/** 500 ids per reader: its contacts first, then others, never itself. */
const presenceIds = new Map(readers.map((r) => {
  const ids = new Set(contactsOf.get(r.id)!.slice(0, IDS));
  while (ids.size < IDS) {
    const u = randomUser();
    if (u !== r.id) ids.add(u);
  }
  return [r.id, [...ids]];
}));

/** What `viewer` must be shown of `target` (presence/privacy.ts decideVisibility). */
function expected(viewer: UserSpec, targetId: string): { status: Real | 'UNKNOWN'; lastSeen: boolean } {
  const target = byId.get(targetId)!;
  const visible =
    !blockEdges.has(`${targetId}>${viewer.id}`) &&
    target.privacy !== 'NOBODY' &&
    !(target.privacy === 'CONTACTS' && !contactEdges.has(`${targetId}>${viewer.id}`));
  if (!visible) return { status: 'UNKNOWN', lastSeen: false };
  const status = realStatus(target);
  return { status, lastSeen: status === 'OFFLINE' && lastSeenKnown(target) && viewer.privacy !== 'NOBODY' };
}

// ---- stores --------------------------------------------------------------------------------------

const timing = makeTiming({ heartbeatMs: 600_000 });
if (!timing.ok) throw new Error(timing.error);
const id = randomUUID().slice(0, 8);
const prefix = `bench:batch:${id}:`;
const namespace = `bench-batch-${id}`;
const pgSchema = `bench_batch_${id}`;
const neo4j = await ensureNeo4j();
const driver = neo4jDriver.driver(neo4j.uri, neo4jDriver.auth.basic(neo4j.user, neo4j.password));
const hot = await RedisHotStore.connect({ url: values.redis, prefix, ttlMs: timing.timing.ttlMs });
const pgUrl = (() => {
  const url = new URL(values.database);
  url.searchParams.set('schema', pgSchema);
  return url.toString();
})();
let server: ServerProcess | undefined;
let pgCreated = false;
let report: Record<string, unknown> | undefined;

try {
  let t0 = performance.now();
  await driver.executeQuery('CREATE CONSTRAINT user_ns_id IF NOT EXISTS FOR (u:User) REQUIRE (u.ns, u.id) IS UNIQUE');
  for (let i = 0; i < N; i += 10_000) {
    const rows = users.slice(i, i + 10_000).map((u) => ({ id: u.id, privacy: u.privacy }));
    await driver.executeQuery('UNWIND $rows AS r CREATE (:User {ns: $ns, id: r.id, privacy: r.privacy})', { ns: namespace, rows });
  }
  for (const [type, set] of [['CONTACT', contactEdges], ['BLOCKED', blockEdges]] as const) {
    const edges = [...set].map((e) => e.split('>')).map(([a, b]) => ({ a, b }));
    for (let i = 0; i < edges.length; i += 10_000) {
      await driver.executeQuery(
        `UNWIND $edges AS e MATCH (a:User {ns: $ns, id: e.a}), (b:User {ns: $ns, id: e.b}) CREATE (a)-[:${type}]->(b)`,
        { ns: namespace, edges: edges.slice(i, i + 10_000) },
      );
      if (stopping) throw new Error('interrupted');
    }
  }
  say(`neo4j: ${N} users, ${contactEdges.size} contact and ${blockEdges.size} block edges in ${seconds(t0)} s (namespace ${namespace})`);

  if (LASTSEEN === 'postgres') {
    t0 = performance.now();
    await ensureGenerated();
    pgCreated = true;
    await applyMigrations(values.database, { schema: pgSchema });
    const cold = users.filter((u) => u.state === 'cold-seen');
    const now = Date.now();
    const client = new pg.Client({ connectionString: values.database });
    await client.connect();
    try {
      for (let i = 0; i < cold.length; i += 5_000) {
        const batch = cold.slice(i, i + 5_000);
        // Buckets are whole minutes (a CHECK says so), up to 30 days back.
        const buckets = batch.map(() => new Date(Math.floor((now - draw() * 30 * 86_400_000) / 60_000) * 60_000));
        await client.query(
          `INSERT INTO "${pgSchema}"."last_seen" (user_id, bucket, version) SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[])`,
          [batch.map((u) => u.id), buckets, batch.map(() => 1 + Math.floor(draw() * 50))],
        );
      }
    } finally {
      await client.end();
    }
    say(`postgres: schema ${pgSchema}, ${cold.length} last-seen rows in ${seconds(t0)} s`);
  }

  t0 = performance.now();
  const service = new PresenceService({ hot, lastSeen: new EmbeddedLastSeenStore(), timing: timing.timing, clock: Date.now });
  const live = users.filter((u) => u.state !== 'cold-seen' && u.state !== 'cold-never');
  await pool(live.length, 128, async (i) => {
    const u = live[i]!;
    await service.heartbeat(u.id, `${u.id}-d`, i % 3 === 0 ? 'MOBILE' : 'WEB', u.state === 'idle' ? 'IDLE' : 'ACTIVE');
    if (u.state === 'dnd') await service.setManual(u.id, 'DND');
    if (u.state === 'signedOff') await service.signOff(u.id, `${u.id}-d`);
  });
  const count = (s: UserSpec['state']) => users.filter((u) => u.state === s).length;
  say(`redis: ${count('active')} ACTIVE, ${count('idle')} IDLE, ${count('dnd')} DND, ${count('signedOff')} signed off, in ${seconds(t0)} s (prefix ${prefix})`);

  const secret = randomBytes(32).toString('base64url');
  server = await spawnServer(
    {
      REDIS_URL: values.redis,
      REDIS_PREFIX: prefix,
      NEO4J_URI: neo4j.uri,
      NEO4J_USER: neo4j.user,
      NEO4J_PASSWORD: neo4j.password,
      NEO4J_NAMESPACE: namespace,
      DATABASE_URL: LASTSEEN === 'postgres' ? pgUrl : '',
      ...DEPLOYED_ENV,
      JWT_SECRET: secret,
      JWKS_URL: '',
      DEMO_SEED: 'false',
      PRESENCE_HEARTBEAT_MS: String(timing.timing.heartbeatMs),
      PRESENCE_TTL_MS: String(timing.timing.ttlMs),
      LOG_LEVEL: 'warn',
    },
    60_000,
    { nodeFlags: [...HOST_SERVER_FLAGS, ...values['server-flags'].split(/\s+/).filter(Boolean), ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [])] },
  );
  say(`server pid ${server.child.pid} at ${server.url} (hot=redis graph=neo4j lastSeen=${LASTSEEN})`);
  const tokens = new Map(await Promise.all(readers.map(async (r) => [r.id, `Bearer ${await signToken(secret, r.id)}`] as const)));
  const endpoint = `${server.url}/graphql`;

  const queries = {
    presences: {
      query: 'query BatchPresences($ids: [ID!]!) { presences(userIds: $ids) { userId status lastSeen { ago } version } }',
      variables: (reader: string) => ({ ids: presenceIds.get(reader)! }),
    },
    contacts: {
      query:
        'query ContactsPage { contacts(first: 100) { edges { node { userId presence { status lastSeen { ago } version } } } pageInfo { endCursor hasNextPage } } }',
      variables: () => ({}),
    },
  } as const;
  type QueryName = keyof typeof queries;
  const names = Object.keys(queries) as QueryName[];
  const bodies = new Map(names.map((q) => [q, new Map(readers.map((r) => [r.id, JSON.stringify({ query: queries[q].query, variables: queries[q].variables(r.id) })]))]));

  interface Tally {
    latencies: number[];
    errors: number;
    /** Of `errors`, answers that a store was unavailable (PRESENCE_UNAVAILABLE, GRAPH_UNAVAILABLE). */
    unavailable: number;
    wrong: number;
    statuses: Record<string, number>;
    lastSeenShown: number;
    firstProblem?: string;
  }
  const fresh = (): Tally => ({ latencies: [], errors: 0, unavailable: 0, wrong: 0, statuses: {}, lastSeenShown: 0 });

  /** One request, timed from before fetch to the last byte of the body; checked after the clock stops. */
  async function request(q: QueryName, reader: UserSpec, tally: Tally): Promise<void> {
    const t = performance.now();
    let text: string;
    let status: number;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: tokens.get(reader.id)! },
        body: bodies.get(q)!.get(reader.id)!,
      });
      status = res.status;
      text = await res.text();
    } catch (error) {
      tally.errors++;
      tally.firstProblem ??= `${q} as ${reader.id}: ${(error as Error).message}`;
      return;
    }
    tally.latencies.push(performance.now() - t);
    const problem = check(q, reader, status, text, tally);
    if (problem) {
      tally.firstProblem ??= `${q} as ${reader.id}: ${problem}`;
    }
  }

  interface PresenceJson {
    userId: string;
    status: string;
    lastSeen: { ago: string } | null;
    version: number;
  }
  function check(q: QueryName, reader: UserSpec, status: number, text: string, tally: Tally): string | undefined {
    let body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      tally.errors++;
      return `HTTP ${status}, not JSON: ${text.slice(0, 200)}`;
    }
    if (status !== 200 || body.errors?.length || !body.data) {
      tally.errors++;
      const e = body.errors?.[0];
      if (e?.extensions?.code === 'GRAPH_UNAVAILABLE' || e?.extensions?.code === 'PRESENCE_UNAVAILABLE') tally.unavailable++;
      return `HTTP ${status}: ${e ? `${e.extensions?.code ?? ''} ${e.message}` : 'no data'}`;
    }
    let wantIds: readonly string[];
    let got: PresenceJson[];
    if (q === 'presences') {
      wantIds = presenceIds.get(reader.id)!;
      got = body.data.presences as PresenceJson[];
    } else {
      const page = firstPage.get(reader.id)!;
      const conn = body.data.contacts as { edges: { node: { userId: string; presence: Omit<PresenceJson, 'userId'> } }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
      if (conn.pageInfo.hasNextPage !== page.hasNextPage || (page.ids.length > 0 && !conn.pageInfo.endCursor)) {
        tally.errors++;
        return `pageInfo ${JSON.stringify(conn.pageInfo)}, expected hasNextPage ${page.hasNextPage}`;
      }
      wantIds = page.ids;
      got = conn.edges.map((e) => ({ userId: e.node.userId, ...e.node.presence }));
    }
    if (got.length !== wantIds.length) {
      tally.errors++;
      return `${got.length} presences, expected ${wantIds.length}`;
    }
    let problem: string | undefined;
    for (let i = 0; i < got.length; i++) {
      const p = got[i]!;
      tally.statuses[p.status] = (tally.statuses[p.status] ?? 0) + 1;
      if (p.lastSeen) tally.lastSeenShown++;
      if (q === 'presences' && p.userId !== wantIds[i]) {
        tally.wrong++;
        problem ??= `position ${i}: ${p.userId}, expected ${wantIds[i]}`;
        continue;
      }
      if (q === 'contacts' && p.userId !== wantIds[i]) {
        tally.wrong++;
        problem ??= `edge ${i}: ${p.userId}, expected ${wantIds[i]} (id order)`;
        continue;
      }
      const want = expected(reader, wantIds[i]!);
      if (p.status !== want.status || (p.lastSeen !== null) !== want.lastSeen) {
        tally.wrong++;
        problem ??= `${wantIds[i]}: ${p.status}${p.lastSeen ? ` (${p.lastSeen.ago})` : ''}, expected ${want.status}${want.lastSeen ? ' with a last-seen' : ''}`;
      }
    }
    return problem;
  }

  /** C clients, requests alternating between the queries, readers round-robin, until the deadline. */
  async function load(durationS: number, tallies: Partial<Record<QueryName, Tally>>, only?: QueryName, clients = CONCURRENCY): Promise<number> {
    const deadline = performance.now() + durationS * 1000;
    let next = 0;
    const started = performance.now();
    let lastTick = started;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (!stopping && performance.now() < deadline) {
          const k = next++;
          const q = only ?? names[k % names.length]!;
          await request(q, readers[(only ? k : Math.floor(k / names.length)) % R]!, (tallies[q] ??= fresh()));
          if (performance.now() - lastTick >= 1000) {
            lastTick = performance.now();
            process.stderr.write('.');
          }
        }
      }),
    );
    return (performance.now() - started) / 1000;
  }

  const warnings: string[] = [];
  // Warm-up: every reader asks both once (signs it in: one graph write each), then load unrecorded.
  // Stores just started answer their first reads slowly: a read past its deadline is a store failure,
  // answered UNKNOWN as designed (fail closed). That first pass is then run again, up to WARM_PASSES in
  // all, and said in the report; a wrong answer without a store failure is a fault, at once.
  t0 = performance.now();
  for (let pass = 1; ; pass++) {
    const warm = { presences: fresh(), contacts: fresh() };
    const before = await scrape(server);
    await pool(R * names.length, CONCURRENCY, (k) => request(names[k % names.length]!, readers[Math.floor(k / names.length)]!, warm[names[k % names.length]!]));
    const failed = Object.entries(storeFailuresBetween(before, await scrape(server)));
    const wrong = names.filter((q) => warm[q].errors || warm[q].wrong);
    if (wrong.length === 0) break;
    const problems = wrong.map((q) => `${q}: ${warm[q].errors} errors, ${warm[q].wrong} wrong presences; first: ${warm[q].firstProblem}`).join('; ');
    const failures = failed.map(([store, n]) => `${n} ${store}-store reads`).join(', ');
    const unavailable = names.reduce((n, q) => n + warm[q].unavailable, 0);
    // Only store failures: every error an answer that a store was unavailable, and wrong presences only
    // where the server counted UNKNOWNs made by a store failure.
    const cold = names.every((q) => warm[q].errors === warm[q].unavailable && (warm[q].wrong === 0 || failed.length > 0));
    const what = [failures, unavailable > 0 ? `${unavailable} answer${unavailable === 1 ? '' : 's'} that a store was unavailable` : ''].filter(Boolean).join(', ');
    if (!cold || pass >= WARM_PASSES) throw new Error(`warm-up pass ${pass}${pass > 1 ? ` of ${WARM_PASSES}` : ''}: answered wrongly (${problems})${what ? `; store failures: ${what}` : ''}`);
    warnings.push(`warm-up pass ${pass}: store failures (${what}) while the stores warmed up (answered UNKNOWN or unavailable, as designed); the pass was run again`);
    say(`note: ${warnings.at(-1)}`);
  }
  process.stderr.write(`[batch-read] warm-up ${WARMUP} s `);
  await load(WARMUP, { presences: fresh(), contacts: fresh() });
  process.stderr.write(` done (${seconds(t0)} s)\n`);

  const unloaded = new Map<QueryName, { requests: number; latencyMs: { p50: number; p99: number; max: number }; serverCpuMsPerRequest: number; serverGcMsPerRequest: number; loadGeneratorGc: ReturnType<typeof clientGc.since>; errors: number }>();
  if (UNLOADED > 0) {
    for (const q of names) {
      process.stderr.write(`[batch-read] ${q} alone, one client, ${UNLOADED} s `);
      const tally = fresh();
      const cpu0 = await scrape(server);
      const g0 = performance.now();
      await load(UNLOADED, { [q]: tally }, q, 1);
      const gc = clientGc.since(g0);
      const cpu1 = await scrape(server);
      const s = summary(tally.latencies);
      unloaded.set(q, {
        requests: tally.latencies.length,
        latencyMs: { p50: round(s.p50, 2), p99: round(s.p99, 2), max: round(s.max, 2) },
        serverCpuMsPerRequest: round(((cpu1.cpu - cpu0.cpu) * 1000) / Math.max(tally.latencies.length, 1), 2),
        serverGcMsPerRequest: round(((cpu1.gc - cpu0.gc) * 1000) / Math.max(tally.latencies.length, 1), 2),
        loadGeneratorGc: gc,
        errors: tally.errors + tally.wrong,
      });
      process.stderr.write(` p50 ${round(s.p50, 1)} ms, p99 ${round(s.p99, 1)} ms (load generator GC: ${gc.pauses} pauses, worst ${gc.maxMs} ms)\n`);
    }
  }

  // ---- closed loop: CONCURRENCY clients, each re-sending at once (the maximum, and its queue) ----------
  let closed:
    | { results: Record<string, unknown>[]; totals: Record<string, unknown>; worstP99: number; requestsPerSecond: number }
    | undefined;
  if (MODE !== 'open') {
    const before = await scrape(server);
    const neighbours0 = await neighbours();
    const cpuBefore = process.cpuUsage();
    const tallies = { presences: fresh(), contacts: fresh() };
    process.stderr.write(`[batch-read] closed loop: measuring ${SECONDS} s with ${CONCURRENCY} clients `);
    const g0 = performance.now();
    const elapsed = await load(SECONDS, tallies);
    const gc = clientGc.since(g0);
    const cpu = process.cpuUsage(cpuBefore);
    const neighbours1 = await neighbours();
    const after = await scrape(server);
    process.stderr.write(' done\n');

    const results = names.map((q) => {
      const t = tallies[q];
      const s = summary(t.latencies);
      return {
        query: q,
        selection: selectionOf(q),
        requests: t.latencies.length,
        requestsPerSecond: round(t.latencies.length / elapsed, 1),
        presencesPerSecond: Math.round((t.latencies.length * (q === 'presences' ? IDS : PAGE)) / elapsed),
        latencyMs: { p50: round(s.p50, 2), p99: round(s.p99, 2), max: round(s.max, 2) },
        errors: t.errors,
        wrongPresences: t.wrong,
        ...(t.firstProblem ? { firstProblem: t.firstProblem } : {}),
        ...(unloaded.has(q) ? { unloaded: unloaded.get(q) } : {}),
        statuses: Object.fromEntries(Object.entries(t.statuses).sort(([a], [b]) => a.localeCompare(b))),
        lastSeenShown: t.lastSeenShown,
      };
    });
    const totalRequests = results.reduce((n, r) => n + r.requests, 0);
    const serverCpu = after.cpu - before.cpu;
    const clientCpu = (cpu.user + cpu.system) / 1e6;
    const otherCpu = otherCpuOf(neighbours0, neighbours1, serverCpu, clientCpu);
    if (otherCpu > 0.25 * elapsed) {
      warnings.push(`closed loop: ${round(otherCpu, 1)} CPU s of ${round(os.cpus().length * elapsed, 1)} went to processes other than the server, Neo4j, Redis and the load generator: another run may have shared the machine`);
      say(`note: ${warnings.at(-1)}`);
    }
    closed = {
      results,
      worstP99: Math.max(...results.map((r) => r.latencyMs.p99)),
      requestsPerSecond: round(totalRequests / elapsed, 1),
      totals: {
        seconds: round(elapsed, 2),
        requests: totalRequests,
        requestsPerSecond: round(totalRequests / elapsed, 1),
        serverCpuSeconds: round(serverCpu, 2),
        serverCpuMsPerRequest: round((serverCpu * 1000) / Math.max(totalRequests, 1), 3),
        serverGcMsPerRequest: round(((after.gc - before.gc) * 1000) / Math.max(totalRequests, 1), 3),
        serverRssMb: round(after.rss / 2 ** 20, 1),
        clientCpuSeconds: round(clientCpu, 2),
        loadGeneratorGc: gc,
        neo4jCpuSeconds: round(neighbours1.neo4j - neighbours0.neo4j, 2),
        redisCpuSeconds: round(neighbours1.redis - neighbours0.redis, 2),
        machineCpuBusyPercent: busyPercent(neighbours0, neighbours1),
        machineStealPercent: busyPercent(neighbours0, neighbours1, 'steal'),
        otherCpuSeconds: round(otherCpu, 2),
        storeFailures: after.storeFailures - before.storeFailures,
      },
    };
  }

  // ---- open loop: arrivals on a schedule, each on its own connection, timed from its scheduled time ----
  interface OpenRate {
    rate: number;
    arrivals: number;
    offeredPerSecond: number;
    answered: number;
    achievedPerSecond: number;
    seconds: number;
    drainMs: number;
    queries: Record<QueryName, { requests: number; latencyMs: { p50: number; p99: number; max: number }; errors: number; wrongPresences: number; firstProblem?: string }>;
    worstP99Ms: number;
    maxInFlight: number;
    newConnections: number;
    dispatchLagMs: { p99: number; max: number };
    loadGeneratorGc: ReturnType<typeof clientGc.since>;
    serverCpuPercentOfOneCore: number;
    serverCpuMsPerRequest: number;
    /** Reads the relation cache had to pass to Neo4j, per request answered (graph/cached.ts). */
    serverGcMsPerRequest: number;
    graphReadsPerRequest: number;
    graphRenewalsPerRequest: number;
    machineCpuBusyPercent: number;
    /** The share of the machine the hypervisor gave to other machines while this one was ready to run (/proc/stat steal). */
    machineStealPercent: number;
    neo4jCpuSeconds: number;
    clientCpuSeconds: number;
    otherCpuSeconds: number;
    storeFailures: number;
    /**
     * The server's own view of the window: its handling time of the answered requests (from its handler
     * to the answer handed to the kernel; presence_http_request_seconds, interpolated in its buckets) and
     * its event-loop delay (prom-client's monitor, restarted by the scrape that opens the window). What
     * the client's latency adds to the first is time before the handler ran — a busy loop, the kernel.
     */
    serverHandlingMs: { p50: number; p99: number };
    serverLoopDelayMs: { p99: number; max: number };
    /**
     * The server's and the sender's main threads — where each one's JavaScript runs — over the window, as
     * the kernel's scheduler accounted them (/proc/<pid>/task/<pid>/schedstat; absent off Linux and in
     * files from before 2026-12-03 17:00): the share of the window each spent on a CPU, and waiting for one
     * while ready to run. The server's wait is time its event loop had work and no CPU on the shared
     * machine, the sender's is time answers that had come were not yet taken: both are in the latencies.
     */
    serverMainThread?: SchedShare;
    senderMainThread?: SchedShare;
    saturated: boolean;
    saturatedBecause?: string;
    /**
     * Windows of 30 s or more, in 10 s slices by scheduled send time, both queries together: each slice's
     * p99 and max, and how late the load generator sent (its own stalls). Shows whether the window's p99
     * is the steady state or the mark of one event (a stall of the shared machine, a server GC).
     */
    slices?: {
      fromS: number;
      requests: number;
      p99Ms: number;
      maxMs: number;
      dispatchLagMaxMs: number;
      /** Over the slice, ms the server's and the sender's main threads waited for a CPU while ready to run (see serverMainThread). */
      serverRunQueueWaitMs?: number;
      senderRunQueueWaitMs?: number;
      machineBusyPercent?: number;
      machineStealPercent?: number;
      /** The server over the slice, from a /metrics scrape at each of its ends (files from before 2026-12-03 09:30 lack them). */
      server?: { handlingP99Ms: number; loopDelayMaxMs: number; gcMs: number; majorGcMs: number; graphReads: number; renewals: number };
    }[];
  }
  const openRates: OpenRate[] = [];
  let readerOffset = 0;
  /**
   * One open-loop rate: settling, then its window of `windowSeconds`; the figures are the window's. `seed`
   * picks the arrival stream (the series uses 17; a second measurement of a rate another, so it is a new
   * sample rather than the same schedule again).
   */
  async function measureRate(rate: number, windowSeconds: number, seed: number, label = ''): Promise<OpenRate> {
    // The schedule, drawn before the clock starts: offsets in ms from the start of this rate's window;
    // the settling arrivals before it (negative offsets) come from a stream of their own, so the
    // window's schedule is the same with or without them.
    const windowMs = windowSeconds * 1000;
    const settleMs = SETTLE_SECONDS * 1000;
    const offsets = arrivalsBetween(rate, 0, windowMs, seed);
    const settling = arrivalsBetween(rate, -settleMs, 0, seed + 12);
    const schedule = Float64Array.from([...settling, ...offsets]);
    // Window arrivals are numbered from 0 as they were before settling was added; settling ones apart.
    const firstReader = readerOffset;
    const arrivalOf = (i: number) => {
      const settle = i < settling.length;
      const k = settle ? i : i - settling.length;
      const queryIndex = k % names.length;
      const readerIndex = (firstReader + Math.floor(k / names.length)) % R;
      // The sender's request index: presences then contacts, each for every reader in order.
      return { settle, q: names[queryIndex]!, readerIndex, request: queryIndex * R + readerIndex };
    };
    const requests = Uint32Array.from(schedule, (_, i) => arrivalOf(i).request);
    process.stderr.write(
      `[batch-read] open loop${label}: ${rate} req/s (${ARRIVALS}), ${settleMs > 0 ? `${SETTLE_SECONDS} s settling (${settling.length} arrivals, not timed), then ` : ''}${windowSeconds} s, ${offsets.length} arrivals `,
    );
    // The window's figures start where its schedule does: the server's counters, the machine's and this
    // process's CPU are read as the sender says its first window arrival went out.
    let opened: Promise<{ before: Scrape; neighbours0: Neighbours; cpuBefore: NodeJS.CpuUsage; threads0: Threads }> | undefined;
    // A long window is cut into slices: at its start and at each slice's end, the machine's CPU ticks and
    // a scrape of the server (about 1 ms of its time). prom-client resets its event-loop monitor at each
    // scrape: the window's loop delay is then the worst slice's.
    const slicing = windowSeconds >= 30;
    const slices = Math.floor(windowMs / SLICE_MS);
    const marks: { ticks: CpuTicks[]; threads: Threads; scrape: Promise<Scrape> }[] = [];
    const mark = (at: Promise<Scrape> = scrape(server!), threads = mainThreads()) => marks.push({ ticks: cpuTicks(), threads, scrape: at });
    let ticking: NodeJS.Timeout | undefined;
    const open = () => {
      if (opened) return;
      const cpuBefore = process.cpuUsage();
      const threads0 = mainThreads();
      const start = scrape(server!);
      if (slicing) {
        mark(start, threads0);
        ticking = setInterval(mark, SLICE_MS);
      }
      opened = Promise.all([start, neighbours()]).then(([before, neighbours0]) => ({ before, neighbours0, cpuBefore, threads0 }));
    };
    const progress = setInterval(() => process.stderr.write('.'), 1000);
    const sent = await sender!.run({ offsets: schedule, requests, windowFrom: settling.length }, open).finally(() => {
      clearInterval(progress);
      clearInterval(ticking);
    });
    open();
    readerOffset += Math.ceil(offsets.length / names.length);
    const { before, neighbours0, cpuBefore, threads0 } = await opened!;
    const lastEndMs = Math.max(windowMs, sent.lastEndMs);
    const cpu = process.cpuUsage(cpuBefore);
    const threads1 = mainThreads();
    const neighbours1 = await neighbours();
    const after = await scrape(server!);
    // The last slice ends here, after the window's last answer, when its tick has not come yet.
    if (slicing && marks.length <= slices) mark(Promise.resolve(after), threads1);
    const scrapes = await Promise.all(marks.map((m) => m.scrape));
    const loopDelayMs = (samples: readonly Sample[], name: 'p99' | 'max') => metricSum(samples, `nodejs_eventloop_lag_${name}_seconds`) * 1000;
    const sinceStart = [...scrapes.slice(1), after];
    // Timed and checked here, after the window; settling answers are checked like the others (a wrong one
    // counts against the rate) but not timed.
    const tallies = { presences: fresh(), contacts: fresh() };
    const sliced = slicing ? Array.from({ length: slices }, () => ({ latencies: [] as number[], lagMax: 0 })) : undefined;
    const failed = new Map(sent.failures);
    const answers = readFileSync(sent.answersFile);
    await rm(sent.answersFile, { force: true });
    for (let i = 0; i < schedule.length; i++) {
      const { settle, q, readerIndex } = arrivalOf(i);
      const reader = readers[readerIndex]!;
      const tally = tallies[q];
      const failure = failed.get(i);
      if (failure !== undefined) {
        tally.errors++;
        tally.firstProblem ??= `${q} as ${reader.id}: ${failure}`;
        continue;
      }
      if (Number.isNaN(sent.latencies[i]!)) continue; // not sent: the run was stopped
      if (!settle) {
        tally.latencies.push(sent.latencies[i]!);
        const slice = sliced?.[Math.min(sliced.length - 1, Math.floor(schedule[i]! / SLICE_MS))];
        slice?.latencies.push(sent.latencies[i]!);
        if (slice) slice.lagMax = Math.max(slice.lagMax, sent.lagsMs[i - settling.length] ?? 0);
      }
      const text = answers.toString('utf8', sent.answerStarts[i]!, sent.answerStarts[i]! + sent.answerLengths[i]!);
      const problem = check(q, reader, sent.statuses[i]!, text, tally);
      if (problem) tally.firstProblem ??= `${q} as ${reader.id}: ${problem}`;
    }
    const elapsed = lastEndMs / 1000;
    const serverCpu = after.cpu - before.cpu;
    const clientCpu = (cpu.user + cpu.system) / 1e6 + sent.cpuSeconds;
    const answered = names.reduce((n, q) => n + tallies[q].latencies.length, 0);
    const queries = Object.fromEntries(
      names.map((q) => {
        const t = tallies[q];
        const s = summary(t.latencies);
        return [q, { requests: t.latencies.length, latencyMs: { p50: round(s.p50, 2), p99: round(s.p99, 2), max: round(s.max, 2) }, errors: t.errors, wrongPresences: t.wrong, ...(t.firstProblem ? { firstProblem: t.firstProblem } : {}) }];
      }),
    ) as OpenRate['queries'];
    const lag = summary([...sent.lagsMs]);
    const otherCpu = otherCpuOf(neighbours0, neighbours1, serverCpu, clientCpu);
    const entry: OpenRate = {
      rate,
      arrivals: offsets.length,
      offeredPerSecond: round(offsets.length / windowSeconds, 1),
      answered,
      achievedPerSecond: round(answered / elapsed, 1),
      seconds: round(elapsed, 2),
      drainMs: round(Math.max(0, lastEndMs - windowMs), 1),
      queries,
      worstP99Ms: Math.max(...names.map((q) => queries[q].latencyMs.p99)),
      maxInFlight: sent.maxInFlight,
      newConnections: sent.newConnections,
      dispatchLagMs: { p99: round(lag.p99, 2), max: round(lag.max, 2) },
      loadGeneratorGc: sent.gc,
      serverCpuPercentOfOneCore: round((100 * serverCpu) / elapsed, 1),
      serverCpuMsPerRequest: round((serverCpu * 1000) / Math.max(answered, 1), 2),
      serverGcMsPerRequest: round(((after.gc - before.gc) * 1000) / Math.max(answered, 1), 2),
      graphReadsPerRequest: round((after.graphCache.miss - before.graphCache.miss) / Math.max(answered, 1), 3),
      graphRenewalsPerRequest: round((after.graphCache.renewal - before.graphCache.renewal) / Math.max(answered, 1), 3),
      machineCpuBusyPercent: busyPercent(neighbours0, neighbours1),
      machineStealPercent: busyPercent(neighbours0, neighbours1, 'steal'),
      neo4jCpuSeconds: round(neighbours1.neo4j - neighbours0.neo4j, 2),
      clientCpuSeconds: round(clientCpu, 2),
      otherCpuSeconds: round(otherCpu, 2),
      storeFailures: after.storeFailures - before.storeFailures,
      serverHandlingMs: handlingBetween(before.samples, after.samples),
      serverLoopDelayMs: {
        p99: round(Math.max(...sinceStart.map((x) => loopDelayMs(x.samples, 'p99'))), 1),
        max: round(Math.max(...sinceStart.map((x) => loopDelayMs(x.samples, 'max'))), 1),
      },
      ...threadShares(threads0, threads1),
      saturated: false,
      ...(sliced
        ? {
            slices: sliced.map((slice, k) => {
              const sl = summary(slice.latencies);
              // (A run stopped early has fewer marks than slices: its empty slices end at its last mark.)
              const [k0, k1] = [Math.min(k, marks.length - 1), Math.min(k + 1, marks.length - 1)];
              const [from, to] = [marks[k0]!.ticks, marks[k1]!.ticks];
              const machine = (key: 'busy' | 'steal') => round(machineShare(from, to, key), 1);
              const [s0, s1] = [scrapes[k0]!, scrapes[k1]!];
              const waited = (who: 'server' | 'sender') => {
                const [a, b] = [marks[k0]!.threads[who], marks[k1]!.threads[who]];
                return a && b ? round((b.waitNs - a.waitNs) / 1e6, 1) : undefined;
              };
              const [serverWaited, senderWaited] = [waited('server'), waited('sender')];
              return {
                fromS: (k * SLICE_MS) / 1000,
                requests: sl.n,
                p99Ms: round(sl.p99, 1),
                maxMs: round(sl.max, 1),
                dispatchLagMaxMs: round(slice.lagMax, 1),
                ...(serverWaited !== undefined ? { serverRunQueueWaitMs: serverWaited, senderRunQueueWaitMs: senderWaited } : {}),
                ...(to.length > 0 ? { machineBusyPercent: machine('busy'), machineStealPercent: machine('steal') } : {}),
                server: {
                  handlingP99Ms: handlingBetween(s0.samples, s1.samples).p99,
                  loopDelayMaxMs: round(loopDelayMs(s1.samples, 'max'), 1),
                  gcMs: round((s1.gc - s0.gc) * 1000, 1),
                  majorGcMs: round((s1.majorGc - s0.majorGc) * 1000, 1),
                  graphReads: s1.graphCache.miss - s0.graphCache.miss,
                  renewals: s1.graphCache.renewal - s0.graphCache.renewal,
                },
              };
            }),
          }
        : {}),
    };
    const base = openRates[0];
    if (entry.achievedPerSecond < 0.9 * entry.offeredPerSecond) {
      entry.saturated = true;
      entry.saturatedBecause = `achieved ${entry.achievedPerSecond} req/s < 90 % of the ${entry.offeredPerSecond} offered`;
    } else if (base && entry.worstP99Ms > 10 * base.worstP99Ms) {
      entry.saturated = true;
      entry.saturatedBecause = `p99 ${entry.worstP99Ms} ms > 10 × the ${base.worstP99Ms} ms at ${base.rate} req/s`;
    }
    if (otherCpu > 0.25 * elapsed) {
      warnings.push(`open loop at ${rate} req/s: ${round(otherCpu, 1)} CPU s of ${round(os.cpus().length * elapsed, 1)} went to processes other than the server, Neo4j, Redis and the load generator: another run may have shared the machine`);
    }
    process.stderr.write(
      ` achieved ${entry.achievedPerSecond}/s, p99 presences ${round(queries.presences.latencyMs.p99, 1)} ms, contacts ${round(queries.contacts.latencyMs.p99, 1)} ms, in-server p99 ${entry.serverHandlingMs.p99} ms, loop delay max ${entry.serverLoopDelayMs.max} ms, server CPU ${entry.serverCpuPercentOfOneCore} %${entry.saturated ? ' — saturated' : ''}\n`,
    );
    return entry;
  }
  // The open loop's requests go out from a process of their own (bench/open-loop-sender.ts), by request
  // index (see `arrivalOf`).
  sender =
    MODE === 'closed'
      ? undefined
      : await OpenLoopSender.start({
          endpoint,
          sockets: SOCKETS,
          timeoutMs: OPEN_TIMEOUT_MS,
          bodies: names.flatMap((q) => readers.map((r) => bodies.get(q)!.get(r.id)!)),
          authorizations: names.flatMap(() => readers.map((r) => tokens.get(r.id)!)),
        });
  if (MODE !== 'closed') {
    for (const rate of RATES) {
      if (stopping) break;
      openRates.push(await measureRate(rate, windowSecondsOf(rate), 17));
      if (!stopping) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  // Saturation: the lower of the closed-loop maximum and the first open-loop rate that saturated.
  const firstSaturated = openRates.find((r) => r.saturated);
  const candidates = [
    ...(closed ? [{ requestsPerSecond: closed.requestsPerSecond, basis: `closed-loop maximum, ${CONCURRENCY} clients re-sending at once` }] : []),
    ...(firstSaturated ? [{ requestsPerSecond: firstSaturated.rate, basis: `open loop, first saturated rate: ${firstSaturated.saturatedBecause}` }] : []),
  ].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const saturation = candidates[0];
  const half = saturation ? openRates.filter((r) => r.rate <= saturation.requestsPerSecond / 2).at(-1) : undefined;
  // The goal is judged at half of saturation itself (not at the listed rate below it, which could be far
  // below when saturation is high), measured after the series over a longer window: a 12 s window holds
  // one or two of the events that set a p99 here (a server mark-compact, a stall of the shared cores) or
  // none, so two runs of the same code gave 36.9 and 107.3 ms at 150 req/s. A longer window weighs them
  // as they come; its 10 s slices show whether one of them set it.
  let judgedRun: OpenRate | undefined;
  if (saturation && JUDGE_SECONDS > 0 && !stopping) {
    await new Promise((r) => setTimeout(r, 1000));
    judgedRun = await measureRate(Math.max(1, Math.floor(saturation.requestsPerSecond / 2)), JUDGE_SECONDS, 31, ' (half of saturation, measured after the series)');
  }
  const judged = judgedRun ?? half;
  const latenciesOf = (r: OpenRate) => Object.fromEntries(names.map((q) => [q, r.queries[q].latencyMs]));
  const openLoop =
    MODE === 'closed'
      ? undefined
      : {
          arrivals: ARRIVALS === 'poisson' ? 'Poisson (exponential gaps, seeded per rate)' : 'evenly spaced',
          rates: RATES,
          secondsPerRate: Object.fromEntries(RATES.map((r) => [r, windowSecondsOf(r)])),
          mix: 'half presences, half contacts, alternating; readers round-robin',
          client: `node:http Agent, keep-alive, up to ${SOCKETS} sockets (each request on its own socket while earlier ones are in flight), in a sender process of its own (bench/open-loop-sender.ts; its own GC pauses are the load generator's below)`,
          latencyFrom: 'the scheduled send time (no coordinated omission: a late send or a queue counts against the request)',
          results: openRates,
          saturation: saturation
            ? { requestsPerSecond: saturation.requestsPerSecond, basis: saturation.basis, closedLoopRequestsPerSecond: closed?.requestsPerSecond, firstSaturatedRate: firstSaturated?.rate }
            : { requestsPerSecond: null, basis: `not reached: no rate up to ${RATES.at(-1)} req/s saturated and no closed loop was run` },
          halfSaturation: judged
            ? {
                target: round(saturation!.requestsPerSecond / 2, 1),
                rate: judged.rate,
                seconds: judged.seconds,
                basis: judgedRun ? `half of saturation, measured after the series over ${JUDGE_SECONDS} s (arrivals of another seed)` : 'its row in the series, the highest rate at or below half of saturation',
                achievedPerSecond: judged.achievedPerSecond,
                latencyMs: latenciesOf(judged),
                worstP99Ms: judged.worstP99Ms,
                ...(judgedRun && half ? { series: { rate: half.rate, seconds: half.seconds, latencyMs: latenciesOf(half), worstP99Ms: half.worstP99Ms } } : {}),
                ...(judgedRun ? { run: judgedRun } : {}),
              }
            : null,
        };
  if (openLoop && !judged) {
    say(saturation
      ? `note: no open-loop rate at or below half of saturation (${round(saturation.requestsPerSecond / 2, 1)} req/s): add a lower --rates entry`
      : 'note: saturation not reached: add higher --rates, or --mode both for the closed-loop maximum');
  }

  const openRuns = judgedRun ? [...openRates, judgedRun] : openRates;
  const storeFailures = (closed ? Number(closed.totals.storeFailures) : 0) + openRuns.reduce((n, r) => n + r.storeFailures, 0);
  const failures =
    (closed?.results ?? []).reduce((n, r) => n + Number(r.errors) + Number(r.wrongPresences), 0) +
    [...unloaded.values()].reduce((n, u) => n + u.errors, 0) +
    openRuns.reduce((n, r) => n + names.reduce((m, q) => m + r.queries[q].errors + r.queries[q].wrongPresences, 0), 0) +
    storeFailures;
  const judge = (p99: number) => (p99 <= 20 ? 'goal met' : 'goal not met') + `: worst p99 ${p99} ms ${p99 <= 20 ? '≤' : '>'} 20 ms`;
  const seeds = (p99: number) => (p99 <= 20 ? '' : p99 < 200 ? " (the seeds' < 200 ms is met)" : " (the seeds' < 200 ms is not met either)");
  const closedPart = closed ? `with ${CONCURRENCY} concurrent clients (closed loop): worst p99 ${closed.worstP99} ms` : undefined;
  const verdict =
    failures > 0
      ? `invalid: ${failures} errors, wrong presences or store failures — figures not comparable`
      : judged
        ? `${judge(judged.worstP99Ms)} at ${judged.rate} req/s open loop${judgedRun ? ` over ${judgedRun.seconds} s` : ''}, ${judgedRun ? '' : 'at or below '}half of saturation (≈ ${saturation!.requestsPerSecond} req/s)${seeds(judged.worstP99Ms)}` + (closedPart ? `; ${closedPart}` : '')
        : closed
          ? `${judge(closed.worstP99)} with ${CONCURRENCY} concurrent clients${seeds(closed.worstP99)}` + (openLoop ? '; no open-loop rate at half saturation' : '')
          : saturation
            ? 'not judged: no open-loop rate at or below half of saturation'
            : `not judged: saturation not reached up to ${RATES.at(-1)} req/s and no closed loop run (--mode both)`;

  report = {
    scenario: 'batch-read',
    command: commandLine(),
    parameters: {
      users: N,
      readers: R,
      contactsPerReader: C,
      backgroundContactsPerUser: DEGREE,
      contactEdges: contactEdges.size,
      blockEdges: blockEdges.size,
      privacy: { CONTACTS: users.filter((u) => u.privacy === 'CONTACTS').length, EVERYONE: users.filter((u) => u.privacy === 'EVERYONE').length, NOBODY: users.filter((u) => u.privacy === 'NOBODY').length },
      states: Object.fromEntries((['active', 'idle', 'dnd', 'signedOff', 'cold-seen', 'cold-never'] as const).map((s) => [s, count(s)])),
      idsPerPresences: IDS,
      contactsFirst: PAGE,
      mode: MODE,
      concurrency: CONCURRENCY,
      seconds: SECONDS,
      warmupSeconds: WARMUP,
      unloadedSeconds: UNLOADED,
      ...(openLoop ? { rates: RATES.join(','), rateSeconds: RATE_SECONDS, settleSeconds: SETTLE_SECONDS, judgeSeconds: JUDGE_SECONDS, minSamples: MIN_SAMPLES, arrivals: ARRIVALS } : {}),
      stores: { hot: 'redis', graph: 'neo4j', lastSeen: LASTSEEN },
      serverProcesses: 1,
      client: openLoop ? 'closed loop and alone: Node fetch (undici), keep-alive; open loop: node:http keep-alive Agent in a sender process of its own; same machine' : 'Node fetch (undici), keep-alive, same machine',
    },
    environment: environment(),
    // The closed-loop figures per query (with the "alone" ones); in --mode open, only the "alone" ones.
    results: closed?.results ?? names.filter((q) => unloaded.has(q)).map((q) => ({ query: q, selection: selectionOf(q), unloaded: unloaded.get(q) })),
    ...(closed ? { totals: closed.totals } : {}),
    ...(openLoop ? { openLoop } : {}),
    goal: { p99Ms: 20, seedsP99Ms: 200, judgedOn: judged ? 'open-loop worst p99 at half of saturation' : 'closed-loop worst p99' },
    verdict,
    ...(warnings.length ? { warnings } : {}),
  };
} catch (error) {
  // A Ctrl-C reaches the whole process group, the server child too: it shuts down, and the next scrape
  // of it fails. That is the interruption, not a fault to report with a stack.
  if (!stopping) throw error;
  say(`interrupted: no report (${(error as Error).message})`);
  process.exitCode = 130;
} finally {
  process.stderr.write('[batch-read] cleaning up… ');
  sender?.close();
  await server?.stop().catch(() => undefined);
  await purgeRedis(values.redis, prefix).catch((e: unknown) => say(`redis purge failed: ${String(e)}`));
  await hot.close();
  try {
    // In slices: one transaction deleting every node and edge would strain a small Neo4j heap.
    for (;;) {
      const { records } = await driver.executeQuery('MATCH (u:User {ns: $ns}) WITH u LIMIT 2000 DETACH DELETE u RETURN count(*) AS n', { ns: namespace });
      if (Number(records[0]?.get('n') ?? 0) === 0) break;
    }
  } catch (e) {
    say(`neo4j cleanup failed: ${String(e)} (namespace ${namespace})`);
  }
  await driver.close();
  if (pgCreated) {
    const client = new pg.Client({ connectionString: values.database });
    await client
      .connect()
      .then(() => client.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`))
      .catch((e: unknown) => say(`postgres cleanup failed: ${String(e)} (schema ${pgSchema})`))
      .finally(() => client.end().catch(() => undefined));
  }
  process.stderr.write('done\n');
}

// An interrupted run's figures are partial: no JSON, and a failing exit code, so nothing keeps them.
if (stopping) process.exitCode = 130;
else if (report) console.log(JSON.stringify(report, null, 2));

function seconds(since: number): number {
  return round((performance.now() - since) / 1000, 1);
}

async function pool(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count && !stopping) await task(next++);
    }),
  );
}

/**
 * CPU used so far by what shares the machine with the server: the Neo4j JVM (its pid file, when
 * `npm run neo4j:start` started it), Redis (INFO cpu) and the machine as a whole (/proc/stat). NaN
 * when unknown.
 */
async function neighbours(): Promise<{ neo4j: number; redis: number; cores: CpuTicks[] }> {
  let neo4jSeconds = Number.NaN;
  try {
    const pid = readFileSync(new URL('../.neo4j/neo4j.pid', import.meta.url), 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    neo4jSeconds = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    // not started by scripts/neo4j, or not Linux
  }
  let redisSeconds = Number.NaN;
  const redis = new Redis(values.redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('cpu');
    redisSeconds = Number(info.match(/used_cpu_sys:([\d.]+)/)?.[1]) + Number(info.match(/used_cpu_user:([\d.]+)/)?.[1]);
  } catch {
    // leave NaN
  } finally {
    redis.disconnect();
  }
  return { neo4j: neo4jSeconds, redis: redisSeconds, cores: cpuTicks() };
}

interface Scrape {
  samples: Sample[];
  cpu: number;
  gc: number;
  /** Of `gc`, mark-compacts' pauses (kind="major"). */
  majorGc: number;
  rss: number;
  storeFailures: number;
  graphCache: { hit: number; miss: number; renewal: number };
}

async function scrape(target: ServerProcess): Promise<Scrape> {
  const samples = parseMetrics(await (await fetch(`${target.url}/metrics`)).text());
  const count = (name: string, match?: Record<string, string>) => metricSum(samples, name, match) || 0;
  return {
    samples,
    cpu: metricSum(samples, 'process_cpu_seconds_total'),
    // Time in GC pauses of every kind (prom-client's default metrics).
    gc: count('nodejs_gc_duration_seconds_sum'),
    majorGc: count('nodejs_gc_duration_seconds_sum', { kind: 'major' }),
    rss: metricSum(samples, 'process_resident_memory_bytes'),
    storeFailures: count('presence_store_failures_total'),
    graphCache: {
      hit: count('presence_graph_cache_reads_total', { result: 'hit' }),
      miss: count('presence_graph_cache_reads_total', { result: 'miss' }),
      renewal: count('presence_graph_cache_reads_total', { result: 'renewal' }),
    },
  };
}

/** Reads answered UNKNOWN because a store failed between two scrapes, by store; only the stores that did. */
function storeFailuresBetween(before: Scrape, after: Scrape): Record<string, number> {
  const by: Record<string, number> = {};
  for (const s of after.samples) {
    if (s.name !== 'presence_store_failures_total') continue;
    const n = s.value - (metricSum(before.samples, s.name, s.labels) || 0);
    if (n > 0) by[s.labels.store ?? '?'] = n;
  }
  return by;
}

/** p50/p99 of the server's handling time of the requests it answered (2xx) between two scrapes, in ms. */
function handlingBetween(before: readonly Sample[], after: readonly Sample[]): { p50: number; p99: number } {
  const buckets = bucketsBetween(before, after, 'presence_http_request_seconds', { status: '2xx' });
  const at = (q: number) => round(histogramQuantile(q, buckets).value * 1000, 1);
  return { p50: at(0.5), p99: at(0.99) };
}

function selectionOf(q: string): string {
  return q === 'presences' ? `presences(userIds: [${IDS} ids])` : `contacts(first: ${PAGE}) with presence`;
}

type Neighbours = Awaited<ReturnType<typeof neighbours>>;

/** The server's and the open-loop sender's main threads (their JavaScript) as the scheduler saw them, now, and when. */
interface Threads {
  readonly at: number;
  readonly server: SchedStat | undefined;
  readonly sender: SchedStat | undefined;
}

function mainThreads(): Threads {
  return { at: performance.now(), server: schedStat(server?.child.pid), sender: schedStat(sender?.pid) };
}

/** How the two main threads ran between two readings (omitted where /proc cannot tell). */
function threadShares(t0: Threads, t1: Threads): { serverMainThread?: SchedShare; senderMainThread?: SchedShare } {
  const wallMs = t1.at - t0.at;
  const serverShare = schedBetween(t0.server, t1.server, wallMs);
  const senderShare = schedBetween(t0.sender, t1.sender, wallMs);
  return { ...(serverShare ? { serverMainThread: serverShare } : {}), ...(senderShare ? { senderMainThread: senderShare } : {}) };
}

/** Busy machine time nobody measured accounts for: PostgreSQL, the kernel — and other runs sharing the machine. */
function otherCpuOf(n0: Neighbours, n1: Neighbours, serverCpu: number, clientCpu: number): number {
  return ticksBetween(n0.cores, n1.cores, 'busy') / 100 - serverCpu - clientCpu - (n1.neo4j - n0.neo4j) - (n1.redis - n0.redis);
}

function busyPercent(n0: Neighbours, n1: Neighbours, key: 'busy' | 'steal' = 'busy'): number {
  return round(machineShare(n0.cores, n1.cores, key), 1);
}

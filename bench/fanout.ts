/**
 * Fan-out: viewport-scoped lazy fan-out against the naive eager broadcast, same workload, same run.
 *
 *   npm run bench:fanout -- [--users 20000] [--watchers 200] [--contacts 200] [--viewport 20]
 *                           [--rate 500] [--seconds 10] [--processes 2] [--modes viewport,eager]
 *
 * N users (all EVERYONE), W watchers each listing C of them as contacts and subscribing to a viewport
 * of V of those; P real server processes (server/main.ts) on the real Redis and Neo4j; T transitions/s
 * (activity toggles of random users) for S seconds, driven straight into Redis as other server
 * processes would. For each mode it prints frames and presences received by the watchers, Redis
 * messages received per process and CPU seconds per process; then the eager/viewport ratios.
 *
 * In eager mode every process hears every change and every subscription covers all of its viewer's
 * contacts — "push every change to every contact" — the design that does not scale.
 * Bounded: one run per mode, S ≤ 60 s; everything it created is removed at the end.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import neo4jDriver from 'neo4j-driver';
import WebSocket from 'ws';
import { RedisHotStore } from '../hot/redis/store.js';
import { makeTiming } from '../presence/index.js';
import { EmbeddedLastSeenStore } from '../prisma/embedded.js';
import { DEV_JWT_SECRET } from '../server/config.js';
import { signToken } from '../server/auth.js';
import { ensureNeo4j } from '../scripts/neo4j/control.js';
import { PresenceService } from '../service/presence.js';
import { spawnServer, type ServerProcess } from '../scripts/server-process.js';
import { commandLine, round, summary } from './stats.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    watchers: { type: 'string', default: '200' },
    contacts: { type: 'string', default: '200' },
    viewport: { type: 'string', default: '20' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    processes: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'viewport,eager' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const N = Number(values.users);
const W = Number(values.watchers);
const C = Math.min(Number(values.contacts), N);
const V = Math.min(Number(values.viewport), C);
const T = Number(values.rate);
const S = Math.min(Number(values.seconds), 60);
const P = Number(values.processes);
const modes = values.modes.split(',') as ('viewport' | 'eager')[];

/** Deterministic pseudo-random numbers, so both modes get the same graph and the same transitions. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const users = Array.from({ length: N }, (_, i) => `u${i}`);
const watchers = Array.from({ length: W }, (_, i) => `w${i}`);
const pick = rng(42);
const contactsOf = watchers.map(() => {
  const set = new Set<string>();
  while (set.size < C) set.add(users[Math.floor(pick() * N)]!);
  // In drawing order: a viewport (the first V) is a random V of the contacts, not the lowest ids.
  return [...set];
});

const neo4j = await ensureNeo4j();
const namespace = `bench-${randomUUID().slice(0, 8)}`;
const driver = neo4jDriver.driver(neo4j.uri, neo4jDriver.auth.basic(neo4j.user, neo4j.password));
const results: Record<string, unknown>[] = [];

try {
  // One graph for both modes: every user EVERYONE, watcher → contact edges.
  await driver.executeQuery('UNWIND $ids AS id CREATE (:User {ns: $ns, id: id, privacy: "EVERYONE"})', { ns: namespace, ids: [...users, ...watchers] });
  const edges = watchers.flatMap((w, i) => contactsOf[i]!.map((c) => ({ w, c })));
  for (let i = 0; i < edges.length; i += 5_000) {
    await driver.executeQuery('UNWIND $edges AS e MATCH (w:User {ns: $ns, id: e.w}), (c:User {ns: $ns, id: e.c}) CREATE (w)-[:CONTACT]->(c)', { ns: namespace, edges: edges.slice(i, i + 5_000) });
  }
  for (const mode of modes) results.push(await run(mode));
} finally {
  await driver.executeQuery('MATCH (u:User {ns: $ns}) DETACH DELETE u', { ns: namespace }).catch(() => undefined);
  await driver.close();
}

const [viewport, eager] = [results.find((r) => r.mode === 'viewport'), results.find((r) => r.mode === 'eager')] as (Record<string, number> | undefined)[];
const ratio = (key: string) => (viewport && eager ? round(eager[key]! / Math.max(viewport[key]!, 1e-9), 1) : undefined);
console.log(
  JSON.stringify(
    {
      command: commandLine(),
      parameters: { users: N, watchers: W, contactsPerWatcher: C, viewport: V, transitionsPerSecond: T, seconds: S, processes: P },
      results,
      eagerOverViewport: { frames: ratio('frames'), presences: ratio('presences'), redisMessagesPerProcess: ratio('redisMessagesPerProcess'), cpuSecondsPerProcess: ratio('cpuSecondsPerProcess') },
    },
    null,
    2,
  ),
);

async function run(mode: 'viewport' | 'eager'): Promise<Record<string, unknown>> {
  const prefix = `bench:fan:${randomUUID().slice(0, 8)}:`;
  const timing = makeTiming();
  if (!timing.ok) throw new Error(timing.error);
  const env = {
    REDIS_URL: values.redis,
    REDIS_PREFIX: prefix,
    NEO4J_URI: neo4j.uri,
    NEO4J_NAMESPACE: namespace,
    DEMO_SEED: 'false',
    PRESENCE_FANOUT: mode,
    JWT_SECRET: '',
    LOG_LEVEL: 'warn',
  };
  const servers: ServerProcess[] = await Promise.all(Array.from({ length: P }, () => spawnServer(env, 60_000)));
  const hot = await RedisHotStore.connect({ url: values.redis, prefix, ttlMs: timing.timing.ttlMs });
  const driverService = new PresenceService({ hot, lastSeen: new EmbeddedLastSeenStore(), timing: timing.timing, clock: Date.now });
  const clients: ReturnType<typeof createClient>[] = [];
  try {
    // Everyone online first, so every transition below is a visible ACTIVE/IDLE toggle.
    for (let i = 0; i < N; i += 500) await Promise.all(users.slice(i, i + 500).map((u) => driverService.heartbeat(u, `${u}-d`, 'WEB', 'ACTIVE')));
    let frames = 0;
    let presences = 0;
    let bytes = 0;
    let snapshots = 0;
    /** When each (user, version) was committed, and when each copy of it arrived: matched after the run. */
    const committedAt = new Map<string, number>();
    const receipts: [key: string, at: number][] = [];
    for (const [i, w] of watchers.entries()) {
      const server = servers[i % P]!;
      const token = await signToken(DEV_JWT_SECRET, w);
      const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
      clients.push(client);
      client.subscribe<{ presence: { snapshot: boolean; presences: { userId: string; version: number }[] } }>(
        { query: 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot presences { userId status version } } }', variables: { ids: contactsOf[i]!.slice(0, V) } },
        {
          next: (result) => {
            if (result.data?.presence.snapshot) {
              snapshots++;
              return;
            }
            const now = performance.now();
            frames++;
            presences += result.data?.presence.presences.length ?? 0;
            bytes += JSON.stringify(result).length;
            for (const p of result.data?.presence.presences ?? []) receipts.push([`${p.userId}:${p.version}`, now]);
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
    }
    while (snapshots < W) await new Promise((r) => setTimeout(r, 20));
    const before = await Promise.all(servers.map(scrape));
    const toggle = rng(7);
    const active = new Map(users.map((u) => [u, true]));
    let transitions = 0;
    const started = Date.now();
    process.stderr.write(`[${mode}] driving ${T}/s for ${S}s `);
    while (Date.now() - started < S * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * T) - transitions;
      await Promise.all(
        Array.from({ length: Math.max(0, due) }, () => {
          const u = users[Math.floor(toggle() * N)]!;
          const next = !active.get(u);
          active.set(u, next);
          transitions++;
          const sent = performance.now();
          return driverService.heartbeat(u, `${u}-d`, 'WEB', next ? 'ACTIVE' : 'IDLE').then((applied) => {
            // Timed from before the commit: the figure includes the Redis round trip of the write.
            if (applied.transition) committedAt.set(`${u}:${applied.transition.version}`, sent);
          });
        }),
      );
      if (transitions % T < due) process.stderr.write('.');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Let in-flight frames land (a benchmark may wait; tests may not).
    await new Promise((r) => setTimeout(r, 1_000));
    process.stderr.write(' done\n');
    const after = await Promise.all(servers.map(scrape));
    const perProcess = (key: 'feed' | 'cpu') => after.reduce((sum, a, i) => sum + (a[key] - before[i]![key]), 0) / P;
    const lat = summary(receipts.flatMap(([key, at]) => (committedAt.has(key) ? [at - committedAt.get(key)!] : [])));
    return {
      mode,
      transitions,
      deliveryLatencyMs: { p50: round(lat.p50, 1), p99: round(lat.p99, 1), max: round(lat.max, 1), samples: lat.n },
      frames,
      presences,
      bytes,
      framesPerSecond: round(frames / S, 1),
      redisMessagesPerProcess: round(perProcess('feed'), 1),
      cpuSecondsPerProcess: round(perProcess('cpu'), 2),
    };
  } finally {
    for (const c of clients) await c.dispose();
    await Promise.all(servers.map((s) => s.stop()));
    await hot.purge();
    await hot.close();
  }
}

async function scrape(server: ServerProcess): Promise<{ feed: number; cpu: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (name: string) => Number(text.match(new RegExp(`^${name} ([\\d.e+-]+)`, 'm'))?.[1] ?? Number.NaN);
  return { feed: value('presence_feed_messages_total'), cpu: value('process_cpu_seconds_total') };
}

/**
 * Heartbeat ingest: how many heartbeats per second one server process pushes into the real Redis, and
 * how long each takes. Drives the same path as the graphql-ws gateway's keep-alive refresh
 * (PresenceService.heartbeat → one compare-and-set Lua call), with C in flight at once.
 *
 *   npm run bench:heartbeat -- [--users 10000] [--seconds 10] [--concurrency 256] [--redis redis://127.0.0.1:6379]
 *
 * Bounded: stops after --seconds; purges its own key prefix at the end.
 */
import { parseArgs } from 'node:util';
import { RedisHotStore } from '../hot/redis/store.js';
import { makeTiming } from '../presence/index.js';
import { EmbeddedLastSeenStore } from '../prisma/embedded.js';
import { PresenceService } from '../service/presence.js';
import { commandLine, round, summary } from './stats.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '256' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const users = Number(values.users);
const seconds = Math.min(Number(values.seconds), 120);
const concurrency = Number(values.concurrency);
const timing = makeTiming();
if (!timing.ok) throw new Error(timing.error);

const store = await RedisHotStore.connect({ url: values.redis, prefix: `bench:hb:${process.pid}:`, ttlMs: timing.timing.ttlMs });
const service = new PresenceService({ hot: store, lastSeen: new EmbeddedLastSeenStore(), timing: timing.timing, clock: Date.now });
const ids = Array.from({ length: users }, (_, i) => `u${i}`);

try {
  const connectStart = performance.now();
  await runPool(ids.length, concurrency, async (i) => {
    await service.heartbeat(ids[i]!, `d${i}`, 'WEB', 'ACTIVE');
  });
  const connectSeconds = (performance.now() - connectStart) / 1000;

  const latencies: number[] = [];
  const roundTripsBefore = store.roundTrips;
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const i = next++ % users;
        const t0 = performance.now();
        await service.heartbeat(ids[i]!, `d${i}`, 'WEB');
        latencies.push(performance.now() - t0);
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const lat = summary(latencies);
  const result = {
    command: commandLine(),
    users,
    concurrency,
    seconds: round(elapsed),
    firstConnects: { perSecond: Math.round(users / connectSeconds) },
    refreshes: done,
    heartbeatsPerSecond: Math.round(done / elapsed),
    roundTripsPerHeartbeat: round((store.roundTrips - roundTripsBefore) / done, 3),
    latencyMs: { p50: round(lat.p50, 3), p99: round(lat.p99, 3), max: round(lat.max, 3) },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await store.purge();
  await store.close();
}

async function runPool(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

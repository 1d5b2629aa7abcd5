/**
 * Offline detection: the time from a device's expiry to its OFFLINE transition reaching a listener on
 * the feed, with the real sweeper (every PRESENCE_SWEEP_MS, default 250 ms) on the real Redis.
 *
 *   npm run -w bench bench:offline -- [--devices 2000] [--ttl 3000] [--sweep 250] [--processes 2] [--redis redis://127.0.0.1:6379]
 *
 * Each device heartbeats once, at a spread of times, and is then left to expire. `--processes` sweepers
 * (each with its own connection, as separate server processes would have) race for them. Bounded by
 * the TTL plus a drain deadline; purges its own key prefix at the end.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { RedisHotStore } from '../hot/redis/store.js';
import { makeTiming, type UserId } from '../presence/index.js';
import { EmbeddedLastSeenStore } from '../prisma/embedded.js';
import { PresenceService } from '../service/presence.js';
import { startSweeper } from '../service/sweeper.js';
import { commandLine, round, summary } from './stats.js';
import { purgeRedis } from './ws-load.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '2000' },
    ttl: { type: 'string', default: '3000' },
    sweep: { type: 'string', default: '250' },
    processes: { type: 'string', default: '2' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const devices = Number(values.devices);
const ttlMs = Number(values.ttl);
const sweepMs = Number(values.sweep);
const processes = Math.max(1, Number(values.processes));
const heartbeatMs = Math.floor((ttlMs - 1) / 2.5);
const timing = makeTiming({ heartbeatMs, jitterMs: Math.floor(heartbeatMs / 2), ttlMs, graceMs: 0 });
if (!timing.ok) throw new Error(timing.error);
const prefix = `bench:off:${process.pid}:`;
const log = pino({ level: 'warn' });

const sweepers = await Promise.all(
  Array.from({ length: processes }, async () => {
    const store = await RedisHotStore.connect({ url: values.redis, prefix, ttlMs });
    const service = new PresenceService({ hot: store, lastSeen: new EmbeddedLastSeenStore(), timing: timing.timing, clock: Date.now });
    return { store, service };
  }),
);
const listener = await RedisHotStore.connect({ url: values.redis, prefix, ttlMs });
const expiresAt = new Map<UserId, number>();
const lateness: number[] = [];
const offline = new Set<UserId>();
let duplicates = 0;
listener.feed.onEvent((userId, event) => {
  if (event.type !== 'transition' || event.transition.to !== 'OFFLINE') return;
  if (offline.has(userId)) duplicates++;
  offline.add(userId);
  lateness.push(Date.now() - expiresAt.get(userId)!);
});
const ids = Array.from({ length: devices }, (_, i) => `u${i}`);
await listener.feed.listen(ids);

try {
  // Spread the heartbeats over one second so expiries are spread too.
  const spreadMs = 1_000;
  const start = Date.now();
  await Promise.all(
    ids.map(async (id, i) => {
      await new Promise((r) => setTimeout(r, (i / devices) * spreadMs));
      const { service } = sweepers[i % processes]!;
      const applied = await service.heartbeat(id, `${id}-d`, 'WEB');
      expiresAt.set(id, applied.state.devices[`${id}-d`]!.expiresAt);
    }),
  );
  const running = sweepers.map(({ service }) => startSweeper(service, sweepMs, log));
  const deadline = start + spreadMs + ttlMs + 30_000;
  while (offline.size < devices && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await Promise.all(running.map((s) => s.stop()));
  const s = summary(lateness);
  console.log(
    JSON.stringify(
      {
        command: commandLine(),
        devices,
        ttlMs,
        sweepMs,
        processes,
        offline: offline.size,
        duplicates,
        pastExpiryMs: { p50: s.p50, p99: s.p99, max: s.max },
        note: 'pastExpiryMs = OFFLINE heard on the feed minus the device expiry; bounded below by the sweep interval',
      },
      (k, v) => (typeof v === 'number' ? round(v) : v),
      2,
    ),
  );
} finally {
  await purgeRedis(values.redis, prefix);
  await Promise.all([...sweepers.map((w) => w.store.close()), listener.close()]);
}

/**
 * Per-user channels or sharded channels? Measures both at the Redis level, in one run.
 *
 *   npm run -w bench bench:channels -- [--users 20000] [--watched 2000] [--messages 20000] [--shards 64] [--swaps 1000]
 *
 * One subscriber connection stands for a server process watching `watched` of `users` users.
 * - per-user: it SUBSCRIBEs one channel per watched user; a change is PUBLISHed on the user's channel.
 * - sharded: users hash into `shards` channels; it SUBSCRIBEs every shard holding a watched user and
 *   filters the messages it receives by user id.
 * Figures: messages the subscriber receives (and throws away) for `messages` changes of random users,
 * publish throughput, and viewport churn — `swaps` times, a 20-id viewport replaced by another
 * (UNSUBSCRIBE 20 + SUBSCRIBE 20 per-user; sharded only when a shard gains or loses its last user).
 * Bounded by its counts; removes nothing (pub/sub keeps no keys).
 */
import { parseArgs } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { commandLine, round } from './stats.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    watched: { type: 'string', default: '2000' },
    messages: { type: 'string', default: '20000' },
    shards: { type: 'string', default: '64' },
    swaps: { type: 'string', default: '1000' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const N = Number(values.users);
const K = Number(values.watched);
const M = Number(values.messages);
const SHARDS = Number(values.shards);
const SWAPS = Number(values.swaps);
const tag = `bench:ch:${process.pid}:`;
const users = Array.from({ length: N }, (_, i) => `u${i}`);
const watched = new Set(users.filter((_, i) => i % Math.floor(N / K) === 0).slice(0, K));
const shardOf = (u: string) => calculateSlot(u) % SHARDS;
const targets = Array.from({ length: M }, (_, i) => users[(i * 7_919) % N]!);

async function perUser() {
  const sub = new Redis(values.redis);
  const pub = new Redis(values.redis);
  let received = 0;
  let wanted = 0;
  sub.on('message', (channel: string, message: string) => {
    received++;
    if (message !== 'end' && watched.has(channel.slice(tag.length + 2))) wanted++;
  });
  await sub.subscribe(...[...watched].map((u) => `${tag}u:${u}`));
  const t0 = performance.now();
  for (let i = 0; i < M; i += 1_000) {
    const p = pub.pipeline();
    for (const u of targets.slice(i, i + 1_000)) p.publish(`${tag}u:${u}`, u);
    await p.exec();
  }
  const publishMs = performance.now() - t0;
  await pub.publish(`${tag}u:${[...watched][0]}`, 'end');
  while (received < expectedPerUser() + 1) await new Promise((r) => setTimeout(r, 5));
  // Viewport churn: replace a 20-id window by the next one.
  const pool = users.filter((u) => !watched.has(u));
  const c0 = performance.now();
  for (let s = 0; s < SWAPS; s++) {
    const old = pool.slice((s * 20) % pool.length, ((s * 20) % pool.length) + 20);
    const next = pool.slice(((s + 1) * 20) % pool.length, (((s + 1) * 20) % pool.length) + 20);
    await sub.subscribe(...next.map((u) => `${tag}u:${u}`));
    await sub.unsubscribe(...old.map((u) => `${tag}u:${u}`));
  }
  const churnMs = performance.now() - c0;
  sub.disconnect();
  pub.disconnect();
  return { received: received - 1, wanted, thrownAway: received - 1 - wanted, publishPerSecond: Math.round(M / (publishMs / 1000)), viewportSwapsPerSecond: Math.round(SWAPS / (churnMs / 1000)), subscribeCommandsPerSwap: 2 };
}

function expectedPerUser() {
  return targets.filter((u) => watched.has(u)).length;
}

async function sharded() {
  const sub = new Redis(values.redis);
  const pub = new Redis(values.redis);
  let received = 0;
  let wanted = 0;
  sub.on('message', (_channel: string, user: string) => {
    received++;
    if (watched.has(user)) wanted++;
  });
  const shards = new Set([...watched].map(shardOf));
  await sub.subscribe(...[...shards].map((s) => `${tag}s:${s}`));
  const t0 = performance.now();
  for (let i = 0; i < M; i += 1_000) {
    const p = pub.pipeline();
    for (const u of targets.slice(i, i + 1_000)) p.publish(`${tag}s:${shardOf(u)}`, u);
    await p.exec();
  }
  const publishMs = performance.now() - t0;
  const expected = targets.filter((u) => shards.has(shardOf(u))).length;
  while (received < expected) await new Promise((r) => setTimeout(r, 5));
  // Churn: a shard is (un)subscribed only when it gains its first / loses its last watched user.
  const counts = new Map<number, number>();
  for (const u of watched) counts.set(shardOf(u), (counts.get(shardOf(u)) ?? 0) + 1);
  const pool = users.filter((u) => !watched.has(u));
  let commands = 0;
  const c0 = performance.now();
  for (let s = 0; s < SWAPS; s++) {
    const old = pool.slice((s * 20) % pool.length, ((s * 20) % pool.length) + 20);
    const next = pool.slice(((s + 1) * 20) % pool.length, (((s + 1) * 20) % pool.length) + 20);
    const gained = next.map(shardOf).filter((sh) => (counts.set(sh, (counts.get(sh) ?? 0) + 1), counts.get(sh) === 1));
    const lost = old.map(shardOf).filter((sh) => (counts.set(sh, (counts.get(sh) ?? 0) - 1), counts.get(sh) === 0));
    if (gained.length) (commands++, await sub.subscribe(...gained.map((sh) => `${tag}s:${sh}`)));
    if (lost.length) (commands++, await sub.unsubscribe(...lost.map((sh) => `${tag}s:${sh}`)));
  }
  const churnMs = performance.now() - c0;
  sub.disconnect();
  pub.disconnect();
  return {
    shardsSubscribed: shards.size,
    received,
    wanted,
    thrownAway: received - wanted,
    publishPerSecond: Math.round(M / (publishMs / 1000)),
    viewportSwapsPerSecond: Math.round(SWAPS / Math.max(churnMs / 1000, 1e-6)),
    subscribeCommandsPerSwap: round(commands / SWAPS, 3),
  };
}

const a = await perUser();
const b = await sharded();
console.log(
  JSON.stringify(
    {
      command: commandLine(),
      parameters: { users: N, watchedByThisProcess: K, changes: M, shards: SHARDS, viewportSwaps: SWAPS },
      perUserChannels: a,
      shardedChannels: b,
      receivedRatioShardedOverPerUser: round(b.received / Math.max(a.received, 1), 1),
    },
    null,
    2,
  ),
);

/**
 * Several real server processes sharing one Redis, Neo4j and PostgreSQL: offline detection is claimed
 * exactly once across them, and a killed process's devices still go offline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth.js';
import { connectWs, gql, record, until } from '../support/clients.js';
import { spawnServer, type ServerProcess } from '../../scripts/server-process.js';
import { realStores, serverEnv, type RealStores } from '../support/real-stores.js';
import { TEST_SECRET } from '../support/server.js';
import { sql } from '../prisma/postgres.js';

const TTL_MS = 600;

describe('three server processes on one Redis', () => {
  let real: RealStores;
  let servers: ServerProcess[];
  const token = (u: string) => signToken(TEST_SECRET, u);

  beforeAll(async () => {
    real = await realStores({ ttlMs: TTL_MS });
    const env = serverEnv(real, { PRESENCE_TTL_MS: String(TTL_MS) }, { postgres: true });
    servers = await Promise.all([spawnServer(env), spawnServer(env), spawnServer(env)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all((servers ?? []).map((s) => s.stop('SIGTERM')));
    await real?.dispose();
  });

  const trailOf = async () =>
    (await sql<{ user_id: string; to: string; version: number; cause: string }>(`SELECT user_id, to_status AS "to", version, cause FROM "${real.schema}".transition_trail ORDER BY user_id, version`)).rows;

  it('should emit each expiry exactly once, whichever process swept it', async () => {
    const users = Array.from({ length: 30 }, (_, i) => `expiring${String(i).padStart(2, '0')}`);
    for (const [i, u] of users.entries()) {
      const res = await gql(servers[i % 3]!.url, 'mutation ($d: ID!) { heartbeat(deviceId: $d, platform: WEB) { status } }', { d: `${u}-dev` }, await token(u));
      expect(res.data).toEqual({ heartbeat: { status: 'ONLINE' } });
    }
    // Nobody refreshes them: all expire after the TTL and three sweepers race for them.
    await until(async () => (await trailOf()).filter((r) => users.includes(r.user_id) && r.to === 'OFFLINE').length >= 30, '30 OFFLINE rows', 20_000);
    const rows = (await trailOf()).filter((r) => users.includes(r.user_id));
    for (const u of users) {
      expect(rows.filter((r) => r.user_id === u).map((r) => [r.to, r.version, r.cause])).toEqual([
        ['ONLINE', 1, 'CONNECT'],
        ['OFFLINE', 2, 'EXPIRY'],
      ]);
    }
    // Versions would have moved past 2 had any process applied an expiry twice.
    const me = await gql(servers[1]!.url, '{ me { status version } }', {}, await token(users[0]!));
    expect(me.data).toEqual({ me: { status: 'OFFLINE', version: 2 } });
  });

  it('should take a killed process\'s devices offline after their TTL, seen by watchers elsewhere', async () => {
    const [alive, , doomed] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const carol = await token('carol');
    const bob = await token('bob');
    await gql(alive.url, '{ me { id } }', {}, bob);
    await gql(alive.url, 'mutation { setPrivacy(mode: EVERYONE) { privacy } }', {}, carol);
    const watcher = connectWs(alive.wsUrl, { authorization: `Bearer ${bob}` });
    await watcher.connected;
    const feed = record<{ presence: { presences: { userId: string; status: string; lastSeen: { at: string } | null }[] } }>(
      watcher.client,
      'subscription { presence(viewport: ["carol"]) { presences { userId status lastSeen { at } } } }',
    );
    const device = connectWs(doomed.wsUrl, { authorization: `Bearer ${carol}`, deviceId: 'carol-laptop', platform: 'DESKTOP' });
    await device.connected;
    await feed.next((e) => e.presence.presences[0]?.status === 'ONLINE', 'carol ONLINE (device on the doomed process)');
    // Her CONNECT in the trail before the kill: an outbox entry the doomed process had read but not yet
    // written to PostgreSQL is taken over only after 30 s (ABANDONED_MS, hot/redis/outbox.ts) — which
    // this test is not about.
    await until(async () => (await trailOf()).some((r) => r.user_id === 'carol' && r.to === 'ONLINE'), 'carol ONLINE in the trail');
    // SIGKILL: the process records no disconnect; only the TTL and another process's sweeper remain.
    await doomed.stop('SIGKILL');
    const offline = await feed.next((e) => e.presence.presences[0]?.status === 'OFFLINE', 'carol OFFLINE after the TTL', 15_000);
    expect(offline.presence.presences[0]!.lastSeen).not.toBeNull();
    await device.dispose().catch(() => undefined);
    await watcher.dispose();
    // The trail follows through the outbox, drained by whichever process is alive.
    await until(async () => (await trailOf()).filter((r) => r.user_id === 'carol').at(-1)?.to === 'OFFLINE', 'carol OFFLINE in the trail');
    expect((await trailOf()).filter((r) => r.user_id === 'carol').map((r) => [r.to, r.cause])).toEqual([
      ['ONLINE', 'CONNECT'],
      ['OFFLINE', 'EXPIRY'],
    ]);
  });
});

/**
 * The server on the real Redis, Neo4j and PostgreSQL (each test isolated by prefix, namespace, schema),
 * including what happens when each of them goes away and comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { neo4jConnection } from '../../scripts/neo4j/control.js';
import { connectWs, gql, record, until } from '../support/clients.js';
import { TcpProxy } from '../support/proxy.js';
import { realStores } from '../support/real-stores.js';
import { startTestServer } from '../support/server.js';
import { PgProxy, sql } from '../prisma/postgres.js';

const SUB = 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot presences { userId status version lastSeen { at } } } }';
type Batch = { presence: { snapshot: boolean; presences: { userId: string; status: string; version: number; lastSeen: { at: string } | null }[] } };
const TTL_MS = 500;

describe('on the real stores', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  async function serve(options: Parameters<typeof realStores>[0] extends infer O ? Partial<O> : never = {}) {
    const real = await realStores({ ttlMs: TTL_MS, ...options });
    cleanup.push(() => real.dispose());
    const t = await startTestServer({ stores: real.stores });
    cleanup.push(() => t.dispose());
    const tokens: Record<string, string> = {};
    for (const u of ['alice', 'bob', 'carol']) {
      tokens[u] = await t.token(u);
      expect((await gql(t.url, '{ me { id } }', {}, tokens[u])).data).toEqual({ me: { id: u } });
    }
    await gql(t.url, 'mutation { addContact(userId: "bob") }', {}, tokens.alice);
    await gql(t.url, 'mutation { addContact(userId: "bob") }', {}, tokens.carol);
    const as = (u: string, q: string) => gql(t.url, q, {}, tokens[u]);
    const ws = (params: Record<string, unknown>) => {
      const s = connectWs(t.wsUrl, params);
      cleanup.push(() => s.dispose());
      return s;
    };
    return { t, real, tokens, as, ws };
  }

  const trail = async (schema: string) =>
    (await sql<{ user_id: string; from: string; to: string; version: number; bucket: Date }>(`SELECT user_id, from_status AS "from", to_status AS "to", version, bucket FROM "${schema}".transition_trail ORDER BY user_id, version`)).rows;

  it('should show ONLINE, then OFFLINE with a floored last-seen, and land both transitions in the trail', async () => {
    const { t, real, tokens, ws } = await serve();
    const watcher = ws({ authorization: `Bearer ${tokens.bob}` });
    await watcher.connected;
    const feed = record<Batch>(watcher.client, SUB, { ids: ['alice'] });
    await feed.next((e) => e.presence.snapshot, 'snapshot');
    const device = connectWs(t.wsUrl, { authorization: `Bearer ${tokens.alice}`, deviceId: 'alice-laptop', platform: 'DESKTOP' });
    await device.connected;
    await feed.next((e) => e.presence.presences[0]?.status === 'ONLINE', 'alice ONLINE');
    const closedAt = Date.now();
    await device.dispose();
    const offline = await feed.next((e) => e.presence.presences[0]?.status === 'OFFLINE', 'alice OFFLINE', 10_000);
    expect(Date.parse(offline.presence.presences[0]!.lastSeen!.at)).toBe(Math.floor(closedAt / 60_000) * 60_000);
    await until(async () => (await trail(real.schema)).length === 2, 'both transitions in the trail', 10_000);
    const rows = await trail(real.schema);
    expect(rows.map((r) => [r.user_id, r.from, r.to, r.version])).toEqual([
      ['alice', 'OFFLINE', 'ONLINE', 1],
      ['alice', 'ONLINE', 'OFFLINE', 2],
    ]);
    expect(rows.every((r) => r.bucket.getTime() % 60_000 === 0)).toBe(true);
  });

  it('should lose no trail row when PostgreSQL goes away in the middle of a burst', async () => {
    const proxy = await PgProxy.open();
    cleanup.push(() => proxy.close());
    const { real, t } = await serve({ databaseUrl: proxy.url });
    const users = Array.from({ length: 20 }, (_, i) => `burst${i}`);
    const tokens = await Promise.all(users.map((u) => t.token(u)));
    const burst = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const device = { d: `${users[i]}-device` };
        const on = await gql(t.url, 'mutation ($d: ID!) { heartbeat(deviceId: $d, platform: WEB) { status } }', device, tokens[i]);
        const off = await gql(t.url, 'mutation ($d: ID!) { signOff(deviceId: $d) }', device, tokens[i]);
        expect([on.data, off.data]).toEqual([{ heartbeat: { status: 'ONLINE' } }, { signOff: true }]);
      }
    };
    await burst(0, 5);
    await until(async () => (await trail(real.schema)).length >= 4, 'the first transitions drained');
    proxy.down();
    await burst(5, 20);
    // The hot path kept working: the last user reads OFFLINE from hot state, with a last-seen.
    expect((await gql(t.url, '{ me { status lastSeen { bucketSeconds } } }', {}, tokens[19])).data).toEqual({ me: { status: 'OFFLINE', lastSeen: { bucketSeconds: 60 } } });
    expect(await real.stores.hot.outbox.backlog()).toBeGreaterThan(0);
    proxy.up();
    await until(async () => (await trail(real.schema)).length === 40, 'all 40 transitions in the trail', 40_000);
    const rows = await trail(real.schema);
    for (const u of users) {
      expect(rows.filter((r) => r.user_id === u).map((r) => [r.to, r.version])).toEqual([
        ['ONLINE', 1],
        ['OFFLINE', 2],
      ]);
    }
    await until(async () => (await real.stores.hot.outbox.backlog()) === 0, 'the outbox drained');
  });

  it('should answer UNKNOWN while Neo4j is unreachable, and the truth once it is back', async () => {
    const neo4j = new URL(neo4jConnection().uri);
    const proxy = await TcpProxy.start({ host: neo4j.hostname, port: Number(neo4j.port) });
    cleanup.push(() => proxy.close());
    const { as, ws, tokens } = await serve({ neo4jUri: `bolt://127.0.0.1:${proxy.port}` });
    // A live socket keeps alice online throughout (the gateway refreshes her device).
    await ws({ authorization: `Bearer ${tokens.alice}`, deviceId: 'alice-phone' }).connected;
    expect((await as('bob', '{ presence(userId: "alice") { status } }')).data).toEqual({ presence: { status: 'ONLINE' } });
    proxy.down();
    const during = await as('bob', '{ presences(userIds: ["alice", "carol"]) { userId status version } }');
    expect(during.data).toEqual({ presences: [{ userId: 'alice', status: 'UNKNOWN', version: 0 }, { userId: 'carol', status: 'UNKNOWN', version: 0 }] });
    expect((await as('alice', 'mutation { block(userId: "bob") }')).errors?.[0]?.extensions?.code).toBe('GRAPH_UNAVAILABLE');
    proxy.up();
    let last: unknown;
    await until(async () => {
      last = await as('bob', '{ presence(userId: "alice") { status } }');
      return JSON.stringify((last as { data: unknown }).data) === '{"presence":{"status":"ONLINE"}}';
    }, 'alice visible again', 15_000).catch((error: Error) => {
      throw new Error(`${error.message}; last answer: ${JSON.stringify(last)}`);
    });
  });

  it('should read UNKNOWN while Redis is stopped, then correct statuses once it is started again — never a false ONLINE', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const { tokens, as, ws } = await serve({ redisUrl: redis.url });
    const watcher = ws({ authorization: `Bearer ${tokens.bob}` });
    await watcher.connected;
    const device = ws({ authorization: `Bearer ${tokens.alice}`, deviceId: 'alice-phone', platform: 'MOBILE' });
    await device.connected;
    const feed = record<Batch>(watcher.client, SUB, { ids: ['alice', 'carol'] });
    await feed.next((e) => e.presence.snapshot, 'snapshot');
    const statusOf = (u: string) => feed.events.flatMap((e) => e.presence.presences.filter((p) => p.userId === u).map((p) => p.status));
    await until(() => statusOf('alice').at(-1) === 'ONLINE', 'alice ONLINE');

    await redis.stop();
    await feed.next(() => statusOf('alice').at(-1) === 'UNKNOWN' && statusOf('carol').at(-1) === 'UNKNOWN', 'both UNKNOWN while Redis is down', 10_000);
    const down = await as('bob', '{ presences(userIds: ["alice", "carol"]) { status } }');
    expect(down.data).toEqual({ presences: [{ status: 'UNKNOWN' }, { status: 'UNKNOWN' }] });
    expect((await as('carol', 'mutation { heartbeat(deviceId: "c1", platform: WEB) { status } }')).errors?.[0]?.extensions?.code).toBe('PRESENCE_UNAVAILABLE');

    await redis.start();
    // Redis came back empty (no persistence): alice's live socket brings her device back by itself.
    await until(async () => JSON.stringify((await as('bob', '{ presence(userId: "alice") { status } }')).data) === '{"presence":{"status":"ONLINE"}}', 'alice ONLINE again', 15_000);
    await feed.next(() => statusOf('alice').at(-1) === 'ONLINE', 'the subscription shows alice ONLINE again', 10_000);
    expect((await as('bob', '{ presence(userId: "carol") { status } }')).data).toEqual({ presence: { status: 'OFFLINE' } });
    expect(statusOf('carol').every((s) => s === 'OFFLINE' || s === 'UNKNOWN')).toBe(true);
  });
});

/** A redis-server of the test's own on a free port, that the test can stop and start again. */
async function startRedis() {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const up = async () => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let output = '';
    started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // Probe by connecting: binding the port to test it could take it from redis-server before it binds.
    await until(() => {
      if (started.exitCode !== null) throw new Error(`redis-server on ${port} exited (${started.exitCode}) before listening:\n${output}`);
      return new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
    }, `redis-server listening on ${port}`, 15_000);
  };
  await up();
  return {
    url: `redis://127.0.0.1:${port}`,
    start: up,
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const gone = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGTERM');
      await gone;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

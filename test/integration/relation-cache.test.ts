/**
 * The relation cache across real server processes on the real Redis and Neo4j: a repeated read is served
 * from memory, and a privacy change, a block or a removed contact made on another process is seen by
 * the next read — it is announced on the visibility feed and every cache drops what it replaces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth.js';
import { spawnServer, type ServerProcess } from '../../scripts/server-process.js';
import { gql, until } from '../support/clients.js';
import { realStores, serverEnv, type RealStores } from '../support/real-stores.js';
import { TEST_SECRET } from '../support/server.js';

describe('the relation cache on two server processes', () => {
  let real: RealStores;
  let reader: ServerProcess;
  let writer: ServerProcess;
  const token = (u: string) => signToken(TEST_SECRET, u);

  beforeAll(async () => {
    // Default timings: devices stay online for the whole test (it is about visibility, not expiry).
    real = await realStores({ ttlMs: 70_000 });
    const env = serverEnv(real, { PRESENCE_HEARTBEAT_MS: '30000', PRESENCE_JITTER_MS: '5000', PRESENCE_TTL_MS: '70000', PRESENCE_GRACE_MS: '15000' });
    [reader, writer] = await Promise.all([spawnServer(env), spawnServer(env)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([reader, writer].filter(Boolean).map((s) => s.stop('SIGTERM')));
    await real?.dispose();
  });

  const cacheReads = async (server: ServerProcess) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (result: string) => Number(text.match(new RegExp(`^presence_graph_cache_reads_total\\{result="${result}"\\} (\\d+)`, 'm'))?.[1] ?? Number.NaN);
    return { hit: value('hit'), miss: value('miss'), renewal: value('renewal') };
  };

  it('should answer a repeated read from memory, and the next read after a change made elsewhere from the graph', async () => {
    const [viewer, target, other] = await Promise.all(['cache-viewer', 'cache-target', 'cache-other'].map(token));
    for (const t of [viewer, target, other]) await gql(writer.url, '{ me { id } }', {}, t);
    expect((await gql(writer.url, 'mutation { addContact(userId: "cache-viewer") }', {}, target)).data).toEqual({ addContact: true });
    await gql(writer.url, 'mutation { setPrivacy(mode: EVERYONE) { privacy } }', {}, other);
    await gql(writer.url, 'mutation ($d: ID!) { heartbeat(deviceId: $d, platform: WEB) { status } }', { d: 'cache-target-d' }, target);
    await gql(writer.url, 'mutation ($d: ID!) { heartbeat(deviceId: $d, platform: WEB) { status } }', { d: 'cache-other-d' }, other);

    const read = async () => {
      const res = await gql<{ presences: { userId: string; status: string }[] }>(reader.url, '{ presences(userIds: ["cache-target", "cache-other"]) { userId status } }', {}, viewer);
      expect(res.errors).toBeUndefined();
      return res.data!.presences.map((p) => p.status);
    };
    expect(await read()).toEqual(['ONLINE', 'ONLINE']);
    const before = await cacheReads(reader);
    expect(await read()).toEqual(['ONLINE', 'ONLINE']);
    expect(await read()).toEqual(['ONLINE', 'ONLINE']);
    const after = await cacheReads(reader);
    expect(after.miss - before.miss).toBe(0);
    expect(after.hit - before.hit).toBeGreaterThanOrEqual(2);
    // Seconds into a minute's TTL: nothing is old enough to renew (the counter is there, at zero).
    expect(after.renewal - before.renewal).toBe(0);

    // Made on the other process: each is seen by the reader's next reads (announced, then dropped).
    expect((await gql(writer.url, 'mutation { removeContact(userId: "cache-viewer") }', {}, target)).data).toEqual({ removeContact: true });
    await until(async () => (await read())[0] === 'UNKNOWN', 'the removed contact hides the target', 5_000);
    expect((await gql(writer.url, 'mutation { block(userId: "cache-viewer") }', {}, other)).data).toEqual({ block: true });
    await until(async () => (await read())[1] === 'UNKNOWN', 'the block hides the other', 5_000);
    expect((await gql(writer.url, 'mutation { setPrivacy(mode: EVERYONE) { privacy } }', {}, target)).data).toEqual({ setPrivacy: { privacy: 'EVERYONE' } });
    await until(async () => (await read())[0] === 'ONLINE', 'EVERYONE shows the target again', 5_000);
    expect(await read()).toEqual(['ONLINE', 'UNKNOWN']);
  });
});

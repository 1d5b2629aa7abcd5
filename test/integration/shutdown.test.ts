/**
 * A graceful shutdown (SIGTERM, 1001 to every socket) records each device's disconnect before the
 * process exits: the devices enter their grace window, instead of waiting out their whole TTL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth.js';
import { spawnServer, type ServerProcess } from '../../scripts/server-process.js';
import { connectWs, gql, record } from '../support/clients.js';
import { realStores, serverEnv, type RealStores } from '../support/real-stores.js';
import { TEST_SECRET } from '../support/server.js';

describe('graceful shutdown', () => {
  let real: RealStores;
  let stays: ServerProcess;
  let leaves: ServerProcess;

  beforeAll(async () => {
    real = await realStores({ ttlMs: 60_000 });
    // TTL one minute, grace 300 ms: OFFLINE within seconds can only come from a recorded disconnect.
    const env = serverEnv(real, { PRESENCE_HEARTBEAT_MS: '20000', PRESENCE_JITTER_MS: '1000', PRESENCE_TTL_MS: '60000', PRESENCE_GRACE_MS: '300' });
    [stays, leaves] = await Promise.all([spawnServer(env), spawnServer(env)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([stays?.stop(), leaves?.stop()]);
    await real?.dispose();
  });

  it('should put the devices of a process stopped with SIGTERM into their grace window, not leave them to the TTL', async () => {
    const alice = await signToken(TEST_SECRET, 'alice');
    const bob = await signToken(TEST_SECRET, 'bob');
    await gql(stays.url, '{ me { id } }', {}, bob);
    await gql(stays.url, 'mutation { setPrivacy(mode: EVERYONE) { privacy } }', {}, alice);
    const watcher = connectWs(stays.wsUrl, { authorization: `Bearer ${bob}` });
    await watcher.connected;
    const feed = record<{ presence: { presences: { status: string }[] } }>(watcher.client, 'subscription { presence(viewport: ["alice"]) { presences { status } } }');
    const device = connectWs(leaves.wsUrl, { authorization: `Bearer ${alice}`, deviceId: 'alice-desk', platform: 'DESKTOP' });
    await device.connected;
    await feed.next((e) => e.presence.presences[0]?.status === 'ONLINE', 'alice ONLINE');
    await leaves.stop('SIGTERM');
    expect(await device.closed).toBe(1001);
    await feed.next((e) => e.presence.presences[0]?.status === 'OFFLINE', 'alice OFFLINE after the grace window (not the 60 s TTL)', 10_000);
    await watcher.dispose();
  });
});

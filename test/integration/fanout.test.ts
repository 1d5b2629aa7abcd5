/**
 * Viewport-scoped fan-out across real server processes sharing one Redis: a change reaches every
 * process that has a watcher of that user, and no other; frames go only to subscriptions whose viewport
 * holds the user. Measured in frames and Redis messages, never in time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth.js';
import { connectWs, gql, record, until, type Recorder, type WsSession } from '../support/clients.js';
import { spawnServer, type ServerProcess } from '../../scripts/server-process.js';
import { realStores, serverEnv, type RealStores } from '../support/real-stores.js';
import { TEST_SECRET } from '../support/server.js';

const SUB = 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot presences { userId status version } } }';
type Batch = { presence: { snapshot: boolean; presences: { userId: string; status: string; version: number }[] } };

describe('fan-out across two server processes', () => {
  let real: RealStores;
  let a: ServerProcess;
  let b: ServerProcess;
  const sessions: WsSession[] = [];
  const token = (u: string) => signToken(TEST_SECRET, u);
  const users = ['alice', 'bob', 'carol', 'dave', 'erin'];

  beforeAll(async () => {
    // The default grace (15 s) keeps a closed device online: tests here use signOff for OFFLINE.
    real = await realStores({ ttlMs: 70_000 });
    const env = serverEnv(real, { PRESENCE_HEARTBEAT_MS: '30000', PRESENCE_JITTER_MS: '5000', PRESENCE_TTL_MS: '70000', PRESENCE_GRACE_MS: '15000' });
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    for (const u of users) {
      await gql(a.url, '{ me { id } }', {}, await token(u));
      if (u !== 'bob') await gql(a.url, 'mutation { setPrivacy(mode: EVERYONE) { privacy } }', {}, await token(u));
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.dispose().catch(() => undefined)));
    await Promise.all([a?.stop(), b?.stop()]);
    await real?.dispose();
  });

  const feedMessages = async (server: ServerProcess) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(text.match(/^presence_feed_messages_total (\d+)/m)?.[1] ?? Number.NaN);
  };
  const beat = async (server: ServerProcess, user: string, activity: 'ACTIVE' | 'IDLE', device = `${user}-web`) => {
    const res = await gql(server.url, 'mutation ($d: ID!, $a: Activity) { heartbeat(deviceId: $d, platform: WEB, activity: $a) { status } }', { d: device, a: activity }, await token(user));
    expect(res.errors).toBeUndefined();
  };
  const signOff = async (server: ServerProcess, user: string, device = `${user}-web`) =>
    expect((await gql(server.url, 'mutation ($d: ID!) { signOff(deviceId: $d) }', { d: device }, await token(user))).data).toEqual({ signOff: true });
  const watch = async (server: ServerProcess, viewer: string, ids: string[]): Promise<{ session: WsSession; feed: Recorder<Batch> }> => {
    const session = connectWs(server.wsUrl, { authorization: `Bearer ${await token(viewer)}` });
    sessions.push(session);
    await session.connected;
    const feed = record<Batch>(session.client, SUB, { ids });
    await feed.next((e) => e.presence.snapshot, `${viewer}'s snapshot`);
    return { session, feed };
  };
  const statuses = (feed: Recorder<Batch>, user: string) => feed.events.flatMap((e) => e.presence.presences.filter((p) => p.userId === user).map((p) => p.status));

  it('should show a watcher on A a user connected to B going ONLINE, IDLE and OFFLINE — and nothing of users outside its viewport', async () => {
    const { feed } = await watch(a, 'bob', ['alice']);
    const device = connectWs(b.wsUrl, { authorization: `Bearer ${await token('alice')}`, deviceId: 'alice-b', platform: 'MOBILE' });
    sessions.push(device);
    await device.connected;
    await feed.next(() => statuses(feed, 'alice').at(-1) === 'ONLINE', 'alice ONLINE');
    // carol is visible to bob but not in his viewport: her changes must produce no frame for him.
    await beat(b, 'carol', 'ACTIVE');
    await beat(b, 'carol', 'IDLE');
    // The socket's own device reports IDLE over HTTP (same user, same device id).
    await beat(b, 'alice', 'IDLE', 'alice-b');
    await feed.next(() => statuses(feed, 'alice').at(-1) === 'IDLE', 'alice IDLE');
    await signOff(b, 'alice', 'alice-b');
    await device.dispose();
    await feed.next(() => statuses(feed, 'alice').at(-1) === 'OFFLINE', 'alice OFFLINE', 20_000);
    expect(feed.events.flatMap((e) => e.presence.presences.map((p) => p.userId))).toEqual(['alice', 'alice', 'alice', 'alice']);
    feed.stop();
    await signOff(b, 'carol');
  });

  it('should deliver nothing for a user to a process where nobody watches them', async () => {
    const { feed } = await watch(a, 'bob', ['dave']);
    const [onA, onB] = [await feedMessages(a), await feedMessages(b)];
    await beat(b, 'dave', 'ACTIVE');
    await beat(b, 'erin', 'ACTIVE');
    await beat(a, 'erin', 'IDLE');
    await beat(b, 'dave', 'IDLE');
    await feed.next(() => statuses(feed, 'dave').at(-1) === 'IDLE', 'dave IDLE');
    // A watches dave (2 transitions); nobody watches erin; B watches nobody at all.
    await until(async () => (await feedMessages(a)) - onA === 2, 'A to have heard exactly dave\'s 2 transitions');
    expect((await feedMessages(b)) - onB).toBe(0);
    feed.stop();
    await signOff(b, 'dave');
    await signOff(a, 'erin');
  });

  it('should stop a process hearing about ids removed from the viewport, and stop the frames', async () => {
    const session = connectWs(a.wsUrl, { authorization: `Bearer ${await token('bob')}` });
    sessions.push(session);
    await session.connected;
    const wide = record<Batch>(session.client, SUB, { ids: ['carol', 'erin'] });
    await wide.next((e) => e.presence.snapshot, 'wide snapshot');
    const narrow = record<Batch>(session.client, SUB, { ids: ['carol'] });
    await narrow.next((e) => e.presence.snapshot, 'narrow snapshot');
    wide.stop();
    // A sentinel subscription made after the narrowing proves the unsubscribe reached Redis first.
    const sentinel = record<Batch>(session.client, SUB, { ids: ['dave'] });
    await sentinel.next((e) => e.presence.snapshot, 'sentinel snapshot');
    const before = await feedMessages(a);
    await beat(b, 'erin', 'ACTIVE');
    await beat(b, 'carol', 'ACTIVE');
    await beat(b, 'dave', 'ACTIVE');
    await sentinel.next(() => statuses(sentinel, 'dave').at(-1) === 'ONLINE', 'dave ONLINE');
    await narrow.next(() => statuses(narrow, 'carol').at(-1) === 'ONLINE', 'carol ONLINE');
    expect(statuses(narrow, 'erin')).toEqual([]);
    expect(statuses(wide, 'erin')).toEqual(['OFFLINE']);
    await until(async () => (await feedMessages(a)) - before === 2, 'A to have heard carol and dave only');
    narrow.stop();
    sentinel.stop();
    for (const u of ['erin', 'carol', 'dave']) await signOff(b, u);
  });

  it('should apply a block made through B to a subscription open on A', async () => {
    await beat(b, 'erin', 'ACTIVE');
    const { feed } = await watch(a, 'bob', ['erin']);
    expect(statuses(feed, 'erin')).toEqual(['ONLINE']);
    expect((await gql(b.url, 'mutation { block(userId: "bob") }', {}, await token('erin'))).data).toEqual({ block: true });
    await feed.next(() => statuses(feed, 'erin').at(-1) === 'UNKNOWN', 'erin UNKNOWN to bob');
    await beat(b, 'erin', 'IDLE');
    await beat(b, 'erin', 'ACTIVE');
    expect((await gql(a.url, '{ presence(userId: "erin") { status } }', {}, await token('bob'))).data).toEqual({ presence: { status: 'UNKNOWN' } });
    expect(statuses(feed, 'erin').slice(1).every((s) => s === 'UNKNOWN')).toBe(true);
    await gql(b.url, 'mutation { unblock(userId: "bob") }', {}, await token('erin'));
    await feed.next(() => statuses(feed, 'erin').at(-1) === 'ONLINE', 'erin visible again after the unblock');
    feed.stop();
    await signOff(b, 'erin');
  });
});

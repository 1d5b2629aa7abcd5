/**
 * The acceptance path of the foundation issue, over the public contract only: a user connects over
 * graphql-ws with a deviceId, a contact watching them sees ONLINE, then OFFLINE with a minute-floored
 * last-seen once the socket closes and the grace window passes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HotStore } from '../../hot/port.js';
import { StoreUnavailableError } from '../../presence/index.js';
import { embeddedStores } from '../../server/stores.js';
import { connectWs, gql, record, type WsSession } from '../support/clients.js';
import { switchable } from '../support/faults.js';
import { startTestServer, type TestServer } from '../support/server.js';

const VIEWPORT = /* GraphQL */ `
  subscription ($ids: [ID!]!) {
    presence(viewport: $ids) { snapshot presences { userId status platforms version lastSeen { at ago bucketSeconds } } }
  }
`;

type Batch = { presence: { snapshot: boolean; presences: { userId: string; status: string; platforms: string[]; version: number; lastSeen: { at: string; ago: string; bucketSeconds: number } | null }[] } };

describe('a graphql-ws device session', () => {
  let t: TestServer;
  const sessions: WsSession[] = [];
  let alice: string;
  let bob: string;

  beforeEach(async () => {
    t = await startTestServer();
    alice = await t.token('alice');
    bob = await t.token('bob');
    // Both sign in once (that registers them), then alice lists bob as a contact so bob may see her.
    expect((await gql(t.url, '{ me { id } }', {}, bob)).data).toEqual({ me: { id: 'bob' } });
    expect((await gql(t.url, 'mutation ($u: ID!) { addContact(userId: $u) }', { u: 'bob' }, alice)).data).toEqual({ addContact: true });
  });

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.dispose().catch(() => undefined)));
    await t.dispose();
  });

  it('should show the watcher ONLINE on ack, then OFFLINE with a floored last-seen after close + grace', async () => {
    const watcher = connectWs(t.wsUrl, { authorization: `Bearer ${bob}` });
    sessions.push(watcher);
    await watcher.connected;
    const feed = record<Batch>(watcher.client, VIEWPORT, { ids: ['alice'] });
    const snapshot = await feed.next((e) => e.presence.snapshot, 'snapshot');
    expect(snapshot.presence.presences).toEqual([{ userId: 'alice', status: 'OFFLINE', platforms: [], version: 0, lastSeen: null }]);

    const device = connectWs(t.wsUrl, { authorization: `Bearer ${alice}`, deviceId: 'alice-laptop', platform: 'DESKTOP' });
    const ack = await device.connected;
    expect(ack).toEqual({ userId: 'alice', heartbeatMs: 200, ttlMs: 500 });
    const online = await feed.next((e) => e.presence.presences.some((p) => p.status === 'ONLINE'), 'alice ONLINE');
    expect(online.presence).toEqual({ snapshot: false, presences: [{ userId: 'alice', status: 'ONLINE', platforms: ['DESKTOP'], version: 1, lastSeen: null }] });

    const closedAt = Date.now();
    await device.dispose();
    const offline = await feed.next((e) => e.presence.presences.some((p) => p.status === 'OFFLINE'), 'alice OFFLINE');
    const [p] = offline.presence.presences;
    expect(p).toMatchObject({ userId: 'alice', status: 'OFFLINE', platforms: [], version: 2 });
    const at = Date.parse(p!.lastSeen!.at);
    expect(at % 60_000).toBe(0);
    expect(at).toBe(Math.floor(closedAt / 60_000) * 60_000);
    expect(p!.lastSeen).toMatchObject({ ago: 'just now', bucketSeconds: 60 });
    // OFFLINE only after the grace window: the grace is 300 ms.
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(300);
    expect(feed.errors).toEqual([]);
  });

  it('should make no OFFLINE/ONLINE flap when the device reconnects within the grace window', async () => {
    // carol is a sentinel: her device closes just after alice's and never comes back, so her OFFLINE
    // proves alice's grace window has passed and been swept.
    const carol = await t.token('carol');
    expect((await gql(t.url, 'mutation { setPrivacy(mode: EVERYONE) { privacy } }', {}, carol)).data).toEqual({ setPrivacy: { privacy: 'EVERYONE' } });
    const watcher = connectWs(t.wsUrl, { authorization: `Bearer ${bob}` });
    sessions.push(watcher);
    await watcher.connected;
    const feed = record<Batch>(watcher.client, VIEWPORT, { ids: ['alice', 'carol'] });
    await feed.next((e) => e.presence.snapshot, 'snapshot');

    const first = connectWs(t.wsUrl, { authorization: `Bearer ${alice}`, deviceId: 'alice-phone', platform: 'MOBILE' });
    const sentinel = connectWs(t.wsUrl, { authorization: `Bearer ${carol}`, deviceId: 'carol-phone', platform: 'MOBILE' });
    await Promise.all([first.connected, sentinel.connected]);
    const statusOf = (id: string) => feed.events.flatMap((e) => e.presence.presences.filter((p) => p.userId === id).map((p) => p.status));
    await feed.next(() => statusOf('alice').includes('ONLINE') && statusOf('carol').includes('ONLINE'), 'both ONLINE');
    await first.dispose();
    await sentinel.dispose();
    const second = connectWs(t.wsUrl, { authorization: `Bearer ${alice}`, deviceId: 'alice-phone', platform: 'MOBILE' });
    sessions.push(second);
    await second.connected;
    await feed.next(() => statusOf('carol').at(-1) === 'OFFLINE', 'the sentinel OFFLINE');

    expect(statusOf('alice')).toEqual(['OFFLINE', 'ONLINE']);
    const me = await gql(t.url, '{ me { status devices { deviceId platform } } }', {}, alice);
    expect(me.data).toEqual({ me: { status: 'ONLINE', devices: [{ deviceId: 'alice-phone', platform: 'MOBILE' }] } });
  });

  it('should keep a device online past its TTL while the socket lives (the gateway refreshes it)', async () => {
    // carol heartbeats once over HTTP and never again: her OFFLINE proves a whole TTL has passed and
    // been swept, while alice's socket kept her device alive.
    const carol = await t.token('carol');
    await gql(t.url, 'mutation { setPrivacy(mode: EVERYONE) { privacy } }', {}, carol);
    const watcher = connectWs(t.wsUrl, { authorization: `Bearer ${bob}` });
    sessions.push(watcher);
    await watcher.connected;
    const feed = record<Batch>(watcher.client, VIEWPORT, { ids: ['alice', 'carol'] });
    await feed.next((e) => e.presence.snapshot, 'snapshot');

    const device = connectWs(t.wsUrl, { authorization: `Bearer ${alice}`, deviceId: 'alice-tab', platform: 'WEB' });
    sessions.push(device);
    await device.connected;
    const beat = await gql(t.url, 'mutation { heartbeat(deviceId: "carol-cli", platform: DESKTOP) { status ttlMs } }', {}, carol);
    expect(beat.data).toEqual({ heartbeat: { status: 'ONLINE', ttlMs: 500 } });
    const statusOf = (id: string) => feed.events.flatMap((e) => e.presence.presences.filter((p) => p.userId === id).map((p) => p.status));
    await feed.next(() => statusOf('carol').at(-1) === 'OFFLINE', 'carol OFFLINE after her TTL', 5_000);

    expect(statusOf('alice')).toEqual(['OFFLINE', 'ONLINE']);
    const now = await gql(t.url, '{ presence(userId: "alice") { status } }', {}, bob);
    expect(now.data).toEqual({ presence: { status: 'ONLINE' } });
  });
});

describe('the gateway\'s refresh of open device sessions', () => {
  it('should refresh every session once per interval in batches per wheel slot, with no full heartbeat, and keep all online', async () => {
    const counted = switchable<HotStore>(embeddedStores().hot, 'hot');
    const batches: number[] = [];
    const inner = counted.store.refresh.bind(counted.store);
    const hot: HotStore = Object.assign(Object.create(counted.store) as HotStore, {
      refresh: (...args: Parameters<HotStore['refresh']>) => {
        batches.push(args[0].length);
        return inner(...args);
      },
    });
    const t = await startTestServer({ stores: { ...embeddedStores(), hot }, env: { PRESENCE_HEARTBEAT_MS: '400', PRESENCE_TTL_MS: '1000' } });
    const sessions: WsSession[] = [];
    try {
      const N = 200;
      const users = Array.from({ length: N }, (_, i) => `user${i}`);
      for (const [i, user] of users.entries()) sessions.push(connectWs(t.wsUrl, { authorization: `Bearer ${await t.token(user)}`, deviceId: `dev${i}`, platform: 'WEB' }));
      await Promise.all(sessions.map((s) => s.connected));
      const lastSeen = async () => [...(await t.stores.hot.load(users))].map(([id, state]) => [id, Object.values(state.devices)[0]!.lastSeenAt] as const);
      const connectedAt = new Map(await lastSeen());
      counted.reset();
      batches.length = 0;
      // Until every device has been refreshed at least once since it connected (with a deadline).
      await expect.poll(async () => (await lastSeen()).filter(([id, at]) => at > connectedAt.get(id)!).length, { timeout: 5_000, interval: 50 }).toBe(N);
      // 200 sessions spread over 100 slots: a call carries a whole slot (~2.3 sessions), not one socket.
      const refreshedDevices = batches.reduce((a, b) => a + b, 0);
      expect(refreshedDevices).toBeGreaterThanOrEqual(N);
      expect(refreshedDevices / batches.length).toBeGreaterThan(1.5);
      expect(counted.calls.commit ?? 0).toBe(0);
      expect(counted.calls.claimDevice ?? 0).toBe(0);
      const me = await gql(t.url, '{ me { status } }', {}, await t.token('user0'));
      expect(me.data).toEqual({ me: { status: 'ONLINE' } });
    } finally {
      await Promise.all(sessions.map((s) => s.dispose().catch(() => undefined)));
      await t.dispose();
    }
  });
});

describe('the gateway\'s record of closed sockets', () => {
  /** Long timings: nothing expires or is swept while a test looks, so only a recorded close moves an expiry this near. */
  const TIMING = { PRESENCE_HEARTBEAT_MS: '20000', PRESENCE_JITTER_MS: '1000', PRESENCE_TTL_MS: '60000', PRESENCE_GRACE_MS: '15000' };

  /** An embedded hot store whose next `failLoads` loads fail as a Redis command timeout would. */
  function flakyHot() {
    const inner = embeddedStores().hot;
    const control = { failLoads: 0, loads: 0 };
    // Over switchable's proxy, whose methods run on the store itself (its private fields intact).
    const hot: HotStore = Object.assign(Object.create(switchable<HotStore>(inner, 'hot').store) as HotStore, {
      load: (...args: Parameters<HotStore['load']>) => {
        control.loads++;
        if (control.failLoads > 0) {
          control.failLoads--;
          return Promise.reject(new StoreUnavailableError('hot'));
        }
        return inner.load(...args);
      },
    });
    return { hot, control };
  }

  async function closeOne(failLoads: number) {
    const { hot, control } = flakyHot();
    const t = await startTestServer({ stores: { ...embeddedStores(), hot }, env: TIMING });
    try {
      const device = connectWs(t.wsUrl, { authorization: `Bearer ${await t.token('alice')}`, deviceId: 'alice-laptop', platform: 'DESKTOP' });
      await device.connected;
      control.failLoads = failLoads;
      control.loads = 0;
      const closedFrom = Date.now();
      await device.dispose();
      const counts = async () => {
        const text = await (await fetch(`${t.url}/metrics`)).text();
        const count = (outcome: string) => Number(text.match(new RegExp(`^presence_disconnects_total\\{outcome="${outcome}"\\} (\\d+)`, 'm'))?.[1] ?? 0);
        return { recorded: count('recorded'), failed: count('failed') };
      };
      await expect.poll(async () => Object.values(await counts()).reduce((a, b) => a + b), { timeout: 10_000, interval: 20 }).toBe(1);
      const device0 = Object.values((await hot.load(['alice'])).get('alice')!.devices)[0]!;
      return { counts: await counts(), loads: control.loads, closedFrom, expiresAt: device0.expiresAt };
    } finally {
      await t.dispose();
    }
  }

  it('should go round once more when recording a disconnect fails, and record it then', async () => {
    const { counts, loads, closedFrom, expiresAt } = await closeOne(1);
    expect(counts).toEqual({ recorded: 1, failed: 0 });
    // The failed read, the retry's read, and the test's own.
    expect(loads).toBe(2 + 1);
    // In its grace window (its close + 15 s), not left to its 60 s heartbeat TTL.
    expect(expiresAt).toBeGreaterThanOrEqual(closedFrom + 15_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 15_000);
  });

  it('should count a disconnect failed after its second failure and leave the device to its TTL', async () => {
    const { counts, loads, closedFrom, expiresAt } = await closeOne(2);
    expect(counts).toEqual({ recorded: 0, failed: 1 });
    expect(loads).toBe(2 + 1);
    expect(expiresAt).toBeGreaterThan(closedFrom + 40_000);
  });
});

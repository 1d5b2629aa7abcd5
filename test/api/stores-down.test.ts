/** Fail closed: when a store cannot be read the answer is UNKNOWN, never a stale ONLINE; writes are refused. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedContactGraph } from '../../graph/embedded.js';
import { RELATION_TTL_MS } from '../../graph/cached.js';
import type { ContactGraph } from '../../graph/port.js';
import { EmbeddedHotStore } from '../../hot/embedded.js';
import type { HotStore } from '../../hot/port.js';
import { EmbeddedLastSeenStore } from '../../prisma/embedded.js';
import type { LastSeenStore } from '../../prisma/port.js';
import { codes, gql } from '../support/clients.js';
import { switchable, type Switchable } from '../support/faults.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('with a store down', () => {
  let t: TestServer;
  let hot: Switchable<HotStore>;
  let graph: Switchable<ContactGraph>;
  let lastSeen: Switchable<LastSeenStore>;
  const tokens: Record<string, string> = {};
  const as = (u: string, q: string) => gql(t.url, q, {}, tokens[u]);
  /** The servers' clock: moved on by hand (device expiries are far off until it is). */
  let now: number;

  beforeEach(async () => {
    now = Date.now();
    hot = switchable<HotStore>(new EmbeddedHotStore(), 'hot');
    graph = switchable<ContactGraph>(new EmbeddedContactGraph(), 'graph');
    lastSeen = switchable<LastSeenStore>(new EmbeddedLastSeenStore(), 'lastSeen');
    t = await startTestServer({ stores: { hot: hot.store, graph: graph.store, lastSeen: lastSeen.store, kinds: { hot: 'test', graph: 'test', lastSeen: 'test' } }, clock: () => now });
    for (const u of ['alice', 'bob']) {
      tokens[u] = await t.token(u);
      await as(u, '{ me { id } }');
    }
    await as('alice', 'mutation { addContact(userId: "bob") }');
    await as('alice', 'mutation { heartbeat(deviceId: "a1", platform: WEB) { status } }');
    expect((await as('bob', '{ presence(userId: "alice") { status } }')).data).toEqual({ presence: { status: 'ONLINE' } });
  });
  afterEach(() => t.dispose());

  it('should read UNKNOWN (version 0) when the hot store is down, and ONLINE again once it is back', async () => {
    hot.down = true;
    const res = await as('bob', '{ presences(userIds: ["alice", "bob"]) { userId status platforms version lastSeen { at } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      presences: [
        { userId: 'alice', status: 'UNKNOWN', platforms: [], version: 0, lastSeen: null },
        { userId: 'bob', status: 'UNKNOWN', platforms: [], version: 0, lastSeen: null },
      ],
    });
    hot.down = false;
    expect((await as('bob', '{ presence(userId: "alice") { status version } }')).data).toEqual({ presence: { status: 'ONLINE', version: 1 } });
  });

  it('should refuse writes with PRESENCE_UNAVAILABLE when the hot store is down, changing nothing', async () => {
    hot.down = true;
    const res = await as('alice', 'mutation { setStatus(status: DND) { status } }');
    expect(codes(res)).toEqual(['PRESENCE_UNAVAILABLE']);
    expect(res.errors![0]!.extensions).toMatchObject({ retryable: true });
    expect(codes(await as('alice', 'mutation { heartbeat(deviceId: "a2", platform: MOBILE) { status } }'))).toEqual(['PRESENCE_UNAVAILABLE']);
    hot.down = false;
    expect((await as('alice', '{ me { manualStatus devices { deviceId } } }')).data).toEqual({ me: { manualStatus: 'AUTO', devices: [{ deviceId: 'a1' }] } });
  });

  it('should read UNKNOWN when the contact graph is down for every relation it has not proven, and for the rest once their proof ages out', async () => {
    tokens.carol = await t.token('carol');
    await as('carol', '{ me { id } }');
    await as('alice', 'mutation { setPrivacy(mode: EVERYONE) { privacy } }');
    expect((await as('bob', '{ presence(userId: "alice") { status } }')).data).toEqual({ presence: { status: 'ONLINE' } });
    graph.down = true;
    // carol's relation to alice was never read: privacy cannot be proven.
    expect((await as('carol', '{ presence(userId: "alice") { status version lastSeen { at } } }')).data).toEqual({ presence: { status: 'UNKNOWN', version: 0, lastSeen: null } });
    // bob's was read just now and no change has been announced since: it holds for its life in the
    // relation cache (graph/cached.ts, at most its TTL), and not a moment longer.
    expect((await as('bob', '{ presence(userId: "alice") { status } }')).data).toEqual({ presence: { status: 'ONLINE' } });
    // Your own presence needs no privacy proof.
    expect((await as('alice', '{ presence(userId: "alice") { status } }')).data).toEqual({ presence: { status: 'ONLINE' } });
    now += RELATION_TTL_MS;
    expect((await as('bob', '{ presence(userId: "alice") { status version lastSeen { at } } }')).data).toEqual({ presence: { status: 'UNKNOWN', version: 0, lastSeen: null } });
    // Your own mode, no longer proven and unreadable, is null.
    expect((await as('alice', '{ me { privacy } }')).data).toEqual({ me: { privacy: null } });
    expect(codes(await as('alice', 'mutation { setPrivacy(mode: NOBODY) { privacy } }'))).toEqual(['GRAPH_UNAVAILABLE']);
    graph.down = false;
    expect((await as('alice', 'mutation { heartbeat(deviceId: "a1", platform: WEB) { status } }')).data).toEqual({ heartbeat: { status: 'ONLINE' } });
    expect((await as('bob', '{ presence(userId: "alice") { status } }')).data).toEqual({ presence: { status: 'ONLINE' } });
  });

  it('should keep the hot path working when the last-seen store is down', async () => {
    lastSeen.down = true;
    expect((await as('alice', 'mutation { signOff(deviceId: "a1") }')).data).toEqual({ signOff: true });
    const res = await as('bob', '{ presence(userId: "alice") { status lastSeen { bucketSeconds } } }');
    expect(res.data).toEqual({ presence: { status: 'OFFLINE', lastSeen: { bucketSeconds: 60 } } });
  });

  it('should answer /ready 503 naming the store that is down', async () => {
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);
    graph.down = true;
    const res = await fetch(`${t.url}/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ stores: { hot: 'up', graph: 'down', lastSeen: 'up' } });
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  });
});

describe('batching', () => {
  /**
   * A server on counting stores whose viewer lists `ids` as mutual contacts; then the background sweeper
   * and drain are stopped and the counts zeroed, so that only the next request's reads count. `body` runs
   * against it; the server is disposed of however `body` ends.
   */
  async function withCountingServer(
    ids: readonly string[],
    body: (server: { t: TestServer; viewer: string; hot: Switchable<HotStore>; graph: Switchable<ContactGraph>; lastSeen: Switchable<LastSeenStore> }) => Promise<void>,
  ): Promise<void> {
    const hot = switchable<HotStore>(new EmbeddedHotStore(), 'hot');
    const graph = switchable<ContactGraph>(new EmbeddedContactGraph(), 'graph');
    const lastSeen = switchable<LastSeenStore>(new EmbeddedLastSeenStore(), 'lastSeen');
    const t = await startTestServer({ stores: { hot: hot.store, graph: graph.store, lastSeen: lastSeen.store, kinds: { hot: 'test', graph: 'test', lastSeen: 'test' } } });
    try {
      const viewer = await t.token('viewer');
      await gql(t.url, '{ me { id } }', {}, viewer);
      for (const id of ids) {
        await graph.store.ensureUser(id);
        await graph.store.addContact('viewer', id);
        await graph.store.addContact(id, 'viewer');
      }
      await t.server.sweeper.stop();
      await t.server.drain.stop();
      hot.reset();
      graph.reset();
      lastSeen.reset();
      await body({ t, viewer, hot, graph, lastSeen });
    } finally {
      await t.dispose();
    }
  }

  it('should cost one read per store for a contacts page of 100', async () => {
    await withCountingServer(Array.from({ length: 120 }, (_, i) => `c${String(i).padStart(3, '0')}`), async ({ t, viewer, hot, graph, lastSeen }) => {
      const res = await gql<{ contacts: { edges: { node: { userId: string; presence: { status: string } } }[]; pageInfo: { hasNextPage: boolean } } }>(
        t.url,
        '{ contacts(first: 100) { edges { node { userId presence { status lastSeen { ago } } } } pageInfo { hasNextPage endCursor } } }',
        {},
        viewer,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.contacts.edges).toHaveLength(100);
      expect(res.data!.contacts.pageInfo.hasNextPage).toBe(true);
      expect(hot.calls).toEqual({ records: 1 });
      expect(graph.calls).toEqual({ contacts: 1, audience: 1 });
      expect(lastSeen.calls).toEqual({ lastSeen: 1 });
    });
  });

  it('should read the union once per store when several fields of one query ask for overlapping users', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `o${String(i).padStart(2, '0')}`);
    await withCountingServer(ids, async ({ t, viewer, hot, graph, lastSeen }) => {
      const res = await gql<{ a: { userId: string }[]; b: { userId: string }[]; contacts: { edges: { node: { userId: string } }[] } }>(
        t.url,
        'query ($a: [ID!]!, $b: [ID!]!) { a: presences(userIds: $a) { userId status } b: presences(userIds: $b) { userId status } contacts(first: 10) { edges { node { userId presence { status } } } } }',
        { a: ids.slice(0, 20), b: ids.slice(10, 30) },
        viewer,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.a.map((p) => p.userId)).toEqual(ids.slice(0, 20));
      expect(res.data!.b.map((p) => p.userId)).toEqual(ids.slice(10, 30));
      expect(res.data!.contacts.edges.map((e) => e.node.userId)).toEqual(ids.slice(0, 10));
      // The two lists and the contacts page are one read per store: the tick's lists joined.
      expect(hot.calls).toEqual({ records: 1 });
      expect(graph.calls).toEqual({ contacts: 1, audience: 1 });
      expect(lastSeen.calls).toEqual({ lastSeen: 1 });
    });
  });

  it('should read the hot store and the last-seen store only for the users the viewer may see', async () => {
    const ids = ['m0', 'm1', 'm2'];
    await withCountingServer(ids, async ({ t, viewer, hot, graph, lastSeen }) => {
      // Hidden from the viewer: a CONTACTS user who does not list them, a NOBODY contact, a contact
      // who blocked them. Visible: the mutual contacts m0 and m2, and the viewer themself.
      for (const id of ['stranger', 'nobody', 'blocker']) await graph.store.ensureUser(id);
      await graph.store.addContact('nobody', 'viewer');
      await graph.store.setPrivacy('nobody', 'NOBODY');
      await graph.store.addContact('blocker', 'viewer');
      await graph.store.block('blocker', 'viewer');
      await graph.store.setPrivacy('m1', 'NOBODY');
      hot.reset();
      graph.reset();
      lastSeen.reset();
      const asked = ['stranger', 'm0', 'nobody', 'm1', 'viewer', 'blocker', 'm2'];
      const res = await gql<{ presences: { userId: string; status: string }[] }>(t.url, 'query ($ids: [ID!]!) { presences(userIds: $ids) { userId status } }', { ids: asked }, viewer);
      expect(res.errors).toBeUndefined();
      expect(res.data!.presences).toEqual([
        { userId: 'stranger', status: 'UNKNOWN' },
        { userId: 'm0', status: 'OFFLINE' },
        { userId: 'nobody', status: 'UNKNOWN' },
        { userId: 'm1', status: 'UNKNOWN' },
        { userId: 'viewer', status: 'OFFLINE' },
        { userId: 'blocker', status: 'UNKNOWN' },
        { userId: 'm2', status: 'OFFLINE' },
      ]);
      expect(graph.calls).toEqual({ audience: 1 });
      expect(hot.args.records).toEqual([[['m0', 'viewer', 'm2']]]);
      expect(lastSeen.args.lastSeen).toEqual([[['m0', 'viewer', 'm2']]]);

      // With the graph down nobody it has not proven can be: only the viewer's own state is read.
      await graph.store.ensureUser('m9');
      await graph.store.addContact('m9', 'viewer');
      graph.down = true;
      hot.reset();
      lastSeen.reset();
      const down = await gql<{ presences: { userId: string; status: string }[] }>(t.url, 'query ($ids: [ID!]!) { presences(userIds: $ids) { userId status } }', { ids: ['m9', 'viewer'] }, viewer);
      expect(down.data!.presences).toEqual([
        { userId: 'm9', status: 'UNKNOWN' },
        { userId: 'viewer', status: 'OFFLINE' },
      ]);
      expect(hot.args.records).toEqual([[['viewer']]]);
    });
  });

  it('should read nothing but the graph when no asked user may be seen', async () => {
    await withCountingServer(['h0'], async ({ t, viewer, hot, graph, lastSeen }) => {
      await graph.store.setPrivacy('h0', 'NOBODY');
      hot.reset();
      lastSeen.reset();
      const res = await gql<{ presences: { userId: string; status: string; lastSeen: unknown }[] }>(t.url, '{ presences(userIds: ["h0"]) { userId status lastSeen { ago } } }', {}, viewer);
      expect(res.data!.presences).toEqual([{ userId: 'h0', status: 'UNKNOWN', lastSeen: null }]);
      expect(hot.calls).toEqual({});
      expect(lastSeen.calls).toEqual({});
    });
  });
});

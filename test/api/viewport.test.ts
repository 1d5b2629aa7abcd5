/** `presence(viewport:)` within one process: snapshot, deltas, scoping, privacy on every event. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectWs, gql, record, until, type WsSession } from '../support/clients.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SUB = 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot presences { userId status platforms version lastSeen { at } } } }';
type P = { userId: string; status: string; platforms: string[]; version: number; lastSeen: { at: string } | null };
type Batch = { presence: { snapshot: boolean; presences: P[] } };

describe('the viewport subscription', () => {
  let t: TestServer;
  const sockets: WsSession[] = [];
  const tokens: Record<string, string> = {};
  const as = (user: string, query: string, variables?: Record<string, unknown>) => gql(t.url, query, variables, tokens[user]);
  const beat = (user: string, deviceId: string, activity = 'ACTIVE') =>
    as(user, 'mutation ($d: ID!, $a: Activity) { heartbeat(deviceId: $d, platform: WEB, activity: $a) { status } }', { d: deviceId, a: activity });
  const watch = async (user: string, ids: string[]) => {
    const session = connectWs(t.wsUrl, { authorization: `Bearer ${tokens[user]}` });
    sockets.push(session);
    await session.connected;
    const feed = record<Batch>(session.client, SUB, { ids });
    await feed.next((e) => e.presence.snapshot, 'snapshot');
    return { session, feed };
  };
  const statuses = (feed: { events: Batch[] }, userId: string) =>
    feed.events.flatMap((e) => e.presence.presences.filter((p) => p.userId === userId).map((p) => p.status));

  beforeEach(async () => {
    t = await startTestServer();
    for (const u of ['alice', 'bob', 'carol', 'dave']) {
      tokens[u] = await t.token(u);
      await as(u, '{ me { id } }');
    }
    // Everyone lists the watcher (bob) as a contact, so under the default CONTACTS mode bob sees them.
    for (const u of ['alice', 'carol', 'dave']) await as(u, 'mutation ($u: ID!) { addContact(userId: $u) }', { u: 'bob' });
  });

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose().catch(() => undefined)));
    await t.dispose();
  });

  it('should send the whole viewport as a snapshot first, duplicates folded, in the order asked', async () => {
    await beat('carol', 'c1');
    const { feed } = await watch('bob', ['carol', 'alice', 'carol']);
    expect(feed.events[0]).toEqual({
      presence: {
        snapshot: true,
        presences: [
          { userId: 'carol', status: 'ONLINE', platforms: ['WEB'], version: 1, lastSeen: null },
          { userId: 'alice', status: 'OFFLINE', platforms: [], version: 0, lastSeen: null },
        ],
      },
    });
  });

  it('should send changes only for users in the viewport (frames counted)', async () => {
    const { feed } = await watch('bob', ['alice']);
    await beat('carol', 'c1');
    await beat('dave', 'd1');
    await beat('alice', 'a1');
    await feed.next((e) => statuses(feed, 'alice').includes('ONLINE'), 'alice ONLINE');
    await beat('alice', 'a1', 'IDLE');
    await feed.next(() => statuses(feed, 'alice').includes('IDLE'), 'alice IDLE');
    expect(feed.events.flatMap((e) => e.presence.presences.map((p) => p.userId))).toEqual(['alice', 'alice', 'alice']);
    expect(feed.events).toHaveLength(3);
  });

  it('should stop events for ids removed by narrowing the viewport (new subscription, old one completed)', async () => {
    const session = connectWs(t.wsUrl, { authorization: `Bearer ${tokens.bob}` });
    sockets.push(session);
    await session.connected;
    const wide = record<Batch>(session.client, SUB, { ids: ['alice', 'carol'] });
    await wide.next((e) => e.presence.snapshot, 'wide snapshot');
    const narrow = record<Batch>(session.client, SUB, { ids: ['alice'] });
    await narrow.next((e) => e.presence.snapshot, 'narrow snapshot');
    wide.stop();
    // Watched now: alice, and bob himself (a subscription also watches its viewer, for reciprocity).
    await until(() => t.server.app.interest.watchedUsers === 2, 'carol no longer watched by this process');
    await beat('carol', 'c1');
    await beat('alice', 'a1');
    await narrow.next(() => statuses(narrow, 'alice').includes('ONLINE'), 'alice ONLINE');
    expect(statuses(narrow, 'carol')).toEqual([]);
    expect(statuses(wide, 'carol')).toEqual(['OFFLINE']);
  });

  it('should coalesce a burst into one batch carrying only the latest state per user', async () => {
    const slow = await startTestServer({ env: { PRESENCE_COALESCE_MS: '300' } });
    try {
      for (const u of ['alice', 'bob']) await gql(slow.url, '{ me { id } }', {}, tokens[u]);
      await gql(slow.url, 'mutation { addContact(userId: "bob") }', {}, tokens.alice);
      const session = connectWs(slow.wsUrl, { authorization: `Bearer ${tokens.bob}` });
      sockets.push(session);
      await session.connected;
      const feed = record<Batch>(session.client, SUB, { ids: ['alice'] });
      await feed.next((e) => e.presence.snapshot, 'snapshot');
      const hb = (activity: string) => gql(slow.url, 'mutation ($a: Activity) { heartbeat(deviceId: "a1", platform: WEB, activity: $a) { version } }', { a: activity }, tokens.alice);
      await hb('ACTIVE');
      await hb('IDLE');
      const last = await hb('ACTIVE');
      expect(last.data).toEqual({ heartbeat: { version: 3 } });
      const batch = await feed.next((e) => !e.presence.snapshot, 'the coalesced batch');
      expect(batch.presence.presences).toEqual([{ userId: 'alice', status: 'ONLINE', platforms: ['WEB'], version: 3, lastSeen: null }]);
      await session.dispose();
    } finally {
      await slow.dispose();
    }
  });

  it.each([
    ['alice switches to NOBODY', 'mutation { setPrivacy(mode: NOBODY) { privacy } }', 'UNKNOWN'],
    ['alice blocks bob', 'mutation { block(userId: "bob") }', 'UNKNOWN'],
    ['alice removes bob from her contacts', 'mutation { removeContact(userId: "bob") }', 'UNKNOWN'],
    ['alice goes INVISIBLE', 'mutation { setStatus(status: INVISIBLE) { status } }', 'OFFLINE'],
  ])('should take effect on an open subscription when %s (no ONLINE leaks afterwards)', async (_name, mutation, expected) => {
    await beat('alice', 'a1');
    const { session, feed } = await watch('bob', ['alice']);
    expect(statuses(feed, 'alice')).toEqual(['ONLINE']);
    const res = await as('alice', mutation);
    expect(res.errors).toBeUndefined();
    const after = await feed.next(() => statuses(feed, 'alice').at(-1) === expected, `alice ${expected}`);
    const [p] = after.presence.presences;
    if (expected === 'UNKNOWN') expect(p).toEqual({ userId: 'alice', status: 'UNKNOWN', platforms: [], version: 0, lastSeen: null });
    else expect(p).toMatchObject({ userId: 'alice', status: 'OFFLINE', platforms: [] });
    // alice keeps being active: bob must never see her ONLINE again. carol (a sentinel in the same
    // viewport) going ONLINE after alice's change proves the change was delivered and processed.
    await beat('alice', 'a2', 'IDLE');
    await beat('alice', 'a2', 'ACTIVE');
    const second = record<Batch>(session.client, SUB, { ids: ['alice', 'carol'] });
    await second.next((e) => e.presence.snapshot, 'second snapshot');
    await beat('carol', 'c1');
    await second.next(() => statuses(second, 'carol').includes('ONLINE'), 'carol ONLINE');
    expect(statuses(feed, 'alice').slice(1).every((s) => s === expected)).toBe(true);
    expect(statuses(second, 'alice').every((s) => s === expected)).toBe(true);
  });

  it('should drop everyone\'s last-seen from the viewer\'s open subscription when the viewer switches to NOBODY (reciprocity)', async () => {
    await beat('alice', 'a1');
    await as('alice', 'mutation { signOff(deviceId: "a1") }');
    const { feed } = await watch('bob', ['alice']);
    expect(feed.events[0]!.presence.presences[0]).toMatchObject({ status: 'OFFLINE', lastSeen: { at: expect.any(String) } });
    await as('bob', 'mutation { setPrivacy(mode: NOBODY) { privacy } }');
    const after = await feed.next((e) => !e.presence.snapshot, 'the re-read after bob\'s own change');
    expect(after.presence.presences).toEqual([{ userId: 'alice', status: 'OFFLINE', platforms: [], version: 2, lastSeen: null }]);
  });

  it('should make a user visible on an open subscription when they add the watcher as a contact', async () => {
    await beat('alice', 'a1');
    await as('alice', 'mutation { removeContact(userId: "bob") }');
    const { feed } = await watch('bob', ['alice']);
    expect(statuses(feed, 'alice')).toEqual(['UNKNOWN']);
    await as('alice', 'mutation { addContact(userId: "bob") }');
    const shown = await feed.next(() => statuses(feed, 'alice').at(-1) === 'ONLINE', 'alice visible');
    expect(shown.presence.presences[0]).toMatchObject({ userId: 'alice', status: 'ONLINE', version: 1 });
  });

  it('should stop listening to a user when the last local watcher leaves', async () => {
    const { feed } = await watch('bob', ['alice', 'carol']);
    // alice, carol, and bob himself (a subscription also watches its viewer, for reciprocity).
    expect(t.server.app.interest.watchedUsers).toBe(3);
    feed.stop();
    await until(() => t.server.app.interest.watchedUsers === 0, 'no user watched');
    // Their records are forgotten with the last watcher: nothing held for users nobody here watches.
    expect(['alice', 'carol', 'bob'].map((id) => t.server.app.records.held(id))).toEqual([undefined, undefined, undefined]);
    const received = t.stores.hot.feed.received;
    await beat('alice', 'a1');
    await beat('carol', 'c1');
    // A third user's subscription proves events flow; none for alice or carol reached this process.
    const { feed: other } = await watch('bob', ['dave']);
    await beat('dave', 'd1');
    await other.next(() => statuses(other, 'dave').includes('ONLINE'), 'dave ONLINE');
    expect(t.stores.hot.feed.received - received).toBe(1);
  });

  it('should write graphql-ws frames itself and execute SSE events with graphql-js, the same data either way', async () => {
    await beat('alice', 'a1');
    const counted = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const value = (name: string, path: string) => Number(text.match(new RegExp(`^${name}\\{path="${path}"\\} (\\d+)`, 'm'))?.[1] ?? 0);
      return {
        frames: value('presence_batches_sent_total', 'frames'),
        execute: value('presence_batches_sent_total', 'execute'),
        // Counted in plain numbers as sent, added to the counters when scraped.
        framesPresences: value('presence_presences_sent_total', 'frames'),
        executePresences: value('presence_presences_sent_total', 'execute'),
        // Batches of changes only (a snapshot waited for nothing).
        framesDelayed: value('presence_fanout_delay_seconds_count', 'frames'),
        executeDelayed: value('presence_fanout_delay_seconds_count', 'execute'),
      };
    };
    const before = await counted();
    const { feed } = await watch('bob', ['alice', 'carol']);
    const controller = new AbortController();
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${tokens.bob}` },
      body: JSON.stringify({ query: SUB, variables: { ids: ['alice', 'carol'] } }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const events: Batch[] = [];
    let text = '';
    const pull = async (count: number) => {
      while (events.length < count) {
        text += new TextDecoder().decode((await reader.read()).value);
        const blocks = text.split('\n\n');
        text = blocks.pop()!;
        for (const block of blocks) {
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push((JSON.parse(data.slice(6)) as { data: Batch }).data);
        }
      }
    };
    await pull(1);
    await beat('alice', 'a1', 'IDLE');
    await feed.next(() => statuses(feed, 'alice').includes('IDLE'), 'alice IDLE over graphql-ws');
    await pull(2);
    controller.abort();
    expect(events).toEqual(feed.events.slice(0, 2));
    const after = await counted();
    expect(after.frames - before.frames).toBe(2);
    expect(after.execute - before.execute).toBe(2);
    // The two-user snapshot and alice's change, on each path.
    expect(after.framesPresences - before.framesPresences).toBe(3);
    expect(after.executePresences - before.executePresences).toBe(3);
    expect(after.framesDelayed - before.framesDelayed).toBe(1);
    expect(after.executeDelayed - before.executeDelayed).toBe(1);
  });

  it('should serve the same subscription over SSE', async () => {
    await beat('alice', 'a1');
    const controller = new AbortController();
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${tokens.bob}` },
      body: JSON.stringify({ query: SUB, variables: { ids: ['alice'] } }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('"snapshot":true')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"userId":"alice","status":"ONLINE"');
    await beat('alice', 'a1', 'IDLE');
    while (!text.includes('"status":"IDLE"')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
  });
});

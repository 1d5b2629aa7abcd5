/**
 * 1 000 subscriptions with 20-id viewports on one process (real Redis, Neo4j, PostgreSQL): a scripted
 * sequence of transitions yields exactly the expected frames — and costs no store reads per frame.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWs, record, until, type Recorder, type WsSession } from '../support/clients.js';
import { realStores, type RealStores } from '../support/real-stores.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SUB = 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot presences { userId status version } } }';
type Batch = { presence: { snapshot: boolean; presences: { userId: string; status: string; version: number }[] } };

const TARGETS = Array.from({ length: 40 }, (_, i) => `t${String(i).padStart(2, '0')}`);
const VIEWERS = Array.from({ length: 100 }, (_, i) => `v${String(i).padStart(2, '0')}`);
const SUBS_PER_VIEWER = 10;
/** Subscription j of viewer i watches 20 consecutive targets starting at (i + 4j) mod 40. */
const viewportOf = (i: number, j: number) => Array.from({ length: 20 }, (_, k) => TARGETS[(i + 4 * j + k) % TARGETS.length]!);

describe('1 000 subscribers × 20-id viewports on one process', () => {
  let real: RealStores;
  let t: TestServer;
  const sessions: WsSession[] = [];
  const subs: { viewport: string[]; feed: Recorder<Batch> }[] = [];

  beforeAll(async () => {
    real = await realStores({ ttlMs: 70_000 });
    t = await startTestServer({ stores: real.stores, env: { PRESENCE_HEARTBEAT_MS: '30000', PRESENCE_JITTER_MS: '5000', PRESENCE_TTL_MS: '70000', PRESENCE_GRACE_MS: '15000' } });
    const { graph } = real.stores;
    for (const id of [...TARGETS, ...VIEWERS]) await graph.ensureUser(id);
    for (const id of TARGETS) await graph.setPrivacy(id, 'EVERYONE');
    for (const [i, viewer] of VIEWERS.entries()) {
      const session = connectWs(t.wsUrl, { authorization: `Bearer ${await t.token(viewer)}` });
      sessions.push(session);
      await session.connected;
      for (let j = 0; j < SUBS_PER_VIEWER; j++) {
        const viewport = viewportOf(i, j);
        subs.push({ viewport, feed: record<Batch>(session.client, SUB, { ids: viewport }) });
      }
    }
    await until(() => subs.every((s) => s.feed.events.length === 1), 'all 1 000 snapshots', 60_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.dispose().catch(() => undefined)));
    await t?.dispose();
    await real?.dispose();
  });

  it('should deliver each transition exactly to the subscriptions whose viewport holds the user, with no store read per frame', async () => {
    expect(subs).toHaveLength(1_000);
    for (const s of subs) {
      expect(s.feed.events[0]!.presence.snapshot).toBe(true);
      expect(s.feed.events[0]!.presence.presences.map((p) => [p.userId, p.status])).toEqual(s.viewport.map((id) => [id, 'OFFLINE']));
    }
    const { records, visibility } = t.server.app;
    const readsBefore = { hot: records.reads, graph: visibility.graphReads };
    // The script: each target comes online in turn; the next starts once every watcher has seen it.
    for (const target of TARGETS) {
      const applied = await t.server.app.presence.heartbeat(target, `${target}-d`, 'WEB', 'ACTIVE');
      expect(applied.transition?.to).toBe('ONLINE');
      const watchers = subs.filter((s) => s.viewport.includes(target));
      await until(
        () => watchers.every((s) => s.feed.events.some((e) => e.presence.presences.some((p) => p.userId === target && p.status === 'ONLINE'))),
        `${target} ONLINE delivered to its ${watchers.length} watchers`,
        20_000,
      );
    }
    // Exactly: one snapshot + one frame per target in the viewport, each carrying just that target.
    for (const s of subs) {
      const deltas = s.feed.events.slice(1);
      expect(deltas).toHaveLength(20);
      expect(deltas.map((e) => e.presence.presences.map((p) => [p.userId, p.status, p.version]))).toEqual(
        [...s.viewport].sort().map((id) => [[id, 'ONLINE', 1]]),
      );
      expect(s.feed.errors).toEqual([]);
    }
    expect(subs.reduce((n, s) => n + s.feed.events.length, 0)).toBe(1_000 + 1_000 * 20);
    // Records came with the events and relations were cached: no Redis or Neo4j read per frame.
    expect(records.reads - readsBefore.hot).toBe(0);
    expect(visibility.graphReads - readsBefore.graph).toBe(0);
  });
});

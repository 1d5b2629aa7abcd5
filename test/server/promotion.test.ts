/**
 * What a request leaves for V8's old space. Whatever a request allocates should die young: collected by
 * a scavenge, never copied twice and promoted. Promoted bytes are what grows the old space to its next
 * mark-compact, and what a scavenge copies is most of its pause, in the latency of every request in
 * flight. A per-request object literal with a getter once promoted the whole request (34 KB of every
 * `presences(500)`, 8.6 ms scavenges instead of 2): its accessor pair lives in the old space and kept
 * the getter's closure, and all the loaders it held, alive for the scavenger until a mark-compact.
 * Here that was 35.4 KB per request; without it, 0.2 KB.
 *
 * One request at a time, so nothing is in flight across two scavenges: what is promoted is what the
 * request itself left behind, whatever the machine's speed. Counted with v8.GCProfiler (the growth of
 * the spaces other than new space across each scavenge).
 */
import { GCProfiler } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../presence/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

const IDS = Array.from({ length: 500 }, (_, i) => `promo-${i}` as UserId);
const REQUESTS = 1500;

describe('what a request leaves for the old space', () => {
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer();
    token = await t.token('promo-viewer');
    const graph = t.stores.graph;
    await graph.ensureUser('promo-viewer' as UserId);
    for (const [i, id] of IDS.entries()) {
      await graph.ensureUser(id);
      await graph.addContact(id, 'promo-viewer' as UserId);
      if (i % 2 === 0) await graph.addContact('promo-viewer' as UserId, id);
    }
  });
  afterAll(() => t?.dispose());

  it('should promote under 8 KB per presences(500) request, one request at a time', async () => {
    const body = JSON.stringify({ query: 'query P($ids: [ID!]!) { presences(userIds: $ids) { userId status lastSeen { ago } version } }', variables: { ids: IDS } });
    const send = async () => {
      const response = await t.server.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
      return (await response.json()) as { data?: { presences: unknown[] }; errors?: unknown };
    };
    const first = await send();
    expect(first.errors).toBeUndefined();
    expect(first.data?.presences).toHaveLength(IDS.length);
    for (let i = 0; i < 50; i++) await send(); // compiled, caches warm

    const profiler = new GCProfiler();
    profiler.start();
    for (let i = 0; i < REQUESTS; i++) await send();
    const { statistics } = profiler.stop()!;

    const outsideNewSpace = (spaces: { spaceName: string; spaceUsedSize: number }[]) =>
      spaces.filter((s) => s.spaceName !== 'new_space').reduce((sum, s) => sum + s.spaceUsedSize, 0);
    const scavenges = statistics.filter((gc) => gc.gcType === 'Scavenge');
    const promoted = scavenges.reduce(
      (sum, gc) => sum + Math.max(0, outsideNewSpace(gc.afterGC.heapSpaceStatistics) - outsideNewSpace(gc.beforeGC.heapSpaceStatistics)),
      0,
    );
    // Enough scavenges that the figure is a rate, not one GC's accident.
    expect(scavenges.length).toBeGreaterThanOrEqual(10);
    const perRequestKB = promoted / REQUESTS / 1024;
    expect(perRequestKB, `${perRequestKB.toFixed(1)} KB promoted per request over ${scavenges.length} scavenges`).toBeLessThan(8);
  });
});

/** /metrics exposes the figures benchmarks and operators read, and they count what they say. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWs, gql, record } from '../support/clients.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('/metrics', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.dispose());

  const scrape = async () => {
    const res = await fetch(`${t.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };
  const value = (text: string, series: string) => Number(text.match(new RegExp(`^${series.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, 'm'))?.[1] ?? Number.NaN);

  it('should count heartbeats with their handling time, transitions, sockets and feed messages', async () => {
    const bob = await t.token('bob');
    const alice = await t.token('alice');
    await gql(t.url, '{ me { id } }', {}, bob);
    await gql(t.url, 'mutation { setPrivacy(mode: EVERYONE) { privacy } }', {}, alice);
    const watcher = connectWs(t.wsUrl, { authorization: `Bearer ${bob}` });
    await watcher.connected;
    const feed = record<{ presence: { presences: { status: string }[] } }>(watcher.client, 'subscription { presence(viewport: ["alice"]) { presences { status } } }');
    await feed.next(() => true, 'snapshot');
    await gql(t.url, 'mutation { heartbeat(deviceId: "a1", platform: WEB) { status } }', {}, alice);
    await gql(t.url, 'mutation { heartbeat(deviceId: "a1", platform: WEB) { status } }', {}, alice);
    await feed.next((e) => e.presence.presences[0]?.status === 'ONLINE', 'alice ONLINE');
    const text = await scrape();
    expect(value(text, 'presence_heartbeats_total{effect="write"}')).toBe(1);
    expect(value(text, 'presence_heartbeats_total{effect="refresh"}')).toBe(1);
    expect(value(text, 'presence_heartbeat_seconds_count{path="mutation"}')).toBe(2);
    expect(value(text, 'presence_transitions_total{cause="CONNECT"}')).toBe(1);
    expect(value(text, 'presence_ws_sockets')).toBe(1);
    expect(value(text, 'presence_viewport_subscriptions')).toBe(1);
    // The watcher's process heard alice's one transition (and nothing else: bob changed nothing).
    expect(value(text, 'presence_feed_messages_total')).toBe(1);
    expect(value(text, 'presence_watched_users')).toBe(2);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    await watcher.dispose();
  });
});

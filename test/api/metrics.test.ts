/** /metrics exposes the figures benchmarks and operators read, and they count what they say. */
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PER_HANDLE_DEFAULT_METRICS } from '../../server/metrics.js';
import { connectWs, gql, record, until } from '../support/clients.js';
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
  const value = (text: string, series: string) => Number(text.match(new RegExp(`^${series.replace(/[{}"=+.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm'))?.[1] ?? Number.NaN);

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

  it('should count tokens checked and tokens reused within their minute', async () => {
    const series = (text: string, verification: string) => value(text, `presence_auth_tokens_total{verification="${verification}"}`);
    const before = await scrape();
    const token = await t.token('metrics-token-user');
    await gql(t.url, '{ me { id } }', {}, token);
    await gql(t.url, '{ me { id } }', {}, token);
    const after = await scrape();
    expect(series(after, 'checked') - series(before, 'checked')).toBe(1);
    expect(series(after, 'reused') - series(before, 'reused')).toBe(1);
    expect(value(after, 'presence_graph_cache_renewals_pending')).toBeGreaterThanOrEqual(0);
  });

  it('should time GraphQL-over-HTTP requests by status class, and not SSE streams', async () => {
    const before = await scrape();
    const count = (text: string, status: string) => value(text, `presence_http_request_seconds_count{status="${status}"}`) || 0;
    const alice = await t.token('alice');
    await gql(t.url, '{ me { id } }', {}, alice);
    await gql(t.url, '{ me { id } }', {}, alice);
    const unauthenticated = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { id } }' }) });
    expect(unauthenticated.status).toBe(401);
    await unauthenticated.text();
    const stream = new AbortController();
    const sse = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${alice}` },
      body: JSON.stringify({ query: 'subscription { presence(viewport: ["bob"]) { presences { status } } }' }),
      signal: stream.signal,
    });
    expect(sse.headers.get('content-type')).toMatch(/text\/event-stream/);
    await until(async () => value(await scrape(), 'presence_viewport_subscriptions') === 1, 'the SSE subscription open');
    stream.abort();
    // Once the server has closed the stream's subscription, its response has closed too.
    await until(async () => value(await scrape(), 'presence_viewport_subscriptions') === 0, 'the SSE subscription closed');
    const after = await scrape();
    expect(count(after, '2xx') - count(before, '2xx')).toBe(2);
    expect(count(after, '4xx') - count(before, '4xx')).toBe(1);
    expect(count(after, 'aborted') - count(before, 'aborted')).toBe(0);
    expect(value(after, 'presence_http_request_seconds_bucket{le="+Inf",status="2xx"}')).toBe(count(after, '2xx'));
  });

  it('should count open connections as they come and go, and leave out the defaults that walk every handle', async () => {
    // Each scrape on a connection of its own, closed after it: it counts itself, the same every time.
    const scrapeAlone = () =>
      new Promise<string>((resolve, reject) => {
        get(`${t.url}/metrics`, { agent: false, headers: { connection: 'close' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text));
        }).on('error', reject);
      });
    const connections = async () => value(await scrapeAlone(), 'presence_http_connections');
    // Earlier tests' keep-alive connections close on their own time: start from a count that holds still.
    let before = await connections();
    await until(async () => {
      const now = await connections();
      const steady = now === before;
      before = now;
      return steady;
    }, 'a steady connection count');
    const url = new URL(t.url);
    const sockets: Socket[] = [];
    await Promise.all(
      Array.from({ length: 20 }, () => new Promise<void>((resolve, reject) => sockets.push(connect(Number(url.port), url.hostname, resolve).on('error', reject)))),
    );
    await until(async () => (await connections()) === before + 20, '20 more connections counted');
    sockets.forEach((socket) => socket.destroy());
    await until(async () => (await connections()) === before, 'back to the count before');

    const text = await scrapeAlone();
    // By family (`# TYPE`): a histogram nothing was observed in yet has no samples, but is declared.
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const name of PER_HANDLE_DEFAULT_METRICS) expect(families.has(name), name).toBe(false);
    for (const name of ['process_cpu_seconds_total', 'process_max_fds', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes', 'presence_http_connections']) {
      expect(families.has(name), name).toBe(true);
    }
  });
});

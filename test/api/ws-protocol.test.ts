/** graphql-ws close codes and junk: every case closes with the protocol's code, and the server stays up. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '../support/clients.js';
import { rawSocket } from '../support/raw-ws.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('graphql-ws protocol', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    // The server survived everything above.
    const res = await gql(t.url, '{ me { id } }', {}, await t.token('alice'));
    expect(res.data).toEqual({ me: { id: 'alice' } });
    await t.dispose();
  });

  const init = async (payload: Record<string, unknown>) => {
    const s = rawSocket(t.wsUrl);
    await s.opened;
    s.send({ type: 'connection_init', payload });
    return s;
  };

  it('should close 4401 when connection_init carries no token', async () => {
    const s = await init({});
    expect(await s.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('should close 4401 on a malformed token', async () => {
    const s = await init({ authorization: 'Bearer nope' });
    expect((await s.closed).code).toBe(4401);
  });

  it('should close 4403 on an expired token, so clients refresh it and reconnect', async () => {
    const s = await init({ authorization: `Bearer ${await t.token('alice', { now: Date.now() - 3_600_000, ttlSeconds: 60 })}` });
    expect(await s.closed).toEqual({ code: 4403, reason: 'Forbidden: token expired' });
  });

  it('should close 4403 when the token expires while connected', async () => {
    const s = await init({ authorization: `Bearer ${await t.token('alice', { now: Date.now() - 59_000, ttlSeconds: 60 })}` });
    await s.next((m) => m.type === 'connection_ack', 'ack');
    expect(await s.closed).toEqual({ code: 4403, reason: 'Forbidden: token expired' });
  });

  it.each([
    ['a malformed deviceId', { deviceId: 'has spaces' }],
    ['a numeric deviceId', { deviceId: 42 }],
    ['an unknown platform', { deviceId: 'd1', platform: 'FRIDGE' }],
  ])('should close 4400 on %s', async (_name, params) => {
    const s = await init({ authorization: `Bearer ${await t.token('alice')}`, ...params });
    expect((await s.closed).code).toBe(4400);
  });

  it('should close 4403 when a device id is bound to another user', async () => {
    const bob = await t.token('bob');
    const own = await gql(t.url, 'mutation { heartbeat(deviceId: "bobs-phone", platform: MOBILE) { status } }', {}, bob);
    expect(own.data).toEqual({ heartbeat: { status: 'ONLINE' } });
    const s = await init({ authorization: `Bearer ${await t.token('mallory')}`, deviceId: 'bobs-phone' });
    expect(await s.closed).toEqual({ code: 4403, reason: 'Forbidden: device belongs to another user' });
    const me = await gql(t.url, '{ me { devices { deviceId } } }', {}, bob);
    expect(me.data).toEqual({ me: { devices: [{ deviceId: 'bobs-phone' }] } });
  });

  it('should close 4400 on junk that is not JSON', async () => {
    const s = rawSocket(t.wsUrl);
    await s.opened;
    s.sendRaw('{{{ not json');
    expect((await s.closed).code).toBe(4400);
  });

  it('should close 1009 (message too big) on a message over the body limit, before it is read whole', async () => {
    const s = await init({ authorization: `Bearer ${await t.token('alice')}` });
    await s.next((m) => m.type === 'connection_ack', 'ack');
    s.send({ type: 'ping', payload: { pad: 'x'.repeat(t.config.limits.maxBodyBytes) } });
    expect((await s.closed).code).toBe(1009);
  });

  it('should close 4400 on a message of an unknown type', async () => {
    const s = await init({ authorization: `Bearer ${await t.token('alice')}` });
    await s.next((m) => m.type === 'connection_ack', 'ack');
    s.send({ type: 'launch_missiles' });
    expect((await s.closed).code).toBe(4400);
  });

  it('should close 4401 on subscribe before connection_init', async () => {
    const s = rawSocket(t.wsUrl);
    await s.opened;
    s.send({ type: 'subscribe', id: '1', payload: { query: '{ me { id } }' } });
    expect((await s.closed).code).toBe(4401);
  });

  it('should close 4429 on a second connection_init', async () => {
    const s = await init({ authorization: `Bearer ${await t.token('alice')}` });
    await s.next((m) => m.type === 'connection_ack', 'ack');
    s.send({ type: 'connection_init', payload: {} });
    expect((await s.closed).code).toBe(4429);
  });

  it('should close 4409 on a duplicate subscription id', async () => {
    const s = await init({ authorization: `Bearer ${await t.token('alice')}` });
    await s.next((m) => m.type === 'connection_ack', 'ack');
    const sub = { type: 'subscribe', id: 'same', payload: { query: 'subscription { presence(viewport: ["alice"]) { snapshot } }' } };
    s.send(sub);
    await s.next((m) => m.type === 'next', 'snapshot');
    s.send(sub);
    expect((await s.closed).code).toBe(4409);
  });

  it('should close 4406 a socket that does not speak graphql-transport-ws', async () => {
    const s = rawSocket(t.wsUrl, null);
    expect((await s.closed).code).toBe(4406);
  });

  it('should answer bad operations with an error message, keeping the socket open', async () => {
    const s = await init({ authorization: `Bearer ${await t.token('alice')}` });
    await s.next((m) => m.type === 'connection_ack', 'ack');
    const viewport = Array.from({ length: 201 }, (_, i) => `u${i}`);
    s.send({ type: 'subscribe', id: 'big', payload: { query: 'subscription ($v: [ID!]!) { presence(viewport: $v) { snapshot } }', variables: { v: viewport } } });
    s.send({ type: 'subscribe', id: 'empty', payload: { query: 'subscription { presence(viewport: []) { snapshot } }' } });
    s.send({ type: 'subscribe', id: 'ghost', payload: { query: 'subscription { presence(viewport: ["ghost"]) { snapshot } }' } });
    s.send({ type: 'subscribe', id: 'parse', payload: { query: 'subscription { presence(' } });
    const codeOf = async (id: string) => {
      const m = await s.next((x) => x.id === id && (x.type === 'error' || x.type === 'next'), `result of ${id}`);
      const errors = (m.type === 'error' ? m.payload : (m.payload as { errors: unknown[] }).errors) as { extensions?: { code?: string } }[];
      return errors.map((e) => e.extensions?.code);
    };
    expect(await codeOf('big')).toEqual(['VIEWPORT_TOO_LARGE']);
    expect(await codeOf('empty')).toEqual(['BAD_USER_INPUT']);
    expect(await codeOf('ghost')).toEqual(['USER_NOT_FOUND']);
    expect(await codeOf('parse')).toEqual(['GRAPHQL_PARSE_FAILED']);
    s.send({ type: 'ping' });
    await s.next((m) => m.type === 'pong', 'pong');
    s.close();
  });

  it('should cap live operations per socket with RATE_LIMITED', async () => {
    const s = await init({ authorization: `Bearer ${await t.token('alice')}` });
    await s.next((m) => m.type === 'connection_ack', 'ack');
    const cap = t.config.limits.operationsPerSocket;
    for (let i = 0; i <= cap; i++) {
      s.send({ type: 'subscribe', id: `s${i}`, payload: { query: 'subscription { presence(viewport: ["alice"]) { snapshot } }' } });
    }
    const over = await s.next((m) => m.id === `s${cap}` && m.type === 'error', 'the operation over the cap');
    expect((over.payload as { extensions: { code: string } }[])[0]!.extensions.code).toBe('RATE_LIMITED');
    s.send({ type: 'complete', id: 's0' });
    s.send({ type: 'subscribe', id: 'again', payload: { query: 'subscription { presence(viewport: ["alice"]) { snapshot } }' } });
    await s.next((m) => m.id === 'again' && m.type === 'next', 'a new operation once one completed');
    s.close();
  });
});

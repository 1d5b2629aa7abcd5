/** Every kind of bad input gets a clear error with an extensions.code, and changes nothing. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, gql } from '../support/clients.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('bad input over HTTP', () => {
  let t: TestServer;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    t = await startTestServer();
    alice = await t.token('alice');
    bob = await t.token('bob');
    await gql(t.url, '{ me { id } }', {}, bob);
  });
  afterAll(() => t.dispose());

  const ids = (n: number, prefix = 'u') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  it.each([
    ['an empty list', [], 'BAD_USER_INPUT'],
    ['501 ids', ids(501), 'TOO_MANY_IDS'],
    ['a malformed id', ['bob', 'no spaces allowed'], 'BAD_USER_INPUT'],
    ['an over-long id', ['x'.repeat(129)], 'BAD_USER_INPUT'],
    ['an unknown id', ['bob', 'ghost'], 'USER_NOT_FOUND'],
  ])('should refuse presences with %s', async (_name, userIds, code) => {
    const res = await gql(t.url, 'query ($ids: [ID!]!) { presences(userIds: $ids) { userId status } }', { ids: userIds }, alice);
    expect(codes(res)).toEqual([code]);
    expect(res.data ?? null).toBeNull();
  });

  it('should list the unknown ids in USER_NOT_FOUND', async () => {
    const res = await gql(t.url, '{ presence(userId: "ghost") { status } }', {}, alice);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'USER_NOT_FOUND', userIds: ['ghost'] });
  });

  it('should answer 500 ids in the order asked, duplicates kept', async () => {
    const asked = [...Array.from({ length: 249 }, () => 'bob'), 'alice', ...Array.from({ length: 250 }, () => 'bob')];
    const res = await gql<{ presences: { userId: string }[] }>(t.url, 'query ($ids: [ID!]!) { presences(userIds: $ids) { userId } }', { ids: asked }, alice);
    expect(res.errors).toBeUndefined();
    expect(res.data!.presences.map((p) => p.userId)).toEqual(asked);
  });

  it.each([
    ['first: 0', '{ contacts(first: 0) { nodes { userId } } }', 'BAD_USER_INPUT'],
    ['first: 101', '{ contacts(first: 101) { nodes { userId } } }', 'BAD_USER_INPUT'],
    ['a forged cursor', '{ contacts(after: "bm9wZQ") { nodes { userId } } }', 'BAD_USER_INPUT'],
    ['addContact of yourself', 'mutation { addContact(userId: "alice") }', 'BAD_USER_INPUT'],
    ['block of an unknown user', 'mutation { block(userId: "ghost") }', 'USER_NOT_FOUND'],
    ['a malformed device id', 'mutation { heartbeat(deviceId: "", platform: WEB) { ttlMs } }', 'BAD_USER_INPUT'],
    ['an unknown enum value', 'mutation { heartbeat(deviceId: "d1", platform: FRIDGE) { ttlMs } }', 'GRAPHQL_VALIDATION_FAILED'],
    ['a malformed query', '{ me { id ', 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', '{ me { password } }', 'GRAPHQL_VALIDATION_FAILED'],
  ])('should refuse %s', async (_name, query, code) => {
    const res = await gql(t.url, query, {}, alice);
    expect(codes(res)).toEqual([code]);
  });

  it('should answer the deepest legal query and refuse a deeper document with QUERY_TOO_COMPLEX', async () => {
    const deepest = '{ contacts { edges { node { presence { lastSeen { at } } } } } }';
    expect((await gql(t.url, deepest, {}, alice)).errors).toBeUndefined();
    const tooDeep = `{ ${'contacts { edges { node { '.repeat(3)} userId ${'} } } '.repeat(3)} }`;
    expect(codes(await gql(t.url, tooDeep, {}, alice))).toContain('QUERY_TOO_COMPLEX');
  });

  it('should refuse too many aliases and huge documents with QUERY_TOO_COMPLEX', async () => {
    const aliases = `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const tooManyAliases = await gql(t.url, aliases, {}, alice);
    expect(tooManyAliases.status).toBe(400);
    expect(codes(tooManyAliases)).toEqual(['QUERY_TOO_COMPLEX']);
    const huge = `{ me { ${Array.from({ length: 5000 }, () => 'id').join(' ')} } }`;
    const tooManyTokens = await gql(t.url, huge, {}, alice);
    expect(tooManyTokens.status).toBe(400);
    expect(codes(tooManyTokens)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('should refuse a heartbeat for a device bound to another user, and change nothing', async () => {
    const mine = await gql(t.url, 'mutation { heartbeat(deviceId: "bob-phone", platform: MOBILE) { status version } }', {}, bob);
    expect(mine.data).toEqual({ heartbeat: { status: 'ONLINE', version: 1 } });
    const theirs = await gql(t.url, 'mutation { heartbeat(deviceId: "bob-phone", platform: WEB, activity: IDLE) { status } }', {}, alice);
    expect(theirs.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', deviceId: 'bob-phone' });
    const signOff = await gql(t.url, 'mutation { signOff(deviceId: "bob-phone") }', {}, alice);
    expect(signOff.data).toEqual({ signOff: false });
    const bobNow = await gql(t.url, '{ me { status version devices { deviceId platform activity } } }', {}, bob);
    expect(bobNow.data).toEqual({ me: { status: 'ONLINE', version: 1, devices: [{ deviceId: 'bob-phone', platform: 'MOBILE', activity: 'ACTIVE' }] } });
    const aliceNow = await gql(t.url, '{ me { status devices { deviceId } } }', {}, alice);
    expect(aliceNow.data).toEqual({ me: { status: 'OFFLINE', devices: [] } });
  });

  /**
   * A POST to /graphql whose headers go out at once; the body (if any) only once asked for, so a refusal
   * made from the headers alone is seen before a byte of it is sent. Whether the server closed after it.
   */
  const rawPost = (headers: Record<string, string | number>, body?: string) =>
    new Promise<{ status: number; json: any; connection: string | undefined; closed: boolean }>((resolve, reject) => {
      const url = new URL(`${t.url}/graphql`);
      const req = http.request({ agent: false, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}`, ...headers } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          const answer = { status: res.statusCode!, json: JSON.parse(text), connection: res.headers.connection };
          if (req.socket?.destroyed) resolve({ ...answer, closed: true });
          else req.socket?.once('close', () => resolve({ ...answer, closed: true }));
        });
      });
      req.on('error', reject);
      if (body === undefined) req.flushHeaders();
      else req.end(body);
    });

  const limit = () => t.config.limits.maxBodyBytes;

  it('should refuse a body over the limit from its Content-Length alone: 413 PAYLOAD_TOO_LARGE, nothing applied, connection closed', async () => {
    const refused = await rawPost({ 'content-length': limit() + 1 });
    expect(refused.status).toBe(413);
    expect(refused.json.errors[0].extensions).toEqual({ code: 'PAYLOAD_TOO_LARGE', retryable: false, limit: limit() });
    expect(refused.connection).toBe('close');
    expect(refused.closed).toBe(true);
    // The same mutation padded past the limit, sent whole: refused, and no device was registered.
    const mutation = 'mutation { heartbeat(deviceId: "padded-dev", platform: WEB) { ttlMs } }';
    const padded = JSON.stringify({ query: mutation, variables: { pad: 'x'.repeat(limit()) } });
    expect((await rawPost({ 'content-length': Buffer.byteLength(padded) }, padded)).status).toBe(413);
    expect((await gql(t.url, '{ me { devices { deviceId } } }', {}, alice)).data).toEqual({ me: { devices: [] } });
  });

  it('should answer a body of exactly the limit', async () => {
    const empty = JSON.stringify({ query: '{ me { id } }', variables: { pad: '' } });
    const body = JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(limit() - Buffer.byteLength(empty)) } });
    expect(Buffer.byteLength(body)).toBe(limit());
    const answered = await rawPost({ 'content-length': limit() }, body);
    expect(answered.status).toBe(200);
    expect(answered.json).toEqual({ data: { me: { id: 'alice' } } });
  });

  it('should refuse a chunked body (no Content-Length) with 411 LENGTH_REQUIRED', async () => {
    const refused = await rawPost({ 'transfer-encoding': 'chunked' });
    expect(refused.status).toBe(411);
    expect(refused.json.errors[0].extensions).toMatchObject({ code: 'LENGTH_REQUIRED', retryable: false });
    expect(refused.closed).toBe(true);
  });

  it('should rate-limit mutations per user with RATE_LIMITED and retryAfterMs', async () => {
    const limited = await startTestServer();
    try {
      const token = await limited.token('spammer');
      const budget = limited.config.limits.mutationsPerMinute;
      const batch = `mutation { ${Array.from({ length: 15 }, (_, i) => `h${i}: heartbeat(deviceId: "s-dev", platform: WEB) { ttlMs }`).join(' ')} }`;
      let sent = 0;
      let last;
      while (sent <= budget) {
        last = await gql(limited.url, batch, {}, token);
        sent += 15;
      }
      expect(codes(last!)).toContain('RATE_LIMITED');
      const error = last!.errors!.find((e) => e.extensions?.code === 'RATE_LIMITED')!;
      expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
      expect(error.extensions!.retryAfterMs).toBeGreaterThan(0);
    } finally {
      await limited.dispose();
    }
  });
});

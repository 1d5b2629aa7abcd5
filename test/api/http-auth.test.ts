import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, gql } from '../support/clients.js';
import { startTestServer, TEST_SECRET, type TestServer } from '../support/server.js';

describe('HTTP auth', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.dispose());

  it('should answer 401 UNAUTHENTICATED to an operation without a token', async () => {
    const res = await gql(t.url, '{ me { id } }');
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(res.data ?? null).toBeNull();
  });

  it('should allow introspection without a token (GraphiQL docs) when GraphiQL is on', async () => {
    const res = await gql(t.url, '{ __schema { queryType { name } } }');
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('should refuse introspection when GraphiQL is off (production)', async () => {
    const prod = await startTestServer({ env: { GRAPHIQL: 'false' } });
    try {
      const res = await gql(prod.url, '{ __schema { queryType { name } } }', {}, await prod.token('alice'));
      expect(res.errors?.[0]?.message).toMatch(/introspection/i);
      expect(res.data ?? null).toBeNull();
    } finally {
      await prod.dispose();
    }
  });

  const cases: [string, () => Promise<string>, string][] = [
    ['a malformed token', async () => 'not-a-jwt', 'malformed'],
    ['a token signed with another secret', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(40))), 'invalid'],
    ['an expired token', async () => t.token('alice', { now: Date.now() - 2 * 86_400_000, ttlSeconds: 60 }), 'expired'],
    ['a token without sub', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(TEST_SECRET)), 'invalid'],
    ['a token with alg none', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`, 'invalid'],
  ];
  it.each(cases)('should answer 401 with a reason to %s', async (_name, make, reason) => {
    const res = await gql(t.url, '{ me { id } }', {}, await make());
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
  });

  it('should register a user on their first signed-in request', async () => {
    const res = await gql(t.url, '{ me { id status manualStatus privacy devices { deviceId } lastSeen { ago } version } }', {}, await t.token('newcomer'));
    expect(res.data).toEqual({ me: { id: 'newcomer', status: 'OFFLINE', manualStatus: 'AUTO', privacy: 'CONTACTS', devices: [], lastSeen: null, version: 0 } });
    expect((await t.stores.graph.users(['newcomer'])).get('newcomer')).toBe('CONTACTS');
  });
});

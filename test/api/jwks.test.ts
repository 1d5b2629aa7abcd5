/** Auth through a JWKS URL (an identity provider's keys), served from a local HTTP server. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, gql } from '../support/clients.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('JWKS auth', () => {
  let idp: Server;
  let t: TestServer;
  let signingKey: CryptoKey;
  let strangerKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    signingKey = pair.privateKey;
    strangerKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    idp = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/.well-known/jwks.json`;
    t = await startTestServer({ env: { JWT_SECRET: '', JWKS_URL: jwksUrl } });
  });

  afterAll(async () => {
    await t.dispose();
    await new Promise((resolve) => idp.close(resolve));
  });

  const sign = (key: CryptoKey, sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject(sub).setIssuedAt().setExpirationTime('5m').sign(key);

  it('should accept a token signed by a key of the JWKS, with sub as the user', async () => {
    const res = await gql(t.url, '{ me { id } }', {}, await sign(signingKey, 'idp-user'));
    expect(res.data).toEqual({ me: { id: 'idp-user' } });
  });

  it('should refuse a token signed by any other key with 401', async () => {
    const res = await gql(t.url, '{ me { id } }', {}, await sign(strangerKey, 'idp-user'));
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });
});

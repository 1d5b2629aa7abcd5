/** `npm start` as a new user runs it: no database configured → embedded stores, the demo graph, GraphiQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '../../server/config.js';
import { signToken } from '../../server/auth.js';
import { gql } from '../support/clients.js';
import { spawnServer, type ServerProcess } from '../../scripts/server-process.js';

describe('the server started with no configuration', () => {
  let server: ServerProcess;
  let banner: string;
  beforeAll(async () => {
    server = await spawnServer({ REDIS_URL: '', DATABASE_URL: '', NEO4J_URI: '', JWT_SECRET: '', JWKS_URL: '', LOG_LEVEL: 'warn' });
    banner = server.output();
  }, 60_000);
  afterAll(() => server?.stop());

  it('should say which stores it uses, where GraphiQL is and how to get a token', () => {
    expect(banner).toMatch(/stores\s+hot=embedded\s+graph=embedded\s+lastSeen=embedded/);
    expect(banner).toContain(`GraphiQL    ${server.url}/graphql`);
    expect(banner).toContain('npm run token -- <userId>');
    expect(banner).toContain('demo users  alice, bob, carol, dave, erin');
  });

  it('should serve GraphiQL at /graphql, signed in as alice, with example operations', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('presence-graph');
    expect(html).toContain('subscription Viewport');
    expect(html).toContain('Bearer ');
  });

  it('should serve the demo graph: alice sees bob, carol (EVERYONE) and dave (NOBODY) as UNKNOWN', async () => {
    const alice = await signToken(DEV_JWT_SECRET, 'alice');
    const res = await gql(server.url, '{ contacts { nodes { userId presence { status } } } }', {}, alice);
    expect(res.data).toEqual({
      contacts: {
        nodes: [
          { userId: 'bob', presence: { status: 'OFFLINE' } },
          { userId: 'carol', presence: { status: 'OFFLINE' } },
          { userId: 'dave', presence: { status: 'UNKNOWN' } },
          { userId: 'erin', presence: { status: 'OFFLINE' } },
        ],
      },
    });
  });
});

/** `npm start` as a new user runs it: no database configured → embedded stores, the demo graph, GraphiQL. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '../../server/config.js';
import { signToken } from '../../server/auth.js';
import { gql, until } from '../support/clients.js';
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
    expect(banner).toContain('npm run -s token -- <userId>');
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

describe('a spawned server with SERVER_OUTPUT_FILE set (diagnostics)', () => {
  it('should also write everything it prints to that file, named by its pid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'server-output-'));
    const before = process.env.SERVER_OUTPUT_FILE;
    process.env.SERVER_OUTPUT_FILE = join(dir, 'server-%p.log');
    let server: ServerProcess | undefined;
    try {
      server = await spawnServer({ REDIS_URL: '', DATABASE_URL: '', NEO4J_URI: '', JWT_SECRET: '', JWKS_URL: '', LOG_LEVEL: 'warn' });
      const file = join(dir, `server-${server.child.pid}.log`);
      const banner = `GraphiQL    ${server.url}/graphql`;
      // Written as it arrives, through a stream: wait for it (with a deadline) rather than for a flush.
      await until(async () => (await readFile(file, 'utf8').catch(() => '')).includes(banner), 'the banner in the file');
      expect(await readFile(file, 'utf8')).toContain(banner);
    } finally {
      if (before === undefined) delete process.env.SERVER_OUTPUT_FILE;
      else process.env.SERVER_OUTPUT_FILE = before;
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

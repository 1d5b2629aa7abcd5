/**
 * The services the test suite talks to, made sure of before any test runs: Redis and PostgreSQL (the
 * machine's own, started with the machine's command if they are down) and Neo4j (started by
 * scripts/neo4j). Each failure says what was tried and how to fix it.
 */
import { execFile } from 'node:child_process';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

export async function ensureRedis(): Promise<void> {
  const url = new URL(TEST_REDIS_URL);
  const host = url.hostname;
  const port = Number(url.port || 6379);
  if (await reachable(host, port)) return;
  const tried = `redis-server --daemonize yes --bind ${host} --port ${port} --save "" --appendonly no`;
  await run('redis-server', ['--daemonize', 'yes', '--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no']).catch(() => undefined);
  if (await waitFor(() => reachable(host, port), 10_000)) return;
  throw new Error(`tests need Redis at ${TEST_REDIS_URL}; it is not reachable and \`${tried}\` did not start it. Start Redis there, or set TEST_REDIS_URL.`);
}

export async function ensurePostgres(): Promise<void> {
  const canQuery = async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  if (await canQuery()) return;
  const tried = 'pg_ctlcluster --skip-systemctl-redirect <version> main start';
  try {
    const { stdout } = await run('ls', ['/etc/postgresql']);
    const version = stdout.trim().split('\n')[0];
    if (version) await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
  } catch {
    // fall through to the message below
  }
  if (await waitFor(canQuery, 15_000)) return;
  throw new Error(`tests need PostgreSQL at ${TEST_DATABASE_URL}; it is not reachable and \`${tried}\` did not start it. Start PostgreSQL there, or set TEST_DATABASE_URL.`);
}

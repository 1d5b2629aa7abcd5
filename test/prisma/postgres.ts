/**
 * Test support for the Postgres side: a unique schema per test (migrated, dropped afterwards), the
 * Prisma store loaded only after the client is generated, and a TCP proxy that can cut Postgres off.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureGenerated } from '../../prisma/generate.js';
import { applyMigrations } from '../../prisma/migrate.js';
import type { PrismaLastSeenStore, PrismaLastSeenStoreOptions } from '../../prisma/store.js';
import { TcpProxy } from '../support/proxy.js';

/** The Postgres these tests use; each test works in its own schema of it. */
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export function uniqueSchema(prefix = 'lastseen'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await client.query<R>(text, values);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** A freshly migrated schema; `drop()` removes it. */
export async function migratedSchema(prefix?: string): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = uniqueSchema(prefix);
  await applyMigrations(DATABASE_URL, { schema });
  return { schema, drop: () => dropSchema(schema) };
}

let storeModule: Promise<typeof import('../../prisma/store.js')> | null = null;

/** The store class, once `prisma generate` has run (a fresh checkout has no prisma/generated/). */
export function loadStoreModule(): Promise<typeof import('../../prisma/store.js')> {
  storeModule ??= ensureGenerated().then(() => import('../../prisma/store.js'));
  return storeModule;
}

export async function openStore(options: PrismaLastSeenStoreOptions): Promise<PrismaLastSeenStore> {
  const { PrismaLastSeenStore } = await loadStoreModule();
  return new PrismaLastSeenStore(options);
}

/** A loopback TCP proxy to Postgres that can drop every connection and refuse new ones while down. */
export class PgProxy extends TcpProxy {
  /** A proxy in front of the test PostgreSQL. */
  static async open(): Promise<PgProxy> {
    const target = new URL(DATABASE_URL);
    return TcpProxy.listen(new PgProxy(target.hostname, Number(target.port || 5432)));
  }

  /** DATABASE_URL, routed through this proxy. */
  get url(): string {
    const url = new URL(DATABASE_URL);
    url.host = `127.0.0.1:${this.port}`;
    return url.toString();
  }
}

/**
 * How this folder reaches PostgreSQL: one place that turns a `DATABASE_URL` into the target schema and
 * a `pg` configuration, shared by the migration runner and the Prisma store so both land in the same
 * schema with the same session settings.
 */
import type { PoolConfig } from 'pg';

/** Default wait for a TCP connection + startup; a dead Postgres fails within this, not the OS's ~2 min. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;

export interface DatabaseTarget {
  /** The URL handed to `pg`, with Prisma's `schema` parameter removed and the session pinned to UTC. */
  readonly connectionString: string;
  /** Postgres schema the tables live in: `options.schema`, else the URL's `?schema=` (Prisma's convention), else `public`. */
  readonly schema: string;
}

/**
 * Resolves where to connect and which schema to use.
 *
 * The session time zone is forced to UTC (appended to the URL's `options`, which `pg` lets override
 * explicit config): `@prisma/adapter-pg` sends `Date`s as offset-less strings, which Postgres reads in
 * the session time zone, so any other zone would shift every stored bucket (prisma/orm#28629).
 */
export function resolveTarget(databaseUrl: string, schema?: string): DatabaseTarget {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch (cause) {
    throw new TypeError('lastSeen: DATABASE_URL must be a postgres:// or postgresql:// URL', { cause });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new TypeError(`lastSeen: DATABASE_URL must start with postgres:// or postgresql://, got ${url.protocol}//`);
  }
  const target = schema ?? url.searchParams.get('schema') ?? 'public';
  assertSchemaName(target);
  url.searchParams.delete('schema');
  const options = url.searchParams.get('options');
  url.searchParams.set('options', `${options ? `${options} ` : ''}-c TimeZone=UTC`);
  return { connectionString: url.toString(), schema: target };
}

/** `pg` settings both the runner and the store use; `overrides` win. */
export function poolConfig(target: DatabaseTarget, overrides: PoolConfig = {}): PoolConfig {
  return {
    connectionString: target.connectionString,
    connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS,
    application_name: 'presence-graph',
    ...overrides,
  };
}

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Schema names are interpolated into SQL (quoted); still, refuse anything that is not a plain name. */
export function assertSchemaName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(name)) {
    throw new TypeError(`lastSeen: schema must be a plain identifier (letters, digits, _), got ${JSON.stringify(name)}`);
  }
}

/**
 * Applies `prisma/migrations/<name>/migration.sql` in name order and records each in
 * `_prisma_migrations` exactly as Prisma's schema engine does, so `prisma migrate deploy` (wherever the
 * engine can be had) and this runner agree on what is applied. Here the engine cannot be downloaded;
 * this runner needs only `pg`.
 *
 * Order of events, per call:
 * 1. connect (short timeout), take Prisma Migrate's own advisory lock (72707369) — concurrent callers,
 *    this runner or `prisma migrate deploy`, queue behind each other;
 * 2. create the schema and `_prisma_migrations` if missing (Prisma's DDL);
 * 3. refuse — before touching anything — if a recorded migration failed and was never rolled back, or
 *    if an applied migration's file no longer matches its checksum;
 * 4. apply each unapplied migration in one transaction together with its history row, so a migration
 *    is either applied and recorded or neither. A failed one is recorded the way
 *    `prisma migrate resolve --rolled-back` would leave it (it was rolled back by the transaction), and
 *    the call throws.
 *
 * CLI: `npm run db:migrate` applies to $DATABASE_URL (schema from `?schema=`, default `public`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { poolConfig, quoteIdent, resolveTarget } from './connection.js';

/** Prisma Migrate's advisory lock key (prisma-engines `flavour/postgres.rs`): shared on purpose. */
export const MIGRATE_LOCK_KEY = 72707369;

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** `_prisma_migrations` as Prisma's Postgres flavour creates it (IF NOT EXISTS: we hold the lock anyway). */
const HISTORY_TABLE_DDL = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrateOptions {
  /** Postgres schema to migrate; default: the URL's `?schema=`, else `public`. Created if missing. */
  schema?: string;
  /** Folder of `<name>/migration.sql`; default `prisma/migrations`. */
  migrationsDir?: string;
  /** How long to wait for another migrator's lock before giving up; default 60 s. */
  lockTimeoutMs?: number;
  /** Connect timeout; default 3 s. */
  connectTimeoutMs?: number;
  /** One line per applied migration; default silent. */
  log?: (line: string) => void;
}

export interface MigrateResult {
  readonly schema: string;
  /** Migrations this call applied, in order. */
  readonly applied: string[];
  /** Migrations found already applied. */
  readonly alreadyApplied: string[];
}

export interface LocalMigration {
  readonly name: string;
  readonly script: string;
  readonly checksum: string;
}

/** An applied migration's file was edited: applying on top of it could silently diverge. */
export class MigrationChecksumError extends Error {
  override readonly name = 'MigrationChecksumError';
  constructor(readonly migrations: readonly string[]) {
    super(
      `migrate: applied migration(s) ${migrations.join(', ')} no longer match the checksum recorded in ` +
        '_prisma_migrations; a migration must never change once applied — restore the file and add a new migration',
    );
  }
}

/** A migration failed (this call) or was left failed by an earlier run of Prisma (P3009). */
export class MigrationFailedError extends Error {
  override readonly name = 'MigrationFailedError';
  constructor(
    readonly migration: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** sha256 hex of the file's text: the value Prisma stores in `checksum`. */
export function checksumOf(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

/**
 * Whether a script matches a recorded checksum. Like Prisma, line endings do not count (git may turn
 * LF into CRLF on checkout), and the unpadded hex of old Prisma versions (prisma-engines#1887) matches.
 */
export function checksumMatches(script: string, checksum: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant, 'utf8').digest();
    const hex = checksum.length === 64 ? digest.toString('hex') : [...digest].map((b) => b.toString(16)).join('');
    return hex === checksum;
  });
}

/** Local migrations in the order Prisma applies them (folder name, lexicographic). */
export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<LocalMigration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const out: LocalMigration[] = [];
  for (const name of names) {
    let script: string;
    try {
      script = await readFile(resolve(dir, name, 'migration.sql'), 'utf8');
    } catch (cause) {
      throw new MigrationFailedError(name, `migrate: ${name}/migration.sql is missing`, { cause });
    }
    out.push({ name, script, checksum: checksumOf(script) });
  }
  return out;
}

interface HistoryRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Brings the schema up to date. Idempotent; safe to call from several processes at once. Rejects with
 * `MigrationChecksumError` / `MigrationFailedError` (nothing applied after the refusal), or with the
 * `pg` error when the database cannot be reached.
 */
export async function applyMigrations(databaseUrl: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const target = resolveTarget(databaseUrl, options.schema);
  const migrations = await readMigrations(options.migrationsDir);
  const log = options.log ?? (() => {});
  const client = new pg.Client(
    poolConfig(target, {
      application_name: 'presence-graph migrate',
      ...(options.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: options.connectTimeoutMs }),
    }),
  );
  // An idle client whose server goes away emits 'error'; the awaiting query rejects anyway.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`SET lock_timeout = ${Math.max(1, Math.trunc(options.lockTimeoutMs ?? 60_000))}`);
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]).catch((error: { code?: string }) => {
      if (error?.code !== '55P03') throw error;
      throw new Error(
        `migrate: another migrator has held Prisma Migrate's advisory lock (${MIGRATE_LOCK_KEY}) for over ${options.lockTimeoutMs ?? 60_000} ms`,
        { cause: error },
      );
    });
    try {
      await client.query('RESET lock_timeout');
      return await migrateLocked(client, target.schema, migrations, log);
    } finally {
      // Ending the session releases it too; don't let a failed unlock hide the real error.
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

async function migrateLocked(
  client: pg.Client,
  schema: string,
  migrations: readonly LocalMigration[],
  log: (line: string) => void,
): Promise<MigrateResult> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  // Unqualified names in migration.sql land here, as with Prisma's `?schema=`.
  await client.query(`SET search_path TO ${quoteIdent(schema)}`);
  await client.query(HISTORY_TABLE_DDL);

  const { rows } = await client.query<HistoryRow>(
    'SELECT id, checksum, migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at',
  );
  const live = rows.filter((row) => row.rolled_back_at === null);
  const failed = live.find((row) => row.finished_at === null);
  if (failed) {
    throw new MigrationFailedError(
      failed.migration_name,
      `migrate: migration ${failed.migration_name} in schema ${schema} failed earlier and was not rolled back ` +
        '(Prisma P3009); fix the database, then mark it with `prisma migrate resolve` or set its rolled_back_at',
    );
  }
  const applied = new Map(live.map((row) => [row.migration_name, row]));
  const edited = migrations
    .filter((m) => {
      const row = applied.get(m.name);
      return row !== undefined && !checksumMatches(m.script, row.checksum);
    })
    .map((m) => m.name);
  if (edited.length > 0) throw new MigrationChecksumError(edited);

  const result: MigrateResult = { schema, applied: [], alreadyApplied: [] };
  for (const migration of migrations) {
    if (applied.has(migration.name)) {
      result.alreadyApplied.push(migration.name);
      continue;
    }
    await applyOne(client, migration);
    result.applied.push(migration.name);
    log(`migrate: applied ${migration.name} to schema ${schema}`);
  }
  return result;
}

async function applyOne(client: pg.Client, migration: LocalMigration): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, clock_timestamp())',
      [id, migration.checksum, migration.name],
    );
    // No parameters: the simple protocol runs the whole multi-statement script.
    await client.query(migration.script);
    await client.query(
      `UPDATE _prisma_migrations
          SET applied_steps_count = applied_steps_count + 1, finished_at = clock_timestamp()
        WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    // Best effort: leave the trace Prisma would, marked rolled back so the next run retries it.
    await client
      .query(
        `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, rolled_back_at)
         VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp())`,
        [id, migration.checksum, migration.name, String((error as Error)?.message ?? error)],
      )
      .catch(() => {});
    throw new MigrationFailedError(
      migration.name,
      `migrate: migration ${migration.name} failed and was rolled back: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('db:migrate: DATABASE_URL is not set (without it the server uses the embedded last-seen store, which needs no migration)');
    process.exitCode = 1;
    return;
  }
  try {
    const result = await applyMigrations(url, { log: (line) => console.log(line) });
    console.log(
      `db:migrate: schema ${result.schema} is up to date (${result.applied.length} applied, ${result.alreadyApplied.length} already applied)`,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(message.startsWith('migrate:') ? `db:${message}` : `db:migrate: could not migrate $DATABASE_URL: ${message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}

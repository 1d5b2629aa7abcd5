import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../presence/index.js';
import {
  MIGRATE_LOCK_KEY,
  MIGRATIONS_DIR,
  MigrationChecksumError,
  MigrationFailedError,
  applyMigrations,
  checksumOf,
  readMigrations,
} from '../../prisma/migrate.js';
import type { PrismaLastSeenStore } from '../../prisma/store.js';
import { lastSeenStoreContract, MINUTE, T0, transition } from '../contract/lastSeenStore.contract.js';
import { DATABASE_URL, PgProxy, dropSchema, migratedSchema, openStore, sql, uniqueSchema } from './postgres.js';

const INIT = '20261122070000_init';

lastSeenStoreContract('postgres (prisma)', async () => {
  const { schema, drop } = await migratedSchema();
  const store = await openStore({ databaseUrl: DATABASE_URL, schema });
  return {
    store,
    queries: () => store.queries,
    async dispose() {
      await store.close();
      await drop();
    },
  };
});

/** Things to undo after each test, newest first. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
});

async function schemaWithStore(options: { url?: string; connectTimeoutMs?: number } = {}): Promise<{ schema: string; store: PrismaLastSeenStore }> {
  const { schema, drop } = await migratedSchema();
  cleanups.push(drop);
  const store = await openStore({ databaseUrl: options.url ?? DATABASE_URL, schema, connectTimeoutMs: options.connectTimeoutMs });
  cleanups.push(() => store.close());
  return { schema, store };
}

/** A copy of prisma/migrations/ a test may edit. */
async function migrationsCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function history(schema: string) {
  const { rows } = await sql<{
    id: string;
    checksum: string;
    migration_name: string;
    logs: string | null;
    finished_at: Date | null;
    rolled_back_at: Date | null;
    applied_steps_count: number;
  }>(`SELECT * FROM "${schema}"._prisma_migrations ORDER BY started_at`);
  return rows;
}

describe('applyMigrations', () => {
  it('should apply the init migration once and record it the way Prisma does', async () => {
    const schema = uniqueSchema('migrate');
    cleanups.push(() => dropSchema(schema));

    const first = await applyMigrations(DATABASE_URL, { schema });
    const second = await applyMigrations(DATABASE_URL, { schema });

    expect(first).toEqual({ schema, applied: [INIT], alreadyApplied: [] });
    expect(second).toEqual({ schema, applied: [], alreadyApplied: [INIT] });
    const file = await readFile(join(MIGRATIONS_DIR, INIT, 'migration.sql'), 'utf8');
    const rows = await history(schema);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      migration_name: INIT,
      checksum: checksumOf(file),
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(rows[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(rows[0]!.finished_at).toBeInstanceOf(Date);
    expect(checksumOf(file)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('should create exactly the columns of Prisma\'s _prisma_migrations', async () => {
    const { schema, drop } = await migratedSchema('migrate');
    cleanups.push(drop);

    const { rows } = await sql<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      [schema],
    );
    expect(rows.map((r) => [r.column_name, r.data_type, r.is_nullable])).toEqual([
      ['id', 'character varying', 'NO'],
      ['checksum', 'character varying', 'NO'],
      ['finished_at', 'timestamp with time zone', 'YES'],
      ['migration_name', 'character varying', 'NO'],
      ['logs', 'text', 'YES'],
      ['rolled_back_at', 'timestamp with time zone', 'YES'],
      ['started_at', 'timestamp with time zone', 'NO'],
      ['applied_steps_count', 'integer', 'NO'],
    ]);
  });

  it('should let three callers migrate the same schema at once, applying it exactly once', async () => {
    const schema = uniqueSchema('migrate');
    cleanups.push(() => dropSchema(schema));

    const results = await Promise.all([1, 2, 3].map(() => applyMigrations(DATABASE_URL, { schema })));

    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 1]);
    expect(results.every((r) => [...r.applied, ...r.alreadyApplied].join() === INIT)).toBe(true);
    expect(await history(schema)).toHaveLength(1);
  });

  it('should refuse, before applying anything, when an applied migration was edited', async () => {
    const dir = await migrationsCopy();
    const schema = uniqueSchema('migrate');
    cleanups.push(() => dropSchema(schema));
    await applyMigrations(DATABASE_URL, { schema, migrationsDir: dir });
    await writeFile(join(dir, INIT, 'migration.sql'), `${await readFile(join(dir, INIT, 'migration.sql'), 'utf8')}\n-- edited\n`);
    await mkdir(join(dir, '20261123000000_next'));
    await writeFile(join(dir, '20261123000000_next', 'migration.sql'), 'CREATE TABLE "next_table" ("id" TEXT);\n');

    const refused = applyMigrations(DATABASE_URL, { schema, migrationsDir: dir });

    await expect(refused).rejects.toBeInstanceOf(MigrationChecksumError);
    await expect(refused).rejects.toThrow(`migrate: applied migration(s) ${INIT} no longer match the checksum`);
    expect((await sql(`SELECT to_regclass($1) AS t`, [`"${schema}".next_table`])).rows[0]?.t).toBeNull();
    expect(await history(schema)).toHaveLength(1);
  });

  it('should accept an applied migration whose only change is CRLF line endings, as Prisma does', async () => {
    const dir = await migrationsCopy();
    const schema = uniqueSchema('migrate');
    cleanups.push(() => dropSchema(schema));
    await applyMigrations(DATABASE_URL, { schema, migrationsDir: dir });
    const file = join(dir, INIT, 'migration.sql');
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll('\n', '\r\n'));

    await expect(applyMigrations(DATABASE_URL, { schema, migrationsDir: dir })).resolves.toMatchObject({ applied: [] });
  });

  it('should roll back a failing migration entirely, record it rolled back, and apply it once fixed', async () => {
    const dir = await migrationsCopy();
    const schema = uniqueSchema('migrate');
    cleanups.push(() => dropSchema(schema));
    const next = join(dir, '20261123000000_next', 'migration.sql');
    await mkdir(join(dir, '20261123000000_next'));
    await writeFile(next, 'CREATE TABLE "half" ("id" TEXT);\nSELECT no_such_function();\n');

    const failed = applyMigrations(DATABASE_URL, { schema, migrationsDir: dir });

    await expect(failed).rejects.toBeInstanceOf(MigrationFailedError);
    await expect(failed).rejects.toThrow(/20261123000000_next failed and was rolled back: function no_such_function\(\) does not exist/);
    expect((await sql(`SELECT to_regclass($1) AS t`, [`"${schema}".half`])).rows[0]?.t).toBeNull();
    const rows = await history(schema);
    // The init migration of the first failing call, plus one rolled-back record per attempt.
    expect(rows.filter((r) => r.rolled_back_at === null).map((r) => r.migration_name)).toEqual([INIT]);
    expect(rows.filter((r) => r.rolled_back_at !== null).every((r) => r.migration_name === '20261123000000_next' && r.logs?.includes('no_such_function'))).toBe(true);

    await writeFile(next, 'CREATE TABLE "half" ("id" TEXT);\n');
    await expect(applyMigrations(DATABASE_URL, { schema, migrationsDir: dir })).resolves.toMatchObject({
      applied: ['20261123000000_next'],
      alreadyApplied: [INIT],
    });
  });

  it('should refuse to run over a migration Prisma left failed (P3009)', async () => {
    const { schema, drop } = await migratedSchema('migrate');
    cleanups.push(drop);
    await sql(`UPDATE "${schema}"._prisma_migrations SET finished_at = NULL`);

    await expect(applyMigrations(DATABASE_URL, { schema })).rejects.toThrow(
      `migrate: migration ${INIT} in schema ${schema} failed earlier and was not rolled back (Prisma P3009)`,
    );
  });

  it('should give up with a clear message when another migrator keeps the lock', async () => {
    const holder = new pg.Client({ connectionString: DATABASE_URL });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    const schema = uniqueSchema('migrate');
    cleanups.push(() => dropSchema(schema));

    await expect(applyMigrations(DATABASE_URL, { schema, lockTimeoutMs: 200 })).rejects.toThrow(
      "migrate: another migrator has held Prisma Migrate's advisory lock (72707369) for over 200 ms",
    );
  });

  it('should list local migrations in name order with their sha256', async () => {
    const migrations = await readMigrations();
    expect(migrations.map((m) => m.name)).toEqual([INIT]);
    expect(migrations[0]!.checksum).toBe(checksumOf(migrations[0]!.script));
  });
});

describe('schema constraints', () => {
  it.each([
    ['last_seen', `INSERT INTO %s.last_seen VALUES ('u', $1, 1)`],
    ['transition_trail', `INSERT INTO %s.transition_trail VALUES ('u:1', 'u', 'ONLINE', 'OFFLINE', $1, 'EXPIRY', 1)`],
  ])('should let %s hold only whole-minute buckets', async (_table, insert) => {
    const { schema, drop } = await migratedSchema('check');
    cleanups.push(drop);
    const statement = insert.replace('%s', `"${schema}"`);

    await expect(sql(statement, ['2026-11-22 06:00:30+00'])).rejects.toMatchObject({ code: '23514' });
    await expect(sql(statement, ['2026-11-22 06:00:00.001+00'])).rejects.toMatchObject({ code: '23514' });
    // A whole minute in another zone is still a whole minute.
    await expect(sql(statement, ['2026-11-22 11:30:00+05:30'])).resolves.toMatchObject({ rowCount: 1 });
  });

  it('should refuse a trail row whose id is not `${user_id}:${version}`', async () => {
    const { schema, drop } = await migratedSchema('check');
    cleanups.push(drop);

    await expect(
      sql(`INSERT INTO "${schema}".transition_trail VALUES ('u:2', 'u', 'ONLINE', 'OFFLINE', '2026-11-22 06:00:00+00', 'EXPIRY', 1)`),
    ).rejects.toMatchObject({ code: '23514', constraint: 'transition_trail_id_is_user_version' });
  });
});

describe('PrismaLastSeenStore on Postgres', () => {
  it('should keep each store inside its own schema (adapter-pg `schema` scopes generated and raw queries)', async () => {
    const a = await schemaWithStore();
    const b = await schemaWithStore();

    await a.store.record([transition({ userId: 'ada', version: 1 })]);

    expect(await b.store.lastSeen(['ada'])).toEqual(new Map());
    expect(await b.store.trail('ada', 5)).toEqual([]);
    const counts = async (schema: string) =>
      (await sql(`SELECT (SELECT count(*) FROM "${schema}".last_seen)::int AS l, (SELECT count(*) FROM "${schema}".transition_trail)::int AS t`)).rows[0];
    expect(await counts(a.schema)).toEqual({ l: 1, t: 1 });
    expect(await counts(b.schema)).toEqual({ l: 0, t: 0 });
  });

  it('should store the true instant even when the connection asks for another time zone', async () => {
    const url = new URL(DATABASE_URL);
    url.searchParams.set('options', '-c TimeZone=America/New_York');
    const { schema, store } = await schemaWithStore({ url: url.toString() });

    await store.record([transition({ userId: 'tz', version: 1, bucket: T0 + 7 * MINUTE })]);

    const { rows } = await sql<{ ms: string }>(
      `SELECT (extract(epoch FROM bucket) * 1000)::bigint AS ms FROM "${schema}".transition_trail UNION ALL
       SELECT (extract(epoch FROM bucket) * 1000)::bigint FROM "${schema}".last_seen`,
    );
    expect(rows.map((r) => Number(r.ms))).toEqual([T0 + 7 * MINUTE, T0 + 7 * MINUTE]);
    expect(await store.lastSeen(['tz'])).toEqual(new Map([['tz', { bucket: T0 + 7 * MINUTE, version: 1 }]]));
  });

  it('should honour `?schema=` in the URL like Prisma does', async () => {
    const { schema, drop } = await migratedSchema();
    cleanups.push(drop);
    const url = new URL(DATABASE_URL);
    url.searchParams.set('schema', schema);
    const store = await openStore({ databaseUrl: url.toString() });
    cleanups.push(() => store.close());

    await store.record([transition({ userId: 'q', version: 1 })]);

    expect(store.schema).toBe(schema);
    expect((await sql(`SELECT count(*)::int AS n FROM "${schema}".transition_trail`)).rows[0]).toEqual({ n: 1 });
  });

  it('should never move last-seen backwards when two writers race on the same users', async () => {
    const { schema, store } = await schemaWithStore();
    const other = await openStore({ databaseUrl: DATABASE_URL, schema });
    cleanups.push(() => other.close());
    const users = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    const batch = (versions: number[]) => versions.flatMap((v) => users.map((userId) => transition({ userId, version: v })));

    await Promise.all([
      store.record(batch([1, 3, 5, 7, 9])),
      other.record(batch([2, 4, 6, 8, 10])),
      store.record(batch([10, 2]).reverse()),
      other.record(batch([9, 1]).reverse()),
    ]);

    const seen = await store.lastSeen(users);
    expect([...seen.values()]).toEqual(users.map(() => ({ bucket: T0 + 10 * MINUTE, version: 10 })));
    expect((await store.trail('race-0', 100)).map((r) => r.version)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('should send one transaction of two statements per record', async () => {
    const { store } = await schemaWithStore();
    const before = store.queries;

    await store.record(Array.from({ length: 200 }, (_, i) => transition({ userId: `u${i % 50}`, version: 1 + Math.floor(i / 50) })));

    expect(store.queries - before).toBe(2);
    expect((await store.lastSeen(['u7'])).get('u7')).toEqual({ bucket: T0 + 4 * MINUTE, version: 4 });
  });

  it('should fail fast with StoreUnavailableError when nothing listens on the port', async () => {
    const store = await openStore({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/test', schema: 'nowhere' });
    cleanups.push(() => store.close());
    const started = Date.now();

    const outcomes = await Promise.allSettled([
      store.record([transition({ userId: 'x', version: 1 })]),
      store.lastSeen(['x']),
      store.trail('x', 1),
      store.prune(T0),
      store.ping(),
    ]);

    expect(Date.now() - started).toBeLessThan(3_000);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ store: 'lastSeen', message: 'lastSeen store unavailable' });
    }
  });

  it('should give up within the connect timeout when the server accepts but never answers', async () => {
    const accepted = new Set<net.Socket>();
    const silent = net.createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of accepted) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const port = (silent.address() as net.AddressInfo).port;
    const store = await openStore({ databaseUrl: `postgresql://postgres@127.0.0.1:${port}/test`, schema: 'nowhere', connectTimeoutMs: 300 });
    cleanups.push(() => store.close());
    const started = Date.now();

    await expect(store.lastSeen(['x'])).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('should report an outage as StoreUnavailableError and work again once Postgres is back', async () => {
    const proxy = await PgProxy.open();
    cleanups.push(() => proxy.close());
    const { store } = await schemaWithStore({ url: proxy.url, connectTimeoutMs: 1_000 });
    await store.record([transition({ userId: 'out', version: 1 })]);

    proxy.down();
    await expect(store.record([transition({ userId: 'out', version: 2 })])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    proxy.up();
    await store.record([transition({ userId: 'out', version: 2 })]);

    expect((await store.lastSeen(['out'])).get('out')).toEqual({ bucket: T0 + 2 * MINUTE, version: 2 });
  });

  it('should let a CHECK violation through as itself, not as unavailability', async () => {
    const { schema } = await schemaWithStore();
    const { isConnectionFailure } = await import('../../prisma/unavailable.js');
    const error = await sql(`INSERT INTO "${schema}".last_seen VALUES ('u', '2026-11-22 06:00:30+00', 1)`).catch((e: unknown) => e);

    expect(isConnectionFailure(error)).toBe(false);
  });
});

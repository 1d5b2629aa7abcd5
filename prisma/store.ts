/**
 * The LastSeenStore on PostgreSQL, through the generated Prisma client and `@prisma/adapter-pg` (no
 * engine binary at run time). Tables and the CHECKs that guard them: schema.prisma + migrations/.
 *
 * - `record` is one transaction: trail rows inserted with ON CONFLICT DO NOTHING on the transition id
 *   (a replay changes nothing), then one upsert that moves each user's last-seen forward only —
 *   `(bucket, version)` compared as a pair, in SQL, so concurrent drains cannot move it back.
 * - `lastSeen(ids)` is one query whatever the number of ids; `trail` and `prune` one each.
 * - Any connection failure (refused, timed out, dropped, server shutting down) rejects with
 *   `StoreUnavailableError('lastSeen', { cause })`; anything else (a bug in what we sent) propagates.
 *   The pool reconnects by itself once Postgres is back.
 *
 * Requires the generated client (`npm run prisma:generate`) and a migrated schema (`npm run db:migrate`).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import type { Transition, UserId } from '../presence/index.js';
import { StoreUnavailableError } from '../presence/index.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, poolConfig, quoteIdent, resolveTarget } from './connection.js';
import { Prisma, PrismaClient } from './generated/client.js';
import { assertLimit, planRecord } from './plan.js';
import type { DurableLastSeen, LastSeenStore, TrailRow } from './port.js';
import { isConnectionFailure } from './unavailable.js';

export interface PrismaLastSeenStoreOptions {
  /** `postgresql://…`; a `?schema=` parameter is honoured as Prisma does. */
  databaseUrl: string;
  /**
   * Postgres schema holding the tables; default: the URL's `?schema=`, else `public`. Every query is
   * qualified with it (adapter-pg's `schema` option for generated queries, explicitly for raw SQL), so
   * tests can give each case its own schema.
   */
  schema?: string;
  /** TCP connect + startup timeout; default 3 s, so a dead Postgres fails fast instead of hanging a request. */
  connectTimeoutMs?: number;
  /** Server-side statement timeout; default 15 s (a stuck statement counts as unavailable). */
  statementTimeoutMs?: number;
  /** Pool size; default 5 (one drain plus last-seen reads). */
  maxConnections?: number;
}

export class PrismaLastSeenStore implements LastSeenStore {
  readonly schema: string;
  readonly #prisma: PrismaClient;
  readonly #lastSeenTable: Prisma.Sql;
  #queries = 0;
  #closed = false;

  constructor(options: PrismaLastSeenStoreOptions) {
    const target = resolveTarget(options.databaseUrl, options.schema);
    this.schema = target.schema;
    this.#lastSeenTable = Prisma.raw(`${quoteIdent(target.schema)}."last_seen"`);
    const adapter = new PrismaPg(
      poolConfig(target, {
        connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        statement_timeout: options.statementTimeoutMs ?? 15_000,
        max: options.maxConnections ?? 5,
      }),
      {
        schema: target.schema,
        // A pooled connection dying while idle (Postgres restarted) must not crash the process; the
        // pool drops it and the next query opens a fresh one.
        onPoolError: () => {},
        onConnectionError: () => {},
      },
    );
    this.#prisma = new PrismaClient({ adapter });
  }

  /** Statements sent so far (a transaction counts its statements): proves batching in tests. */
  get queries(): number {
    return this.#queries;
  }

  async record(transitions: readonly Transition[]): Promise<void> {
    this.#assertOpen();
    const plan = planRecord(transitions);
    if (plan.trail.length === 0) return;
    const steps: Prisma.PrismaPromise<unknown>[] = [
      this.#prisma.transition.createMany({
        data: plan.trail.map((row) => ({
          id: row.transitionId,
          userId: row.userId,
          from: row.from,
          to: row.to,
          bucket: new Date(row.bucket),
          cause: row.cause,
          version: row.version,
        })),
        skipDuplicates: true,
      }),
    ];
    if (plan.lastSeen.length > 0) {
      // ISO strings with a Z, cast in SQL: independent of the session time zone.
      const values = Prisma.join(
        plan.lastSeen.map(
          (row) => Prisma.sql`(${row.userId}, ${new Date(row.bucket).toISOString()}::timestamptz, ${row.version}::integer)`,
        ),
      );
      steps.push(this.#prisma.$executeRaw`
        INSERT INTO ${this.#lastSeenTable} AS stored ("user_id", "bucket", "version")
        VALUES ${values}
        ON CONFLICT ("user_id") DO UPDATE
          SET "bucket" = EXCLUDED."bucket", "version" = EXCLUDED."version"
          WHERE (stored."bucket", stored."version") < (EXCLUDED."bucket", EXCLUDED."version")`);
    }
    await this.#run(steps.length, () => this.#prisma.$transaction(steps));
  }

  async lastSeen(userIds: readonly UserId[]): Promise<Map<UserId, DurableLastSeen>> {
    this.#assertOpen();
    const out = new Map<UserId, DurableLastSeen>();
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return out;
    const rows = await this.#run(1, () =>
      this.#prisma.lastSeen.findMany({ where: { userId: { in: unique } } }),
    );
    for (const row of rows) out.set(row.userId, { bucket: row.bucket.getTime(), version: row.version });
    return out;
  }

  async trail(userId: UserId, limit: number): Promise<TrailRow[]> {
    this.#assertOpen();
    assertLimit(limit);
    if (limit === 0) return [];
    const rows = await this.#run(1, () =>
      this.#prisma.transition.findMany({
        where: { userId },
        // Newest first, on the (user_id, bucket) index; version breaks ties within a minute.
        orderBy: [{ bucket: 'desc' }, { version: 'desc' }],
        take: limit,
      }),
    );
    return rows.map((row) => ({
      transitionId: row.id,
      userId: row.userId,
      from: row.from,
      to: row.to,
      bucket: row.bucket.getTime(),
      cause: row.cause,
      version: row.version,
    }));
  }

  async prune(before: number): Promise<number> {
    if (!Number.isFinite(before)) throw new RangeError(`lastSeen: prune needs a finite time, got ${before}`);
    const { count } = await this.#run(1, () =>
      this.#prisma.transition.deleteMany({ where: { bucket: { lt: new Date(before) } } }),
    );
    return count;
  }

  async ping(): Promise<void> {
    await this.#run(1, () => this.#prisma.$queryRaw`SELECT 1`);
  }

  /** Closes the pool. Idempotent; later calls reject with `StoreUnavailableError`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#prisma.$disconnect();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('lastSeen', { cause: new Error('lastSeen store is closed') });
  }

  async #run<T>(statements: number, work: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    this.#queries += statements;
    try {
      return await work();
    } catch (error) {
      if (isConnectionFailure(error)) throw new StoreUnavailableError('lastSeen', { cause: error });
      throw error;
    }
  }
}

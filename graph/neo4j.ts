/**
 * ContactGraph on Neo4j, through neo4j-driver over Bolt. The Cypher lives in `neo4jCypher.ts`; which
 * driver failures count as "unreachable" is decided in `neo4jErrors.ts`.
 *
 * Every public method is one session and one managed transaction (`executeRead` / `executeWrite`),
 * closed in `finally`, and — except `migrate()` — one Cypher round trip (see `queries`). When Neo4j
 * cannot be reached, each rejects with `StoreUnavailableError('graph')` within about `deadlineMs`
 * (callers then answer UNKNOWN: fail closed); after Neo4j comes back the driver opens fresh connections
 * by itself, nothing needs restarting.
 *
 * Start-up order: construct (no I/O), `migrate()` (creates the constraint; idempotent), then serve.
 * `Neo4jContactGraph.connect(options)` does both.
 */
import neo4j, { type Driver, type ManagedTransaction, type QueryResult, type SessionConfig } from 'neo4j-driver';
import { StoreUnavailableError } from '../presence/errors.js';
import { DEFAULT_PRIVACY, PRIVACY_MODES, type PrivacyMode, type Relation, type UserId } from '../presence/index.js';
import * as cypher from './neo4jCypher.js';
import { toGraphError } from './neo4jErrors.js';
import type { Audience, ContactGraph, ContactPage, Revision } from './port.js';

export interface Neo4jContactGraphOptions {
  /** Bolt URI, e.g. `bolt://127.0.0.1:7687` (NEO4J_URI). Use `bolt://` for a single server. */
  readonly uri: string;
  /** NEO4J_USER, e.g. `neo4j`. */
  readonly user: string;
  /** NEO4J_PASSWORD. */
  readonly password: string;
  /**
   * Partitions the graph: instances with different namespaces never see each other's users or edges.
   * Stored as the `ns` property of every `:User` node and part of its key (constraint on `(ns, id)`).
   * Default `''`, the production namespace; tests use a fresh one each.
   */
  readonly namespace?: string;
  /** Database name; default: the server's default database (`neo4j` on Community). */
  readonly database?: string;
  /**
   * How long opening a connection (TCP + Bolt handshake + auth) may take. Default 2000 ms: a dead or
   * hung Neo4j must turn into UNKNOWN quickly, and on loopback or in a data centre a healthy one answers
   * in milliseconds.
   */
  readonly connectionTimeoutMs?: number;
  /** How long to wait for a free pooled connection. Default 2000 ms, for the same reason. */
  readonly acquisitionTimeoutMs?: number;
  /**
   * How long a managed transaction is retried after a transient failure (dropped connection, deadlock).
   * The driver waits ~1 s (±20 %) before the first retry and doubles the wait after that, so the default
   * 500 ms means exactly one retry: enough to ride over one broken pooled connection after a Neo4j
   * restart, and a dead Neo4j fails in ~1 s. At 1000 ms a jittered second retry can push it past 3 s.
   */
  readonly retryTimeMs?: number;
  /**
   * Upper bound on a whole call, retries included; also sent as the server-side transaction timeout. A
   * Neo4j that accepted a query and then hangs (a stopped JVM, a full GC) gives no error at all, so this
   * is what turns it into StoreUnavailableError. Default 5000 ms.
   */
  readonly deadlineMs?: number;
  /** Bolt connections per process. Default 100 (the driver's default). */
  readonly maxPoolSize?: number;
}

export class Neo4jContactGraph implements ContactGraph {
  /** This instance's namespace (`ns` of its nodes); `''` in production. */
  readonly namespace: string;
  readonly #driver: Driver;
  readonly #session: SessionConfig;
  readonly #deadlineMs: number;
  #queries = 0;

  /** Creates a graph and its constraint. Rejects with StoreUnavailableError('graph') if unreachable. */
  static async connect(options: Neo4jContactGraphOptions): Promise<Neo4jContactGraph> {
    const graph = new Neo4jContactGraph(options);
    try {
      await graph.migrate();
    } catch (error) {
      await graph.close();
      throw error;
    }
    return graph;
  }

  /** No I/O: the driver connects lazily, on the first call. Throws on invalid options. */
  constructor(options: Neo4jContactGraphOptions) {
    const connectionTimeout = positive(options.connectionTimeoutMs ?? 2_000, 'connectionTimeoutMs');
    const acquisitionTimeout = positive(options.acquisitionTimeoutMs ?? 2_000, 'acquisitionTimeoutMs');
    const retryTime = nonNegative(options.retryTimeMs ?? 500, 'retryTimeMs');
    this.#deadlineMs = positive(options.deadlineMs ?? 5_000, 'deadlineMs');
    const maxPoolSize = positive(options.maxPoolSize ?? 100, 'maxPoolSize');
    if (typeof options.namespace !== 'undefined' && typeof options.namespace !== 'string') {
      throw new TypeError(`graph: namespace must be a string, got ${typeof options.namespace}`);
    }
    this.namespace = options.namespace ?? '';
    this.#driver = neo4j.driver(options.uri, neo4j.auth.basic(options.user, options.password), {
      connectionTimeout,
      connectionAcquisitionTimeout: acquisitionTimeout,
      maxTransactionRetryTime: retryTime,
      maxConnectionPoolSize: maxPoolSize,
      // Connections idle for a while are checked before use, so a restarted Neo4j is noticed up front.
      connectionLivenessCheckTimeout: 30_000,
      disableLosslessIntegers: true,
    });
    this.#session = options.database === undefined ? {} : { database: options.database };
  }

  /** Cypher round trips sent so far (retries included), so tests can prove batching. */
  get queries(): number {
    return this.#queries;
  }

  /** Creates the `(ns, id)` uniqueness constraint unless it exists. Safe to call on every start-up. */
  async migrate(): Promise<void> {
    try {
      await this.#write((tx) => this.#run(tx, cypher.MIGRATE_USER_KEY));
    } catch (error) {
      // Two processes migrating at the same moment: the loser finds the constraint already there.
      const code = (error as { code?: unknown }).code;
      if (code === 'Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists') return;
      if (code === 'Neo.ClientError.Schema.ConstraintAlreadyExists') return;
      throw error;
    }
  }

  async ensureUser(userId: UserId): Promise<void> {
    await this.#write((tx) => this.#run(tx, cypher.ENSURE_USER, { id: userId, privacy: DEFAULT_PRIVACY }));
  }

  async users(userIds: readonly UserId[]): Promise<Map<UserId, PrivacyMode>> {
    const found = new Map<UserId, PrivacyMode>();
    if (userIds.length === 0) return found;
    const result = await this.#read((tx) => this.#run(tx, cypher.USERS, { ids: [...new Set(userIds)] }));
    for (const record of result.records) {
      found.set(record.get('id') as string, privacyOf(record.get('privacy')));
    }
    return found;
  }

  /** One read transaction, one query, however many targets (the caller bounds them: ≤ 500). */
  async audience(viewerId: UserId, targetIds: readonly UserId[]): Promise<Audience> {
    const result = await this.#read((tx) =>
      this.#run(tx, cypher.AUDIENCE, { viewerId, targetIds: [...new Set(targetIds)] }),
    );
    const row = result.records[0];
    const relations = new Map<UserId, Relation>();
    const revisions = new Map<UserId, Revision>();
    if (row === undefined) return { viewerPrivacy: undefined, relations, revisions };
    const viewerPrivacy = row.get('viewerPrivacy') as unknown;
    const viewerRevision = row.get('viewerRevision') as unknown;
    if (typeof viewerRevision === 'number') revisions.set(viewerId, viewerRevision);
    for (const target of row.get('targets') as AudienceRow[]) {
      relations.set(target.id, {
        privacy: privacyOf(target.privacy),
        listsViewer: target.listsViewer === true,
        blocksViewer: target.blocksViewer === true,
      });
      revisions.set(target.id, target.revision);
    }
    return { viewerPrivacy: viewerPrivacy === null ? undefined : privacyOf(viewerPrivacy), relations, revisions };
  }

  /** @throws RangeError when `first` is not a non-negative integer (the API layer validates first). */
  async contacts(userId: UserId, first: number, after: UserId | null): Promise<ContactPage> {
    if (!Number.isSafeInteger(first) || first < 0) {
      throw new RangeError(`graph: first must be a non-negative integer, got ${first}`);
    }
    const result = await this.#read((tx) =>
      this.#run(tx, cypher.CONTACTS_PAGE, { userId, after, limit: neo4j.int(first + 1) }),
    );
    const row = result.records[0];
    if (row === undefined) return { ids: [], hasNextPage: false, revision: undefined };
    const ids = row.get('ids') as string[];
    return { ids: ids.slice(0, first), hasNextPage: ids.length > first, revision: row.get('revision') as number };
  }

  async changed(known: ReadonlyMap<UserId, Revision>): Promise<Set<UserId>> {
    if (known.size === 0) return new Set();
    // Two flat lists, not a pair per user: a renewal names up to 500 users, and an array and a driver
    // Integer per user are what a renewal would otherwise leave for V8's old generation. Revisions
    // go as floats; Cypher compares them with the stored integers by value (they are small counters).
    const result = await this.#read((tx) => this.#run(tx, cypher.CHANGED, { ids: [...known.keys()], revisions: [...known.values()] }));
    return new Set((result.records[0]?.get('changed') as UserId[] | undefined) ?? []);
  }

  /** A no-op for an unregistered user (as in the embedded graph): call `ensureUser` first. */
  async setPrivacy(userId: UserId, mode: PrivacyMode): Promise<void> {
    if (!PRIVACY_MODES.includes(mode)) throw new RangeError(`graph: unknown privacy mode ${String(mode)}`);
    await this.#write((tx) => this.#run(tx, cypher.SET_PRIVACY, { id: userId, privacy: mode }));
  }

  // Edge changes resolve false (nothing changed) when either user is unregistered; the API layer checks
  // existence first and answers with a proper error.

  addContact(userId: UserId, contactId: UserId): Promise<boolean> {
    return this.#changeEdge(cypher.ADD_CONTACT, userId, contactId);
  }

  removeContact(userId: UserId, contactId: UserId): Promise<boolean> {
    return this.#changeEdge(cypher.REMOVE_CONTACT, userId, contactId);
  }

  block(userId: UserId, blockedId: UserId): Promise<boolean> {
    return this.#changeEdge(cypher.BLOCK, userId, blockedId);
  }

  unblock(userId: UserId, blockedId: UserId): Promise<boolean> {
    return this.#changeEdge(cypher.UNBLOCK, userId, blockedId);
  }

  /** One `RETURN 1` through a read transaction: proves connectivity and credentials. */
  async ping(): Promise<void> {
    await this.#read((tx) => this.#run(tx, cypher.PING));
  }

  /** Closes the pool. Never rejects; later calls fail. */
  async close(): Promise<void> {
    await this.#driver.close().catch(() => {});
  }

  async #changeEdge(query: string, from: UserId, to: UserId): Promise<boolean> {
    const result = await this.#write((tx) => this.#run(tx, query, { from, to }));
    const updates = result.summary.counters.updates();
    return updates.relationshipsCreated + updates.relationshipsDeleted > 0;
  }

  #run(tx: ManagedTransaction, query: string, params: Record<string, unknown> = {}): Promise<QueryResult> {
    this.#queries++;
    return tx.run(query, { ns: this.namespace, ...params });
  }

  #read<T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    return this.#transaction('READ', work);
  }

  #write<T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    return this.#transaction('WRITE', work);
  }

  async #transaction<T>(mode: 'READ' | 'WRITE', work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const attempt = (async () => {
      const session = this.#driver.session(this.#session);
      try {
        const config = { timeout: this.#deadlineMs };
        return mode === 'READ' ? await session.executeRead(work, config) : await session.executeWrite(work, config);
      } finally {
        await session.close();
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineExceeded(this.#deadlineMs)),
        this.#deadlineMs,
      );
    });
    try {
      return await Promise.race([attempt, deadline]);
    } catch (error) {
      if (error instanceof DeadlineExceeded) {
        attempt.catch(() => {}); // still running; its connection is released when the server or socket dies
        throw new StoreUnavailableError('graph', { cause: error });
      }
      throw toGraphError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

class DeadlineExceeded extends Error {
  constructor(ms: number) {
    super(`graph: no answer from Neo4j within ${ms} ms`);
  }
}

interface AudienceRow {
  readonly id: UserId;
  readonly privacy: unknown;
  readonly revision: number;
  readonly listsViewer: unknown;
  readonly blocksViewer: unknown;
}

/** A stored privacy value; anything unrecognised (missing, corrupted) reads as NOBODY: fail closed. */
function privacyOf(value: unknown): PrivacyMode {
  return (PRIVACY_MODES as readonly unknown[]).includes(value) ? (value as PrivacyMode) : 'NOBODY';
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`graph: ${name} must be > 0, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`graph: ${name} must be ≥ 0, got ${value}`);
  return value;
}

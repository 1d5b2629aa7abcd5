/**
 * The use cases of who may see whom: registering a user when they sign in, their privacy mode, their
 * contacts and their blocks. Each change is written to the contact graph and then announced to every
 * process (hot/port.ts `publishVisibility`): relation caches forget what depended on the user, and open
 * subscriptions watching them re-check what their viewers may see (service/visibility.ts).
 */
import { LRUCache } from 'lru-cache';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { RELATION_TTL_MS } from '../graph/cached.js';
import type { ContactGraph, ContactPage } from '../graph/port.js';
import type { HotStore } from '../hot/port.js';
import { StoreUnavailableError, type PrivacyMode, type UserId } from '../presence/index.js';
import { UnknownUsersError } from './errors.js';

/** An edge a user owns: who they list as a contact, whom they block. */
export type EdgeChange = 'addContact' | 'removeContact' | 'block' | 'unblock';

/**
 * How long a failed announcement is retried in the background: as long as a relation cache elsewhere
 * may hold what it replaces, after which they read it again anyway.
 */
export const ANNOUNCE_RETRY_MS = RELATION_TTL_MS;

export interface PrivacyServiceDeps {
  /** The contact graph behind the relation cache (graph/cached.ts). */
  readonly graph: ContactGraph;
  readonly hot: Pick<HotStore, 'publishVisibility'>;
  readonly log: Logger;
}

export class PrivacyService {
  readonly #graph: ContactGraph;
  readonly #hot: Pick<HotStore, 'publishVisibility'>;
  readonly #log: Logger;
  /** Users this process registered (every request of a signed-in user asks). */
  readonly #registered = new LRUCache<UserId, true>({ max: 100_000 });

  constructor(deps: PrivacyServiceDeps) {
    this.#graph = deps.graph;
    this.#hot = deps.hot;
    this.#log = deps.log;
  }

  /**
   * A signed-in user exists from now on (privacy CONTACTS when new). While the graph cannot be reached
   * they read as UNKNOWN to others; signing in still works, and the next request registers them.
   */
  async register(userId: UserId): Promise<void> {
    if (this.#registered.has(userId)) return;
    try {
      await this.#graph.ensureUser(userId);
      this.#registered.set(userId, true);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
  }

  /** Throws StoreUnavailableError('graph') when the graph cannot be written (nothing changed). */
  async setPrivacy(userId: UserId, mode: PrivacyMode): Promise<void> {
    await this.#graph.setPrivacy(userId, mode);
    await this.#announce(userId);
  }

  /**
   * Adds or removes one of `userId`'s edges to `otherId`: true when it changed, false when it already was
   * so. UnknownUsersError when `otherId` is not registered; StoreUnavailableError('graph') when the graph
   * cannot be written (nothing changed).
   */
  async changeEdge(change: EdgeChange, userId: UserId, otherId: UserId): Promise<boolean> {
    const { relations } = await this.#graph.audience(userId, [otherId]);
    if (!relations.has(otherId)) throw new UnknownUsersError([otherId]);
    const changed = await this.#graph[change](userId, otherId);
    // The user's edges decide who may see the user: their watchers must re-check.
    if (changed) await this.#announce(userId);
    return changed;
  }

  /** A page of `userId`'s contacts, `first` of them after the id `after`. */
  contacts(userId: UserId, first: number, after: UserId | null): Promise<ContactPage> {
    return this.#graph.contacts(userId, first, after);
  }

  /**
   * Tells every process that who may see `userId` changed. The graph write has already happened; if the
   * hot store cannot take the announcement now, it is retried in the background with jittered backoff
   * for ANNOUNCE_RETRY_MS. Processes that cannot reach the hot store meanwhile have dropped their caches
   * already and read UNKNOWN until it is back.
   */
  async #announce(userId: UserId): Promise<void> {
    const hot = this.#hot;
    const log = this.#log;
    try {
      await hot.publishVisibility(userId);
    } catch (error) {
      log.warn({ err: error, userId }, 'visibility change not announced yet: hot store unavailable; retrying in the background');
      void pRetry(() => hot.publishVisibility(userId), { retries: Number.POSITIVE_INFINITY, maxRetryTime: ANNOUNCE_RETRY_MS, minTimeout: 200, maxTimeout: 5_000, randomize: true }).then(
        () => log.info({ userId }, 'visibility change announced after retrying'),
        (last: unknown) => log.error({ err: last, userId }, 'visibility change never announced: caches elsewhere keep the old relation until their TTL'),
      );
    }
  }
}

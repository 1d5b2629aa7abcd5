/**
 * The in-process LastSeenStore: what `npm start` uses when no DATABASE_URL is set, and the reference the
 * Postgres store is checked against (test/contract/lastSeenStore.contract.ts). One process, no
 * durability: a restart forgets everything.
 */
import type { Transition, UserId } from '../presence/index.js';
import { StoreUnavailableError } from '../presence/index.js';
import { assertLimit, isNewerLastSeen, planRecord } from './plan.js';
import type { DurableLastSeen, LastSeenStore, TrailRow } from './port.js';

export class EmbeddedLastSeenStore implements LastSeenStore {
  #lastSeen = new Map<UserId, DurableLastSeen>();
  #trail = new Map<string, TrailRow>();
  #closed = false;
  #queries = 0;

  /** Operations served, counted like the Postgres store counts its statements (one per call here). */
  get queries(): number {
    return this.#queries;
  }

  async record(transitions: readonly Transition[]): Promise<void> {
    this.#open();
    // Validate and plan the whole batch before touching state: all or nothing, like a transaction.
    const plan = planRecord(transitions);
    if (plan.trail.length === 0) return;
    this.#queries++;
    for (const row of plan.trail) if (!this.#trail.has(row.transitionId)) this.#trail.set(row.transitionId, row);
    for (const { userId, bucket, version } of plan.lastSeen) {
      const candidate = { bucket, version };
      if (isNewerLastSeen(candidate, this.#lastSeen.get(userId))) this.#lastSeen.set(userId, candidate);
    }
  }

  async lastSeen(userIds: readonly UserId[]): Promise<Map<UserId, DurableLastSeen>> {
    this.#open();
    const out = new Map<UserId, DurableLastSeen>();
    if (userIds.length === 0) return out;
    this.#queries++;
    for (const id of userIds) {
      const value = this.#lastSeen.get(id);
      if (value) out.set(id, { ...value });
    }
    return out;
  }

  async trail(userId: UserId, limit: number): Promise<TrailRow[]> {
    this.#open();
    assertLimit(limit);
    if (limit === 0) return [];
    this.#queries++;
    return [...this.#trail.values()]
      .filter((row) => row.userId === userId)
      .sort((a, b) => b.bucket - a.bucket || b.version - a.version)
      .slice(0, limit)
      .map((row) => ({ ...row }));
  }

  async prune(before: number): Promise<number> {
    this.#open();
    this.#queries++;
    let removed = 0;
    for (const [id, row] of this.#trail) {
      if (row.bucket < before) {
        this.#trail.delete(id);
        removed++;
      }
    }
    return removed;
  }

  async ping(): Promise<void> {
    this.#open();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new StoreUnavailableError('lastSeen', { cause: new Error('lastSeen store is closed') });
  }
}

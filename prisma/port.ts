/**
 * LastSeenStore: the durable side — the quantized last-seen per user and the transition trail.
 * Implemented in-process (`embedded.ts`) and on PostgreSQL through Prisma; one contract suite runs
 * against both. Throws `StoreUnavailableError('lastSeen')` when the database cannot be reached.
 */
import type { KnownStatus, Transition, TransitionCause, UserId } from '../presence/index.js';

export interface DurableLastSeen {
  /** Start of the 60 s bucket; never a finer time. */
  readonly bucket: number;
  /** Version of the transition that set it. */
  readonly version: number;
}

export interface TrailRow {
  readonly transitionId: string;
  readonly userId: UserId;
  readonly from: KnownStatus;
  readonly to: KnownStatus;
  readonly bucket: number;
  readonly cause: TransitionCause;
  readonly version: number;
}

export interface LastSeenStore {
  /**
   * Applies transitions in one database transaction: appends trail rows (idempotent on the transition
   * id: a replay changes nothing) and moves each user's last-seen forward (never backwards).
   */
  record(transitions: readonly Transition[]): Promise<void>;
  lastSeen(userIds: readonly UserId[]): Promise<Map<UserId, DurableLastSeen>>;
  /** A user's trail, newest first. */
  trail(userId: UserId, limit: number): Promise<TrailRow[]>;
  /** Deletes trail rows whose bucket is older than `before`; returns how many. */
  prune(before: number): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

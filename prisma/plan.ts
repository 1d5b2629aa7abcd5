/**
 * What `LastSeenStore.record` must do with a batch, decided once for every implementation: validate
 * each transition, then reduce the batch to trail rows (one per transition id) and one last-seen
 * candidate per user. Pure: no store, no clock.
 *
 * The last-seen of a user is a max-register over (bucket, version): a candidate replaces the stored
 * value only when it is greater, compared bucket first, then version. The merge is commutative and
 * idempotent, so replays and out-of-order batches converge to the same value, and the bucket never
 * moves backwards (even when clock skew between processes gives a later version an earlier bucket).
 */
import { BUCKET_MS, TRANSITION_CAUSES, type Transition, type UserId } from '../presence/index.js';
import type { DurableLastSeen, TrailRow } from './port.js';

const KNOWN_STATUSES: ReadonlySet<string> = new Set(['ONLINE', 'IDLE', 'DND', 'OFFLINE']);
const CAUSES: ReadonlySet<string> = new Set(TRANSITION_CAUSES);
/** `version` is an INTEGER column. */
const MAX_VERSION = 2 ** 31 - 1;

/** A transition the store must never persist; deterministic, so retrying it cannot help. */
export class InvalidTransitionError extends RangeError {
  override readonly name = 'InvalidTransitionError';
  constructor(
    readonly transitionId: string,
    detail: string,
  ) {
    super(`lastSeen: transition ${JSON.stringify(transitionId)} ${detail}`);
  }
}

function isBucket(value: number): boolean {
  return Number.isSafeInteger(value) && value % BUCKET_MS === 0;
}

/** Why this transition cannot be stored, or null when it can. */
export function invalidReason(t: Transition): string | null {
  if (typeof t.userId !== 'string' || t.userId.length === 0) return 'has an empty userId';
  if (!Number.isSafeInteger(t.version) || t.version < 1 || t.version > MAX_VERSION) {
    return `has version ${t.version} (expected an integer in 1..${MAX_VERSION})`;
  }
  if (t.id !== `${t.userId}:${t.version}`) return `has id ${JSON.stringify(t.id)} (expected "${t.userId}:${t.version}")`;
  if (!isBucket(t.bucket)) return `has bucket ${t.bucket} (expected the start of a 60 s bucket, a multiple of ${BUCKET_MS})`;
  if (!KNOWN_STATUSES.has(t.from) || !KNOWN_STATUSES.has(t.to)) {
    return `goes ${t.from} -> ${t.to} (expected ONLINE, IDLE, DND or OFFLINE)`;
  }
  if (!CAUSES.has(t.cause)) return `has cause ${t.cause} (expected one of ${TRANSITION_CAUSES.join(', ')})`;
  const lastSeen = t.published?.lastSeen ?? null;
  if (lastSeen !== null && !isBucket(lastSeen)) {
    return `has published.lastSeen ${lastSeen} (expected the start of a 60 s bucket, a multiple of ${BUCKET_MS})`;
  }
  return null;
}

/** Throws `InvalidTransitionError` for the first transition that cannot be stored. */
export function assertRecordable(transitions: readonly Transition[]): void {
  for (const t of transitions) {
    const reason = invalidReason(t);
    if (reason !== null) throw new InvalidTransitionError(String(t.id), reason);
  }
}

/** True when `candidate` should replace `current` (greater bucket, then greater version). */
export function isNewerLastSeen(candidate: DurableLastSeen, current: DurableLastSeen | undefined): boolean {
  if (current === undefined) return true;
  if (candidate.bucket !== current.bucket) return candidate.bucket > current.bucket;
  return candidate.version > current.version;
}

export interface RecordPlan {
  /** One row per transition id (the first seen wins), sorted by id so concurrent writers lock in one order. */
  readonly trail: TrailRow[];
  /** The greatest candidate per user, sorted by user id for the same reason. */
  readonly lastSeen: Array<{ readonly userId: UserId } & DurableLastSeen>;
}

/** Validates the batch (throws `InvalidTransitionError`) and reduces it to what must be written. */
export function planRecord(transitions: readonly Transition[]): RecordPlan {
  assertRecordable(transitions);
  const trail = new Map<string, TrailRow>();
  const lastSeen = new Map<UserId, DurableLastSeen>();
  for (const t of transitions) {
    if (!trail.has(t.id)) {
      trail.set(t.id, {
        transitionId: t.id,
        userId: t.userId,
        from: t.from,
        to: t.to,
        bucket: t.bucket,
        cause: t.cause,
        version: t.version,
      });
    }
    // Only OFFLINE records carry a last-seen (an INVISIBLE user's is frozen at the moment they hid).
    const at = t.published?.lastSeen ?? null;
    if (at === null) continue;
    const candidate = { bucket: at, version: t.version };
    if (isNewerLastSeen(candidate, lastSeen.get(t.userId))) lastSeen.set(t.userId, candidate);
  }
  const byKey = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return {
    trail: [...trail.values()].sort(byKey((r) => r.transitionId)),
    lastSeen: [...lastSeen]
      .map(([userId, v]) => ({ userId, bucket: v.bucket, version: v.version }))
      .sort(byKey((r) => r.userId)),
  };
}

/** Validates `trail`'s limit: a non-negative integer. */
export function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`lastSeen: trail limit must be a non-negative integer, got ${limit}`);
  }
}

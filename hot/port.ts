/**
 * HotStore: who is online right now, per device, with expiry. Ephemeral. Implemented in-process
 * (`embedded.ts`) and on Redis; one contract suite runs against both.
 *
 * Every method throws `StoreUnavailableError('hot')` when the store cannot be reached; callers turn
 * that into UNKNOWN for reads and a refused write.
 */
import type { DeviceId, Transition, UserId, UserState } from '../presence/index.js';

export interface HotWrite {
  /** When the write was decided (ms); the store derives key lifetimes from it. */
  readonly now: number;
  readonly next: UserState;
  /** `rev` the stored state must still have (0 = no stored state), or the write is refused. */
  readonly expectedRev: number;
  /**
   * `refresh`: only device timers moved (a heartbeat that changes nothing), the cheap path;
   * `write`: the state changed.
   */
  readonly effect: 'refresh' | 'write';
  /** Published and appended to the outbox atomically with the state, or not at all. */
  readonly transition: Transition | null;
  /** When the sweeper must next `tick` this user (null: never). */
  readonly due: number | null;
}

/** What watchers are told about a user. */
export type FeedEvent =
  | { readonly type: 'transition'; readonly transition: Transition }
  /**
   * Re-read `userId`, trust nothing cached: who may see them changed (privacy, contact, block), or the
   * feed itself lost its connection (so changes may have been missed).
   */
  | { readonly type: 'visibility'; readonly userId: UserId };

/** A process's window onto presence changes: it hears only about the users it listens to. */
export interface PresenceFeed {
  /** Start hearing about these users. Idempotent per user. */
  listen(userIds: readonly UserId[]): Promise<void>;
  /** Stop hearing about these users. Idempotent per user. */
  unlisten(userIds: readonly UserId[]): Promise<void>;
  /** The one handler this process's events go to (the interest index). */
  onEvent(handler: (userId: UserId, event: FeedEvent) => void): void;
  /** Events received so far (for tests and metrics: a process with no watcher of a user receives none). */
  readonly received: number;
}

export interface OutboxEntry {
  /** Store-assigned id, acknowledged after the entry is durably applied. */
  readonly id: string;
  readonly transition: Transition;
}

/** The durable hand-off of transitions to the trail: read, apply, then acknowledge. */
export interface Outbox {
  /** Up to `count` entries not yet acknowledged by this consumer group, oldest first. */
  read(consumer: string, count: number): Promise<OutboxEntry[]>;
  ack(ids: readonly string[]): Promise<void>;
  /** Entries not yet acknowledged. */
  backlog(): Promise<number>;
}

export interface HotStore {
  /** Stored states of these users; users never seen (or long gone) are absent. */
  load(userIds: readonly UserId[]): Promise<Map<UserId, UserState>>;
  /** Compare-and-set on `rev`; true when applied, false when someone else wrote first (retry). */
  commit(write: HotWrite): Promise<boolean>;
  /**
   * Users whose `due` has passed, each claimed by exactly one caller for `leaseMs` across every
   * process sharing the store; a claimed user reappears if not committed again within the lease.
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<UserId[]>;
  /**
   * Binds a device id to a user on first use and returns its owner, so nobody can drive another user's
   * device.
   */
  claimDevice(userId: UserId, deviceId: DeviceId): Promise<UserId>;
  /** Tell every process watching `userId` that who may see them changed. */
  publishVisibility(userId: UserId): Promise<void>;
  readonly feed: PresenceFeed;
  readonly outbox: Outbox;
  /** Resolves when the store answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

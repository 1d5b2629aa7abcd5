/**
 * HotStore: who is online right now, per device, with expiry. Ephemeral. Implemented in-process
 * (`embedded.ts`) and on Redis; one contract suite runs against both.
 *
 * Every method throws `StoreUnavailableError('hot')` when the store cannot be reached; callers turn
 * that into UNKNOWN for reads and a refused write.
 */
import type { Device, DeviceId, Platform, PresenceRecord, Transition, UserId, UserState } from '../presence/index.js';

export interface HotWrite {
  /** When the write was decided (ms); the store derives key lifetimes from it. */
  readonly now: number;
  readonly next: UserState;
  /**
   * The devices the decision was made from (the state read). A device kept untouched keeps whatever
   * expiry a `refresh` gave it meanwhile; a device this write set (connect, heartbeat, disconnect) gets
   * exactly its new timers; a device dropped as expired must still be expired, or the write is refused
   * like a stale rev (a refresh kept it alive since the read).
   */
  readonly before: Readonly<Record<DeviceId, Device>>;
  /** `rev` the stored state must still have (0 = no stored state), or the write is refused. */
  readonly expectedRev: number;
  /** Published and appended to the outbox atomically with the state, or not at all. */
  readonly transition: Transition | null;
  /** `nextIdle` of `next`: when the sweeper must tick the user for an auto-idle (null: none ahead). */
  readonly idleAt: number | null;
}

/** One device of an open socket to keep alive (`HotStore.refresh`). */
export interface DeviceRefresh {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly platform: Platform;
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
  /** Events received so far (metrics: a process with no watcher of a user receives none). */
  readonly received: number;
}

/**
 * A process's window onto who-may-see-whom changes alone (privacy, contacts, blocks) — no transitions —
 * for caches of the contact graph (graph/cached.ts). Each user's changes travel on a channel of their
 * own, apart from the presence feed's, so a process caching what it knows about many users never
 * receives their status changes.
 */
export interface VisibilityFeed {
  /**
   * Start hearing about these users; resolves once every change published from now on will be heard.
   * Rejects with StoreUnavailableError while the feed is not connected (nothing heard can be promised).
   */
  listen(userIds: readonly UserId[]): Promise<void>;
  unlisten(userIds: readonly UserId[]): Promise<void>;
  /**
   * The one handler: a user whose visibility changed, or null when anything may have changed unheard
   * (the feed lost its connection or got it back).
   */
  onChange(handler: (userId: UserId | null) => void): void;
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
  /**
   * Published records of these users (what readers are shown before privacy), without the device
   * state; users never seen (or long gone) are absent.
   */
  records(userIds: readonly UserId[]): Promise<Map<UserId, PresenceRecord>>;
  /** Compare-and-set on `rev`; true when applied, false when someone else wrote first (retry). */
  commit(write: HotWrite): Promise<boolean>;
  /**
   * Heartbeats of the devices of open sockets (presence/state.ts `refreshDevice`), many at once: each
   * known device's last sign of life moves to `now` and its expiry to `expiresAt` (never back), and
   * nothing else; what else is due is the sweeper's. Takes one round trip per partition and no read.
   * One answer per device, in order: false where the device is unknown (or known with another platform)
   * and nothing was written — a full heartbeat must decide.
   */
  refresh(devices: readonly DeviceRefresh[], now: number, expiresAt: number): Promise<boolean[]>;
  /**
   * Users with something due by `now` — a device expiry, an auto-idle — each claimed by exactly one
   * caller for `leaseMs` across every process sharing the store; a claimed user reappears if not
   * committed again within the lease.
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<UserId[]>;
  /**
   * Binds a device id to a user on first use and returns its owner, so nobody can drive another user's
   * device.
   */
  claimDevice(userId: UserId, deviceId: DeviceId): Promise<UserId>;
  /**
   * Tell every process that who may see `userId` changed: first on the visibility feed (caches forget
   * what they hold about the user), then on the presence feed (open subscriptions re-read), in that order.
   */
  publishVisibility(userId: UserId): Promise<void>;
  readonly feed: PresenceFeed;
  readonly visibility: VisibilityFeed;
  readonly outbox: Outbox;
  /** Resolves when the store answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

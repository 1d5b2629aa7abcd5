/**
 * The vocabulary of presence: plain data, no behaviour. Every other layer speaks these types.
 * Times are epoch milliseconds (numbers) passed in by the caller; the core never reads a clock.
 */

export type UserId = string;
export type DeviceId = string;

export const PRESENCE_STATUSES = ['ONLINE', 'IDLE', 'DND', 'OFFLINE', 'UNKNOWN'] as const;
/** What a viewer is shown. UNKNOWN = "we cannot or may not say": render no dot. */
export type PresenceStatus = (typeof PRESENCE_STATUSES)[number];
/** A status the server actually knows (everything but UNKNOWN). */
export type KnownStatus = Exclude<PresenceStatus, 'UNKNOWN'>;

export const PRIVACY_MODES = ['EVERYONE', 'CONTACTS', 'NOBODY'] as const;
export type PrivacyMode = (typeof PRIVACY_MODES)[number];
/** A new user's privacy mode (product.md: Configuration). */
export const DEFAULT_PRIVACY: PrivacyMode = 'CONTACTS';

export const MANUAL_STATUSES = ['AUTO', 'DND', 'INVISIBLE'] as const;
/** What the user chose by hand; AUTO means "derive it from my devices". */
export type ManualStatus = (typeof MANUAL_STATUSES)[number];

export const PLATFORMS = ['WEB', 'DESKTOP', 'MOBILE'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const ACTIVITIES = ['ACTIVE', 'IDLE'] as const;
export type Activity = (typeof ACTIVITIES)[number];

/** One connected client of a user (a phone, a browser tab). */
export interface Device {
  readonly deviceId: DeviceId;
  readonly platform: Platform;
  /** Activity as the client last reported it. */
  readonly activity: Activity;
  /** Last time the client reported ACTIVE; auto-idle counts from here. */
  readonly lastActiveAt: number;
  /** Last sign of life (connect, heartbeat, socket close); the user's last-seen is taken from it. */
  readonly lastSeenAt: number;
  /** The device is gone once `now >= expiresAt` (heartbeat TTL, or the grace window after a close). */
  readonly expiresAt: number;
}

/**
 * The presence record everyone else may be shown (before per-viewer privacy). Only a change of this
 * record is a transition; an INVISIBLE user's record is frozen at OFFLINE, so nothing they do leaks.
 */
export interface Published {
  readonly status: KnownStatus;
  /** Platforms of live devices, sorted; empty when OFFLINE. */
  readonly platforms: readonly Platform[];
  /** Start of the 60 s bucket in which the user was last seen; only set when OFFLINE. */
  readonly lastSeen: number | null;
}

/** Everything the hot store keeps about one user. */
export interface UserState {
  readonly userId: UserId;
  readonly devices: Readonly<Record<DeviceId, Device>>;
  readonly manual: ManualStatus;
  readonly published: Published;
  /** Per-user, monotonic: +1 on every transition (change of `published`). Clients drop older ones. */
  readonly version: number;
  /** Bumped on every stored change, published or not; the hot store's compare-and-set token. */
  readonly rev: number;
  /** True last-seen bucket (for the user's own `me`), set when the last device leaves. */
  readonly lastSeen: number | null;
}

export const TRANSITION_CAUSES = [
  'CONNECT',
  'ACTIVITY',
  'DISCONNECT',
  'EXPIRY',
  'IDLE_TIMEOUT',
  'SIGN_OFF',
  'MANUAL_STATUS',
] as const;
export type TransitionCause = (typeof TRANSITION_CAUSES)[number];

/** A change of a user's published record. Only transitions are published and persisted. */
export interface Transition {
  /** `${userId}:${version}`: unique and deterministic, so the outbox drain is idempotent on it. */
  readonly id: string;
  readonly userId: UserId;
  readonly from: KnownStatus;
  readonly to: KnownStatus;
  readonly version: number;
  /** Start of the 60 s bucket in which it happened (never a finer time). */
  readonly bucket: number;
  readonly cause: TransitionCause;
  /** The new published record, so watchers need no extra read. */
  readonly published: Published;
}

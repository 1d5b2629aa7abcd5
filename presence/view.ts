/**
 * Projections of stored state into what one viewer is shown.
 */
import { aggregateStatus, liveDevices } from './aggregate.js';
import type { Visibility } from './privacy.js';
import type { Timing } from './timing.js';
import type { Device, KnownStatus, ManualStatus, Platform, PresenceStatus, Published, UserId, UserState } from './types.js';

/** What the hot store knows of a user: the published record and its version. */
export interface PresenceRecord {
  readonly userId: UserId;
  readonly published: Published;
  readonly version: number;
}

/** A presence as one viewer sees it: the GraphQL `Presence`, with last-seen as a bucket start. */
export interface PresenceView {
  readonly userId: UserId;
  readonly status: PresenceStatus;
  readonly lastSeen: number | null;
  readonly platforms: readonly Platform[];
  /**
   * The user's version, or 0 with UNKNOWN: a hidden or unreadable user reveals no version (counting
   * versions would tell when they are active). Clients apply UNKNOWN unconditionally and otherwise drop
   * an event whose version is older than the one they hold.
   */
  readonly version: number;
}

export function unknownView(userId: UserId): PresenceView {
  return { userId, status: 'UNKNOWN', lastSeen: null, platforms: [], version: 0 };
}

/**
 * @param record the user's record, or null when the hot store could not be read (→ UNKNOWN, never a
 *   cached ONLINE).
 */
export function viewPresence(userId: UserId, record: PresenceRecord | null, visibility: Visibility): PresenceView {
  if (!record || !visibility.status) return unknownView(userId);
  const { published, version } = record;
  return {
    userId,
    status: published.status,
    lastSeen: visibility.lastSeen ? published.lastSeen : null,
    platforms: published.platforms,
    version,
  };
}

/** Whether a viewer would notice a difference (the version alone does not count). */
export function sameView(a: PresenceView, b: PresenceView): boolean {
  return (
    a.status === b.status &&
    a.lastSeen === b.lastSeen &&
    a.platforms.length === b.platforms.length &&
    a.platforms.every((p, i) => p === b.platforms[i])
  );
}

/** The user's own view of themself: the truth, even while INVISIBLE. */
export interface SelfView {
  readonly userId: UserId;
  readonly status: KnownStatus;
  readonly manual: ManualStatus;
  /** What everyone else is shown (OFFLINE while INVISIBLE). */
  readonly published: Published;
  readonly devices: readonly Device[];
  readonly lastSeen: number | null;
  readonly version: number;
}

export function selfView(state: UserState, now: number, timing: Timing): SelfView {
  const devices = liveDevices(state, now).sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  const status = aggregateStatus(devices, state.manual === 'INVISIBLE' ? 'AUTO' : state.manual, now, timing.idleMs);
  return {
    userId: state.userId,
    status,
    manual: state.manual,
    published: state.published,
    devices,
    lastSeen: status === 'OFFLINE' ? state.lastSeen : null,
    version: state.version,
  };
}

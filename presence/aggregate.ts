import type { Activity, Device, KnownStatus, ManualStatus, Platform, Published, UserState } from './types.js';
import { PLATFORMS } from './types.js';

/** A device is live until its expiry passes. */
export function isLive(device: Device, now: number): boolean {
  return now < device.expiresAt;
}

/** ACTIVE only if the client says so and has reported activity within `idleMs`. */
export function effectiveActivity(device: Device, now: number, idleMs: number): Activity {
  return device.activity === 'ACTIVE' && now - device.lastActiveAt < idleMs ? 'ACTIVE' : 'IDLE';
}

export function liveDevices(state: Pick<UserState, 'devices'>, now: number): Device[] {
  return Object.values(state.devices).filter((d) => isLive(d, now));
}

/**
 * The true status over a user's devices: none live → OFFLINE; a manual DND overrides while at least
 * one device is live; else any ACTIVE → ONLINE, else IDLE. (INVISIBLE is applied by `publishedRecord`.)
 */
export function aggregateStatus(devices: readonly Device[], manual: ManualStatus, now: number, idleMs: number): KnownStatus {
  if (devices.length === 0) return 'OFFLINE';
  if (manual === 'DND') return 'DND';
  return devices.some((d) => effectiveActivity(d, now, idleMs) === 'ACTIVE') ? 'ONLINE' : 'IDLE';
}

export function platformsOf(devices: readonly Device[]): Platform[] {
  const present = new Set(devices.map((d) => d.platform));
  return PLATFORMS.filter((p) => present.has(p));
}

/**
 * What everyone else may be shown (before per-viewer privacy). INVISIBLE keeps the record it froze when
 * the user went invisible, so nothing the user does while invisible changes it.
 */
export function publishedRecord(state: UserState, now: number, idleMs: number): Published {
  if (state.manual === 'INVISIBLE') return state.published;
  const live = liveDevices(state, now);
  const status = aggregateStatus(live, state.manual, now, idleMs);
  if (status === 'OFFLINE') return { status, platforms: [], lastSeen: state.lastSeen };
  return { status, platforms: platformsOf(live), lastSeen: null };
}

export function samePublished(a: Published, b: Published): boolean {
  return (
    a.status === b.status &&
    a.lastSeen === b.lastSeen &&
    a.platforms.length === b.platforms.length &&
    a.platforms.every((p, i) => p === b.platforms[i])
  );
}

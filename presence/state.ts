/**
 * The presence state machine: `apply(state, command, timing)` returns the next state, what the store
 * must do with it, and the transition when the published record changed. Pure: time comes in with the
 * command; nothing is read or written here.
 */
import { isLive, publishedRecord, samePublished } from './aggregate.js';
import { toBucket } from './lastSeen.js';
import type { Timing } from './timing.js';
import type {
  Activity,
  Device,
  DeviceId,
  ManualStatus,
  Platform,
  Transition,
  TransitionCause,
  UserId,
  UserState,
} from './types.js';

export type Command =
  /** A connect or a heartbeat: the device is alive now. `activity` omitted = as before (ACTIVE if new). */
  | { type: 'heartbeat'; deviceId: DeviceId; platform: Platform; activity?: Activity | undefined; now: number }
  /** The device's socket closed: it stays online for the grace window, waiting for a reconnect. */
  | { type: 'disconnect'; deviceId: DeviceId; now: number }
  /** Graceful sign-off: the device is gone now. */
  | { type: 'signOff'; deviceId: DeviceId; now: number }
  | { type: 'setManual'; manual: ManualStatus; now: number }
  /** Time passed: drop expired devices, apply auto-idle. What the expiry sweeper runs. */
  | { type: 'tick'; now: number };

/**
 * - `none`: nothing to store.
 * - `refresh`: only device timers moved (a heartbeat that changes nothing): the cheap path.
 * - `write`: the stored state changed; `transition` is set when the published record changed too.
 */
export type Effect = 'none' | 'refresh' | 'write';

export interface Applied {
  readonly state: UserState;
  readonly effect: Effect;
  readonly transition: Transition | null;
}

export function initialState(userId: UserId): UserState {
  return {
    userId,
    devices: {},
    manual: 'AUTO',
    published: { status: 'OFFLINE', platforms: [], lastSeen: null },
    version: 0,
    rev: 0,
    lastSeen: null,
  };
}

export function apply(state: UserState, command: Command, timing: Timing): Applied {
  const { now } = command;
  // Every command first drops expired devices, so a late sweep never leaves a stale aggregate behind.
  const swept = dropExpired(state.devices, now);
  let devices = swept.devices;
  let leftAt = swept.leftAt;
  let manual = state.manual;
  let structural = devices !== state.devices;
  let cause: TransitionCause = swept.leftAt !== null ? 'EXPIRY' : 'IDLE_TIMEOUT';

  switch (command.type) {
    case 'heartbeat': {
      const previous = devices[command.deviceId];
      const activity = command.activity ?? previous?.activity ?? 'ACTIVE';
      const reportedActive = activity === 'ACTIVE' && (command.activity !== undefined || !previous);
      const device: Device = {
        deviceId: command.deviceId,
        platform: command.platform,
        activity,
        lastActiveAt: reportedActive ? now : (previous?.lastActiveAt ?? now),
        lastSeenAt: now,
        expiresAt: now + timing.ttlMs,
      };
      structural ||= !previous || previous.platform !== device.platform || previous.activity !== device.activity;
      devices = { ...devices, [command.deviceId]: device };
      cause = previous ? 'ACTIVITY' : 'CONNECT';
      break;
    }
    case 'disconnect': {
      const previous = devices[command.deviceId];
      if (!previous) break;
      // The close is a sign of life now, so the device gets the whole grace window from it (product.md:
      // "offline after the grace window once it closes"), even when its heartbeat expiry came sooner.
      const expiresAt = now + timing.graceMs;
      if (expiresAt <= now) {
        devices = without(devices, command.deviceId);
        leftAt = Math.max(leftAt ?? now, now);
      } else {
        devices = { ...devices, [command.deviceId]: { ...previous, lastSeenAt: now, expiresAt } };
      }
      structural = true;
      cause = 'DISCONNECT';
      break;
    }
    case 'signOff': {
      if (!devices[command.deviceId]) break;
      devices = without(devices, command.deviceId);
      leftAt = Math.max(leftAt ?? now, now);
      structural = true;
      cause = 'SIGN_OFF';
      break;
    }
    case 'setManual': {
      structural ||= command.manual !== manual;
      manual = command.manual;
      cause = 'MANUAL_STATUS';
      break;
    }
    case 'tick':
      break;
  }

  // The true last-seen: the latest sign of life of any device that has left (monotonic).
  const lastSeen = leftAt === null ? state.lastSeen : Math.max(state.lastSeen ?? 0, toBucket(leftAt));
  let draft: UserState = { ...state, devices, manual, lastSeen };
  if (manual !== 'INVISIBLE' && state.manual === 'INVISIBLE' && Object.keys(devices).length === 0) {
    // Leaving INVISIBLE while offline: the last-seen stays the frozen one, so nothing the user did
    // while invisible ever shows. The next time they are seen visibly moves it on.
    draft = { ...draft, lastSeen: state.published.lastSeen };
  }
  if (manual === 'INVISIBLE' && state.manual !== 'INVISIBLE') {
    // Freeze what others see: OFFLINE, last seen now if a device is live, else when last seen.
    const live = Object.keys(devices).length > 0;
    draft = { ...draft, published: { status: 'OFFLINE', platforms: [], lastSeen: live ? toBucket(now) : lastSeen } };
  }
  const published = publishedRecord(draft, now, timing.idleMs);
  const changed = !samePublished(published, state.published);
  const next: UserState = { ...draft, published, version: changed ? state.version + 1 : state.version };

  if (!changed && !structural && lastSeen === state.lastSeen) {
    if (command.type !== 'heartbeat') return { state, effect: 'none', transition: null };
    // A heartbeat that changes nothing but timers: the cheap path.
    return { state: { ...next, rev: state.rev + 1 }, effect: 'refresh', transition: null };
  }
  const stored = { ...next, rev: state.rev + 1 };
  return { state: stored, effect: 'write', transition: changed ? makeTransition(state, stored, now, cause) : null };
}

function without(devices: Readonly<Record<DeviceId, Device>>, deviceId: DeviceId): Record<DeviceId, Device> {
  const { [deviceId]: _gone, ...rest } = devices;
  return rest;
}

function dropExpired(devices: Readonly<Record<DeviceId, Device>>, now: number) {
  let leftAt: number | null = null;
  let kept: Record<DeviceId, Device> | null = null;
  for (const [id, device] of Object.entries(devices)) {
    if (isLive(device, now)) continue;
    kept ??= { ...devices };
    delete kept[id];
    leftAt = Math.max(leftAt ?? device.lastSeenAt, device.lastSeenAt);
  }
  return { devices: kept ?? devices, leftAt };
}

function makeTransition(prev: UserState, next: UserState, now: number, cause: TransitionCause): Transition {
  return {
    id: `${next.userId}:${next.version}`,
    userId: next.userId,
    from: prev.published.status,
    to: next.published.status,
    version: next.version,
    bucket: toBucket(now),
    cause,
    published: next.published,
  };
}

/**
 * When this user next needs a `tick` after `now` (a device expiring, or an ACTIVE device going
 * auto-idle), or null when never. The hot store indexes users by it; the sweeper claims due users.
 */
export function nextDue(state: UserState, now: number, timing: Timing): number | null {
  let due: number | null = null;
  for (const d of Object.values(state.devices)) {
    due = Math.min(due ?? d.expiresAt, d.expiresAt);
    const idleAt = d.lastActiveAt + timing.idleMs;
    if (d.activity === 'ACTIVE' && idleAt > now && idleAt < d.expiresAt) due = Math.min(due, idleAt);
  }
  return due;
}

/**
 * The earliest auto-idle still ahead of `now` (an ACTIVE device's last reported activity + idleMs),
 * or null. Stored beside the state so a store can tell on its own whether a timer-only refresh
 * (`refreshDevice`) would cross it.
 */
export function nextIdle(state: UserState, now: number, timing: Timing): number | null {
  let idle: number | null = null;
  for (const d of Object.values(state.devices)) {
    const idleAt = d.lastActiveAt + timing.idleMs;
    if (d.activity === 'ACTIVE' && idleAt > now) idle = Math.min(idle ?? idleAt, idleAt);
  }
  return idle;
}

/**
 * The heartbeat of a device whose socket is open, as a store applies it on its own: the device's last
 * sign of life moves to `now` and its expiry to `expiresAt` (never earlier than it was), nothing else.
 * Null when the device is unknown or known with another platform: a full heartbeat (`apply`) decides.
 *
 * Whatever else is due by `now` — another device's expiry, an auto-idle — is left to the sweeper's
 * `tick`, and together they are the heartbeat: for a device still live at `now`, refreshing and then
 * ticking leaves the devices, published record, version and last-seen that `apply` leaves for a
 * heartbeat without activity (test/presence/refresh.test.ts). A lapsed device not yet swept is kept
 * with its activity as it was (a full heartbeat would re-add it as ACTIVE); the socket never closed.
 *
 * Stores apply it without the core: hot/redis/lua/presence_refresh.lua is this rule in Redis.
 */
export function refreshDevice(state: UserState, deviceId: DeviceId, platform: Platform, now: number, expiresAt: number): UserState | null {
  const device = state.devices[deviceId];
  if (!device || device.platform !== platform) return null;
  const refreshed = { ...device, lastSeenAt: Math.max(device.lastSeenAt, now), expiresAt: Math.max(device.expiresAt, expiresAt) };
  return { ...state, devices: { ...state.devices, [deviceId]: refreshed } };
}

/**
 * How one user's state is laid out in Redis. Their hash holds what changes on a full write:
 *
 *   user   JSON of the user-level record: { manual, published, version, lastSeen }
 *   t      the compare-and-set token and the device table, as text:
 *            <rev>
 *            <deviceId> <platform> <activity> <lastActiveAt> <lastSeenAt> <expiresAt>
 *            …one line per device (ids are 1–128 of `[A-Za-z0-9_.:@-]`: never a space or a newline)
 *
 * and each device also has a member in its partition's alive set (keys.ts `aliveMember`), scored by its
 * expiry: the one thing a refresh moves. A score later than the line's expiry comes from a refresh made
 * at `score - TTL`, so that is the device's last sign of life.
 *
 * The batch read (`records`) parses `user` alone.
 */
import type { Activity, Device, ManualStatus, Platform, PresenceRecord, Published, UserId, UserState } from '../../presence/index.js';

/** The hash fields `presence_commit.lua` writes. */
export interface EncodedState {
  readonly user: string;
  readonly t: string;
}

interface UserRecord {
  readonly manual: ManualStatus;
  readonly published: Published;
  readonly version: number;
  readonly lastSeen: number | null;
}

const UNSAFE = /\s/;

export function encodeState(state: UserState): EncodedState {
  const record: UserRecord = { manual: state.manual, published: state.published, version: state.version, lastSeen: state.lastSeen };
  let t = String(state.rev);
  for (const d of Object.values(state.devices)) {
    if (UNSAFE.test(d.deviceId) || d.deviceId === '') throw new TypeError(`hot store: device id ${JSON.stringify(d.deviceId)} cannot be stored (no whitespace, not empty)`);
    t += `\n${d.deviceId} ${d.platform} ${d.activity} ${d.lastActiveAt} ${d.lastSeenAt} ${d.expiresAt}`;
  }
  return { user: JSON.stringify(record), t };
}

/**
 * The state from its hash fields and each device's alive score (in the order of the device lines; null
 * or "" where it has none), with the TTL refreshes add to `now`.
 */
export function decodeState(userId: UserId, user: string, t: string, scores: readonly (string | number | null)[] = [], ttlMs = 0): UserState {
  const record = JSON.parse(user) as UserRecord;
  const lines = t.split('\n');
  const devices: Record<string, Device> = {};
  for (let i = 1; i < lines.length; i++) {
    const [deviceId, platform, activity, lastActiveAt, lastSeenAt, expiresAt] = lines[i]!.split(' ') as [string, Platform, Activity, string, string, string];
    const score = scores[i - 1];
    const refreshed = score === null || score === undefined || score === '' ? 0 : Number(score);
    const device: Device = { deviceId, platform, activity, lastActiveAt: Number(lastActiveAt), lastSeenAt: Number(lastSeenAt), expiresAt: Number(expiresAt) };
    devices[deviceId] = refreshed > device.expiresAt ? { ...device, expiresAt: refreshed, lastSeenAt: Math.max(device.lastSeenAt, refreshed - ttlMs) } : device;
  }
  return { userId, devices, manual: record.manual, published: record.published, version: record.version, rev: Number(lines[0]), lastSeen: record.lastSeen };
}

/**
 * What readers need (from the `user` field alone) of each of `userIds`, into `out`: presence_records.lua's
 * answer, a JSON array of their `user` fields in order, null for a user without one.
 */
export function decodeRecords(userIds: readonly UserId[], json: string, out: Map<UserId, PresenceRecord>): void {
  const users = JSON.parse(json) as (UserRecord | null)[];
  if (users.length !== userIds.length) throw new Error(`presence_records: ${users.length} records for ${userIds.length} users`);
  for (let i = 0; i < users.length; i++) {
    const user = users[i];
    if (user) out.set(userIds[i]!, { userId: userIds[i]!, published: user.published, version: user.version });
  }
}

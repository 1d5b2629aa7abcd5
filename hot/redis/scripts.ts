/**
 * The Lua scripts, loaded once per connection with ioredis `defineCommand` (EVALSHA, falling back to
 * EVAL after a SCRIPT FLUSH or a failover). Arguments are built by pure functions tested on their own.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Transition } from '../../presence/index.js';
import type { DeviceRefresh, FeedEvent, HotWrite } from '../port.js';
import { encodeState } from './codec.js';
import { aliveKey, aliveMember, claimsKey, dueKey, outboxKey, partitionOf, stateKey, userChannel, type KeySpace } from './keys.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

export interface PresenceCommands {
  presenceCommit(...keysAndArgs: (string | number)[]): Promise<number>;
  presenceClaimDue(...keysAndArgs: (string | number)[]): Promise<string[]>;
  /** Variable keys: the first argument is their count. */
  presenceRefresh(...numKeysKeysAndArgs: (string | number)[]): Promise<number[]>;
  /** Variable keys: the first argument is their count. */
  presenceLoad(...numKeysKeysAndArgs: (string | number)[]): Promise<string[][]>;
  /** Variable keys: the first argument is their count. */
  presenceRecords(...numKeysAndKeys: (string | number)[]): Promise<string>;
}

export type ScriptedRedis = Redis & PresenceCommands;

export function defineScripts(redis: Redis): ScriptedRedis {
  redis.defineCommand('presenceCommit', { numberOfKeys: 5, lua: lua('presence_commit') });
  redis.defineCommand('presenceClaimDue', { numberOfKeys: 3, lua: lua('presence_claim_due') });
  redis.defineCommand('presenceRefresh', { lua: lua('presence_refresh') });
  redis.defineCommand('presenceLoad', { lua: lua('presence_load') });
  redis.defineCommand('presenceRecords', { lua: lua('presence_records') });
  return redis as ScriptedRedis;
}

/** How long an idle user's state outlives their last device (keeps version and last-seen hot). */
export const IDLE_STATE_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * KEYS and ARGV of presence_commit.lua. The state key expires `ttlMs` after the latest device expiry
 * (the safety net), or `IDLE_STATE_TTL_MS` after the last device left. Each device of `next` is set in
 * the alive set — exactly if this write changed its timers or platform, else only to a later expiry
 * (a refresh may have moved it since the read); each device of `before` that `next` lacks (or holds
 * with another platform) is dropped, conditionally if it was dropped as expired.
 */
export function commitKeysArgs(space: KeySpace, write: HotWrite, now: number, ttlMs: number): (string | number)[] {
  const { next, before, transition } = write;
  const userId = next.userId;
  const partition = partitionOf(userId, space);
  const latest = Math.max(0, ...Object.values(next.devices).map((d) => d.expiresAt));
  const stateTtl = Math.ceil(latest > 0 ? Math.max(latest - now, 0) + ttlMs : IDLE_STATE_TTL_MS);
  const event: FeedEvent | null = transition ? { type: 'transition', transition } : null;
  const encoded = encodeState(next);
  const sets: (string | number)[] = [];
  for (const d of Object.values(next.devices)) {
    const was = before[d.deviceId];
    const untouched = was !== undefined && was.platform === d.platform && was.expiresAt === d.expiresAt;
    sets.push(untouched ? 'g' : 'x', d.expiresAt, aliveMember(userId, d.deviceId, d.platform));
  }
  const drops: string[] = [];
  for (const was of Object.values(before)) {
    const kept = next.devices[was.deviceId];
    if (kept && kept.platform === was.platform) continue;
    drops.push(!kept && was.expiresAt <= now ? 'e' : 'u', aliveMember(userId, was.deviceId, was.platform));
  }
  return [
    stateKey(space, userId),
    dueKey(space, partition),
    outboxKey(space, partition),
    aliveKey(space, partition),
    claimsKey(space, partition),
    write.expectedRev,
    encoded.user,
    encoded.t,
    stateTtl,
    write.idleAt === null ? '' : write.idleAt,
    userId,
    transition ? JSON.stringify(transition) : '',
    userChannel(space, userId),
    event ? JSON.stringify(event) : '',
    now,
    sets.length / 3,
    ...sets,
    drops.length / 2,
    ...drops,
  ];
}

/**
 * The numkeys, KEYS and ARGV of presence_refresh.lua for devices whose users all live in `partition`:
 * their expiry becomes `expiresAt`, their state keys live `ttlMs` past it.
 */
export function refreshKeysArgs(space: KeySpace, partition: number, devices: readonly DeviceRefresh[], now: number, expiresAt: number, ttlMs: number): (string | number)[] {
  const keys: string[] = [aliveKey(space, partition)];
  const members: string[] = [];
  for (const { userId, deviceId, platform } of devices) {
    keys.push(stateKey(space, userId));
    members.push(aliveMember(userId, deviceId, platform));
  }
  return [keys.length, ...keys, expiresAt, expiresAt - now + ttlMs, ...members];
}

/** The numkeys, KEYS and ARGV of presence_load.lua for users who all live in `partition`. */
export function loadKeysArgs(space: KeySpace, partition: number, userIds: readonly string[]): (string | number)[] {
  return [userIds.length + 1, aliveKey(space, partition), ...userIds.map((id) => stateKey(space, id, partition)), ...userIds];
}

/**
 * The numkeys and KEYS of presence_records.lua for users who all live in `partition`: one array, filled
 * in place (the hot path of every batch read).
 */
export function recordsKeys(space: KeySpace, partition: number, userIds: readonly string[]): (string | number)[] {
  const out = new Array<string | number>(userIds.length + 1);
  out[0] = userIds.length;
  for (let i = 0; i < userIds.length; i++) out[i + 1] = stateKey(space, userIds[i]!, partition);
  return out;
}

/** KEYS and ARGV of presence_claim_due.lua for one partition. */
export function claimDueKeysArgs(space: KeySpace, partition: number, now: number, limit: number, leaseMs: number): (string | number)[] {
  return [aliveKey(space, partition), dueKey(space, partition), claimsKey(space, partition), now, limit, now + leaseMs];
}

export function parseTransition(json: string): Transition {
  return JSON.parse(json) as Transition;
}

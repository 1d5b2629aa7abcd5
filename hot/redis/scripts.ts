/**
 * The Lua scripts, loaded once per connection with ioredis `defineCommand` (EVALSHA, falling back to
 * EVAL after a SCRIPT FLUSH or a failover). Arguments are built by pure functions tested on their own.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Transition, UserState } from '../../presence/index.js';
import type { FeedEvent, HotWrite } from '../port.js';
import { dueKey, outboxKey, partitionOf, stateKey, userChannel, type KeySpace } from './keys.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

export interface PresenceCommands {
  presenceCommit(...keysAndArgs: (string | number)[]): Promise<number>;
  presenceClaimDue(...keysAndArgs: (string | number)[]): Promise<string[]>;
}

export type ScriptedRedis = Redis & PresenceCommands;

export function defineScripts(redis: Redis): ScriptedRedis {
  redis.defineCommand('presenceCommit', { numberOfKeys: 3, lua: lua('presence_commit') });
  redis.defineCommand('presenceClaimDue', { numberOfKeys: 1, lua: lua('presence_claim_due') });
  return redis as ScriptedRedis;
}

/** How long an idle user's state outlives their last device (keeps version and last-seen hot). */
export const IDLE_STATE_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * KEYS and ARGV of presence_commit.lua. The state key expires `ttlMs` after the latest device expiry
 * (the safety net), or `IDLE_STATE_TTL_MS` after the last device left.
 */
export function commitKeysArgs(space: KeySpace, write: HotWrite, now: number, ttlMs: number): (string | number)[] {
  const { next, transition } = write;
  const partition = partitionOf(next.userId, space);
  const latest = Math.max(0, ...Object.values(next.devices).map((d) => d.expiresAt));
  const stateTtl = latest > 0 ? Math.max(latest - now, 0) + ttlMs : IDLE_STATE_TTL_MS;
  const event: FeedEvent | null = transition ? { type: 'transition', transition } : null;
  return [
    stateKey(space, next.userId),
    dueKey(space, partition),
    outboxKey(space, partition),
    write.expectedRev,
    next.rev,
    JSON.stringify(next),
    Math.ceil(stateTtl),
    write.due === null ? '' : write.due,
    next.userId,
    transition ? JSON.stringify(transition) : '',
    userChannel(space, next.userId),
    event ? JSON.stringify(event) : '',
  ];
}

/** KEYS and ARGV of presence_claim_due.lua for one partition. */
export function claimDueKeysArgs(space: KeySpace, partition: number, now: number, limit: number, leaseMs: number): (string | number)[] {
  return [dueKey(space, partition), now, limit, now + leaseMs];
}

export function parseState(json: string): UserState {
  return JSON.parse(json) as UserState;
}

export function parseTransition(json: string): Transition {
  return JSON.parse(json) as Transition;
}

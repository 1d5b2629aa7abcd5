import { describe, expect, it } from 'vitest';
import { allPartitions, deviceKey, dueKey, outboxKey, partitionOf, stateKey, userChannel, userOfChannel } from '../../hot/redis/keys.js';
import { commitKeysArgs, IDLE_STATE_TTL_MS } from '../../hot/redis/scripts.js';
import { apply, initialState, makeTiming, nextDue, StoreUnavailableError } from '../../presence/index.js';
import { hotStoreContract } from '../contract/hotStore.contract.js';
import { redisHotStore } from '../support/redis.js';

hotStoreContract('redis', () => redisHotStore());

const space = { prefix: 'pg:', partitions: 16 };
const timing = (() => {
  const t = makeTiming();
  if (!t.ok) throw new Error(t.error);
  return t.timing;
})();

describe('Redis key layout', () => {
  it('should put all of one user\'s keys, their partition\'s due index and outbox under one hash tag', () => {
    const p = partitionOf('alice', space);
    const tagOf = (key: string) => key.match(/\{[^}]+\}/)![0];
    expect(tagOf(stateKey(space, 'alice'))).toBe(`{p${p}}`);
    expect(tagOf(dueKey(space, p))).toBe(`{p${p}}`);
    expect(tagOf(outboxKey(space, p))).toBe(`{p${p}}`);
    expect(stateKey(space, 'alice')).toBe(`pg:{p${p}}:u:alice`);
    expect(deviceKey(space, 'phone-1')).toMatch(/^pg:\{p\d+\}:d:phone-1$/);
  });

  it('should spread users over every partition, stably', () => {
    const seen = new Set(Array.from({ length: 2_000 }, (_, i) => partitionOf(`user-${i}`, space)));
    expect([...seen].sort((a, b) => a - b)).toEqual(allPartitions(space));
    expect(partitionOf('alice', space)).toBe(partitionOf('alice', space));
  });

  it('should map a channel back to its user, and nothing else', () => {
    expect(userOfChannel(space, userChannel(space, 'a:b@c'))).toBe('a:b@c');
    expect(userOfChannel(space, 'other:ch:alice')).toBeNull();
  });
});

describe('commitKeysArgs', () => {
  it('should carry the CAS token, the state, the due time, and the transition with its event', () => {
    const applied = apply(initialState('alice'), { type: 'heartbeat', deviceId: 'd1', platform: 'WEB', now: 1_000_000 }, timing);
    const due = nextDue(applied.state, 1_000_000, timing);
    const args = commitKeysArgs(space, { now: 1_000_000, next: applied.state, expectedRev: 0, effect: 'write', transition: applied.transition, due }, 1_000_000, timing.ttlMs);
    const p = partitionOf('alice', space);
    expect(args.slice(0, 6)).toEqual([`pg:{p${p}}:u:alice`, `pg:{p${p}}:due`, `pg:{p${p}}:outbox`, 0, 1, JSON.stringify(applied.state)]);
    // State lives a TTL past the device's expiry: 70 s + 70 s.
    expect(args[6]).toBe(140_000);
    expect(args.slice(7, 9)).toEqual([1_070_000, 'alice']);
    expect(JSON.parse(String(args[9]))).toEqual(applied.transition);
    expect(args[10]).toBe('pg:ch:alice');
    expect(JSON.parse(String(args[11]))).toEqual({ type: 'transition', transition: applied.transition });
  });

  it('should keep an offline user\'s state for a week and publish nothing without a transition', () => {
    const args = commitKeysArgs(space, { now: 5, next: initialState('bob'), expectedRev: 3, effect: 'refresh', transition: null, due: null }, 5, timing.ttlMs);
    expect(args[6]).toBe(IDLE_STATE_TTL_MS);
    expect(args.slice(7)).toEqual(['', 'bob', '', 'pg:ch:bob', '']);
  });
});

describe('RedisHotStore with Redis unreachable', () => {
  it('should reject every call with StoreUnavailableError quickly instead of hanging', async () => {
    const { store, dispose } = await redisHotStore({ url: 'redis://127.0.0.1:1' });
    try {
      const started = Date.now();
      for (const call of [() => store.load(['a']), () => store.ping(), () => store.claimDevice('a', 'd'), () => store.claimDue(1, 1, 1), () => store.publishVisibility('a')]) {
        await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
      }
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await dispose();
    }
  });
});

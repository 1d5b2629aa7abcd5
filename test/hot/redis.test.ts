import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { allPartitions, deviceKey, dueKey, outboxKey, partitionOf, stateKey, userChannel, userOfChannel } from '../../hot/redis/keys.js';
import { decodeRecords, decodeState, encodeState } from '../../hot/redis/codec.js';
import { commitKeysArgs, IDLE_STATE_TTL_MS, loadKeysArgs, recordsKeys, refreshKeysArgs } from '../../hot/redis/scripts.js';
import { apply, initialState, makeTiming, nextIdle, StoreUnavailableError } from '../../presence/index.js';
import { hotStoreContract } from '../contract/hotStore.contract.js';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../../scripts/services.js';
import { redisHotStore, testPrefix } from '../support/redis.js';

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
    expect(stateKey(space, 'alice')).toBe(`pg:{p${p}}:user:alice`);
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
  it('should carry the CAS token, the encoded state, the idle time, the alive set changes, and the transition with its event', () => {
    const applied = apply(initialState('alice'), { type: 'heartbeat', deviceId: 'd1', platform: 'WEB', now: 1_000_000 }, timing);
    const idleAt = nextIdle(applied.state, 1_000_000, timing);
    const args = commitKeysArgs(space, { now: 1_000_000, next: applied.state, before: {}, expectedRev: 0, transition: applied.transition, idleAt }, 1_000_000, timing.ttlMs);
    const p = partitionOf('alice', space);
    const encoded = encodeState(applied.state);
    expect(args.slice(0, 5)).toEqual([`pg:{p${p}}:user:alice`, `pg:{p${p}}:due`, `pg:{p${p}}:outbox`, `pg:{p${p}}:alive`, `pg:{p${p}}:claims`]);
    // State lives a TTL past the device's expiry: 70 s + 70 s.
    expect(args.slice(5, 11)).toEqual([0, encoded.user, encoded.t, 140_000, 1_600_000, 'alice']);
    expect(JSON.parse(String(args[11]))).toEqual(applied.transition);
    expect(args[12]).toBe('pg:ch:alice');
    expect(JSON.parse(String(args[13]))).toEqual({ type: 'transition', transition: applied.transition });
    // The new device is set exactly; nothing is dropped.
    expect(args.slice(14)).toEqual([1_000_000, 1, 'x', 1_070_000, 'alice d1 WEB', 0]);
  });

  it('should keep a refresh\'s expiry for untouched devices, set touched ones exactly, and drop expired ones conditionally', () => {
    let state = apply(initialState('bob'), { type: 'heartbeat', deviceId: 'web', platform: 'WEB', now: 0 }, timing).state;
    state = apply(state, { type: 'heartbeat', deviceId: 'phone', platform: 'MOBILE', now: 1_000 }, timing).state;
    state = apply(state, { type: 'heartbeat', deviceId: 'tab', platform: 'WEB', now: 2_000 }, timing).state;
    // At 70 s: web has expired (dropped by the sweep), phone closes (grace), tab is untouched.
    const swept = apply(state, { type: 'disconnect', deviceId: 'phone', now: 70_000 }, timing).state;
    const args = commitKeysArgs(space, { now: 70_000, next: swept, before: state.devices, expectedRev: state.rev, transition: null, idleAt: null }, 70_000, timing.ttlMs);
    expect(args.slice(9, 10)).toEqual(['']);
    expect(args.slice(15)).toEqual([2, 'x', 85_000, 'bob phone MOBILE', 'g', 72_000, 'bob tab WEB', 1, 'e', 'bob web WEB']);
    // A sign-off drops whatever the expiry; a platform change drops the old member and sets the new one.
    const off = apply(state, { type: 'signOff', deviceId: 'tab', now: 3_000 }, timing).state;
    expect(commitKeysArgs(space, { now: 3_000, next: off, before: state.devices, expectedRev: 3, transition: null, idleAt: null }, 3_000, timing.ttlMs).slice(-3)).toEqual([1, 'u', 'bob tab WEB']);
    const moved = apply(state, { type: 'heartbeat', deviceId: 'tab', platform: 'DESKTOP', now: 3_000 }, timing).state;
    const movedArgs = commitKeysArgs(space, { now: 3_000, next: moved, before: state.devices, expectedRev: 3, transition: null, idleAt: null }, 3_000, timing.ttlMs);
    expect(movedArgs.slice(-6)).toEqual(['x', 73_000, 'bob tab DESKTOP', 1, 'u', 'bob tab WEB']);
  });

  it('should keep an offline user\'s state for a week and publish nothing without a transition', () => {
    const args = commitKeysArgs(space, { now: 5, next: initialState('bob'), before: {}, expectedRev: 3, transition: null, idleAt: null }, 5, timing.ttlMs);
    expect(args.slice(7, 15)).toEqual(['0', IDLE_STATE_TTL_MS, '', 'bob', '', 'pg:ch:bob', '', 5]);
    expect(args.slice(15)).toEqual([0, 0]);
  });
});

describe('refreshKeysArgs and loadKeysArgs', () => {
  it('should name the partition\'s alive set, then each user\'s state key, with the new expiry, the key lifetime and each device\'s member', () => {
    const p = partitionOf('alice', space);
    const devices = [
      { userId: 'alice', deviceId: 'd1', platform: 'WEB' as const },
      { userId: 'alice', deviceId: 'd2', platform: 'MOBILE' as const },
    ];
    expect(refreshKeysArgs(space, p, devices, 1_000, 71_000, 70_000)).toEqual([3, `pg:{p${p}}:alive`, `pg:{p${p}}:user:alice`, `pg:{p${p}}:user:alice`, 71_000, 140_000, 'alice d1 WEB', 'alice d2 MOBILE']);
    expect(loadKeysArgs(space, p, ['alice'])).toEqual([2, `pg:{p${p}}:alive`, `pg:{p${p}}:user:alice`, 'alice']);
  });

  it('should name each user\'s state key for presence_records, an id named twice twice, with the partition given or found', () => {
    const ids = ['alice', 'bob', 'alice'];
    const p = partitionOf('alice', space);
    expect(recordsKeys(space, p, ['alice', 'alice'])).toEqual([2, `pg:{p${p}}:user:alice`, `pg:{p${p}}:user:alice`]);
    for (const id of ids) expect(stateKey(space, id, partitionOf(id, space))).toBe(stateKey(space, id));
    // Another space with the same partition count has its own tags.
    expect(stateKey({ prefix: 'other:', partitions: space.partitions }, 'alice')).toBe(`other:{p${p}}:user:alice`);
    expect(recordsKeys(space, p, [])).toEqual([0]);
  });
});

describe('state codec', () => {
  it('should round-trip a state with several devices', () => {
    const one = apply(initialState('a:b@c'), { type: 'heartbeat', deviceId: 'phone.1_x-y:z@w', platform: 'MOBILE', activity: 'IDLE', now: 1_000 }, timing).state;
    const two = apply(one, { type: 'heartbeat', deviceId: 'web', platform: 'WEB', now: 2_000 }, timing).state;
    const state = apply(two, { type: 'setManual', manual: 'DND', now: 3_000 }, timing).state;
    const encoded = encodeState(state);
    expect(encoded.t.split('\n')).toEqual([String(state.rev), 'phone.1_x-y:z@w MOBILE IDLE 1000 1000 71000', 'web WEB ACTIVE 2000 2000 72000']);
    expect(decodeState('a:b@c', encoded.user, encoded.t)).toEqual(state);
    expect(decodeState('a:b@c', encoded.user, encoded.t, ['71000', ''], 70_000)).toEqual(state);
    const records = new Map();
    decodeRecords(['a:b@c', 'nobody'], `[${encoded.user},null]`, records);
    expect(records).toEqual(new Map([['a:b@c', { userId: 'a:b@c', published: state.published, version: state.version }]]));
    // An answer that does not match the ids asked is refused, not matched up wrongly.
    expect(() => decodeRecords(['a:b@c'], `[${encoded.user},null]`, new Map())).toThrow(/2 records for 1 users/);
  });

  it('should take a later alive score as a refresh made a TTL before it', () => {
    const state = apply(initialState('bob'), { type: 'heartbeat', deviceId: 'web', platform: 'WEB', now: 1_000 }, timing).state;
    const encoded = encodeState(state);
    expect(decodeState('bob', encoded.user, encoded.t, ['101000'], 70_000).devices.web).toMatchObject({ lastSeenAt: 31_000, expiresAt: 101_000 });
    expect(decodeState('bob', encoded.user, encoded.t, ['50000'], 70_000).devices.web).toEqual(state.devices.web);
  });

  it('should round-trip a user with no devices', () => {
    const state = { ...initialState('bob'), rev: 12, lastSeen: 60_000, version: 4, published: { status: 'OFFLINE' as const, platforms: [], lastSeen: 60_000 } };
    const encoded = encodeState(state);
    expect(encoded.t).toBe('12');
    expect(decodeState('bob', encoded.user, encoded.t)).toEqual(state);
  });

  it.each(['has space', 'new\nline', ''])('should refuse to store the device id %j rather than corrupt the line format', (deviceId) => {
    const state = { ...initialState('bob'), devices: { [deviceId]: { deviceId, platform: 'WEB' as const, activity: 'ACTIVE' as const, lastActiveAt: 0, lastSeenAt: 0, expiresAt: 1 } } };
    expect(() => encodeState(state)).toThrow(/cannot be stored/);
  });
});

describe('presence_refresh.lua', () => {
  it('should move the state key\'s safety-net lifetime with the expiry, and tell apart the unknown from an expiry already as late', async () => {
    const { store, space, dispose } = await redisHotStore({ ttlMs: 70_000 });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const t0 = Date.now();
      const a1 = apply(initialState('u1'), { type: 'heartbeat', deviceId: 'd1', platform: 'WEB', now: t0 }, timing);
      await store.commit({ now: t0, next: a1.state, before: {}, expectedRev: 0, transition: a1.transition, idleAt: nextIdle(a1.state, t0, timing) });
      const key = stateKey(space, 'u1');
      expect(await redis.pttl(key)).toBeLessThanOrEqual(140_000);
      expect(await store.refresh([{ userId: 'u1', deviceId: 'd1', platform: 'WEB' }], t0 + 30_000, t0 + 100_000)).toEqual([true]);
      // 100 s ahead plus a TTL, from the script's now (t0 + 30 s): 140 s.
      expect(await redis.pttl(key)).toBeGreaterThan(139_000);
      expect(await redis.pttl(key)).toBeLessThanOrEqual(140_000);
      // The same expiry again changes nothing, but the device is known: refreshed.
      expect(await store.refresh([{ userId: 'u1', deviceId: 'd1', platform: 'WEB' }, { userId: 'u1', deviceId: 'd9', platform: 'WEB' }], t0 + 30_000, t0 + 100_000)).toEqual([true, false]);
    } finally {
      redis.disconnect();
      await dispose();
    }
  });
});

/**
 * Runs `call`, counting the socket writes (write or writev syscalls) this process makes to Redis
 * meanwhile, and keeping what they wrote (the RESP text of the commands).
 */
async function writesDuring<T>(call: () => Promise<T>): Promise<{ value: T; writes: number; text: string }> {
  const port = Number(new URL(TEST_REDIS_URL).port || 6379);
  const proto = net.Socket.prototype as unknown as { _writeGeneric: (writev: boolean, data: unknown) => unknown };
  const spy = vi.spyOn(proto, '_writeGeneric');
  try {
    const value = await call();
    const toRedis = spy.mock.calls.filter((_, i) => (spy.mock.contexts[i] as net.Socket).remotePort === port);
    const text = toRedis
      .flatMap(([writev, data]) => (writev ? (data as ({ chunk: unknown } | Buffer)[]).map((d) => (Buffer.isBuffer(d) ? d : d.chunk)) : [data]))
      .map(String)
      .join('');
    return { value, writes: toRedis.length, text };
  } finally {
    spy.mockRestore();
  }
}

/** Script calls in the RESP text sent to Redis (EVALSHA, or EVAL the first time a script is used). */
function scriptCalls(text: string): number {
  return (text.match(/\r\n\$(7\r\nevalsha|4\r\neval)\r\n/gi) ?? []).length;
}

describe('RedisHotStore reads and refreshes over many partitions', () => {
  it('should send one call per partition, all in one socket write, and answer each user', async () => {
    const { store, space, dispose } = await redisHotStore({ partitions: 16 });
    try {
      const t0 = Date.now();
      const ids = Array.from({ length: 200 }, (_, i) => `u${i}`);
      expect(new Set(ids.map((id) => partitionOf(id, space))).size).toBe(16);
      const online = ids.filter((_, i) => i % 3 === 0);
      for (const id of online) {
        const a = apply(initialState(id), { type: 'heartbeat', deviceId: `d-${id}`, platform: 'WEB', now: t0 }, timing);
        await store.commit({ now: t0, next: a.state, before: {}, expectedRev: 0, transition: a.transition, idleAt: nextIdle(a.state, t0, timing) });
      }
      // Once so the connection has loaded the scripts (a first call per script is an EVAL), then counted.
      await store.records(ids);
      const records = await writesDuring(() => store.records(ids));
      expect(records.writes).toBe(1);
      expect(scriptCalls(records.text)).toBe(16);
      expect([...records.value.keys()].sort()).toEqual([...online].sort());
      expect(records.value.get('u0')?.published).toEqual({ status: 'ONLINE', platforms: ['WEB'], lastSeen: null });
      const loaded = await writesDuring(() => store.load(ids));
      expect(loaded.writes).toBe(1);
      expect(scriptCalls(loaded.text)).toBe(16);
      expect([...loaded.value.keys()].sort()).toEqual([...online].sort());
      const devices = ids.map((id) => ({ userId: id, deviceId: `d-${id}`, platform: 'WEB' as const }));
      const refreshed = await writesDuring(() => store.refresh(devices, t0 + 1_000, t0 + 71_000));
      expect(refreshed.writes).toBe(1);
      expect(scriptCalls(refreshed.text)).toBe(16);
      expect(refreshed.value).toEqual(ids.map((_, i) => i % 3 === 0));
    } finally {
      await dispose();
    }
  });
});

describe('one write per turn of the event loop', () => {
  it('should send the commands many callers issue in one turn in one socket write, each answered in order', async () => {
    const { store, dispose } = await redisHotStore();
    try {
      await store.ping();
      // As when a thousand sockets connect at once: each claims its device on its own, in the same turn.
      const claims = await writesDuring(() =>
        Promise.all([
          ...Array.from({ length: 50 }, (_, i) => store.claimDevice(`u${i}`, `d${i}`)),
          // The same device claimed again by another user in the same turn: the first claim went first.
          store.claimDevice('intruder', 'd7'),
        ]),
      );
      expect(claims.writes).toBe(1);
      expect(claims.value.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `u${i}`));
      expect(claims.value[50]).toBe('u7');
      // Issued in separate turns, they leave separately.
      const apart = await writesDuring(async () => {
        await store.claimDevice('u1', 'd1');
        await store.claimDevice('u2', 'd2');
      });
      expect(apart.writes).toBe(2);
    } finally {
      await dispose();
    }
  });

  it('should subscribe every user listened to in one turn in one write, and hear each of them', async () => {
    const { store, space, dispose } = await redisHotStore();
    const admin = new Redis(TEST_REDIS_URL);
    try {
      // Both connections open before the count: the admin's handshake is not the feed's write.
      await Promise.all([store.ping(), admin.ping()]);
      const heard: string[] = [];
      store.feed.onEvent((userId) => heard.push(userId));
      const ids = Array.from({ length: 30 }, (_, i) => `w${i}`);
      const listened = await writesDuring(() => Promise.all([...ids.map((id) => store.feed.listen([id])), store.visibility.listen(['w0', 'w1'])]));
      expect(listened.writes).toBe(1);
      const counts = (await admin.pubsub('NUMSUB', ...ids.map((id) => userChannel(space, id)))) as (string | number)[];
      expect(counts.filter((_, i) => i % 2 === 1).map(Number)).toEqual(ids.map(() => 1));
      for (const id of ['w0', 'w29']) await admin.publish(userChannel(space, id), JSON.stringify({ type: 'visibility', userId: id }));
      await expect.poll(() => heard).toEqual(['w0', 'w29']);
    } finally {
      admin.disconnect();
      await dispose();
    }
  });
});

describe('the Redis presence feed', () => {
  it('should unsubscribe every user unlistened in one turn with one command, and keep hearing one listened to again', async () => {
    const { store, space, dispose } = await redisHotStore();
    const admin = new Redis(TEST_REDIS_URL);
    try {
      const heard: string[] = [];
      store.feed.onEvent((userId) => heard.push(userId));
      const ids = Array.from({ length: 50 }, (_, i) => `u${i}`);
      await store.feed.listen(ids);
      const channel = (id: string) => userChannel(space, id);
      const subscribers = async (id: string) => Number(((await admin.pubsub('NUMSUB', channel(id))) as [string, number])[1]);
      expect(await subscribers('u0')).toBe(1);
      // As when fifty subscriptions close together: fifty unlistens in one turn, and u7 listened to again.
      const left = await writesDuring(() => Promise.all([...ids.map((id) => store.feed.unlisten([id])), store.feed.listen(['u7'])]));
      // u7's SUBSCRIBE and one UNSUBSCRIBE for the other 49, in the turn's one write.
      expect(left.writes).toBe(1);
      expect(left.text.match(/\r\nunsubscribe\r\n/gi)).toHaveLength(1);
      expect(left.text.match(/\r\nsubscribe\r\n/gi)).toHaveLength(1);
      expect(await subscribers('u0')).toBe(0);
      expect(await subscribers('u49')).toBe(0);
      expect(await subscribers('u7')).toBe(1);
      for (const id of ['u0', 'u7', 'u49']) await admin.publish(channel(id), JSON.stringify({ type: 'visibility', userId: id }));
      await expect.poll(() => heard).toEqual(['u7']);
      // Listened to again after the UNSUBSCRIBE went out: subscribed again.
      await store.feed.listen(['u0']);
      await admin.publish(channel('u0'), JSON.stringify({ type: 'visibility', userId: 'u0' }));
      await expect.poll(() => heard).toEqual(['u7', 'u0']);
    } finally {
      admin.disconnect();
      await dispose();
    }
  });
});

describe('the Redis visibility feed', () => {
  it('should hear another process\'s change as soon as listen resolves, and after its connection dropped and came back', async () => {
    const prefix = testPrefix();
    const a = await redisHotStore({ prefix });
    const b = await redisHotStore({ prefix });
    const admin = new Redis(TEST_REDIS_URL);
    try {
      const heard: (string | null)[] = [];
      a.store.visibility.onChange((userId) => heard.push(userId));
      await a.store.visibility.listen(['u1', 'u2']);
      await b.store.publishVisibility('u1');
      await b.store.publishVisibility('u3');
      await b.store.publishVisibility('u2');
      await expect.poll(() => heard).toEqual(['u1', 'u2']);
      // Drop exactly this store's subscriber connection: it tells of the loss and of the return.
      const clients = await admin.client('LIST');
      const id = String(clients).split('\n').find((line) => line.includes(`name=${prefix}sub`))!.match(/id=(\d+)/)![1]!;
      await admin.client('KILL', 'ID', id);
      await expect.poll(() => heard.filter((h) => h === null).length).toBe(2);
      await a.store.visibility.listen(['u1']);
      await b.store.publishVisibility('u1');
      await expect.poll(() => heard.at(-1)).toBe('u1');
    } finally {
      admin.disconnect();
      await a.dispose();
      await b.dispose();
    }
  });
});

describe('RedisHotStore with Redis unreachable', () => {
  it('should reject every call with StoreUnavailableError quickly instead of hanging', async () => {
    const { store, dispose } = await redisHotStore({ url: 'redis://127.0.0.1:1' });
    try {
      const started = Date.now();
      for (const call of [() => store.load(['a']), () => store.records(['a']), () => store.refresh([{ userId: 'a', deviceId: 'd', platform: 'WEB' }], 1, 2), () => store.ping(), () => store.claimDevice('a', 'd'), () => store.claimDue(1, 1, 1), () => store.publishVisibility('a'), () => store.visibility.listen(['a'])]) {
        await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
      }
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await dispose();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { EmbeddedHotStore } from '../../hot/embedded.js';
import type { HotStore } from '../../hot/port.js';
import { makeTiming, type PresenceRecord } from '../../presence/index.js';
import { EmbeddedLastSeenStore } from '../../prisma/embedded.js';
import type { LastSeenStore } from '../../prisma/port.js';
import { DeviceOwnedError } from '../../service/errors.js';
import { DURABLE_READ_TTL_MS, PresenceService } from '../../service/presence.js';
import { until } from '../support/clients.js';
import { switchable } from '../support/faults.js';

const timing = (() => {
  const t = makeTiming({ heartbeatMs: 1_000, jitterMs: 100, graceMs: 500 });
  if (!t.ok) throw new Error(t.error);
  return t.timing;
})();

function setup(hot: HotStore = new EmbeddedHotStore(), clock = { now: 1_000_000 }, lastSeen: LastSeenStore = new EmbeddedLastSeenStore()) {
  const service = new PresenceService({ hot, lastSeen, timing, clock: () => clock.now });
  return { hot, lastSeen, service, clock };
}

describe('PresenceService', () => {
  it('should make one transition per change and none for a heartbeat that changes nothing', async () => {
    const { service, hot } = setup();
    const first = await service.heartbeat('u1', 'd1', 'WEB', 'ACTIVE');
    const second = await service.heartbeat('u1', 'd1', 'WEB');
    expect(first.transition).toMatchObject({ from: 'OFFLINE', to: 'ONLINE', version: 1, cause: 'CONNECT' });
    expect(second).toMatchObject({ effect: 'refresh', transition: null });
    expect((await hot.outbox.read('c', 10)).map((e) => e.transition.id)).toEqual(['u1:1']);
  });

  it('should refuse a device bound to another user without touching either user', async () => {
    const { service } = setup();
    await service.heartbeat('alice', 'phone', 'MOBILE');
    await expect(service.heartbeat('bob', 'phone', 'MOBILE')).rejects.toBeInstanceOf(DeviceOwnedError);
    expect((await service.state('bob')).devices).toEqual({});
    expect(Object.keys((await service.state('alice')).devices)).toEqual(['phone']);
  });

  it('should retry a compare-and-set conflict and apply both concurrent heartbeats', async () => {
    const { service } = setup();
    await Promise.all([service.heartbeat('u1', 'd1', 'WEB'), service.heartbeat('u1', 'd2', 'MOBILE'), service.heartbeat('u1', 'd3', 'DESKTOP')]);
    const state = await service.state('u1');
    expect(Object.keys(state.devices).sort()).toEqual(['d1', 'd2', 'd3']);
    expect(state.published.platforms).toEqual(['WEB', 'DESKTOP', 'MOBILE']);
  });

  it('should emit each expiry exactly once when several sweepers share one store', async () => {
    const hot = new EmbeddedHotStore();
    const clock = { now: 1_000_000 };
    const processes = [setup(hot, clock), setup(hot, clock), setup(hot, clock)];
    for (let i = 0; i < 50; i++) await processes[i % 3]!.service.heartbeat(`u${i}`, `d${i}`, 'WEB');
    await hot.outbox.ack((await hot.outbox.read('c', 100)).map((e) => e.id));
    clock.now += timing.ttlMs;
    const results = await Promise.all(processes.map((p) => p.service.sweep(20)).concat(processes.map((p) => p.service.sweep(20))));
    const made = results.reduce((sum, r) => sum + r.transitions, 0);
    const again = await Promise.all(processes.map((p) => p.service.sweep(100)));
    expect(made + again.reduce((s, r) => s + r.transitions, 0)).toBe(50);
    const offline = await hot.outbox.read('c', 100);
    expect(offline).toHaveLength(50);
    expect(new Set(offline.map((e) => e.transition.userId)).size).toBe(50);
    expect(offline.every((e) => e.transition.to === 'OFFLINE' && e.transition.cause === 'EXPIRY')).toBe(true);
  });

  it('should keep versions monotonic from the durable store when hot state is gone', async () => {
    const { service, lastSeen } = setup(new EmbeddedHotStore());
    await lastSeen.record([
      { id: 'u1:7', userId: 'u1', from: 'ONLINE', to: 'OFFLINE', version: 7, bucket: 600_000, cause: 'EXPIRY', published: { status: 'OFFLINE', platforms: [], lastSeen: 600_000 } },
    ]);
    const records = await service.records(['u1', 'u2']);
    expect(records.get('u1')).toEqual({ userId: 'u1', published: { status: 'OFFLINE', platforms: [], lastSeen: 600_000 }, version: 7 });
    expect(records.get('u2')).toEqual({ userId: 'u2', published: { status: 'OFFLINE', platforms: [], lastSeen: null }, version: 0 });
    const back = await service.heartbeat('u1', 'd1', 'WEB');
    expect(back.transition).toMatchObject({ from: 'OFFLINE', to: 'ONLINE', version: 8 });
  });

  it('should share one frozen record per cold user between reads, and show OFFLINE without last-seen, not held, while the durable store is down', async () => {
    const lastSeen = switchable<LastSeenStore>(new EmbeddedLastSeenStore(), 'lastSeen');
    const service = new PresenceService({ hot: new EmbeddedHotStore(), lastSeen: lastSeen.store, timing, clock: () => 1_000_000 });
    await lastSeen.store.record([
      { id: 'u1:4', userId: 'u1', from: 'ONLINE', to: 'OFFLINE', version: 4, bucket: 600_000, cause: 'EXPIRY', published: { status: 'OFFLINE', platforms: [], lastSeen: 600_000 } },
    ]);
    lastSeen.reset();
    lastSeen.down = true;
    const blind = await service.records(['u1', 'u1']);
    expect(blind).toEqual(new Map([['u1', { userId: 'u1', published: { status: 'OFFLINE', platforms: [], lastSeen: null }, version: 0 }]]));
    lastSeen.down = false;
    // Nothing was held from the failed read: asked again, the store is read.
    const first = (await service.records(['u1', 'u2', 'u1'])).get('u1')!;
    expect(first).toEqual({ userId: 'u1', published: { status: 'OFFLINE', platforms: [], lastSeen: 600_000 }, version: 4 });
    const again = (await service.records(['u1'])).get('u1')!;
    expect(again).toBe(first);
    expect(Object.isFrozen(again) && Object.isFrozen(again.published) && Object.isFrozen(again.published.platforms)).toBe(true);
    expect(lastSeen.calls).toEqual({ lastSeen: 2 });
  });

  it('should reuse a durable last-seen read within its TTL, renew one used past half of it in the background, and let hot state win', async () => {
    const lastSeen = switchable<LastSeenStore>(new EmbeddedLastSeenStore(), 'lastSeen');
    const clock = { now: 1_000_000 };
    const service = new PresenceService({ hot: new EmbeddedHotStore(), lastSeen: lastSeen.store, timing, clock: () => clock.now });
    const offline = (version: number, bucket: number) =>
      ({ id: `u1:${version}`, userId: 'u1', from: 'ONLINE', to: 'OFFLINE', version, bucket, cause: 'EXPIRY', published: { status: 'OFFLINE', platforms: [], lastSeen: bucket } }) as const;
    await lastSeen.store.record([offline(3, 600_000)]);
    lastSeen.reset();
    const u1 = (version: number, bucket: number): PresenceRecord => ({ userId: 'u1', published: { status: 'OFFLINE', platforms: [], lastSeen: bucket }, version });
    const u2: PresenceRecord = { userId: 'u2', published: { status: 'OFFLINE', platforms: [], lastSeen: null }, version: 0 };
    expect(await service.records(['u1', 'u2'])).toEqual(new Map([['u1', u1(3, 600_000)], ['u2', u2]]));
    // Each read lives three quarters of the TTL to all of it (jittered); in its first quarter, it is just used.
    clock.now += DURABLE_READ_TTL_MS / 4 - 1;
    expect(await service.records(['u2', 'u1'])).toEqual(new Map([['u2', u2], ['u1', u1(3, 600_000)]]));
    expect(lastSeen.calls).toEqual({ lastSeen: 1 });
    // (Written by another process, as its OFFLINE transition's drain would.)
    await lastSeen.store.record([offline(5, 660_000)]);
    lastSeen.reset();
    // Past half of it: answered from memory at once, and read again in the background.
    clock.now += DURABLE_READ_TTL_MS / 4 + 2;
    expect((await service.records(['u1'])).get('u1')).toEqual(u1(3, 600_000));
    expect(lastSeen.calls).toEqual({ lastSeen: 1 });
    await until(async () => (await service.records(['u1'])).get('u1')?.version === 5, 'the renewed read served');
    expect(lastSeen.calls).toEqual({ lastSeen: 1 });
    // u2 was not used past half its TTL: once expired, it is read again while the caller waits.
    clock.now += DURABLE_READ_TTL_MS / 2;
    expect((await service.records(['u2'])).get('u2')).toEqual(u2);
    expect(lastSeen.calls).toEqual({ lastSeen: 2 });
    // Back online: hot state answers, the durable store is not asked.
    await service.heartbeat('u1', 'd1', 'WEB');
    expect((await service.records(['u1'])).get('u1')).toMatchObject({ published: { status: 'ONLINE' }, version: 6 });
    // (One read: the heartbeat's, for u1's last version; records did not ask.)
    expect(lastSeen.calls.lastSeen).toBe(3);
  });

  it('should refresh a live device with one store refresh: no read, claim or compare-and-set', async () => {
    const counted = switchable<HotStore>(new EmbeddedHotStore(), 'hot');
    const { service, clock } = setup(counted.store);
    await service.heartbeat('u1', 'd1', 'WEB');
    counted.reset();
    for (let i = 0; i < 10; i++) {
      clock.now += 100;
      expect((await service.heartbeat('u1', 'd1', 'WEB')).effect).toBe('refresh');
    }
    expect(counted.calls).toEqual({ refresh: 10 });
    expect((await service.state('u1')).devices.d1).toMatchObject({ lastSeenAt: clock.now, expiresAt: clock.now + timing.ttlMs });
    // And the state kept for the next write still matches the store: a disconnect commits at once.
    counted.reset();
    await service.disconnect('u1', 'd1');
    expect(counted.calls).toEqual({ load: 1, commit: 1 });
  });

  it('should record a batch of disconnects from one read, re-reading only a user written meanwhile', async () => {
    const counted = switchable<HotStore>(new EmbeddedHotStore(), 'hot');
    const lastSeen = switchable<LastSeenStore>(new EmbeddedLastSeenStore(), 'lastSeen');
    const { service, clock } = setup(counted.store, undefined, lastSeen.store);
    await service.heartbeat('u1', 'd1', 'WEB');
    await service.heartbeat('u1', 'd3', 'MOBILE');
    await service.heartbeat('u2', 'd2', 'WEB');
    clock.now += 100;
    counted.reset();
    lastSeen.reset();
    const outcomes = await service.disconnectAll([
      { userId: 'u1', deviceId: 'd1' },
      { userId: 'u2', deviceId: 'd2' },
      // u1's second device: its first attempt was decided from the batch's read, which u1's first
      // device's commit has made stale, so it reads u1 again and retries.
      { userId: 'u1', deviceId: 'd3' },
      // Never seen: nothing to record.
      { userId: 'u3', deviceId: 'dx' },
    ]);
    expect(outcomes.map((o) => o.ok && o.effect)).toEqual(['write', 'write', 'write', 'none']);
    expect(counted.calls).toEqual({ load: 2, commit: 4 });
    expect(counted.args.load![0]).toEqual([['u1', 'u2', 'u1', 'u3']]);
    // u3 has no stored state: nothing to record, and no durable read to find that out (a storm after
    // Redis lost its data would otherwise read PostgreSQL once per closed socket).
    expect(lastSeen.calls).toEqual({});
    const graceEnd = clock.now + timing.graceMs;
    expect((await service.state('u1')).devices).toMatchObject({ d1: { expiresAt: graceEnd }, d3: { expiresAt: graceEnd } });
    expect((await service.state('u2')).devices).toMatchObject({ d2: { expiresAt: graceEnd } });
  });

  it('should refuse a batch of disconnects as a whole when the hot store is down, and never throw', async () => {
    const counted = switchable<HotStore>(new EmbeddedHotStore(), 'hot');
    const { service } = setup(counted.store);
    await service.heartbeat('u1', 'd1', 'WEB');
    const before = await service.state('u1');
    counted.down = true;
    const outcomes = await service.disconnectAll([{ userId: 'u1', deviceId: 'd1' }]);
    expect(outcomes).toEqual([{ ok: false, error: expect.objectContaining({ name: 'StoreUnavailableError' }) }]);
    counted.down = false;
    expect(await service.state('u1')).toEqual(before);
  });

  it('should commit a heartbeat that reports activity: it moves the last activity, not only timers', async () => {
    const counted = switchable<HotStore>(new EmbeddedHotStore(), 'hot');
    const { service, clock } = setup(counted.store);
    await service.heartbeat('u1', 'd1', 'WEB', 'ACTIVE');
    clock.now += 500;
    counted.reset();
    expect((await service.heartbeat('u1', 'd1', 'WEB', 'ACTIVE')).effect).toBe('refresh');
    expect(counted.calls).toEqual({ commit: 1 });
    expect((await service.state('u1')).devices.d1).toMatchObject({ lastActiveAt: clock.now });
  });

  it('should not trust a cached "nothing to do": a device another process added is still signed off', async () => {
    const hot = new EmbeddedHotStore();
    const clock = { now: 1_000_000 };
    const [a, b] = [setup(hot, clock), setup(hot, clock)];
    await a.service.heartbeat('u1', 'phone', 'MOBILE');
    await b.service.heartbeat('u1', 'laptop', 'DESKTOP');
    // a's cache has only the phone; the laptop must go anyway.
    const off = await a.service.signOff('u1', 'laptop');
    expect(off.effect).toBe('write');
    expect(Object.keys((await a.service.state('u1')).devices)).toEqual(['phone']);
  });

  it('should reload and retry when its cached state is stale', async () => {
    const hot = new EmbeddedHotStore();
    const clock = { now: 1_000_000 };
    const [a, b] = [setup(hot, clock), setup(hot, clock)];
    await a.service.heartbeat('u1', 'phone', 'MOBILE');
    await b.service.setManual('u1', 'DND');
    const beat = await a.service.heartbeat('u1', 'phone', 'MOBILE', 'IDLE');
    expect(beat.state.manual).toBe('DND');
    expect((await a.service.state('u1')).published.status).toBe('DND');
  });

  it('should refresh open sockets\' devices in one store call, and give the rest a full heartbeat each', async () => {
    const counted = switchable<HotStore>(new EmbeddedHotStore(), 'hot');
    const { service, clock } = setup(counted.store);
    await service.heartbeat('u1', 'd1', 'WEB');
    await service.heartbeat('u2', 'd2', 'MOBILE');
    await service.heartbeat('u3', 'd3', 'WEB', 'IDLE');
    clock.now += 500;
    counted.reset();
    const outcomes = await service.refresh([
      { userId: 'u1', deviceId: 'd1', platform: 'WEB' },
      // Unknown to the store (e.g. its hot state was lost): the full heartbeat brings it back online.
      { userId: 'u4', deviceId: 'd4', platform: 'DESKTOP' },
      { userId: 'u2', deviceId: 'd2', platform: 'MOBILE' },
      { userId: 'u3', deviceId: 'd3', platform: 'WEB' },
    ]);
    expect(outcomes).toEqual([
      { ok: true, effect: 'refresh', transition: null },
      { ok: true, effect: 'write', transition: expect.objectContaining({ userId: 'u4', from: 'OFFLINE', to: 'ONLINE', cause: 'CONNECT' }) },
      { ok: true, effect: 'refresh', transition: null },
      { ok: true, effect: 'refresh', transition: null },
    ]);
    // u4 is unknown: its full heartbeat reads (nothing) and commits; the rest cost the one refresh call.
    expect(counted.calls).toEqual({ refresh: 1, claimDevice: 1, load: 1, commit: 1 });
    // The refreshed timers are what the store now holds, and the device stays IDLE as it said.
    const u3 = await service.state('u3');
    expect(u3.devices.d3).toMatchObject({ activity: 'IDLE', lastSeenAt: clock.now, expiresAt: clock.now + timing.ttlMs });
    expect(u3.published.status).toBe('IDLE');
  });

  it('should keep a device whose expiry passed but that no sweep dropped yet: its socket never closed, nothing flaps', async () => {
    const { service, clock, hot } = setup();
    await service.heartbeat('u1', 'd1', 'WEB', 'IDLE');
    clock.now += timing.ttlMs;
    const [outcome] = await service.refresh([{ userId: 'u1', deviceId: 'd1', platform: 'WEB' }]);
    expect(outcome).toEqual({ ok: true, effect: 'refresh', transition: null });
    expect((await service.state('u1')).devices.d1).toMatchObject({ activity: 'IDLE', lastSeenAt: clock.now, expiresAt: clock.now + timing.ttlMs });
    expect(await service.sweep()).toEqual({ claimed: 0, transitions: 0 });
    expect((await hot.outbox.read('c', 10)).map((e) => e.transition.to)).toEqual(['IDLE']);
  });

  it('should report every device as failed, and change nothing, when the hot store is down', async () => {
    const counted = switchable<HotStore>(new EmbeddedHotStore(), 'hot');
    const { service } = setup(counted.store);
    await service.heartbeat('u1', 'd1', 'WEB');
    const before = await service.state('u1');
    counted.down = true;
    const outcomes = await service.refresh([
      { userId: 'u1', deviceId: 'd1', platform: 'WEB' },
      { userId: 'u2', deviceId: 'd2', platform: 'WEB' },
    ]);
    expect(outcomes.map((o) => (o.ok ? 'ok' : (o.error as Error).name))).toEqual(['StoreUnavailableError', 'StoreUnavailableError']);
    counted.down = false;
    expect(await service.state('u1')).toEqual(before);
  });
});

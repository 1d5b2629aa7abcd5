/**
 * Many device sockets closing at once (a region's network drops, a load balancer restarts), on the real
 * Redis: the gateway records their disconnects in batches — one hot-store read per batch, a bounded
 * number of batches out at once — and every device gets its grace window, none is left to expire by TTL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HotStore } from '../../hot/port.js';
import { connectWs, gql, type WsSession } from '../support/clients.js';
import { switchable } from '../support/faults.js';
import { realStores } from '../support/real-stores.js';
import { startTestServer } from '../support/server.js';

/** Long enough that nothing expires or is swept while the test looks: only a recorded close moves expiresAt this near. */
const TIMING = { PRESENCE_HEARTBEAT_MS: '20000', PRESENCE_JITTER_MS: '1000', PRESENCE_TTL_MS: '60000', PRESENCE_GRACE_MS: '15000' };

describe('a disconnect storm', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  it('should record every closed device in batches, a bounded number in flight, none failed', async () => {
    const real = await realStores({ ttlMs: 60_000 });
    cleanup.push(() => real.dispose());
    // The real store, its `load` watched: how many calls, and how many out at once.
    const loads = { calls: 0, inFlight: 0, maxInFlight: 0 };
    const inner = real.stores.hot;
    // Over switchable's proxy, whose methods run on the store itself (its private fields intact).
    const hot: HotStore = Object.assign(Object.create(switchable<HotStore>(inner, 'hot').store) as HotStore, {
      load: async (...args: Parameters<HotStore['load']>) => {
        loads.calls++;
        loads.maxInFlight = Math.max(loads.maxInFlight, ++loads.inFlight);
        try {
          return await inner.load(...args);
        } finally {
          loads.inFlight--;
        }
      },
    });
    const t = await startTestServer({ stores: { ...real.stores, hot }, env: TIMING });
    cleanup.push(() => t.dispose());

    const N = 300;
    const users = Array.from({ length: N }, (_, i) => `storm${i}`);
    const sessions: WsSession[] = [];
    for (const [i, user] of users.entries()) sessions.push(connectWs(t.wsUrl, { authorization: `Bearer ${await t.token(user)}`, deviceId: `dev${i}`, platform: 'WEB' }));
    cleanup.push(() => Promise.all(sessions.map((s) => s.dispose().catch(() => undefined))));
    await Promise.all(sessions.map((s) => s.connected));
    const connected = await inner.load(users);
    expect(connected.size).toBe(N);
    const ttlExpiry = Math.min(...[...connected.values()].map((s) => Object.values(s.devices)[0]!.expiresAt));

    loads.calls = 0;
    loads.maxInFlight = 0;
    const closedFrom = Date.now();
    await Promise.all(sessions.map((s) => s.dispose()));
    const disconnects = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const count = (outcome: string) => Number(text.match(new RegExp(`^presence_disconnects_total\\{outcome="${outcome}"\\} (\\d+)`, 'm'))?.[1] ?? 0);
      return { recorded: count('recorded'), failed: count('failed') };
    };
    await expect.poll(async () => {
      const { recorded, failed } = await disconnects();
      return recorded + failed;
    }, { timeout: 15_000, interval: 50 }).toBe(N);
    expect(await disconnects()).toEqual({ recorded: N, failed: 0 });

    // Every device is in its grace window (expiry = its close + 15 s), well before its heartbeat TTL.
    const closed = await inner.load(users);
    expect(closed.size).toBe(N);
    for (const state of closed.values()) {
      const [device] = Object.values(state.devices);
      expect(device!.expiresAt).toBeGreaterThanOrEqual(closedFrom + 15_000);
      expect(device!.expiresAt).toBeLessThan(Math.min(ttlExpiry, Date.now() + 15_000 + 1));
    }
    // Batched: one read per batch, not one per device, and never more batches out than the gateway allows.
    expect(loads.calls).toBeGreaterThan(0);
    expect(loads.calls).toBeLessThanOrEqual(N / 10);
    expect(loads.maxInFlight).toBeLessThanOrEqual(4);
    // Within the grace window the user is still ONLINE: a reconnect now would make no flap.
    const me = await gql(t.url, '{ me { status } }', {}, await t.token('storm0'));
    expect(me.data).toEqual({ me: { status: 'ONLINE' } });
  });
});

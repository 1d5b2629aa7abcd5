import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedHotStore } from '../../hot/embedded.js';
import type { HotStore, Outbox, OutboxEntry } from '../../hot/port.js';
import { StoreUnavailableError, type Transition, type UserId } from '../../presence/index.js';
import { DEFAULT_RETENTION_MS, OutboxDrain, type DrainEvent, type OutboxDrainOptions } from '../../prisma/drain.js';
import { EmbeddedLastSeenStore } from '../../prisma/embedded.js';
import type { DurableLastSeen, LastSeenStore, TrailRow } from '../../prisma/port.js';
import { MINUTE, T0, transition } from '../contract/lastSeenStore.contract.js';
import { DATABASE_URL, migratedSchema, openStore } from './postgres.js';

/** Waits for a condition, polling; fails after `timeout` ms instead of hanging. */
const until = (condition: () => boolean | Promise<boolean>, timeout = 10_000) =>
  vi.waitFor(
    async () => {
      if (!(await condition())) throw new Error('condition not met yet');
    },
    { timeout, interval: 5 },
  );

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Appends transitions to the hot store's outbox the way the service does: through `commit`. */
async function append(hot: HotStore, transitions: readonly Transition[]): Promise<void> {
  for (const t of transitions) {
    const current = (await hot.load([t.userId])).get(t.userId);
    const rev = current?.rev ?? 0;
    const applied = await hot.commit({
      now: t.bucket,
      next: {
        userId: t.userId,
        devices: {},
        manual: 'AUTO',
        published: t.published,
        version: t.version,
        rev: rev + 1,
        lastSeen: t.published.lastSeen,
      },
      before: current?.devices ?? {},
      expectedRev: rev,
      transition: t,
      idleAt: null,
    });
    if (!applied) throw new Error(`append: commit of ${t.id} was refused`);
  }
}

/** `count` transitions per user, alternating ONLINE / OFFLINE, versions from `fromVersion`. */
function burst(users: readonly UserId[], count: number, fromVersion = 1): Transition[] {
  const out: Transition[] = [];
  for (let v = fromVersion; v < fromVersion + count; v++) {
    for (const userId of users) out.push(transition({ userId, version: v, to: v % 2 === 0 ? 'OFFLINE' : 'ONLINE' }));
  }
  return out;
}

/** A LastSeenStore that behaves like an unreachable Postgres while `down`, and can hold `record` on a gate. */
class FlakyStore implements LastSeenStore {
  down = false;
  gate: Promise<void> | null = null;
  recordCalls = 0;
  refusals = 0;
  constructor(readonly inner: LastSeenStore) {}

  async record(transitions: readonly Transition[]): Promise<void> {
    this.recordCalls++;
    if (this.gate) await this.gate;
    if (this.down) {
      this.refusals++;
      throw new StoreUnavailableError('lastSeen', { cause: new Error('connect ECONNREFUSED 127.0.0.1:5432') });
    }
    await this.inner.record(transitions);
  }
  lastSeen(userIds: readonly UserId[]): Promise<Map<UserId, DurableLastSeen>> {
    return this.inner.lastSeen(userIds);
  }
  trail(userId: UserId, limit: number): Promise<TrailRow[]> {
    return this.inner.trail(userId, limit);
  }
  prune(before: number): Promise<number> {
    return this.inner.prune(before);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** An Outbox that checks, at every ack, that the acknowledged transitions are already in the store. */
class AuditedOutbox implements Outbox {
  readonly ackedBeforeRecorded: string[] = [];
  crashOnNextAck = false;
  readonly #ids = new Map<string, Transition>();
  constructor(
    readonly inner: Outbox,
    readonly store: LastSeenStore,
  ) {}

  async read(consumer: string, count: number): Promise<OutboxEntry[]> {
    const entries = await this.inner.read(consumer, count);
    for (const e of entries) this.#ids.set(e.id, e.transition);
    return entries;
  }
  async ack(ids: readonly string[]): Promise<void> {
    if (this.crashOnNextAck) {
      this.crashOnNextAck = false;
      throw new Error('process crashed between record and ack');
    }
    for (const id of ids) {
      const t = this.#ids.get(id)!;
      const trail = await this.store.trail(t.userId, 1_000);
      if (!trail.some((row) => row.transitionId === t.id)) this.ackedBeforeRecorded.push(t.id);
    }
    await this.inner.ack(ids);
  }
  backlog(): Promise<number> {
    return this.inner.backlog();
  }
}

const FAST = { idleMs: 5, backoff: { initialMs: 5, maxMs: 40 } } satisfies Partial<OutboxDrainOptions>;

interface StoreFixture {
  store: LastSeenStore;
  dispose(): Promise<void>;
}

const fixtures: Array<[string, () => Promise<StoreFixture>]> = [
  [
    'embedded store',
    async () => {
      const store = new EmbeddedLastSeenStore();
      return { store, dispose: () => store.close() };
    },
  ],
  [
    'postgres store',
    async () => {
      const { schema, drop } = await migratedSchema('drain');
      const store = await openStore({ databaseUrl: DATABASE_URL, schema });
      return {
        store,
        async dispose() {
          await store.close();
          await drop();
        },
      };
    },
  ],
];

const running: OutboxDrain[] = [];
const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  while (disposers.length > 0) await disposers.pop()!();
});

function track(drain: OutboxDrain): OutboxDrain {
  running.push(drain);
  return drain;
}

function eventsOf(drain: OutboxDrain): DrainEvent[] {
  const events: DrainEvent[] = [];
  drain.on((e) => events.push(e));
  return events;
}

async function trailIds(store: LastSeenStore, users: readonly UserId[]): Promise<string[]> {
  const rows = (await Promise.all(users.map((u) => store.trail(u, 10_000)))).flat();
  return rows.map((r) => r.transitionId).sort();
}

describe.each(fixtures)('OutboxDrain into the %s', (_name, makeStore) => {
  async function setup() {
    const fixture = await makeStore();
    disposers.push(fixture.dispose);
    const hot = new EmbeddedHotStore();
    const flaky = new FlakyStore(fixture.store);
    const outbox = new AuditedOutbox(hot.outbox, fixture.store);
    return { hot, flaky, outbox, store: fixture.store };
  }

  it('should acknowledge entries only after the record committed', async () => {
    const { hot, flaky, outbox, store } = await setup();
    const users = ['ada', 'bo', 'cy'];
    await append(hot, burst(users, 4));
    const gate = deferred();
    flaky.gate = gate.promise;
    const drain = track(new OutboxDrain({ outbox, store: flaky, consumer: 'c1', ...FAST }));

    drain.start();
    await until(() => flaky.recordCalls === 1);
    expect(await outbox.backlog()).toBe(12);
    expect(await trailIds(store, users)).toEqual([]);
    gate.resolve();
    flaky.gate = null;
    await until(async () => (await outbox.backlog()) === 0);

    expect(outbox.ackedBeforeRecorded).toEqual([]);
    expect(await trailIds(store, users)).toHaveLength(12);
    expect(await store.lastSeen(users)).toEqual(new Map(users.map((u) => [u, { bucket: T0 + 4 * MINUTE, version: 4 }])));
    expect(drain.stats).toMatchObject({ drained: 12, failures: 0, poisoned: 0 });
  });

  it('should lose nothing when the store is unavailable mid-burst, and land everything once it recovers', async () => {
    const { hot, flaky, outbox, store } = await setup();
    const users = Array.from({ length: 10 }, (_, i) => `user-${i}`);
    const drain = track(new OutboxDrain({ outbox, store: flaky, consumer: 'c1', batchSize: 25, ...FAST }));
    const events = eventsOf(drain);

    await append(hot, burst(users, 20, 1)); // 200 entries
    drain.start();
    await until(() => drain.stats.drained >= 50);
    flaky.down = true;
    await append(hot, burst(users, 20, 21)); // 200 more while Postgres is "down"
    await until(() => flaky.refusals >= 4);
    expect(await outbox.backlog()).toBeGreaterThan(0);
    flaky.down = false;
    await until(async () => (await outbox.backlog()) === 0, 20_000);

    const expected = burst(users, 40).map((t) => t.id).sort();
    expect(await trailIds(store, users)).toEqual(expected);
    expect(await store.lastSeen(users)).toEqual(new Map(users.map((u) => [u, { bucket: T0 + 40 * MINUTE, version: 40 }])));
    expect(outbox.ackedBeforeRecorded).toEqual([]);
    const retries = events.filter((e): e is Extract<DrainEvent, { type: 'retry' }> => e.type === 'retry');
    expect(retries.slice(0, 4).map((e) => e.attempt)).toEqual([1, 2, 3, 4]);
    expect(retries.every((e) => e.error instanceof StoreUnavailableError && e.delayMs <= 40)).toBe(true);
    expect(drain.stats.drained).toBe(400);
  });

  it('should replay idempotently after a crash between record and ack', async () => {
    const { hot, outbox, store } = await setup();
    const users = ['dee', 'eve'];
    await append(hot, burst(users, 6));
    outbox.crashOnNextAck = true;
    const crashed = new OutboxDrain({ outbox, store, consumer: 'c1', ...FAST });

    await expect(crashed.drainOnce()).rejects.toThrow('process crashed between record and ack');
    expect(await outbox.backlog()).toBe(12);
    expect(await trailIds(store, users)).toHaveLength(12);
    // A new process picks the same entries up again.
    const restarted = new OutboxDrain({ outbox, store, consumer: 'c2', ...FAST });
    expect(await restarted.drainOnce()).toBe(12);

    expect(await outbox.backlog()).toBe(0);
    expect(await trailIds(store, users)).toEqual(burst(users, 6).map((t) => t.id).sort());
    expect(await store.lastSeen(users)).toEqual(new Map(users.map((u) => [u, { bucket: T0 + 6 * MINUTE, version: 6 }])));
  });

  it('should acknowledge an entry that can never be stored, report it, and record the rest', async () => {
    const { hot, outbox, store } = await setup();
    const bad = transition({ userId: 'fay', version: 2, bucket: T0 + 30_000 });
    await append(hot, [transition({ userId: 'fay', version: 1, to: 'ONLINE' }), bad, transition({ userId: 'fay', version: 3 })]);
    const drain = new OutboxDrain({ outbox, store, consumer: 'c1', ...FAST });
    const events = eventsOf(drain);

    expect(await drain.drainOnce()).toBe(3);

    expect(await outbox.backlog()).toBe(0);
    expect(await trailIds(store, ['fay'])).toEqual(['fay:1', 'fay:3']);
    expect(events.filter((e) => e.type === 'poison')).toEqual([
      {
        type: 'poison',
        entry: expect.objectContaining({ transition: bad }),
        reason: 'has bucket 1795327230000 (expected the start of a 60 s bucket, a multiple of 60000)',
      },
    ]);
    expect(drain.stats).toMatchObject({ drained: 2, poisoned: 1 });
  });

  it('should wait for the batch in flight when stopped, and acknowledge it', async () => {
    const { hot, flaky, outbox } = await setup();
    await append(hot, burst(['gil'], 3));
    const gate = deferred();
    flaky.gate = gate.promise;
    const drain = track(new OutboxDrain({ outbox, store: flaky, consumer: 'c1', ...FAST }));
    drain.start();
    await until(() => flaky.recordCalls === 1);

    let stopped = false;
    const stopping = drain.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;

    expect(await outbox.backlog()).toBe(0);
    expect(drain.running).toBe(false);
    expect(flaky.recordCalls).toBe(1);
  });

  it('should prune the trail older than the retention at start and on demand', async () => {
    const { store, outbox } = await setup();
    await store.record([
      transition({ userId: 'hal', version: 1, bucket: T0 }),
      transition({ userId: 'hal', version: 2, bucket: T0 + 60 * MINUTE, to: 'ONLINE' }),
      transition({ userId: 'hal', version: 3, bucket: T0 + 90 * MINUTE }),
    ]);
    let now = T0 + 24 * 60 * MINUTE + 30 * MINUTE;
    const drain = track(new OutboxDrain({ outbox, store, consumer: 'c1', now: () => now, ...FAST }));
    const events = eventsOf(drain);

    drain.start();
    await until(() => events.some((e) => e.type === 'pruned'));
    expect(events.find((e) => e.type === 'pruned')).toEqual({ type: 'pruned', count: 1, before: T0 + 30 * MINUTE });
    now += 60 * MINUTE;
    expect(await drain.pruneOnce()).toBe(1);

    expect((await store.trail('hal', 10)).map((r) => r.transitionId)).toEqual(['hal:3']);
    expect(drain.stats.pruned).toBe(2);
  });
});

describe('OutboxDrain options', () => {
  const base = { outbox: new EmbeddedHotStore().outbox, store: new EmbeddedLastSeenStore(), consumer: 'c' };

  it.each([
    [{ batchSize: 0 }, 'drain: batchSize must be a positive integer, got 0'],
    [{ batchSize: 2.5 }, 'drain: batchSize must be a positive integer, got 2.5'],
    [{ idleMs: -1 }, 'drain: idleMs must be a positive number, got -1'],
    [{ retentionMs: 0 }, 'drain: retentionMs must be a positive number, got 0'],
    [{ backoff: { initialMs: 500, maxMs: 100 } }, 'drain: backoff.maxMs (100) must be at least backoff.initialMs (500)'],
    [{ backoff: { factor: 0.5 } }, 'drain: backoff.factor must be at least 1, got 0.5'],
  ])('should refuse %o', (options, message) => {
    expect(() => new OutboxDrain({ ...base, ...options })).toThrow(message);
  });

  it('should keep 24 h of trail by default', () => {
    expect(DEFAULT_RETENTION_MS).toBe(86_400_000);
  });

  it.each([
    // [attempt, random, expected delay] with initial 200 ms, factor 2, cap 30 s: equal jitter in [ceiling/2, ceiling].
    [1, 0, 100],
    [1, 0.999999, 200],
    [2, 0, 200],
    [4, 0.5, 1_200],
    [20, 0, 15_000],
    [20, 0.999999, 30_000],
  ])('should back off attempt %i with random %f by %i ms', (attempt, random, delay) => {
    const drain = new OutboxDrain({ ...base, random: () => random });
    expect(drain.backoffDelay(attempt)).toBe(delay);
  });
});

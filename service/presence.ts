/**
 * Use cases: the one place that calls the pure core and the store ports together. A heartbeat walks
 * one straight line: load → core decides → hot store applies atomically (state + publish + outbox).
 */
import {
  apply,
  heldLife,
  initialState,
  nextDue,
  nextIdle,
  refreshDevice,
  Renewals,
  StoreUnavailableError,
  type Activity,
  type Applied,
  type Command,
  type DeviceId,
  type ManualStatus,
  type Platform,
  type PresenceRecord,
  type Timing,
  type Transition,
  type UserId,
  type UserState,
} from '../presence/index.js';
import { LRUCache } from 'lru-cache';
import type { DeviceRefresh, HotStore } from '../hot/port.js';
import type { DurableLastSeen, LastSeenStore } from '../prisma/port.js';
import { ContendedError, DeviceOwnedError } from './errors.js';
import { UNOBSERVED, type ServiceObserver } from './observer.js';

/**
 * How long a durable last-seen read for a user without hot state is reused by `records`. Safe because a
 * user's durable last-seen only moves through a transition, which leaves hot state behind for far longer
 * (a week, hot/redis/scripts.ts IDLE_STATE_TTL_MS) — and hot state wins over it. Short, so that after a
 * loss of Redis data (the only way hot state vanishes early) a reader is at most this stale. A read used
 * past half of it is answered from memory and renewed in the background.
 */
export const DURABLE_READ_TTL_MS = 60_000;

/** Due users a sweep ticks at once. */
const SWEEP_CONCURRENCY = 32;

/** Compare-and-set retries before a write is reported as contended. */
const MAX_ATTEMPTS = 8;

/** What became of one device of a batch (`refresh`, `disconnectAll`). */
export type DeviceOutcome =
  | { readonly ok: true; readonly effect: Applied['effect']; readonly transition: Transition | null }
  | { readonly ok: false; readonly error: unknown };

export interface PresenceServiceDeps {
  readonly hot: HotStore;
  readonly lastSeen: LastSeenStore;
  readonly timing: Timing;
  readonly clock: () => number;
  /** Told of every transition committed and every heartbeat handled (metrics). */
  readonly observer?: ServiceObserver;
}

export class PresenceService {
  readonly #hot: HotStore;
  readonly #lastSeen: LastSeenStore;
  readonly timing: Timing;
  readonly clock: () => number;
  readonly #observer: ServiceObserver;
  /**
   * The state this process last committed per user. A heartbeat that changes nothing is then one
   * compare-and-set round trip instead of a read and a write; if anyone else wrote meanwhile, the
   * compare-and-set fails and the state is read afresh. Never used to answer reads.
   */
  readonly #committed = new LRUCache<UserId, UserState>({ max: 50_000 });
  /**
   * Durable reads held, as the record a reader is shown (the store having none is an answer too), each
   * with when a use of it renews it (half its life). Built once per read and shared by every request
   * until the next: built per request, a 500-id read of mostly cold users would make objects per user
   * that outlive V8's scavenges into its old space.
   */
  readonly #durable: LRUCache<UserId, { readonly record: PresenceRecord; readonly renewFrom: number }>;
  /** Durable reads renewing in the background (users held past half their TTL). */
  readonly #renewals = new Renewals<UserId>();
  /** Device bindings confirmed by the hot store (they are sticky), so a refresh skips the claim. */
  readonly #owners = new LRUCache<DeviceId, UserId>({ max: 100_000, ttl: 3_600_000 });

  constructor(deps: PresenceServiceDeps) {
    this.#hot = deps.hot;
    this.#lastSeen = deps.lastSeen;
    this.timing = deps.timing;
    this.clock = deps.clock;
    this.#observer = deps.observer ?? UNOBSERVED;
    this.#durable = new LRUCache({ max: 200_000, ttl: DURABLE_READ_TTL_MS, ttlResolution: 0, perf: { now: deps.clock } });
  }

  /**
   * A heartbeat of one of the user's devices from an HTTP-only client (the `heartbeat` mutation). Throws
   * DeviceOwnedError when the device id is bound to another user, StoreUnavailableError('hot') when the
   * hot store is down (nothing applied).
   */
  async heartbeat(userId: UserId, deviceId: DeviceId, platform: Platform, activity?: Activity): Promise<Applied> {
    const started = performance.now();
    const applied = await this.#beat(userId, deviceId, platform, activity);
    this.#observer.heartbeats('mutation', applied.effect, 1, (performance.now() - started) / 1000);
    return applied;
  }

  /** A device's socket connected (service/sessions.ts): online and active now. Throws as `heartbeat`. */
  connect(userId: UserId, deviceId: DeviceId, platform: Platform): Promise<Applied> {
    return this.#beat(userId, deviceId, platform, 'ACTIVE');
  }

  /**
   * A heartbeat without an activity report that, from the state this process last committed, moves
   * nothing but the device's timers is the store's `refresh` (no read, no compare-and-set): whatever
   * else may be due meanwhile is the sweeper's, as for open sockets. Anything else — an activity report
   * (it moves the last activity), a device the store does not know — is decided and committed in full.
   */
  async #beat(userId: UserId, deviceId: DeviceId, platform: Platform, activity?: Activity): Promise<Applied> {
    let owner = this.#owners.get(deviceId);
    if (owner === undefined) {
      owner = await this.#hot.claimDevice(userId, deviceId);
      this.#owners.set(deviceId, owner);
    }
    if (owner !== userId) throw new DeviceOwnedError(deviceId);
    const cached = activity === undefined ? this.#committed.get(userId) : undefined;
    if (cached) {
      const now = this.clock();
      // Nothing due yet (no expiry, no auto-idle): a heartbeat of a known device only moves its timers.
      const due = nextDue(cached, now, this.timing);
      const state = due !== null && due > now ? refreshDevice(cached, deviceId, platform, now, now + this.timing.ttlMs) : null;
      if (state) {
        const [refreshed] = await this.#hot.refresh([{ userId, deviceId, platform }], now, now + this.timing.ttlMs);
        if (refreshed) {
          // A refresh leaves the stored rev as it was, and so does this state, kept for the next write.
          this.#committed.set(userId, state);
          return { state, effect: 'refresh', transition: null };
        }
      }
    }
    return this.run(userId, (now) => ({ type: 'heartbeat', deviceId, platform, activity, now }), { fromCommitted: true });
  }

  /**
   * Keeps the devices of open sockets alive (the gateway calls it for each slot of its refresh wheel):
   * one store round trip per partition moves each device's expiry on wherever that is all a heartbeat
   * would do (presence/state.ts `refreshDevice`); the rest — a device the store no longer knows, an
   * expiry or auto-idle that is due — get a full `heartbeat` each. The devices were bound to their users
   * when their sockets connected. One outcome per device, in order; never throws.
   */
  async refresh(devices: readonly DeviceRefresh[]): Promise<DeviceOutcome[]> {
    const started = performance.now();
    const now = this.clock();
    let refreshed: boolean[];
    try {
      refreshed = await this.#hot.refresh(devices, now, now + this.timing.ttlMs);
    } catch (error) {
      return devices.map(() => ({ ok: false, error }));
    }
    const outcomes = await Promise.all(
      devices.map((d, i): DeviceOutcome | Promise<DeviceOutcome> =>
        refreshed[i] ? REFRESHED : outcomeOf(this.#beat(d.userId, d.deviceId, d.platform)),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const effects = new Map<Applied['effect'], number>();
    for (const outcome of outcomes) if (outcome.ok) effects.set(outcome.effect, (effects.get(outcome.effect) ?? 0) + 1);
    for (const [effect, count] of effects) this.#observer.heartbeats('gateway', effect, count, seconds);
    return outcomes;
  }

  /** The device's socket closed: online for the grace window more, then offline unless it reconnects. */
  disconnect(userId: UserId, deviceId: DeviceId): Promise<Applied> {
    return this.run(userId, (now) => ({ type: 'disconnect', deviceId, now }));
  }

  /**
   * Many sockets closed (the gateway, in batches): the users' stored states are read in one hot-store
   * read (one call per partition), then each device's disconnect is decided and committed on its own —
   * a compare-and-set that reads its user afresh if anyone wrote meanwhile (another device of the same
   * user in the batch, say). One outcome per device, in order; never throws.
   */
  async disconnectAll(devices: readonly { readonly userId: UserId; readonly deviceId: DeviceId }[]): Promise<DeviceOutcome[]> {
    let loaded: Map<UserId, UserState>;
    try {
      loaded = await this.#hot.load(devices.map((d) => d.userId));
    } catch (error) {
      return devices.map(() => ({ ok: false, error }));
    }
    return Promise.all(
      devices.map(({ userId, deviceId }) => {
        const stored = loaded.get(userId);
        // No stored state: none of the user's devices is online, so the close changes nothing — decided
        // as `run` would from this read, without first reading the durable last-seen to build a state.
        return stored ? outcomeOf(this.run(userId, (now) => ({ type: 'disconnect', deviceId, now }), { stored })) : NOTHING_TO_RECORD;
      }),
    );
  }

  /** Graceful: that device is offline now. Unknown devices are a no-op (effect `none`). */
  signOff(userId: UserId, deviceId: DeviceId): Promise<Applied> {
    return this.run(userId, (now) => ({ type: 'signOff', deviceId, now }));
  }

  setManual(userId: UserId, manual: ManualStatus): Promise<Applied> {
    return this.run(userId, (now) => ({ type: 'setManual', manual, now }));
  }

  /** The stored state of one user (a fresh one if never seen). */
  async state(userId: UserId): Promise<UserState> {
    return (await this.#hot.load([userId])).get(userId) ?? (await this.#fresh(userId));
  }

  /**
   * Published records for many users in one hot-store read; users without hot state fall back to the
   * durable last-seen (one batched read for those not read within DURABLE_READ_TTL_MS), or to OFFLINE
   * with no last-seen when that store is down. Throws StoreUnavailableError('hot') when the hot store
   * cannot be read: callers answer UNKNOWN.
   */
  async records(userIds: readonly UserId[]): Promise<Map<UserId, PresenceRecord>> {
    const out = await this.#hot.records(userIds);
    const unread: UserId[] = [];
    const aging: UserId[] = [];
    const now = this.clock();
    for (const id of userIds) {
      if (out.has(id)) continue;
      const held = this.#durable.get(id);
      if (held === undefined) unread.push(id);
      else {
        out.set(id, held.record);
        if (now >= held.renewFrom) aging.push(id);
      }
    }
    // Held past half their TTL: answered from memory now, read again in the background.
    if (aging.length > 0) this.#renewals.renew(aging, (ids) => this.#readDurable(ids));
    if (unread.length === 0) return out;
    try {
      const read = await this.#readDurable(unread);
      for (const id of unread) out.set(id, read.get(id)!);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      for (const id of unread) out.set(id, coldRecord(id, undefined));
    }
    return out;
  }

  /** Reads the durable last-seen of `ids` and holds each one's record (none is an answer too) for the TTL. */
  async #readDurable(ids: readonly UserId[]): Promise<Map<UserId, PresenceRecord>> {
    const read = await this.#lastSeen.lastSeen(ids);
    const now = this.clock();
    // One jittered life for the whole read (presence/held.ts): it comes due, and is renewed, as one read.
    const { until, renewFrom } = heldLife(now, DURABLE_READ_TTL_MS, 0.5, Math.random());
    const records = new Map<UserId, PresenceRecord>();
    for (const id of ids) {
      const record = coldRecord(id, read.get(id));
      records.set(id, record);
      this.#durable.set(id, { record, renewFrom }, { ttl: until - now });
    }
    return records;
  }

  /**
   * Claims users whose expiry or auto-idle time has passed and ticks each once. Safe to run in every
   * process: the hot store hands each due user to exactly one claimer.
   */
  async sweep(limit = 500): Promise<{ claimed: number; transitions: number }> {
    const now = this.clock();
    const due = await this.#hot.claimDue(now, limit, Math.max(5_000, this.timing.heartbeatMs));
    let transitions = 0;
    let failure: { error: unknown } | null = null;
    let next = 0;
    // Users are independent: SWEEP_CONCURRENCY ticks in flight at once (each a read and a write), so a
    // batch made due together — a region heal, a gateway gone — is not read and written one by one.
    const worker = async () => {
      while (next < due.length) {
        const userId = due[next++]!;
        try {
          // `reindex`: even a tick that changes nothing is stored, which ends the claim and re-indexes
          // the user's next auto-idle.
          const applied = await this.run(userId, (at) => ({ type: 'tick', now: at }), { reindex: true });
          if (applied.transition) transitions++;
        } catch (error) {
          // The others go on; a user whose tick failed is claimed again once its lease lapses.
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SWEEP_CONCURRENCY, due.length) }, worker));
    if (failure) throw (failure as { error: unknown }).error;
    return { claimed: due.length, transitions };
  }

  /**
   * decide → compare-and-set, retried on a concurrent write with the state read afresh.
   *
   * @param options.fromCommitted start from the state this process last committed (heartbeats: one
   *   round trip when nothing else wrote meanwhile); otherwise read first — a socket's disconnect comes
   *   after many refreshes that moved its expiry in the store only.
   * @param options.reindex store even a decision that changes nothing (the sweeper: it ends the claim
   *   and re-indexes the next auto-idle).
   * @param options.stored the user's stored state, just read with a batch: the first attempt decides
   *   from it instead of reading.
   */
  async run(
    userId: UserId,
    command: (now: number) => Command,
    options: { reindex?: boolean; fromCommitted?: boolean; stored?: UserState } = {},
  ): Promise<Applied> {
    let current = options.fromCommitted ? this.#committed.get(userId) : options.stored;
    let cached = options.fromCommitted === true && current !== undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0 || current === undefined) {
        current = (await this.#hot.load([userId])).get(userId);
        cached = false;
      }
      const state = current ?? (await this.#fresh(userId));
      const now = this.clock();
      const applied = apply(state, command(now), this.timing);
      if (applied.effect === 'none' && !(options.reindex && current)) {
        // "Nothing to do" is only believed from the stored state, never from this process's cache.
        if (cached) continue;
        return applied;
      }
      const next = applied.effect === 'none' ? { ...applied.state, rev: state.rev + 1 } : applied.state;
      const committed = await this.#hot.commit({
        now,
        next,
        before: state.devices,
        expectedRev: current?.rev ?? 0,
        transition: applied.transition,
        idleAt: nextIdle(next, now, this.timing),
      });
      if (committed) {
        this.#committed.set(userId, next);
        if (applied.transition) this.#observer.transition(applied.transition);
        return applied;
      }
      this.#committed.delete(userId);
    }
    throw new ContendedError(userId);
  }

  /**
   * A user without hot state starts from the durable last-seen so versions stay monotonic after the
   * hot state has expired; when that store is down, from scratch.
   */
  async #fresh(userId: UserId): Promise<UserState> {
    const base = initialState(userId);
    const seen = await this.#lastSeen
      .lastSeen([userId])
      .then((m) => m.get(userId))
      .catch(() => undefined);
    if (!seen) return base;
    return {
      ...base,
      version: seen.version,
      lastSeen: seen.bucket,
      published: { ...base.published, lastSeen: seen.bucket },
    };
  }
}

const NO_PLATFORMS: readonly never[] = Object.freeze([]);

/**
 * The record of a user without hot state: OFFLINE, with the durable last-seen when there is one. Shared
 * by every reader until read again, so frozen.
 */
function coldRecord(userId: UserId, seen: DurableLastSeen | undefined): PresenceRecord {
  return Object.freeze({
    userId,
    published: Object.freeze({ status: 'OFFLINE', platforms: NO_PLATFORMS, lastSeen: seen?.bucket ?? null }),
    version: seen?.version ?? 0,
  });
}

/** A device of an open socket whose expiry moved on, and nothing else. */
const REFRESHED: DeviceOutcome = Object.freeze({ ok: true, effect: 'refresh', transition: null });

/** A disconnect of a device of a user with no stored state. */
const NOTHING_TO_RECORD: DeviceOutcome = Object.freeze({ ok: true, effect: 'none', transition: null });

/** A use case's result as a batch outcome. */
function outcomeOf(applying: Promise<Applied>): Promise<DeviceOutcome> {
  return applying.then(
    (applied) => ({ ok: true, effect: applied.effect, transition: applied.transition }),
    (error: unknown) => ({ ok: false, error }),
  );
}

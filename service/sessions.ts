/**
 * Device sessions: the life of one connected client, apart from the socket that carries it
 * (server/ws.ts is the graphql-ws adapter; this knows nothing of sockets).
 *
 * A session opens when a signed-in socket completes its handshake. If it names a device, that device is
 * online from then on (`PresenceService.connect`), kept alive while the session lives, and offline after
 * the grace window once it closes — a reconnect within the window makes no flap. Every session ends when
 * its token expires (`onExpired`, which the adapter answers by closing the socket with 4403).
 *
 * - Keep-alive: one process-wide refresh wheel instead of a timer per socket. Sessions are spread at
 *   random over the slots of one heartbeat interval, and each slot is refreshed as one batch when it
 *   comes round (`PresenceService.refresh`: one store call per partition). The slot due is read off a
 *   monotonic clock, so a late tick catches up on the slots it missed instead of stretching the interval.
 * - Closes: recorded in batches. Sockets that close together (a region's network drops, a load balancer
 *   restarts) are taken DISCONNECT_BATCH at a time, at most DISCONNECTS_IN_FLIGHT batches out at once, so
 *   the store has a bounded queue of work and no call waits past its timeout; a device whose disconnect
 *   failed goes round once more before it is left to expire by its TTL.
 * - Order: a device's disconnect is recorded only after its refresh in flight, if any, is done — a
 *   refresh that reached the store after the disconnect would keep the device online for a whole TTL.
 *
 * Time comes from an injected SessionClock, so the lifecycle is tested without waiting.
 */
import type { Logger } from 'pino';
import { StoreUnavailableError, type DeviceId, type Platform, type Timing, type UserId } from '../presence/index.js';
import { DeviceOwnedError } from './errors.js';
import { UNOBSERVED, type ServiceObserver } from './observer.js';
import type { PresenceService } from './presence.js';

/** Cancels a timer. */
export type Cancel = () => void;

/** Time for device sessions. */
export interface SessionClock {
  /** Wall time, epoch ms: token expiries are in it. */
  now(): number;
  /** Monotonic ms: the refresh wheel turns on it, whatever the wall clock does. */
  monotonic(): number;
  /** Calls `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): Cancel;
  /** Calls `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): Cancel;
}

/** setTimeout's ceiling (~24.8 days); longer waits are re-armed. */
const MAX_TIMER = 2 ** 31 - 1;

/** The process's own timers; they never keep it alive. */
export const systemClock: SessionClock = {
  now: Date.now,
  monotonic: () => performance.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  after(ms, fn) {
    let timer: NodeJS.Timeout;
    const arm = (left: number) => {
      timer = setTimeout(left > MAX_TIMER ? () => arm(left - MAX_TIMER) : fn, Math.min(Math.max(left, 0), MAX_TIMER));
      timer.unref();
    };
    arm(ms);
    return () => clearTimeout(timer);
  },
};

export interface SessionDevice {
  readonly deviceId: DeviceId;
  readonly platform: Platform;
}

/** Who a session is: the user its token names, and until when the token holds (null: no expiry). */
export interface SessionIdentity {
  readonly userId: UserId;
  readonly expiresAt: number | null;
}

/** One open session. */
export interface Session {
  readonly userId: UserId;
  readonly device: SessionDevice | null;
}

export interface DeviceSessionsDeps {
  readonly presence: PresenceService;
  readonly log: Logger;
  /** Told how closed sockets' disconnects went (metrics). */
  readonly observer?: ServiceObserver;
  /** Default: the process's own timers. */
  readonly clock?: SessionClock;
}

/**
 * How long one slot of the refresh wheel lasts. Longer slots make bigger batches (each store call has a
 * fixed cost) at the price of a refresh up to one slot late, which the TTL (> 2·H + J) absorbs.
 */
export const WHEEL_SLOT_MS = 50;

/** Devices recorded together in one disconnect batch: one hot-store read (a call per partition) and a commit each. */
export const DISCONNECT_BATCH = 256;

/** Disconnect batches out at once; further closes wait in memory for their turn. */
export const DISCONNECTS_IN_FLIGHT = 4;

class OpenSession implements Session {
  /** The refresh of this device in flight, if any: its disconnect is recorded after it, never before. */
  refreshing: Promise<void> | null = null;
  cancelExpiry: Cancel | null = null;
  slot = -1;
  closed = false;

  constructor(
    readonly userId: UserId,
    readonly device: SessionDevice | null,
  ) {}
}

/** A closed session's device waiting for its disconnect to be recorded. */
interface PendingDisconnect {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  /** 0, or 1 once its first attempt failed. */
  readonly attempt: 0 | 1;
  /** Settles the session's `close`. */
  readonly counted: () => void;
}

export class DeviceSessions {
  readonly #presence: PresenceService;
  readonly #log: Logger;
  readonly #observer: ServiceObserver;
  readonly #clock: SessionClock;
  readonly #open = new Set<OpenSession>();
  /** Closes still being recorded: `stop` waits for them. */
  readonly #recording = new Set<Promise<void>>();
  readonly #wheel: RefreshWheel<OpenSession>;
  readonly #disconnects: DisconnectQueue<PendingDisconnect>;
  /** Resolves `stop`'s wait for the last open session to close. */
  #allClosed: (() => void) | null = null;

  constructor(deps: DeviceSessionsDeps) {
    this.#presence = deps.presence;
    this.#log = deps.log;
    this.#observer = deps.observer ?? UNOBSERVED;
    this.#clock = deps.clock ?? systemClock;
    this.#wheel = new RefreshWheel(deps.presence.timing.heartbeatMs, this.#clock, (due) => this.#refresh(due));
    this.#disconnects = new DisconnectQueue((batch) => this.#record(batch));
  }

  /** Sessions open now. */
  get size(): number {
    return this.#open.size;
  }

  /** The heartbeat timing sessions are kept alive by (announced to clients on connect). */
  get timing(): Timing {
    return this.#presence.timing;
  }

  /**
   * Opens the session of a socket signed in as `identity`. With a device, the device is online before
   * this resolves; if the hot store is down, the session opens anyway and its refresh brings the device
   * online once the store is back. `onExpired` is called once, when the token's expiry passes while the
   * session is open. Resolves 'device-owned' (nothing opened) when the device id is bound to another user.
   */
  async open(identity: SessionIdentity, device: SessionDevice | null, onExpired: () => void): Promise<Session | 'device-owned'> {
    const session = new OpenSession(identity.userId, device);
    if (device) {
      try {
        await this.#presence.connect(identity.userId, device.deviceId, device.platform);
      } catch (error) {
        if (error instanceof DeviceOwnedError) return 'device-owned';
        if (!(error instanceof StoreUnavailableError)) throw error;
        this.#log.warn({ userId: identity.userId }, 'device session opened while the hot store is down');
      }
      this.#wheel.add(session);
    }
    if (identity.expiresAt !== null) session.cancelExpiry = this.#clock.after(identity.expiresAt - this.#clock.now(), onExpired);
    this.#open.add(session);
    return session;
  }

  /**
   * The session's socket closed: its device (if any) enters its grace window. Resolves once that is
   * recorded, or given up after two attempts (the device then expires by its TTL: nothing is lost).
   */
  async close(session: Session): Promise<void> {
    const open = session as OpenSession;
    if (open.closed) return;
    open.closed = true;
    this.#open.delete(open);
    this.#wheel.remove(open);
    open.cancelExpiry?.();
    if (this.#open.size === 0) this.#allClosed?.();
    const { device, userId } = open;
    if (!device) return;
    const done = (open.refreshing ?? Promise.resolve()).then(
      () => new Promise<void>((counted) => this.#disconnects.push({ userId, deviceId: device.deviceId, attempt: 0, counted })),
    );
    this.#recording.add(done);
    await done.finally(() => this.#recording.delete(done));
  }

  /**
   * Stops refreshing, waits (at most `closeWithinMs`) for the open sessions to be closed — the adapter is
   * closing their sockets — and resolves once every disconnect is recorded, so every device of this
   * process enters its grace window before the stores close.
   */
  async stop(closeWithinMs = 5_000): Promise<void> {
    this.#wheel.stop();
    if (this.#open.size > 0) {
      let cancel: Cancel = () => undefined;
      await new Promise<void>((resolve) => {
        this.#allClosed = resolve;
        cancel = this.#clock.after(closeWithinMs, resolve);
      });
      cancel();
      this.#allClosed = null;
    }
    await Promise.allSettled([...this.#recording]);
  }

  /** One wheel slot's devices, refreshed together. */
  #refresh(due: readonly OpenSession[]): void {
    const batch = this.#presence
      .refresh(due.map(({ userId, device }) => ({ userId, deviceId: device!.deviceId, platform: device!.platform })))
      .then((outcomes) => {
        outcomes.forEach((outcome, i) => {
          if (outcome.ok) return;
          const { userId, device } = due[i]!;
          this.#log.warn({ err: outcome.error, userId, deviceId: device!.deviceId }, 'device refresh failed; retrying next interval');
        });
      });
    for (const session of due) session.refreshing = batch;
    void batch.finally(() => {
      for (const session of due) if (session.refreshing === batch) session.refreshing = null;
    });
  }

  async #record(batch: PendingDisconnect[]): Promise<void> {
    const outcomes = await this.#presence.disconnectAll(batch).catch((error: unknown) => batch.map(() => ({ ok: false as const, error })));
    let recorded = 0;
    let failed = 0;
    let firstError: unknown;
    outcomes.forEach((outcome, i) => {
      const item = batch[i]!;
      if (outcome.ok) recorded++;
      else if (item.attempt === 0) {
        // The store's command timeout also fires when this process is too busy to read a reply in time
        // (a reconnect storm on a saturated CPU), not only when the store is gone: once more.
        this.#disconnects.push({ ...item, attempt: 1 });
        return;
      } else {
        failed++;
        firstError ??= outcome.error;
      }
      item.counted();
    });
    if (recorded > 0) this.#observer.disconnects('recorded', recorded);
    if (failed > 0) {
      this.#observer.disconnects('failed', failed);
      // The devices expire by their TTL anyway; nothing is lost. One line per batch, not per device.
      this.#log.warn({ err: firstError, devices: failed }, 'disconnects not recorded twice; the devices will expire by TTL');
    }
  }
}

/**
 * Sessions spread at random over the slots of one interval; each slot handed to `refresh` as one batch
 * when it comes round, on one timer for the process.
 */
class RefreshWheel<S extends { slot: number }> {
  readonly #slots: Set<S>[];
  readonly #cancel: Cancel;

  constructor(intervalMs: number, clock: SessionClock, refresh: (due: readonly S[]) => void) {
    const count = Math.max(1, Math.round(intervalMs / WHEEL_SLOT_MS));
    const slotMs = intervalMs / count;
    this.#slots = Array.from({ length: count }, () => new Set());
    const origin = clock.monotonic();
    /** Slots turned so far since `origin`. */
    let turned = 0;
    this.#cancel = clock.every(Math.max(1, Math.floor(slotMs)), () => {
      const target = Math.floor((clock.monotonic() - origin) / slotMs);
      // Never more than one whole turn at once: after a long stall every session is refreshed once.
      turned = Math.max(turned, target - count);
      while (turned < target) {
        const due = this.#slots[turned % count]!;
        turned++;
        if (due.size > 0) refresh([...due]);
      }
    });
  }

  add(session: S): void {
    session.slot = Math.floor(Math.random() * this.#slots.length);
    this.#slots[session.slot]!.add(session);
  }

  remove(session: S): void {
    if (session.slot >= 0) this.#slots[session.slot]!.delete(session);
    session.slot = -1;
  }

  stop(): void {
    this.#cancel();
  }
}

/**
 * Items taken DISCONNECT_BATCH at a time, at most DISCONNECTS_IN_FLIGHT batches out at once; a batch
 * goes out once the closes of the current turn of the event loop are in.
 */
class DisconnectQueue<T> {
  readonly #waiting: T[] = [];
  readonly #record: (batch: T[]) => Promise<void>;
  #running = 0;
  #scheduled = false;

  constructor(record: (batch: T[]) => Promise<void>) {
    this.#record = record;
  }

  push(item: T): void {
    this.#waiting.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#pump);
  }

  readonly #pump = (): void => {
    this.#scheduled = false;
    while (this.#running < DISCONNECTS_IN_FLIGHT && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, DISCONNECT_BATCH);
      this.#running++;
      void this.#record(batch).finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  };
}

/**
 * The graphql-ws gateway (graphql-transport-ws on /graphql). A connection whose `connectionParams`
 * carry a `deviceId` is a device session: online on ack, refreshed every heartbeat interval while the
 * socket lives, offline after the grace window once it closes (a reconnect within it makes no flap).
 *
 * Close codes: 4401 no or invalid token; 4403 expired token (at connect or while connected) or a device
 * bound to another user; 4400 malformed connection params; 1001 on shutdown. Everything else is
 * graphql-ws's own (4406, 4408, 4409, 4429, 4500).
 */
import type { Server as HttpServer } from 'node:http';
import type { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { PLATFORMS, StoreUnavailableError, type Platform } from '../presence/index.js';
import type { App, RequestContext, WsOperation } from '../resolvers/context.js';
import { DeviceOwnedError } from '../service/presence.js';
import { AuthError, type Identity, type Verifier } from './auth.js';
import { CloseCode, fail, ErrorCode } from './errors.js';
import { isDeviceId } from './ids.js';
import type { PresenceYoga } from './yoga.js';

interface Session {
  readonly identity: Identity;
  readonly device: { readonly deviceId: string; readonly platform: Platform } | null;
  readonly timers: NodeJS.Timeout[];
  /** The refresh of this device in flight, if any: its disconnect is recorded after it, never before. */
  refreshing: Promise<void> | null;
}

/** A closed socket's device waiting for its disconnect to be recorded. */
interface PendingDisconnect {
  readonly userId: string;
  readonly deviceId: string;
  /** 0, or 1 once its first attempt failed. */
  readonly attempt: 0 | 1;
  /** Settles the socket's close handler (shutdown waits for it). */
  readonly counted: () => void;
}

export interface Gateway {
  /** Open sockets that completed connection init. */
  readonly sessions: number;
  /** Closes every socket with 1001 and stops accepting new ones. */
  close(): Promise<void>;
}

/**
 * Bytes a socket may hold unsent before a subscription writing frames to it waits for its writes: a slow
 * consumer then gets the latest state per user once it catches up, never a growing queue.
 */
const SEND_HIGH_WATER_BYTES = 64 * 1024;

/** setTimeout's ceiling (~24.8 days); longer token lifetimes are re-armed. */
const MAX_TIMER = 2 ** 31 - 1;

export function attachGateway(httpServer: HttpServer, yoga: PresenceYoga, app: App, verify: Verifier): Gateway {
  // A message over the body limit closes the socket with 1009 (Message Too Big) before it is buffered whole.
  const wss = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint, maxPayload: app.config.limits.maxBodyBytes });
  const sessions = new Map<WebSocket, Session>();
  /** Disconnects still being recorded; shutdown waits for them before the stores close. */
  const recording = new Set<Promise<unknown>>();
  const { service, metrics, log, config } = app;
  // Bound once: observed for every device of every wheel slot.
  const gatewaySeconds = metrics.heartbeatSeconds.labels({ path: 'gateway' });

  /** One wheel slot's device sessions, refreshed together: one store round trip per partition. */
  const refresh = (due: readonly Session[]) => {
    const started = performance.now();
    const batch = service
      .refresh(due.map(({ identity, device }) => ({ userId: identity.userId, deviceId: device!.deviceId, platform: device!.platform })))
      .then((outcomes) => {
        const seconds = (performance.now() - started) / 1000;
        const effects = new Map<string, number>();
        outcomes.forEach((outcome, i) => {
          if (!outcome.ok) {
            const { identity, device } = due[i]!;
            log.warn({ err: outcome.error, userId: identity.userId, deviceId: device!.deviceId }, 'device refresh failed; retrying next interval');
            return;
          }
          gatewaySeconds.observe(seconds);
          effects.set(outcome.effect, (effects.get(outcome.effect) ?? 0) + 1);
          if (outcome.transition) metrics.transitions.inc({ cause: outcome.transition.cause });
        });
        for (const [effect, count] of effects) metrics.heartbeats.inc({ effect }, count);
      });
    for (const session of due) session.refreshing = batch;
    void batch.finally(() => {
      for (const session of due) if (session.refreshing === batch) session.refreshing = null;
    });
  };

  const wheel = refreshWheel(service.timing.heartbeatMs, refresh);

  /**
   * Closed sockets' devices, recorded in batches (`disconnectQueue`); each one's `counted` once it is
   * recorded or given up. A device whose disconnect failed goes round the queue once more before it is
   * left to expire by its TTL: the store's 2 s command timeout also fires when this process is too busy
   * to read a reply in time (a reconnect storm on a saturated CPU), not only when Redis is gone.
   */
  const disconnects = disconnectQueue<PendingDisconnect>(async (batch) => {
    const outcomes = await service.disconnectAll(batch).catch((error: unknown) => batch.map(() => ({ ok: false as const, error })));
    let recorded = 0;
    let failed = 0;
    let firstError: unknown;
    outcomes.forEach((outcome, i) => {
      const item = batch[i]!;
      if (outcome.ok) {
        recorded++;
        if (outcome.transition) metrics.transitions.inc({ cause: outcome.transition.cause });
      } else if (item.attempt === 0) {
        disconnects.push({ ...item, attempt: 1 });
        return;
      } else {
        failed++;
        firstError ??= outcome.error;
      }
      item.counted();
    });
    if (recorded > 0) metrics.disconnects.inc({ outcome: 'recorded' }, recorded);
    if (failed > 0) {
      metrics.disconnects.inc({ outcome: 'failed' }, failed);
      // The devices expire by their TTL anyway; nothing is lost. One line per batch, not per device.
      log.warn({ err: firstError, devices: failed }, 'disconnects not recorded twice; the devices will expire by TTL');
    }
  });

  const disposable = useServer<Record<string, unknown>>(
    {
      connectionInitWaitTimeout: 5_000,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const params = ctx.connectionParams ?? {};
        let identity: Identity;
        try {
          identity = await verify(params.authorization);
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          const expired = error.reason === 'expired';
          socket.close(expired ? CloseCode.Forbidden : CloseCode.Unauthorized, expired ? 'Forbidden: token expired' : 'Unauthorized');
          return false;
        }
        const device = parseDevice(params);
        if (typeof device === 'string') {
          socket.close(CloseCode.BadRequest, device);
          return false;
        }
        await app.registerUser(identity.userId);
        const session: Session = { identity, device, timers: [], refreshing: null };
        if (device) {
          try {
            const applied = await service.heartbeat(identity.userId, device.deviceId, device.platform, 'ACTIVE');
            if (applied.transition) metrics.transitions.inc({ cause: applied.transition.cause });
          } catch (error) {
            if (error instanceof DeviceOwnedError) {
              socket.close(CloseCode.Forbidden, 'Forbidden: device belongs to another user');
              return false;
            }
            if (!(error instanceof StoreUnavailableError)) throw error;
            // Ack anyway: the refresh timer brings the device online as soon as the hot store is back.
            log.warn({ userId: identity.userId }, 'device session opened while the hot store is down');
          }
          wheel.add(session);
        }
        armExpiry(socket, session);
        sessions.set(socket, session);
        metrics.sockets.inc();
        return { userId: identity.userId, heartbeatMs: service.timing.heartbeatMs, ttlMs: service.timing.ttlMs };
      },
      onSubscribe: async (ctx, _id, payload): Promise<readonly GraphQLError[] | void | Awaited<ReturnType<typeof buildArgs>>> => {
        const session = sessions.get(ctx.extra.socket);
        if (!session) return [fail(ErrorCode.UNAUTHENTICATED, 'connection not initialised')];
        // graphql-ws registers the id before calling us and drops it the moment the client
        // completes it, so its own map is the exact count of live operations (this one included).
        const live = Object.keys(ctx.subscriptions).length;
        if (live > config.limits.operationsPerSocket) {
          return [fail(ErrorCode.RATE_LIMITED, `at most ${config.limits.operationsPerSocket} operations per socket; complete one first`, { limit: config.limits.operationsPerSocket })];
        }
        const socket = ctx.extra.socket;
        return buildArgs(ctx.extra.request, session.identity, payload, {
          id: _id,
          send: (message) => {
            if (socket.readyState !== socket.OPEN) return;
            // Taken at once while the socket keeps up; past the high-water mark, wait for the write.
            if (socket.bufferedAmount < SEND_HIGH_WATER_BYTES) return void socket.send(message);
            return new Promise<void>((resolve) => socket.send(message, () => resolve()));
          },
        });
      },
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onClose: async (ctx) => {
        const session = sessions.get(ctx.extra.socket);
        if (!session) return;
        sessions.delete(ctx.extra.socket);
        metrics.sockets.dec();
        wheel.remove(session);
        for (const t of session.timers) clearTimeout(t);
        const { device, identity } = session;
        if (!device) return;
        // A refresh that reached the store after the disconnect would keep the device for a whole TTL:
        // the disconnect joins the queue only once this device's refresh in flight, if any, is done.
        const done = (session.refreshing ?? Promise.resolve()).then(
          () => new Promise<void>((counted) => disconnects.push({ userId: identity.userId, deviceId: device.deviceId, attempt: 0, counted })),
        );
        recording.add(done);
        await done.finally(() => recording.delete(done));
      },
    },
    wss,
  );

  type Enveloped = ReturnType<PresenceYoga['getEnveloped']>;

  async function buildArgs(request: unknown, identity: Identity, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }, operation: WsOperation) {
    const enveloped = yoga.getEnveloped({ identity, request, params: payload } as never);
    let document;
    try {
      document = enveloped.parse(payload.query);
    } catch (error) {
      return [error as GraphQLError];
    }
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length > 0) return errors;
    const contextValue = (await enveloped.contextFactory()) as RequestContext;
    contextValue.ws = operation;
    return {
      schema: enveloped.schema,
      operationName: payload.operationName,
      document,
      variableValues: payload.variables,
      contextValue,
      rootValue: enveloped,
    };
  }

  function armExpiry(socket: WebSocket, session: Session) {
    const { expiresAt } = session.identity;
    if (expiresAt === null) return;
    const arm = () => {
      const left = expiresAt - Date.now();
      const timer = setTimeout(left > MAX_TIMER ? arm : () => socket.close(CloseCode.Forbidden, 'Forbidden: token expired'), Math.min(Math.max(left, 0), MAX_TIMER));
      timer.unref();
      session.timers.push(timer);
    };
    arm();
  }

  return {
    get sessions() {
      return sessions.size;
    },
    async close() {
      wheel.stop();
      for (const socket of wss.clients) socket.close(CloseCode.GoingAway, 'Server shutting down');
      await disposable.dispose();
      // Every device of this process enters its grace window before the stores close, so clients
      // that reconnect to another process in time make no OFFLINE flap. Sockets close asynchronously:
      // wait (bounded) until each one's close has been handled.
      const deadline = Date.now() + 5_000;
      while (sessions.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await Promise.allSettled([...recording]);
    },
  };
}

/** A device from connection params, null when none is declared, or an error reason for 4400. */
function parseDevice(params: Record<string, unknown>): { deviceId: string; platform: Platform } | null | string {
  if (params.deviceId === undefined || params.deviceId === null) return null;
  if (!isDeviceId(params.deviceId)) return 'Bad request: connectionParams.deviceId must be 1–128 characters of letters, digits and _ . : @ -';
  const platform = params.platform ?? 'WEB';
  if (typeof platform !== 'string' || !(PLATFORMS as readonly string[]).includes(platform)) {
    return `Bad request: connectionParams.platform must be one of ${PLATFORMS.join(', ')}`;
  }
  return { deviceId: params.deviceId, platform: platform as Platform };
}

/** Devices recorded together in one disconnect batch: one hot-store read (a call per partition) and a commit each. */
const DISCONNECT_BATCH = 256;

/** Disconnect batches out at once; further closes wait in memory for their turn. */
const DISCONNECTS_IN_FLIGHT = 4;

/**
 * Records closed sockets' disconnects in batches. Sockets that close together — a region's network
 * drops, a load balancer restarts — are taken DISCONNECT_BATCH at a time, at most DISCONNECTS_IN_FLIGHT
 * batches out at once, so the store has a bounded queue of work and no call waits past its timeout.
 * One at a time, 19 800 sockets dropped at once put 39 600 store calls in flight together, and a third
 * of them timed out (2 s) unrecorded: those devices stayed online for their whole TTL instead of the
 * grace window (npm run bench:connections: the drop).
 */
function disconnectQueue<T>(record: (batch: T[]) => Promise<void>) {
  const waiting: T[] = [];
  let running = 0;
  let scheduled = false;
  const pump = () => {
    scheduled = false;
    while (running < DISCONNECTS_IN_FLIGHT && waiting.length > 0) {
      const batch = waiting.splice(0, DISCONNECT_BATCH);
      running++;
      void record(batch).finally(() => {
        running--;
        pump();
      });
    }
  };
  return {
    /** Queues one device; the batch goes out once the closes of this turn of the event loop are in. */
    push(item: T) {
      waiting.push(item);
      if (scheduled) return;
      scheduled = true;
      setImmediate(pump);
    },
  };
}

/**
 * How long one slot of the refresh wheel lasts. Sessions of one slot are refreshed together, one store
 * call per partition: longer slots make bigger batches (each script call has a fixed cost in Redis —
 * measured ~20 µs of its CPU on these machines — and ioredis a fixed cost per command), at the price of
 * a refresh up to one slot late, which the TTL (> 2·H + J) absorbs many times over.
 */
const WHEEL_SLOT_MS = 50;

/**
 * Keeps every device session alive with one process-wide timer instead of one per socket: sessions are
 * spread at random over the slots of one heartbeat interval, and each slot is refreshed as one batch
 * when it comes round. The slot due is read off the clock, so a late tick (a busy event loop) catches up
 * on the slots it missed instead of stretching the interval.
 */
function refreshWheel<S>(intervalMs: number, refresh: (sessions: readonly S[]) => void) {
  const count = Math.max(1, Math.round(intervalMs / WHEEL_SLOT_MS));
  const slotMs = intervalMs / count;
  const slots: Set<S>[] = Array.from({ length: count }, () => new Set());
  const slotOf = new Map<S, number>();
  const origin = performance.now();
  /** Slots turned so far since `origin`. */
  let turned = 0;
  const timer = setInterval(
    () => {
      const target = Math.floor((performance.now() - origin) / slotMs);
      // Never more than one whole turn at once: after a long stall every session is refreshed once.
      turned = Math.max(turned, target - count);
      while (turned < target) {
        const due = slots[turned % count]!;
        turned++;
        if (due.size > 0) refresh([...due]);
      }
    },
    Math.max(1, Math.floor(slotMs)),
  );
  timer.unref();
  return {
    add(session: S) {
      const slot = Math.floor(Math.random() * count);
      slots[slot]!.add(session);
      slotOf.set(session, slot);
    },
    remove(session: S) {
      const slot = slotOf.get(session);
      if (slot === undefined) return;
      slots[slot]!.delete(session);
      slotOf.delete(session);
    },
    stop() {
      clearInterval(timer);
    },
  };
}

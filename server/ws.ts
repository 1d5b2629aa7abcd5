/**
 * The graphql-ws adapter (graphql-transport-ws on /graphql): sockets in, device sessions and GraphQL
 * operations out. The life of a device session — keep-alive, grace window, token expiry — is
 * service/sessions.ts's; this file only speaks the protocol.
 *
 * A connection whose `connectionParams` carry a `deviceId` (and `platform`) is a device session.
 * Close codes: 4401 no or invalid token; 4403 expired token (at connect or while connected) or a device
 * bound to another user; 4400 malformed connection params; 1009 a message over the body limit; 1001 on
 * shutdown. Everything else is graphql-ws's own (4406, 4408, 4409, 4429, 4500).
 */
import type { Server as HttpServer } from 'node:http';
import type { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { isDeviceId, PLATFORMS, type Platform } from '../presence/index.js';
import type { RequestContext } from '../resolvers/context.js';
import { CloseCode, ErrorCode, fail } from '../resolvers/errors.js';
import type { Limits } from '../resolvers/limits.js';
import type { PrivacyService } from '../service/privacy.js';
import type { DeviceSessions, Session, SessionDevice } from '../service/sessions.js';
import type { FrameSocket } from '../subscriptions/frames.js';
import { AuthError, type Identity, type Verifier } from './auth.js';
import type { PresenceYoga } from './yoga.js';

export interface GatewayDeps {
  readonly sessions: DeviceSessions;
  readonly privacy: Pick<PrivacyService, 'register'>;
  readonly limits: Limits;
  readonly verify: Verifier;
}

export interface Gateway {
  /** Open sockets that completed connection init. */
  readonly sockets: number;
  /** Closes every socket with 1001, stops accepting new ones, and waits until their devices are recorded. */
  close(): Promise<void>;
}

/**
 * Bytes a socket may hold unsent before a subscription writing frames to it waits for its writes: a slow
 * consumer then gets the latest state per user once it catches up, never a growing queue.
 */
const SEND_HIGH_WATER_BYTES = 64 * 1024;

/** A socket's side of one graphql-ws operation: where its subscription writes frames. */
class OperationSocket implements FrameSocket {
  readonly #socket: WebSocket;
  constructor(
    readonly operationId: string,
    socket: WebSocket,
  ) {
    this.#socket = socket;
  }

  send(frame: string): Promise<void> | void {
    const socket = this.#socket;
    if (socket.readyState !== socket.OPEN) return;
    // Taken at once while the socket keeps up; past the high-water mark, wait for the write.
    if (socket.bufferedAmount < SEND_HIGH_WATER_BYTES) return void socket.send(frame);
    return new Promise<void>((resolve) => socket.send(frame, () => resolve()));
  }
}

export function attachGateway(httpServer: HttpServer, yoga: PresenceYoga, deps: GatewayDeps): Gateway {
  const { sessions, limits, verify } = deps;
  // A message over the body limit closes the socket with 1009 (Message Too Big) before it is buffered whole.
  const wss = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint, maxPayload: limits.maxBodyBytes });
  const open = new Map<WebSocket, { readonly identity: Identity; readonly session: Session }>();

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
        await deps.privacy.register(identity.userId);
        const session = await sessions.open(identity, device, () => socket.close(CloseCode.Forbidden, 'Forbidden: token expired'));
        if (session === 'device-owned') {
          socket.close(CloseCode.Forbidden, 'Forbidden: device belongs to another user');
          return false;
        }
        // Closed while the session opened: graphql-ws has handled its close already, without a session.
        if (socket.readyState !== socket.OPEN) {
          void sessions.close(session);
          return false;
        }
        open.set(socket, { identity, session });
        const { heartbeatMs, ttlMs } = sessions.timing;
        return { userId: identity.userId, heartbeatMs, ttlMs };
      },
      onSubscribe: async (ctx, id, payload): Promise<readonly GraphQLError[] | void | Awaited<ReturnType<typeof buildArgs>>> => {
        const socket = ctx.extra.socket;
        const entry = open.get(socket);
        if (!entry) return [fail(ErrorCode.UNAUTHENTICATED, 'connection not initialised')];
        // graphql-ws registers the id before calling us and drops it the moment the client completes
        // it, so its own map is the exact count of live operations (this one included).
        if (Object.keys(ctx.subscriptions).length > limits.operationsPerSocket) {
          return [fail(ErrorCode.RATE_LIMITED, `at most ${limits.operationsPerSocket} operations per socket; complete one first`, { limit: limits.operationsPerSocket })];
        }
        return buildArgs(ctx.extra.request, entry.identity, payload, new OperationSocket(id, socket));
      },
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onClose: async (ctx) => {
        const entry = open.get(ctx.extra.socket);
        if (!entry) return;
        open.delete(ctx.extra.socket);
        await sessions.close(entry.session);
      },
    },
    wss,
  );

  type Enveloped = ReturnType<PresenceYoga['getEnveloped']>;

  /** The operation parsed and validated through yoga's envelop pipeline (auth, limits, masked errors), as HTTP is. */
  async function buildArgs(request: unknown, identity: Identity, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }, frames: FrameSocket) {
    const enveloped = yoga.getEnveloped({ identity, frames, request, params: payload } as never);
    let document;
    try {
      document = enveloped.parse(payload.query);
    } catch (error) {
      return [error as GraphQLError];
    }
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length > 0) return errors;
    const contextValue = (await enveloped.contextFactory()) as RequestContext;
    return {
      schema: enveloped.schema,
      operationName: payload.operationName,
      document,
      variableValues: payload.variables,
      contextValue,
      rootValue: enveloped,
    };
  }

  return {
    get sockets() {
      return open.size;
    },
    async close() {
      for (const socket of wss.clients) socket.close(CloseCode.GoingAway, 'Server shutting down');
      await disposable.dispose();
      // Every device of this process enters its grace window before the stores close, so clients that
      // reconnect to another process in time make no OFFLINE flap.
      await sessions.stop();
    },
  };
}

/** A device from connection params, null when none is declared, or an error reason for 4400. */
function parseDevice(params: Record<string, unknown>): SessionDevice | null | string {
  if (params.deviceId === undefined || params.deviceId === null) return null;
  if (!isDeviceId(params.deviceId)) return 'Bad request: connectionParams.deviceId must be 1–128 characters of letters, digits and _ . : @ -';
  const platform = params.platform ?? 'WEB';
  if (typeof platform !== 'string' || !(PLATFORMS as readonly string[]).includes(platform)) {
    return `Bad request: connectionParams.platform must be one of ${PLATFORMS.join(', ')}`;
  }
  return { deviceId: params.deviceId, platform: platform as Platform };
}

/**
 * The GraphQL context, typed once. Per-request things (loaders) are made from it per request — never
 * module singletons — and a subscription makes fresh ones per tick (pothos#1421).
 */
import type { Logger } from 'pino';
import type { ContactGraph } from '../graph/port.js';
import type { HotStore } from '../hot/port.js';
import type { LastSeenStore } from '../prisma/port.js';
import type { UserId } from '../presence/index.js';
import type { Config } from '../server/config.js';
import type { Identity } from '../server/auth.js';
import type { Metrics } from '../server/metrics.js';
import type { PresenceService } from '../service/presence.js';
import type { ViewportHub } from '../subscriptions/hub.js';
import type { InterestIndex } from '../subscriptions/interest.js';
import type { PresenceRelay } from '../subscriptions/relay.js';
import { createLoaders, type Loaders } from './loaders.js';

/** What one server process holds: stores, services, config. Shared by every request. */
export interface App {
  readonly config: Config;
  readonly service: PresenceService;
  readonly hot: HotStore;
  readonly graph: ContactGraph;
  readonly lastSeen: LastSeenStore;
  readonly interest: InterestIndex;
  /** What subscriptions read: process-wide record and relation caches, batched per tick. */
  readonly relay: PresenceRelay;
  /** Every viewport subscription of this process. */
  readonly hub: ViewportHub;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Registers a signed-in user in the graph once per process (cached). */
  registerUser(userId: UserId): Promise<void>;
  /** Consumes mutation budget; throws RATE_LIMITED when exhausted. */
  rateLimit(userId: UserId, points: number): Promise<void>;
}

export interface RequestContext {
  readonly app: App;
  /** The signed-in user, or null for an unauthenticated request (only introspection is allowed then). */
  readonly viewer: Identity | null;
  /** Per-request loaders for the signed-in viewer. */
  readonly loaders: Loaders;
  /**
   * The graphql-ws operation this context was made for, if any: subscriptions may write their `next`
   * frames to its socket themselves (subscriptions/frames.ts).
   */
  ws?: WsOperation;
}

export interface WsOperation {
  readonly id: string;
  /**
   * Writes one message. Returns a promise when the socket is buffering (a slow consumer): it resolves
   * once the message has gone out (or the socket is gone), and nothing more should be written before.
   */
  send(message: string): Promise<void> | void;
}

/**
 * A plain object, its loaders made at once: yoga copies the context it is given into its own
 * (`Object.assign`), which would call a lazy getter here anyway. And a getter in an object literal made
 * per request kept the whole request alive past V8's scavenges: its accessor pair is allocated in the old
 * space and, dead or not, holds the getter's closure (and the loaders it assigned, and everything they
 * read) until the next mark-compact: 35 KB promoted per `presences(500)` request, one at a time, and
 * scavenges of 4 ms instead of 1 (test/server/promotion.test.ts keeps it from coming back).
 */
export function createContext(app: App, viewer: Identity | null): RequestContext {
  return { app, viewer, loaders: createLoaders(app, viewer?.userId ?? '') };
}

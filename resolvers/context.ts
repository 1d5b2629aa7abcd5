/**
 * The GraphQL context, typed once. What every request shares is the `Api` (the use cases, composed by
 * server/app.ts); per-request things (the viewer's reads, batched per tick) are made from it per
 * request — never module singletons. A subscription does not read through its request's reads: its
 * context lives as long as it does, and would never see a privacy change (pothos#1421); the hub reads
 * through the process-wide visibility service instead.
 */
import type { Timing, UserId } from '../presence/index.js';
import type { PresenceService } from '../service/presence.js';
import type { PrivacyService } from '../service/privacy.js';
import type { ViewerReads, VisibilityService } from '../service/visibility.js';
import type { FrameSocket } from '../subscriptions/frames.js';
import type { ViewportHub } from '../subscriptions/hub.js';
import type { Limits } from './limits.js';

/** What the resolvers are given: the use cases and the API's limits, shared by every request. */
export interface Api {
  readonly limits: Limits;
  readonly timing: Timing;
  /** Now, epoch ms: the `ago` line and a device's activity are relative to it. */
  readonly clock: () => number;
  readonly presence: PresenceService;
  readonly privacy: PrivacyService;
  readonly visibility: VisibilityService;
  /** Every viewport subscription of this process. */
  readonly hub: ViewportHub;
  /** Takes `points` from the user's mutation budget; throws RATE_LIMITED when it is spent. */
  rateLimit(userId: UserId, points: number): Promise<void>;
}

/** The signed-in user a request acts for. */
export interface Viewer {
  readonly userId: UserId;
}

export interface RequestContext {
  readonly api: Api;
  /** The signed-in user, or null for an unauthenticated request (only introspection runs then). */
  readonly viewer: Viewer | null;
  /** The viewer's reads for this request (none for an unauthenticated one: they fail). */
  readonly reads: ViewerReads;
  /**
   * The graphql-ws operation this context was made for, if it came over graphql-ws: a subscription may
   * write its `next` frames to it itself (subscriptions/frames.ts).
   */
  readonly frames: FrameSocket | undefined;
}

/**
 * A plain object, its reads made at once: yoga copies the context it is given into its own
 * (`Object.assign`), which would call a lazy getter here anyway; and an accessor in an object literal
 * made per request is allocated where it outlives V8's scavenges, holding the request's reads with it
 * until a full collection (test/server/promotion.test.ts keeps it from coming back).
 */
export function createContext(api: Api, viewer: Viewer | null, frames?: FrameSocket): RequestContext {
  return { api, viewer, reads: api.visibility.forRequest(viewer?.userId ?? ''), frames };
}

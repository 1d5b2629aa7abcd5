import pRetry from 'p-retry';
import { selfView, type ManualStatus, type PrivacyMode, type SelfView } from '../presence/index.js';
import type { RequestContext } from './context.js';
import { requireViewer } from './validate.js';
import { mutator, write } from './writes.js';

export interface ViewerValue {
  readonly self: SelfView;
  /** Undefined when the contact graph cannot be read. */
  readonly privacy: PrivacyMode | undefined;
}

export async function meField(ctx: RequestContext): Promise<ViewerValue> {
  const viewer = requireViewer(ctx);
  const { service } = ctx.app;
  const state = await write(() => service.state(viewer));
  return { self: selfView(state, service.clock(), service.timing), privacy: await ctx.loaders.viewerPrivacy() };
}

export async function setStatusField(ctx: RequestContext, manual: ManualStatus): Promise<ViewerValue> {
  const viewer = await mutator(ctx);
  const { service } = ctx.app;
  const applied = await write(() => service.setManual(viewer, manual));
  if (applied.transition) ctx.app.metrics.transitions.inc({ cause: applied.transition.cause });
  return { self: selfView(applied.state, service.clock(), service.timing), privacy: await ctx.loaders.viewerPrivacy() };
}

export async function setPrivacyField(ctx: RequestContext, mode: PrivacyMode): Promise<ViewerValue> {
  const viewer = await mutator(ctx);
  await write(() => ctx.app.graph.setPrivacy(viewer, mode));
  await announceVisibility(ctx, viewer);
  const { service } = ctx.app;
  const state = await write(() => service.state(viewer));
  return { self: selfView(state, service.clock(), service.timing), privacy: mode };
}

/**
 * Tells every process that who may see `userId` changed: caches of the graph forget it, watchers re-check.
 * The graph write has already happened. If the hot store cannot take the announcement now, it is retried
 * in the background (jittered backoff) for as long as a cache elsewhere could hold what it replaces
 * (graph/cached.ts `ttlMs`); processes that cannot reach the hot store either have already dropped their
 * caches and read UNKNOWN until it is back.
 */
export async function announceVisibility(ctx: RequestContext, userId: string): Promise<void> {
  const { hot, log } = ctx.app;
  try {
    await hot.publishVisibility(userId);
  } catch (error) {
    log.warn({ err: error, userId }, 'visibility change not announced yet: hot store unavailable; retrying in the background');
    void pRetry(() => hot.publishVisibility(userId), { retries: Number.POSITIVE_INFINITY, maxRetryTime: ANNOUNCE_RETRY_MS, minTimeout: 200, maxTimeout: 5_000, randomize: true }).then(
      () => log.info({ userId }, 'visibility change announced after retrying'),
      (last: unknown) => log.error({ err: last, userId }, 'visibility change never announced: caches elsewhere keep the old relation until their TTL'),
    );
  }
}

/** How long a failed visibility announcement is retried: as long as a graph cache entry lives. */
export const ANNOUNCE_RETRY_MS = 60_000;

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
 * Tells every watcher of `userId` to re-check who may see them. The graph write has already happened;
 * if the hot store is down the watchers hear nothing now, but they read UNKNOWN until it is back anyway.
 */
export async function announceVisibility(ctx: RequestContext, userId: string): Promise<void> {
  try {
    await ctx.app.hot.publishVisibility(userId);
  } catch (error) {
    ctx.app.log.warn({ err: error, userId }, 'visibility change not announced: hot store unavailable');
  }
}

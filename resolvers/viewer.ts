import { selfView, type ManualStatus, type PrivacyMode, type SelfView, type UserState } from '../presence/index.js';
import { call, mutator } from './call.js';
import type { Api, RequestContext } from './context.js';
import { requireViewer } from './validate.js';

export interface ViewerValue {
  readonly self: SelfView;
  /** Undefined when the contact graph cannot be read. */
  readonly privacy: PrivacyMode | undefined;
}

export async function meField(ctx: RequestContext): Promise<ViewerValue> {
  const viewer = requireViewer(ctx);
  const state = await call(() => ctx.api.presence.state(viewer));
  return { self: selfOf(ctx.api, state), privacy: await ctx.reads.privacy() };
}

export async function setStatusField(ctx: RequestContext, manual: ManualStatus): Promise<ViewerValue> {
  const viewer = await mutator(ctx);
  const applied = await call(() => ctx.api.presence.setManual(viewer, manual));
  return { self: selfOf(ctx.api, applied.state), privacy: await ctx.reads.privacy() };
}

export async function setPrivacyField(ctx: RequestContext, mode: PrivacyMode): Promise<ViewerValue> {
  const viewer = await mutator(ctx);
  await call(() => ctx.api.privacy.setPrivacy(viewer, mode));
  const state = await call(() => ctx.api.presence.state(viewer));
  return { self: selfOf(ctx.api, state), privacy: mode };
}

function selfOf(api: Api, state: UserState): SelfView {
  return selfView(state, api.clock(), api.timing);
}

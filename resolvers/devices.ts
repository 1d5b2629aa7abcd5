import type { Activity, Platform, SelfView } from '../presence/index.js';
import { selfView } from '../presence/index.js';
import { call, mutator } from './call.js';
import type { RequestContext } from './context.js';
import { userIdArg } from './validate.js';

export interface HeartbeatValue {
  readonly intervalMs: number;
  readonly jitterMs: number;
  readonly ttlMs: number;
  readonly self: SelfView;
}

export async function heartbeatField(ctx: RequestContext, deviceId: unknown, platform: Platform, activity: Activity | null | undefined): Promise<HeartbeatValue> {
  const viewer = await mutator(ctx);
  const device = userIdArg(deviceId, 'deviceId');
  const { presence, timing, clock } = ctx.api;
  const applied = await call(() => presence.heartbeat(viewer, device, platform, activity ?? undefined));
  const { heartbeatMs, jitterMs, ttlMs } = timing;
  return { intervalMs: heartbeatMs, jitterMs, ttlMs, self: selfView(applied.state, clock(), timing) };
}

export async function signOffField(ctx: RequestContext, deviceId: unknown): Promise<boolean> {
  const viewer = await mutator(ctx);
  const device = userIdArg(deviceId, 'deviceId');
  const applied = await call(() => ctx.api.presence.signOff(viewer, device));
  return applied.effect !== 'none';
}

import type { Activity, Platform, SelfView } from '../presence/index.js';
import { selfView } from '../presence/index.js';
import type { RequestContext } from './context.js';
import { userIdArg } from './validate.js';
import { mutator, write } from './writes.js';

export interface HeartbeatValue {
  readonly intervalMs: number;
  readonly jitterMs: number;
  readonly ttlMs: number;
  readonly self: SelfView;
}

export async function heartbeatField(ctx: RequestContext, deviceId: unknown, platform: Platform, activity: Activity | null | undefined): Promise<HeartbeatValue> {
  const viewer = await mutator(ctx);
  const device = userIdArg(deviceId, 'deviceId');
  const { service, metrics } = ctx.app;
  const timer = metrics.heartbeatSeconds.startTimer({ path: 'mutation' });
  const applied = await write(() => service.heartbeat(viewer, device, platform, activity ?? undefined));
  timer();
  metrics.heartbeats.inc({ effect: applied.effect });
  if (applied.transition) metrics.transitions.inc({ cause: applied.transition.cause });
  const { heartbeatMs, jitterMs, ttlMs } = service.timing;
  return { intervalMs: heartbeatMs, jitterMs, ttlMs, self: selfView(applied.state, service.clock(), service.timing) };
}

export async function signOffField(ctx: RequestContext, deviceId: unknown): Promise<boolean> {
  const viewer = await mutator(ctx);
  const device = userIdArg(deviceId, 'deviceId');
  const applied = await write(() => ctx.app.service.signOff(viewer, device));
  if (applied.transition) ctx.app.metrics.transitions.inc({ cause: applied.transition.cause });
  return applied.effect !== 'none';
}

import { agoLine, BUCKET_SECONDS, type PresenceView, type UserId } from '../presence/index.js';
import { ErrorCode } from '../server/errors.js';
import type { RequestContext } from './context.js';
import { idListArg, requireRegistered, requireViewer, userIdArg } from './validate.js';

export interface LastSeenValue {
  readonly bucket: number;
  readonly ago: string;
  readonly bucketSeconds: number;
}

/** A bucket as the GraphQL `LastSeen`, its human line relative to `now`. */
export function lastSeenValue(bucket: number | null, now: number): LastSeenValue | null {
  return bucket === null ? null : { bucket, ago: agoLine(bucket, now), bucketSeconds: BUCKET_SECONDS };
}

export async function presenceField(ctx: RequestContext, userId: unknown): Promise<PresenceView> {
  requireViewer(ctx);
  const id = userIdArg(userId, 'userId');
  await requireRegistered(ctx.loaders, [id]);
  return (await ctx.loaders.seen.load(id)).view;
}

export async function presencesField(ctx: RequestContext, userIds: readonly unknown[]): Promise<PresenceView[]> {
  requireViewer(ctx);
  const ids = idListArg(userIds, 'userIds', ctx.app.config.limits.presences, ErrorCode.TOO_MANY_IDS);
  await requireRegistered(ctx.loaders, ids);
  return viewsOf(ctx, ids);
}

export async function viewsOf(ctx: RequestContext, ids: readonly UserId[]): Promise<PresenceView[]> {
  const seen = await ctx.loaders.seen.loadMany(ids);
  return seen.map((s) => {
    if (s instanceof Error) throw s;
    return s.view;
  });
}

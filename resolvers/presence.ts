import { agoLine, BUCKET_SECONDS, type PresenceView, type UserId } from '../presence/index.js';
import { call } from './call.js';
import type { RequestContext } from './context.js';
import { ErrorCode } from './errors.js';
import { idListArg, requireViewer, userIdArg } from './validate.js';

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
  const [view] = await registeredViews(ctx, [userIdArg(userId, 'userId')]);
  return view!;
}

export async function presencesField(ctx: RequestContext, userIds: readonly unknown[]): Promise<PresenceView[]> {
  requireViewer(ctx);
  return registeredViews(ctx, idListArg(userIds, 'userIds', ctx.api.limits.presences, ErrorCode.TOO_MANY_IDS));
}

/** The views, or USER_NOT_FOUND: the registration check reads the views' own graph read. */
function registeredViews(ctx: RequestContext, ids: readonly UserId[]): Promise<PresenceView[]> {
  return call(() => ctx.reads.views(ids, { mustExist: true }));
}

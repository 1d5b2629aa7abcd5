/**
 * Use cases called from resolvers, their refusals turned into GraphQL errors. A write refused for a
 * store that cannot be reached changed nothing.
 */
import { StoreUnavailableError } from '../presence/index.js';
import { ContendedError, DeviceOwnedError, UnknownUsersError } from '../service/errors.js';
import type { RequestContext } from './context.js';
import { ErrorCode, fail } from './errors.js';
import { requireViewer } from './validate.js';

export async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StoreUnavailableError) {
      throw error.store === 'graph'
        ? fail(ErrorCode.GRAPH_UNAVAILABLE, 'the contact graph is unavailable; nothing was changed — retry with backoff')
        : fail(ErrorCode.PRESENCE_UNAVAILABLE, 'presence is unavailable; nothing was changed — retry with backoff');
    }
    if (error instanceof UnknownUsersError) throw fail(ErrorCode.USER_NOT_FOUND, error.message, { userIds: error.userIds });
    if (error instanceof DeviceOwnedError) throw fail(ErrorCode.FORBIDDEN, `${error.message}: you can only drive your own devices`, { deviceId: error.deviceId });
    if (error instanceof ContendedError) throw fail(ErrorCode.CONFLICT, error.message);
    throw error;
  }
}

/** The signed-in viewer, after taking `points` from their mutation budget. */
export async function mutator(ctx: RequestContext, points = 1): Promise<string> {
  const viewer = requireViewer(ctx);
  await ctx.api.rateLimit(viewer, points);
  return viewer;
}

/** Turns store and service failures of a write into GraphQL errors; nothing was applied in each case. */
import { StoreUnavailableError } from '../presence/index.js';
import { fail, ErrorCode } from '../server/errors.js';
import { ContendedError, DeviceOwnedError } from '../service/presence.js';
import type { RequestContext } from './context.js';
import { requireViewer } from './validate.js';

export async function write<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StoreUnavailableError) {
      throw error.store === 'graph'
        ? fail(ErrorCode.GRAPH_UNAVAILABLE, 'the contact graph is unavailable; nothing was changed — retry with backoff')
        : fail(ErrorCode.PRESENCE_UNAVAILABLE, 'presence is unavailable; nothing was changed — retry with backoff');
    }
    if (error instanceof DeviceOwnedError) throw fail(ErrorCode.FORBIDDEN, `${error.message}: you can only drive your own devices`, { deviceId: error.deviceId });
    if (error instanceof ContendedError) throw fail(ErrorCode.CONFLICT, error.message);
    throw error;
  }
}

/** The signed-in viewer, after taking `points` from their mutation budget. */
export async function mutator(ctx: RequestContext, points = 1): Promise<string> {
  const viewer = requireViewer(ctx);
  await ctx.app.rateLimit(viewer, points);
  return viewer;
}

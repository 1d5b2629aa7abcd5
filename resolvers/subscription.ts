import type { GraphQLResolveInfo } from 'graphql';
import { Repeater } from 'graphql-yoga';
import { compileFrames } from '../subscriptions/frames.js';
import type { PresenceBatch } from '../subscriptions/hub.js';
import { call } from './call.js';
import type { RequestContext } from './context.js';
import { ErrorCode, fail } from './errors.js';
import { idListArg, requireViewer } from './validate.js';

/**
 * Validates the viewport (1–200 registered ids, duplicates folded) and opens the subscription on the
 * process's hub, which reads through the process-wide visibility service, never through the request's
 * reads (they would live as long as the subscription and never see a privacy change: pothos#1421).
 *
 * Over graphql-ws, when frames.ts compiles the selection, the hub's batches are written to the
 * operation's socket as whole `next` frames — serialized once per view and selection, shared by every
 * watcher shown the same — and the iterator handed back to graphql-js only carries the subscription's
 * life (it yields nothing, so graphql executes nothing per event; its end completes the operation).
 * Otherwise (SSE, a selection frames.ts declines) batches are yielded and executed as usual.
 */
export async function subscribePresence(ctx: RequestContext, viewport: readonly unknown[], info: GraphQLResolveInfo): Promise<AsyncIterable<PresenceBatch>> {
  const viewer = requireViewer(ctx);
  const { api } = ctx;
  const { limits } = api;
  if (viewport.length > limits.viewport) {
    throw fail(ErrorCode.VIEWPORT_TOO_LARGE, `a viewport may hold at most ${limits.viewport} ids, got ${viewport.length}`, {
      limit: limits.viewport,
      received: viewport.length,
    });
  }
  const ids = [...new Set(idListArg(viewport, 'viewport', limits.viewport, ErrorCode.VIEWPORT_TOO_LARGE))];
  // Reads of its own: the request's would keep this one-off check's answers for the subscription's life.
  await call(() => api.visibility.forRequest(viewer).requireRegistered(ids));
  const socket = ctx.frames;
  const frames = socket ? compileFrames(info) : null;
  if (!socket || !frames) return api.hub.stream(viewer, ids);
  return new Repeater<PresenceBatch>(async (_push, stop) => {
    const handle = await api.hub.open(viewer, ids, {
      path: 'frames',
      deliver: (batch) => socket.send(frames.frame(socket.operationId, batch, api.clock())),
      fail: (error) => stop(error),
    });
    await stop;
    await handle.close();
  });
}

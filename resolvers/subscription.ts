import { fail, ErrorCode } from '../server/errors.js';
import { viewportStream, type PresenceBatch } from '../subscriptions/viewport.js';
import { createLoaders } from './loaders.js';
import type { RequestContext } from './context.js';
import { viewsOf } from './presence.js';
import { idListArg, requireRegistered, requireViewer } from './validate.js';

/**
 * Validates the viewport (1–200 registered ids, duplicates folded) and opens the stream. Each tick
 * reads through fresh loaders: the subscription's context lives as long as the subscription does.
 */
export async function subscribePresence(ctx: RequestContext, viewport: readonly unknown[]): Promise<AsyncIterable<PresenceBatch>> {
  const viewer = requireViewer(ctx);
  const { app } = ctx;
  if (viewport.length > app.config.limits.viewport) {
    throw fail(ErrorCode.VIEWPORT_TOO_LARGE, `a viewport may hold at most ${app.config.limits.viewport} ids, got ${viewport.length}`, {
      limit: app.config.limits.viewport,
      received: viewport.length,
    });
  }
  const ids = [...new Set(idListArg(viewport, 'viewport', app.config.limits.viewport, ErrorCode.VIEWPORT_TOO_LARGE))];
  await requireRegistered(ctx, ids);
  app.metrics.subscriptions.inc();
  return viewportStream({
    ids,
    interest: app.interest,
    coalesceMs: app.config.coalesceMs,
    read: (batch) => viewsOf({ ...ctx, loaders: createLoaders(app, viewer) }, batch),
    onBatch: (batch) => {
      app.metrics.batches.inc();
      app.metrics.presencesSent.inc(batch.presences.length);
    },
    onClose: () => app.metrics.subscriptions.dec(),
  });
}

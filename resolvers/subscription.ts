import type { ContactGraph } from '../graph/port.js';
import { fail, ErrorCode } from '../server/errors.js';
import { viewportStream, type PresenceBatch } from '../subscriptions/viewport.js';
import type { RequestContext } from './context.js';
import { createLoaders } from './loaders.js';
import { idListArg, requireRegistered, requireViewer } from './validate.js';

/**
 * Validates the viewport (1–200 registered ids, duplicates folded) and opens the stream. Ticks read
 * through the process-wide relay, never through the request's loaders: a subscription's context lives
 * as long as the subscription, and its loader caches would never see a privacy change (pothos#1421).
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
  const asked = [...new Set(idListArg(viewport, 'viewport', app.config.limits.viewport, ErrorCode.VIEWPORT_TOO_LARGE))];
  // Throwaway loaders: a subscription's context lives as long as the subscription, and the request's
  // loaders would keep this one-off check's results in memory all that time (~7 KB per subscription).
  await requireRegistered(createLoaders(app, viewer), asked);
  // The eager baseline (benchmarks only) watches every contact instead of what is on screen.
  const ids = app.config.fanout === 'eager' ? await allContacts(app.graph, viewer) : asked;
  app.metrics.subscriptions.inc();
  app.relay.open(viewer);
  return viewportStream({
    viewerId: viewer,
    ids,
    interest: app.interest,
    coalesceMs: app.config.coalesceMs,
    read: (batch) => app.relay.read(viewer, batch),
    onBatch: (batch) => {
      app.metrics.batches.inc();
      app.metrics.presencesSent.inc(batch.presences.length);
    },
    onClose: () => {
      app.metrics.subscriptions.dec();
      app.relay.close(viewer);
    },
  });
}

/** Every contact of the viewer, for the eager baseline (a viewer with none watches nobody). */
async function allContacts(graph: ContactGraph, viewer: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await graph.contacts(viewer, 1000, after);
    ids.push(...page.ids);
    if (!page.hasNextPage || page.ids.length === 0) return ids;
    after = page.ids.at(-1)!;
  }
}

import type { GraphQLResolveInfo } from 'graphql';
import { Repeater } from 'graphql-yoga';
import type { ContactGraph } from '../graph/port.js';
import { fail, ErrorCode } from '../server/errors.js';
import { compileFrames } from '../subscriptions/frames.js';
import type { PresenceBatch } from '../subscriptions/hub.js';
import type { RequestContext } from './context.js';
import { createLoaders } from './loaders.js';
import { idListArg, requireRegistered, requireViewer } from './validate.js';

/**
 * Validates the viewport (1–200 registered ids, duplicates folded) and opens the subscription on the
 * process's hub. Batches read through the process-wide relay, never through the request's loaders: a
 * subscription's context lives as long as the subscription, and its loader caches would never see a
 * privacy change (pothos#1421).
 *
 * Over graphql-ws, when frames.ts compiles the selection, the hub writes the `next` frames to the socket
 * itself — serialized once per view and selection, shared by every watcher shown the same — and the
 * iterator handed back to graphql-js only carries the subscription's life (it yields nothing, so graphql
 * executes nothing per event; its end completes the operation). Otherwise (SSE, a selection it does not
 * compile) batches are yielded and executed as usual.
 */
export async function subscribePresence(ctx: RequestContext, viewport: readonly unknown[], info: GraphQLResolveInfo): Promise<AsyncIterable<PresenceBatch>> {
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
  const { ws } = ctx;
  const frames = ws ? compileFrames(info) : null;
  if (!ws || !frames) return app.hub.stream(viewer, ids);
  const clock = app.service.clock;
  return new Repeater<PresenceBatch>(async (_push, stop) => {
    const handle = await app.hub.open(viewer, ids, {
      path: 'frames',
      deliver: (batch) => ws.send(frames.frame(ws.id, batch.snapshot, batch.presences, clock())),
      fail: (error) => stop(error),
    });
    await stop;
    await handle.close();
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

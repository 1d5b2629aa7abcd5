import { subscribePresence } from '../resolvers/subscription.js';
import type { PresenceBatch } from '../subscriptions/hub.js';
import { builder } from './builder.js';
import { PresenceRef } from './presence.js';

export const PresenceBatchRef = builder.objectRef<PresenceBatch>('PresenceBatch').implement({
  description: 'The first batch is a snapshot of the whole viewport; later ones carry only users whose presence (as you see it) changed.',
  fields: (t) => ({
    snapshot: t.exposeBoolean('snapshot'),
    presences: t.field({ type: [PresenceRef], resolve: (b) => [...b.presences] }),
  }),
});

builder.subscriptionField('presence', (t) =>
  t.field({
    type: PresenceBatchRef,
    description:
      'Watch the users on screen (1–200 ids, duplicates folded): a snapshot, then coalesced changes. Change the viewport by starting a new subscription and completing the old one.',
    args: { viewport: t.arg.idList({ required: true }) },
    subscribe: (_root, args, ctx, info) => subscribePresence(ctx, args.viewport, info),
    resolve: (batch) => batch,
  }),
);

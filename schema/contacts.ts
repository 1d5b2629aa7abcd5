import { contactsField, edgeField, type ContactConnectionValue, type ContactValue } from '../resolvers/contacts.js';
import { builder } from './builder.js';
import { PresenceRef } from './presence.js';

export const ContactRef = builder.objectRef<ContactValue>('Contact').implement({
  fields: (t) => ({
    userId: t.exposeID('userId'),
    presence: t.field({ type: PresenceRef, resolve: (c) => c.presence }),
  }),
});

const ContactEdgeRef = builder.objectRef<ContactConnectionValue['edges'][number]>('ContactEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.field({ type: ContactRef, resolve: (e) => e.node }),
  }),
});

const PageInfoRef = builder.objectRef<ContactConnectionValue>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.string({ nullable: true, resolve: (c) => c.edges.at(-1)?.cursor ?? null }),
  }),
});

export const ContactConnectionRef = builder.objectRef<ContactConnectionValue>('ContactConnection').implement({
  description: 'Your contacts in a stable order (by user id), with their presence as you may see it.',
  fields: (t) => ({
    edges: t.field({ type: [ContactEdgeRef], resolve: (c) => [...c.edges] }),
    nodes: t.field({ type: [ContactRef], resolve: (c) => c.edges.map((e) => e.node) }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (c) => c }),
  }),
});

builder.queryField('contacts', (t) =>
  t.field({
    type: ContactConnectionRef,
    description: 'Your contacts with presence: `first` 1–100 (default 50) after the cursor `after`. One batched read per store per page.',
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: (_root, args, ctx) => contactsField(ctx, args.first, args.after),
  }),
);

const edge = (change: 'addContact' | 'removeContact' | 'block' | 'unblock', description: string) =>
  builder.mutationField(change, (t) =>
    t.boolean({ description, args: { userId: t.arg.id({ required: true }) }, resolve: (_root, args, ctx) => edgeField(ctx, change, args.userId) }),
  );

edge('addContact', 'List a user as your contact (lets them see you under CONTACTS). True when added, false when already listed.');
edge('removeContact', 'Stop listing a user as your contact. True when removed, false when not listed.');
edge('block', 'Block a user: you read as UNKNOWN to them whatever your mode. True when blocked, false when already blocked.');
edge('unblock', 'Unblock a user. True when unblocked, false when not blocked.');

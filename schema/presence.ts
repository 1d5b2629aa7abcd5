import type { PresenceView } from '../presence/index.js';
import { lastSeenValue, presenceField, presencesField, type LastSeenValue } from '../resolvers/presence.js';
import { builder } from './builder.js';
import { PlatformEnum, PresenceStatusEnum } from './enums.js';

export const LastSeenRef = builder.objectRef<LastSeenValue>('LastSeen').implement({
  description: 'When the user was last seen, floored to a 60 s bucket: never a finer time.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', description: 'Start of the bucket.', resolve: (v) => new Date(v.bucket) }),
    ago: t.exposeString('ago', { description: 'The coarse human line: "just now", "12 min ago", "3 h ago", "yesterday", or a date.' }),
    bucketSeconds: t.exposeInt('bucketSeconds', { description: 'Width of the bucket (60).' }),
  }),
});

export const PresenceRef = builder.objectRef<PresenceView>('Presence').implement({
  description: 'One user\'s presence as the viewer may see it.',
  fields: (t) => ({
    userId: t.exposeID('userId'),
    status: t.field({ type: PresenceStatusEnum, resolve: (p) => p.status }),
    lastSeen: t.field({
      type: LastSeenRef,
      nullable: true,
      description: 'Set when the user is OFFLINE, was seen before, and the viewer may see it.',
      resolve: (p, _args, ctx) => lastSeenValue(p.lastSeen, ctx.api.clock()),
    }),
    platforms: t.field({ type: [PlatformEnum], description: 'Platforms of live devices (Discord-style client status).', resolve: (p) => [...p.platforms] }),
    version: t.exposeInt('version', {
      description:
        'Per-user, monotonic. Drop an event older than the one you hold — except UNKNOWN, which carries 0 (it reveals no version) and always applies.',
    }),
  }),
});

builder.queryFields((t) => ({
  presence: t.field({
    type: PresenceRef,
    description: 'One user\'s presence. USER_NOT_FOUND for an id that never signed in.',
    args: { userId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => presenceField(ctx, args.userId),
  }),
  presences: t.field({
    type: [PresenceRef],
    description: 'Many presences in one call, in the order asked (duplicates kept). 1–500 ids.',
    args: { userIds: t.arg.idList({ required: true }) },
    resolve: (_root, args, ctx) => presencesField(ctx, args.userIds),
  }),
}));

import { heartbeatField, signOffField, type HeartbeatValue } from '../resolvers/devices.js';
import { builder } from './builder.js';
import { ActivityEnum, PlatformEnum, PresenceStatusEnum } from './enums.js';

export const HeartbeatRef = builder.objectRef<HeartbeatValue>('Heartbeat').implement({
  description: 'How to keep this device alive: heartbeat every `intervalMs` (± `jitterMs`); it expires `ttlMs` after the last one.',
  fields: (t) => ({
    intervalMs: t.exposeInt('intervalMs'),
    jitterMs: t.exposeInt('jitterMs'),
    ttlMs: t.exposeInt('ttlMs'),
    status: t.field({ type: PresenceStatusEnum, description: 'Your real status after this heartbeat.', resolve: (h) => h.self.status }),
    version: t.int({ resolve: (h) => h.self.version }),
  }),
});

builder.mutationFields((t) => ({
  heartbeat: t.field({
    type: HeartbeatRef,
    description:
      'For HTTP-only clients: this device is alive (graphql-ws clients with connectionParams.deviceId need not call it). A device id is bound to the first user that uses it; another user gets FORBIDDEN.',
    args: {
      deviceId: t.arg.id({ required: true }),
      platform: t.arg({ type: PlatformEnum, required: true }),
      activity: t.arg({ type: ActivityEnum, description: 'Omit to keep the last reported activity (ACTIVE for a new device).' }),
    },
    resolve: (_root, args, ctx) => heartbeatField(ctx, args.deviceId, args.platform, args.activity),
  }),
  signOff: t.boolean({
    description: 'Graceful: this device is offline now. False when it was not live.',
    args: { deviceId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => signOffField(ctx, args.deviceId),
  }),
}));

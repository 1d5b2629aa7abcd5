import { effectiveActivity, type Device } from '../presence/index.js';
import { lastSeenValue } from '../resolvers/presence.js';
import { meField, setPrivacyField, setStatusField, type ViewerValue } from '../resolvers/viewer.js';
import { builder } from './builder.js';
import { ActivityEnum, ManualStatusEnum, PlatformEnum, PresenceStatusEnum, PrivacyModeEnum } from './enums.js';
import { LastSeenRef, PresenceRef } from './presence.js';

export const DeviceRef = builder.objectRef<Device>('Device').implement({
  description: 'One of your live device sessions.',
  fields: (t) => ({
    deviceId: t.exposeID('deviceId'),
    platform: t.field({ type: PlatformEnum, resolve: (d) => d.platform }),
    activity: t.field({
      type: ActivityEnum,
      description: 'ACTIVE, or IDLE when the client said so or reported no activity for PRESENCE_IDLE_MS.',
      resolve: (d, _args, ctx) => effectiveActivity(d, ctx.api.clock(), ctx.api.timing.idleMs),
    }),
  }),
});

export const ViewerRef = builder.objectRef<ViewerValue>('Viewer').implement({
  description: 'You: the truth about your own presence (even while INVISIBLE), your settings and devices.',
  fields: (t) => ({
    id: t.id({ resolve: (v) => v.self.userId }),
    status: t.field({ type: PresenceStatusEnum, description: 'Your real status over your devices (DND when set and online).', resolve: (v) => v.self.status }),
    manualStatus: t.field({ type: ManualStatusEnum, resolve: (v) => v.self.manual }),
    privacy: t.field({
      type: PrivacyModeEnum,
      nullable: true,
      description: 'Your privacy mode; null only when the contact graph cannot be read right now.',
      resolve: (v) => v.privacy ?? null,
    }),
    devices: t.field({ type: [DeviceRef], resolve: (v) => [...v.self.devices] }),
    lastSeen: t.field({
      type: LastSeenRef,
      nullable: true,
      description: 'When you were last seen (set while you have no live device).',
      resolve: (v, _args, ctx) => lastSeenValue(v.self.lastSeen, ctx.api.clock()),
    }),
    asOthersSeeIt: t.field({
      type: PresenceRef,
      description: 'What a viewer allowed to see you is shown (OFFLINE while INVISIBLE).',
      resolve: (v) => ({
        userId: v.self.userId,
        status: v.self.published.status,
        lastSeen: v.self.published.lastSeen,
        platforms: v.self.published.platforms,
        version: v.self.version,
      }),
    }),
    version: t.int({ resolve: (v) => v.self.version }),
  }),
});

builder.queryField('me', (t) =>
  t.field({ type: ViewerRef, description: 'Your own status, privacy and devices.', resolve: (_root, _args, ctx) => meField(ctx) }),
);

builder.mutationFields((t) => ({
  setStatus: t.field({
    type: ViewerRef,
    description: 'Set DND or INVISIBLE by hand, or back to AUTO.',
    args: { status: t.arg({ type: ManualStatusEnum, required: true }) },
    resolve: (_root, args, ctx) => setStatusField(ctx, args.status),
  }),
  setPrivacy: t.field({
    type: ViewerRef,
    description: 'Who may see your status and last-seen; open subscriptions follow within the propagation bound.',
    args: { mode: t.arg({ type: PrivacyModeEnum, required: true }) },
    resolve: (_root, args, ctx) => setPrivacyField(ctx, args.mode),
  }),
}));

import { ACTIVITIES, MANUAL_STATUSES, PLATFORMS, PRESENCE_STATUSES, PRIVACY_MODES } from '../presence/index.js';
import { builder } from './builder.js';

export const PresenceStatusEnum = builder.enumType('PresenceStatus', {
  description:
    'A status as this viewer sees it. UNKNOWN: the server cannot or may not say (a store is down, or privacy forbids) — render no dot; the two cases cannot be told apart.',
  values: PRESENCE_STATUSES,
});

export const PrivacyModeEnum = builder.enumType('PrivacyMode', {
  description: 'Who may see your status and last-seen. EVERYONE; CONTACTS: users you list as contacts (the default); NOBODY: no one — and then you see no one else\'s last-seen either.',
  values: PRIVACY_MODES,
});

export const ManualStatusEnum = builder.enumType('ManualStatus', {
  description: 'What you set by hand. AUTO: derived from your devices; DND: shown while you have a live device; INVISIBLE: you appear exactly OFFLINE to everyone, last-seen frozen.',
  values: MANUAL_STATUSES,
});

export const PlatformEnum = builder.enumType('Platform', { values: PLATFORMS });

export const ActivityEnum = builder.enumType('Activity', {
  description: 'ACTIVE: the user is using this device now; IDLE: the app is open but unused (devices also go IDLE by themselves after PRESENCE_IDLE_MS).',
  values: ACTIVITIES,
});

/**
 * What a use case refuses, as errors the API maps to its codes (resolvers/writes.ts): each says what was
 * expected and what arrived. A store that cannot be reached is `StoreUnavailableError` (presence/).
 */
import type { DeviceId, UserId } from '../presence/index.js';

/** A device id bound to another user: nobody drives someone else's device. */
export class DeviceOwnedError extends Error {
  override readonly name = 'DeviceOwnedError';
  constructor(readonly deviceId: DeviceId) {
    super(`device "${deviceId}" belongs to another user`);
  }
}

/** The same user's presence kept changing under a compare-and-set; nothing was applied. */
export class ContendedError extends Error {
  override readonly name = 'ContendedError';
  constructor(readonly userId: UserId) {
    super(`presence of "${userId}" is being changed concurrently; retry`);
  }
}

/** Ids that name no registered user (users exist once they have signed in). */
export class UnknownUsersError extends Error {
  override readonly name = 'UnknownUsersError';
  readonly userIds: readonly UserId[];
  constructor(userIds: readonly UserId[]) {
    const unique = [...new Set(userIds)];
    super(`no such user${unique.length > 1 ? 's' : ''}: ${unique.slice(0, 10).join(', ')}${unique.length > 10 ? ', …' : ''} (users exist once they have signed in)`);
    this.userIds = unique;
  }
}

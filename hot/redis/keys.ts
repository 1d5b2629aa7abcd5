/**
 * Redis key layout. Users are spread over a fixed number of partitions; every key of one user, and the
 * partition's expiry index and outbox stream, carry the partition's hash tag `{p<n>}`, so one Lua script
 * can touch them atomically and a Redis Cluster keeps them in one slot (no redesign for Cluster).
 * Publisher and subscriber derive channels with the same function.
 */
import calculateSlot from 'cluster-key-slot';

export interface KeySpace {
  /** Prepended to every key and channel (tests use their own). */
  readonly prefix: string;
  /** Fixed number of partitions; changing it re-partitions every user (never change it live). */
  readonly partitions: number;
}

/** The partition of a user or device id: stable, uniform (CRC16 like Redis Cluster), in [0, partitions). */
export function partitionOf(id: string, space: KeySpace): number {
  return calculateSlot(id) % space.partitions;
}

/** Each space's partition tags, made once: a 500-id read names 500 keys. */
const tags = new WeakMap<KeySpace, readonly string[]>();

function tag(space: KeySpace, partition: number): string {
  let made = tags.get(space);
  if (!made) tags.set(space, (made = Array.from({ length: space.partitions }, (_, p) => `${space.prefix}{p${p}}`)));
  return made[partition] ?? `${space.prefix}{p${partition}}`;
}

/** Hash: one user's state, laid out as codec.ts says (`rev`, `user`, `devices`, `idle`). */
export function stateKey(space: KeySpace, userId: string, partition = partitionOf(userId, space)): string {
  return `${tag(space, partition)}:user:${userId}`;
}

/** Sorted set: userId scored by their next auto-idle (when the sweeper must tick them for it). */
export function dueKey(space: KeySpace, partition: number): string {
  return `${tag(space, partition)}:due`;
}

/**
 * Sorted set: every device of the partition's users (`aliveMember`) scored by its expiry — what a
 * refresh moves, and where the sweeper finds expired devices.
 */
export function aliveKey(space: KeySpace, partition: number): string {
  return `${tag(space, partition)}:alive`;
}

/** Sorted set: users claimed by a sweeper, scored by when the claim lapses. */
export function claimsKey(space: KeySpace, partition: number): string {
  return `${tag(space, partition)}:claims`;
}

/**
 * A device's member of the alive set: `<userId> <deviceId> <platform>` (ids never hold a space). The
 * platform is part of it, so a refresh naming another platform finds no member and a full heartbeat
 * decides.
 */
export function aliveMember(userId: string, deviceId: string, platform: string): string {
  return `${userId} ${deviceId} ${platform}`;
}

/** Stream of transitions waiting to be drained into PostgreSQL. */
export function outboxKey(space: KeySpace, partition: number): string {
  return `${tag(space, partition)}:outbox`;
}

/** String: the user a device id is bound to. */
export function deviceKey(space: KeySpace, deviceId: string): string {
  return `${tag(space, partitionOf(deviceId, space))}:d:${deviceId}`;
}

/** Pub/sub channel of one user's changes. */
export function userChannel(space: KeySpace, userId: string): string {
  return `${space.prefix}ch:${userId}`;
}

/** Pub/sub channel of one user's visibility changes alone (privacy, contacts, blocks). */
export function visibilityChannel(space: KeySpace, userId: string): string {
  return `${space.prefix}vis:${userId}`;
}

/** The user id of a channel from `visibilityChannel`, or null when it is not one. */
export function userOfVisibilityChannel(space: KeySpace, channel: string): string | null {
  const head = `${space.prefix}vis:`;
  return channel.startsWith(head) ? channel.slice(head.length) : null;
}

/** The user id of a channel from `userChannel`, or null when it is not one. */
export function userOfChannel(space: KeySpace, channel: string): string | null {
  const head = `${space.prefix}ch:`;
  return channel.startsWith(head) ? channel.slice(head.length) : null;
}

export function allPartitions(space: KeySpace): number[] {
  return Array.from({ length: space.partitions }, (_, i) => i);
}

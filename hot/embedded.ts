/**
 * The in-process HotStore: what `npm start` uses when no REDIS_URL is set, and the reference the
 * Redis implementation is checked against (test/contract/hotStore.contract.ts). One process only.
 */
import { refreshDevice, type Device, type DeviceId, type PresenceRecord, type UserId, type UserState } from '../presence/index.js';
import type { DeviceRefresh, FeedEvent, HotStore, HotWrite, Outbox, OutboxEntry, PresenceFeed, VisibilityFeed } from './port.js';

export class EmbeddedFeed implements PresenceFeed {
  #listening = new Set<UserId>();
  #handler: ((userId: UserId, event: FeedEvent) => void) | null = null;
  #received = 0;

  get received(): number {
    return this.#received;
  }

  async listen(userIds: readonly UserId[]): Promise<void> {
    for (const id of userIds) this.#listening.add(id);
  }

  async unlisten(userIds: readonly UserId[]): Promise<void> {
    for (const id of userIds) this.#listening.delete(id);
  }

  onEvent(handler: (userId: UserId, event: FeedEvent) => void): void {
    this.#handler = handler;
  }

  /** Delivers on a later tick, like a message from Redis would arrive. */
  publish(userId: UserId, event: FeedEvent): void {
    if (!this.#listening.has(userId)) return;
    queueMicrotask(() => {
      if (!this.#listening.has(userId)) return;
      this.#received++;
      this.#handler?.(userId, event);
    });
  }
}

export class EmbeddedVisibilityFeed implements VisibilityFeed {
  #listening = new Set<UserId>();
  #handler: ((userId: UserId | null) => void) | null = null;

  async listen(userIds: readonly UserId[]): Promise<void> {
    for (const id of userIds) this.#listening.add(id);
  }

  async unlisten(userIds: readonly UserId[]): Promise<void> {
    for (const id of userIds) this.#listening.delete(id);
  }

  onChange(handler: (userId: UserId | null) => void): void {
    this.#handler = handler;
  }

  /** Delivers on a later tick, like a message from Redis would arrive. */
  publish(userId: UserId): void {
    if (!this.#listening.has(userId)) return;
    queueMicrotask(() => {
      if (this.#listening.has(userId)) this.#handler?.(userId);
    });
  }
}

class EmbeddedOutbox implements Outbox {
  #entries = new Map<string, OutboxEntry>();
  #seq = 0;

  append(entry: Omit<OutboxEntry, 'id'>): void {
    const id = String(++this.#seq);
    this.#entries.set(id, { id, ...entry });
  }

  async read(_consumer: string, count: number): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for (const entry of this.#entries.values()) {
      if (out.length >= count) break;
      out.push(entry);
    }
    return out;
  }

  async ack(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.#entries.delete(id);
  }

  async backlog(): Promise<number> {
    return this.#entries.size;
  }
}

export class EmbeddedHotStore implements HotStore {
  readonly feed = new EmbeddedFeed();
  readonly visibility = new EmbeddedVisibilityFeed();
  readonly outbox = new EmbeddedOutbox();
  #states = new Map<UserId, { state: UserState; idleAt: number | null }>();
  #leases = new Map<UserId, number>();
  #owners = new Map<DeviceId, UserId>();

  async load(userIds: readonly UserId[]): Promise<Map<UserId, UserState>> {
    const out = new Map<UserId, UserState>();
    for (const id of userIds) {
      const held = this.#states.get(id);
      if (held) out.set(id, held.state);
    }
    return out;
  }

  async records(userIds: readonly UserId[]): Promise<Map<UserId, PresenceRecord>> {
    const out = new Map<UserId, PresenceRecord>();
    for (const id of userIds) {
      const held = this.#states.get(id);
      if (held) out.set(id, { userId: id, published: held.state.published, version: held.state.version });
    }
    return out;
  }

  async commit(write: HotWrite): Promise<boolean> {
    const { next, before, expectedRev, transition, idleAt, now } = write;
    const held = this.#states.get(next.userId);
    if ((held?.state.rev ?? 0) !== expectedRev) return false;
    const stored = held?.state.devices ?? {};
    // A device dropped as expired that a refresh has kept alive since the read: decide again.
    for (const [id, was] of Object.entries(before)) {
      if (!next.devices[id] && was.expiresAt <= now && (stored[id]?.expiresAt ?? 0) > now) return false;
    }
    const devices: Record<DeviceId, Device> = { ...next.devices };
    for (const [id, device] of Object.entries(next.devices)) {
      const was = before[id];
      const kept = stored[id];
      // Untouched by this write: keeps the later timers a refresh gave it meanwhile.
      if (was && kept && was.expiresAt === device.expiresAt && kept.platform === device.platform && kept.expiresAt > device.expiresAt) {
        devices[id] = { ...device, lastSeenAt: kept.lastSeenAt, expiresAt: kept.expiresAt };
      }
    }
    this.#states.set(next.userId, { state: { ...next, devices }, idleAt });
    this.#leases.delete(next.userId);
    if (transition) {
      this.outbox.append({ transition });
      this.feed.publish(next.userId, { type: 'transition', transition });
    }
    return true;
  }

  async refresh(devices: readonly DeviceRefresh[], now: number, expiresAt: number): Promise<boolean[]> {
    return devices.map(({ userId, deviceId, platform }) => {
      const held = this.#states.get(userId);
      const refreshed = held && refreshDevice(held.state, deviceId, platform, now, expiresAt);
      if (!refreshed) return false;
      this.#states.set(userId, { state: refreshed, idleAt: held.idleAt });
      return true;
    });
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<UserId[]> {
    const claimed: UserId[] = [];
    for (const [userId, { state, idleAt }] of this.#states) {
      if (claimed.length >= limit) break;
      const due = Math.min(idleAt ?? Number.POSITIVE_INFINITY, ...Object.values(state.devices).map((d) => d.expiresAt));
      if (due > now || (this.#leases.get(userId) ?? 0) > now) continue;
      this.#leases.set(userId, now + leaseMs);
      claimed.push(userId);
    }
    return claimed;
  }

  async claimDevice(userId: UserId, deviceId: DeviceId): Promise<UserId> {
    const owner = this.#owners.get(deviceId);
    if (owner !== undefined) return owner;
    this.#owners.set(deviceId, userId);
    return userId;
  }

  async publishVisibility(userId: UserId): Promise<void> {
    this.visibility.publish(userId);
    this.feed.publish(userId, { type: 'visibility', userId });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

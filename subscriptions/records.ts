/**
 * The records every subscription of this process reads: the latest published record of each watched
 * user, taken straight from the transitions the feed brings (the higher version wins) and read from the
 * hot store only on a miss — one read for every subscription that misses in the same tick.
 *
 * A visibility event for a user (who may see them changed, or the feed lost its connection and may
 * have missed changes) drops their record: it is read again rather than trusted. A read that was in
 * flight across such an event answers the tick that asked, but is not kept.
 *
 * Each record carries its views, one per visibility (nothing, status, status and last-seen), and a user
 * shown as UNKNOWN — hidden from the viewer, whose record is then never read, or unreadable — has one
 * UNKNOWN view while watched: every viewer shown the same thing gets the same object, so serialized text
 * is shared by identity (frames.ts) and an unchanged view is recognised by reference.
 */
import DataLoader from 'dataloader';
import type { FeedEvent } from '../hot/port.js';
import { StoreUnavailableError, unknownView, viewPresence, type PresenceRecord, type PresenceView, type UserId, type Visibility } from '../presence/index.js';
import type { RecordSource } from '../service/visibility.js';

/** A held record with the views made of it. */
export class Held {
  readonly #views: (PresenceView | undefined)[] = [];
  constructor(readonly record: PresenceRecord) {}

  view(visibility: Visibility): PresenceView {
    const kind = !visibility.status ? 0 : visibility.lastSeen ? 2 : 1;
    return (this.#views[kind] ??= viewPresence(this.record.userId, this.record, visibility));
  }
}

export class WatchedRecords implements RecordSource<Held> {
  readonly #records = new Map<UserId, Held>();
  /** The UNKNOWN view of each watched user shown one without a record. */
  readonly #unknown = new Map<UserId, PresenceView>();
  /** Hot-store reads, batched over every subscription that misses in the same tick. */
  readonly #loader: DataLoader<UserId, PresenceRecord | null>;
  /** Hot-store reads made (metrics). */
  reads = 0;
  /** Bumped by every visibility event: a read in flight across one is used, never kept. */
  #generation = 0;

  /** `read`: published records of users this process holds none of (service/presence.ts `records`). */
  constructor(read: (ids: readonly UserId[]) => Promise<Map<UserId, PresenceRecord>>) {
    this.#loader = new DataLoader(
      async (ids) => {
        this.reads++;
        try {
          const loaded = await read(ids);
          return ids.map((id) => loaded.get(id) ?? null);
        } catch (error) {
          if (!(error instanceof StoreUnavailableError)) throw error;
          return ids.map(() => null);
        }
      },
      { cache: false },
    );
  }

  /** Feed events for watched users come here first, before the watchers are told. */
  observe(userId: UserId, event: FeedEvent): void {
    if (event.type === 'transition') {
      const { transition } = event;
      const held = this.#records.get(userId);
      if (!held || held.record.version < transition.version) {
        this.#records.set(userId, new Held({ userId, published: transition.published, version: transition.version }));
      }
      return;
    }
    this.#generation++;
    this.#records.delete(userId);
  }

  /** The last local watcher of a user left: forget their record and views. */
  forget(userId: UserId): void {
    this.#records.delete(userId);
    this.#unknown.delete(userId);
  }

  held(userId: UserId): Held | undefined {
    return this.#records.get(userId);
  }

  async read(userIds: readonly UserId[]): Promise<(Held | null)[]> {
    const generation = this.#generation;
    const loaded = await this.#loader.loadMany(userIds);
    return userIds.map((id, i) => {
      const record = loaded[i];
      const fresh = record && !(record instanceof Error) ? new Held(record) : null;
      const held = this.#records.get(id);
      // An event may have brought a newer version while the read was in flight.
      if (held && (!fresh || held.record.version >= fresh.record.version)) return held;
      if (fresh && generation === this.#generation) this.#records.set(id, fresh);
      return fresh;
    });
  }

  view(userId: UserId, held: Held | null, visibility: Visibility): PresenceView {
    if (held) return held.view(visibility);
    let unknown = this.#unknown.get(userId);
    if (!unknown) this.#unknown.set(userId, (unknown = unknownView(userId)));
    return unknown;
  }
}

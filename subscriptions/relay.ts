/**
 * The read side of every subscription in this process: what each viewer may see of each watched user,
 * computed from process-wide caches instead of one store round trip per subscription per event.
 *
 * - Records: the latest published record of each watched user, taken straight from transition events
 *   (the higher version wins), loaded once — batched across all subscriptions of a tick — on a miss.
 * - Relations: what the contact graph says about (target, viewer), loaded with one `audience` call per
 *   viewer per tick on a miss, and dropped the moment a visibility event arrives for the target (its
 *   privacy, contacts or blocks changed) or for the viewer (their own mode, for reciprocity). A
 *   visibility event is also what the feed emits when its connection drops or comes back, so nothing
 *   stale survives a Redis outage. Entries older than RELATION_TTL_MS are read again regardless: a
 *   backstop should an event ever be lost.
 *
 * A store that cannot be read yields UNKNOWN for what it would have answered, and nothing is cached.
 */
import DataLoader from 'dataloader';
import type { ContactGraph } from '../graph/port.js';
import type { FeedEvent } from '../hot/port.js';
import {
  decideVisibility,
  StoreUnavailableError,
  viewPresence,
  type PresenceRecord,
  type PresenceView,
  type PrivacyMode,
  type Relation,
  type UserId,
  type Visibility,
} from '../presence/index.js';

export const RELATION_TTL_MS = 30_000;

interface CachedAudience {
  /** undefined: the viewer is not registered (or has no mode). */
  readonly viewerPrivacy: PrivacyMode | undefined;
  readonly relations: Map<UserId, Relation | null>;
  readonly at: number;
}

export interface RelayDeps {
  /** Published records for users this process holds none of (one batched hot-store read). */
  readonly records: (ids: readonly UserId[]) => Promise<Map<UserId, PresenceRecord>>;
  readonly graph: ContactGraph;
  readonly clock: () => number;
}

/**
 * A held record with the views made of it, one per visibility (nothing, status, status and last-seen):
 * every viewer shown the same thing gets the same object, so serialized text can be shared by identity
 * (subscriptions/frames.ts) and an unchanged view is recognised by reference.
 */
class Held {
  readonly #views: (PresenceView | undefined)[] = [];
  constructor(readonly record: PresenceRecord) {}

  view(visibility: Visibility): PresenceView {
    const kind = !visibility.status ? 0 : visibility.lastSeen ? 2 : 1;
    return (this.#views[kind] ??= viewPresence(this.record.userId, this.record, visibility));
  }
}

export class PresenceRelay {
  readonly #deps: RelayDeps;
  readonly #records = new Map<UserId, Held>();
  /** viewer → what the graph said about the targets this viewer watches. */
  readonly #audiences = new Map<UserId, CachedAudience>();
  /** Open subscriptions per viewer in this process. */
  readonly #viewers = new Map<UserId, number>();
  /** Hot-store reads, batched over every subscription that misses in the same tick. */
  readonly #recordLoader: DataLoader<UserId, PresenceRecord | null>;
  /** Round trips made, for tests and metrics. */
  readonly reads = { hot: 0, graph: 0 };
  /**
   * Bumped by every visibility event. A read that was in flight across one is used for the tick that
   * asked, never cached: it may predate the change the event announced.
   */
  #generation = 0;

  constructor(deps: RelayDeps) {
    this.#deps = deps;
    this.#recordLoader = new DataLoader(
      async (ids) => {
        this.reads.hot++;
        try {
          const loaded = await deps.records(ids);
          return ids.map((id) => loaded.get(id) ?? null);
        } catch (error) {
          if (!(error instanceof StoreUnavailableError)) throw error;
          return ids.map(() => null);
        }
      },
      { cache: false },
    );
  }

  /** Feed events for watched users come here first (before the watchers are told). */
  observe(userId: UserId, event: FeedEvent): void {
    if (event.type === 'transition') {
      const { transition } = event;
      const held = this.#records.get(userId);
      if (!held || held.record.version < transition.version) {
        this.#records.set(userId, new Held({ userId, published: transition.published, version: transition.version }));
      }
      return;
    }
    // Visibility (or a feed reconnect): trust nothing about this user, as target or as viewer.
    this.#generation++;
    this.#records.delete(userId);
    this.#audiences.delete(userId);
    for (const audience of this.#audiences.values()) audience.relations.delete(userId);
  }

  /** The last local watcher of a user left: forget what was held for them. */
  forget(userId: UserId): void {
    this.#records.delete(userId);
  }

  /** A subscription of `viewerId` opened in this process. */
  open(viewerId: UserId): void {
    this.#viewers.set(viewerId, (this.#viewers.get(viewerId) ?? 0) + 1);
  }

  /** A subscription of `viewerId` ended; after their last one, what was cached for them goes. */
  close(viewerId: UserId): void {
    const left = (this.#viewers.get(viewerId) ?? 1) - 1;
    if (left > 0) {
      this.#viewers.set(viewerId, left);
      return;
    }
    this.#viewers.delete(viewerId);
    this.#audiences.delete(viewerId);
  }

  /** Viewers with cached relations (tests, metrics). */
  get cachedViewers(): number {
    return this.#audiences.size;
  }

  /** What `viewerId` may see of each of `ids`, now. */
  async read(viewerId: UserId, ids: readonly UserId[]): Promise<PresenceView[]> {
    const [records, audience] = await Promise.all([this.#recordsOf(ids), this.#audienceOf(viewerId, ids)]);
    return ids.map((id, i) => {
      const relation = audience?.relations.get(id);
      const visibility = decideVisibility(viewerId, id, audience?.viewerPrivacy, relation ?? undefined);
      const held = records[i];
      return held ? held.view(visibility) : viewPresence(id, null, visibility);
    });
  }

  /**
   * The same as `read`, answered from what is held without waiting — or null when anything (a record, a
   * relation, a relation past its TTL) must be read first.
   */
  viewsNow(viewerId: UserId, ids: readonly UserId[]): PresenceView[] | null {
    const audience = this.#audiences.get(viewerId);
    if (!audience || this.#deps.clock() - audience.at > RELATION_TTL_MS) return null;
    const out: PresenceView[] = [];
    for (const id of ids) {
      const held = this.#records.get(id);
      // One lookup: null is a relation read as "none", undefined one not read yet (the viewer needs none).
      const relation = audience.relations.get(id);
      if (!held || (relation === undefined && id !== viewerId)) return null;
      out.push(held.view(decideVisibility(viewerId, id, audience.viewerPrivacy, relation ?? undefined)));
    }
    return out;
  }

  async #recordsOf(ids: readonly UserId[]): Promise<(Held | null)[]> {
    const out = ids.map((id) => this.#records.get(id) ?? null);
    const missing = ids.filter((_, i) => out[i] === null);
    if (missing.length === 0) return out;
    const generation = this.#generation;
    const loaded = await this.#recordLoader.loadMany(missing);
    const fresh = new Map<UserId, Held>();
    loaded.forEach((record, k) => {
      if (record && !(record instanceof Error)) fresh.set(missing[k]!, new Held(record));
    });
    if (generation === this.#generation) {
      for (const [id, read] of fresh) {
        const held = this.#records.get(id);
        // An event may have brought a newer version while the read was in flight.
        if (!held || held.record.version < read.record.version) this.#records.set(id, read);
      }
    }
    return ids.map((id) => newer(this.#records.get(id), fresh.get(id)));
  }

  /** One `audience` call for the targets this viewer has no fresh relation for; null if the graph is down. */
  async #audienceOf(viewerId: UserId, ids: readonly UserId[]): Promise<CachedAudience | null> {
    const now = this.#deps.clock();
    let cached = this.#audiences.get(viewerId);
    if (cached && now - cached.at > RELATION_TTL_MS) {
      this.#audiences.delete(viewerId);
      cached = undefined;
    }
    const missing = ids.filter((id) => id !== viewerId && !cached?.relations.has(id));
    if (cached && missing.length === 0) return cached;
    this.reads.graph++;
    const generation = this.#generation;
    try {
      const audience = await this.#deps.graph.audience(viewerId, missing);
      const answered = new Map<UserId, Relation | null>(missing.map((id) => [id, audience.relations.get(id) ?? null]));
      if (generation !== this.#generation) {
        // Raced a visibility change: good for this tick only.
        return { viewerPrivacy: audience.viewerPrivacy, relations: new Map([...(cached?.relations ?? []), ...answered]), at: now };
      }
      const entry = this.#audiences.get(viewerId) ?? { viewerPrivacy: audience.viewerPrivacy, relations: new Map(), at: now };
      for (const [id, relation] of answered) entry.relations.set(id, relation);
      this.#audiences.set(viewerId, entry);
      return entry;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return null;
    }
  }
}

function newer(a: Held | undefined, b: Held | undefined): Held | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return a.record.version >= b.record.version ? a : b;
}

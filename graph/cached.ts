/**
 * A ContactGraph that keeps what it read about who may see whom — each (target, viewer) relation, each
 * viewer's own mode, each contacts page — so reads that repeat (a client polling presences, a contacts
 * page re-read, the next batch of a busy viewport) cost no graph round trip.
 *
 * It stays right by listening, on the hot store's visibility feed, to every user it holds anything
 * about: a change to a user's privacy, contacts or blocks is published there (by whichever process made
 * it) and drops everything that depended on that user — their relations as a target, their own mode,
 * their contacts pages. A change made through this instance is forgotten at once, before it is even
 * published. Nothing read can outlive a change it might have missed:
 *
 * - it listens before it reads (the feed resolves only once its SUBSCRIBE is acknowledged), and keeps a
 *   read only if no change to what it read was heard while the read was in flight;
 * - when the feed cannot promise to hear changes (its connection dropped, or is back and re-subscribing)
 *   everything is dropped, and reads made meanwhile pass through uncached;
 * - whatever was heard, an entry older than `ttlMs` is read again (the backstop for a change published
 *   while the publishing process could not reach the feed; hot-store announcements retry until it can).
 *
 * Renewed ahead: an entry used past half its TTL is still answered from memory — it is within its TTL —
 * and renewed in the background (one renewal per viewer or page at a time, under the same rules; one
 * in flight per cache, the rest in line), so a reader that comes back within the TTL never waits for the
 * graph once it has been read, and a wave of renewals never floods it. Each entry keeps the revision of
 * the user it depends on (graph/port.ts), so a renewal first asks the graph only which of those users
 * changed — an index seek per user, no edges, usually an empty answer — and an entry whose user did not
 * change, and about whom no change was heard meanwhile, lives on as it is, with a new life; only the
 * changed ones are read again. (Reading a viewer's 500 relations again every half TTL is work for Neo4j
 * and for this process's decoding, mostly to learn that nothing changed.)
 *
 * Asked once for many viewers: a user held by many viewers (a popular contact) would be asked about by
 * each of their renewals. So the cache remembers, per user, the revision the latest check or read found
 * and when that check began; a renewal within `confirmedForMs` of it, about an entry at that revision,
 * with no change heard since, does not ask again. What it extends then lives as from that earlier check
 * (the renewal's one life begins at the oldest confirmation it relied on), so nothing is held longer than
 * its TTL from the last time the graph vouched for it. (Every renewal names all 500 of a viewer's users:
 * without this, a popular user would be packed into the check of every viewer holding them.)
 *
 * Unregistered users are never cached (they may register any moment). Bounded by `maxEntries`: past it
 * the cache starts over and stops listening to everyone it held.
 */
import { heldLife, Renewals, StoreUnavailableError, type HeldLife, type PrivacyMode, type Relation, type UserId } from '../presence/index.js';
import type { VisibilityFeed } from '../hot/port.js';
import type { Audience, ContactGraph, ContactPage, Revision } from './port.js';

/** How long a read is held at most, whatever was heard: the backstop should a change go unannounced. */
export const RELATION_TTL_MS = 60_000;

export interface CachedContactGraphOptions {
  /** Entries (relations, modes, pages) held at most; past it the cache starts over. Default 500 000. */
  readonly maxEntries?: number;
  /** An entry older than this is read again, whatever was heard (each read's entries up to a quarter sooner, at random, so reads made together do not all expire at once). Default 60 000 ms. */
  readonly ttlMs?: number;
  /** Past this share of its life, an entry used is renewed in the background. Default 0.5; 1: never ahead. */
  readonly renewAfter?: number;
  /** A user the graph vouched for this recently is not asked about again by a renewal. Default 5 000 ms; 0: always asked. */
  readonly confirmedForMs?: number;
  readonly clock?: () => number;
  /** In [0, 1): where in the last quarter of the TTL each read's life ends (tests pin it). Default Math.random. */
  readonly random?: () => number;
}

/**
 * The latest revision the graph vouched for, for one user, and when the check or read that did began.
 * Updated in place: one per user for as long as the cache holds them, not one per check (a renewal
 * vouches for up to 500 users, and objects replaced in a long-lived map are old-space garbage).
 */
interface Confirmed {
  revision: Revision;
  at: number;
}

/**
 * A value with the revision of the user it depends on (the target of a relation, the viewer of a mode,
 * the owner of a page) and its life (presence/held.ts: the TTL less up to a quarter at random, renewed
 * ahead) — extended in place when a renewal finds that user unchanged.
 */
interface Held<T> {
  readonly value: T;
  readonly revision: Revision | undefined;
  until: number;
  renewFrom: number;
}

/** What the cache answered from memory, what it had to read, and what it read again ahead (metrics). */
export interface CacheStats {
  hits: number;
  misses: number;
  renewals: number;
}

export class CachedContactGraph implements ContactGraph {
  readonly #inner: ContactGraph;
  readonly #feed: VisibilityFeed;
  readonly #ttlMs: number;
  readonly #renewAfter: number;
  readonly #maxEntries: number;
  readonly #confirmedForMs: number;
  readonly #clock: () => number;
  readonly #random: () => number;
  /**
   * viewer → target → the target's relation to that viewer: a hit is one table of the viewer's own,
   * however many targets (by target first, a 500-target hit was 500 lookups across a map per target).
   */
  readonly #relations = new Map<UserId, Map<UserId, Held<Relation>>>();
  /** target → the viewers holding a relation of theirs: what a change of the target's drops. */
  readonly #viewersOf = new Map<UserId, Set<UserId>>();
  /** viewer → their own mode (registered viewers only). */
  readonly #privacy = new Map<UserId, Held<PrivacyMode>>();
  /** user → `${first}|${after}` → a page of their contacts. */
  readonly #pages = new Map<UserId, Map<string, Held<ContactPage>>>();
  #entries = 0;
  /** Users whose visibility channel this cache listens to. */
  readonly #listened = new Set<UserId>();
  /** Bumped by every change heard and every start-over; reads remember it when they begin. */
  #generation = 0;
  /** When each listened user last changed (a generation). */
  readonly #changedAt = new Map<UserId, number>();
  /** When the cache last started over (a generation). */
  #resetAt = 0;
  /** Per listened user, the latest revision a check or read found; dropped with their entries when they change. */
  readonly #confirmed = new Map<UserId, Confirmed>();
  /** Renewals in flight: a viewer's relations, or `${user}|${page key}`. */
  readonly #renewals = new Renewals<string>();
  readonly stats: CacheStats = { hits: 0, misses: 0, renewals: 0 };

  constructor(inner: ContactGraph, feed: VisibilityFeed, options: CachedContactGraphOptions = {}) {
    this.#inner = inner;
    this.#feed = feed;
    this.#ttlMs = options.ttlMs ?? RELATION_TTL_MS;
    this.#renewAfter = Math.min(Math.max(options.renewAfter ?? 0.5, 0), 1);
    this.#maxEntries = options.maxEntries ?? 500_000;
    this.#confirmedForMs = Math.max(options.confirmedForMs ?? 5_000, 0);
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    feed.onChange((userId) => (userId === null ? this.#startOver(false) : this.#forget(userId)));
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries;
  }

  /** Background renewals under way or waiting (metrics). */
  get renewing(): number {
    return this.#renewals.pending;
  }

  async audience(viewerId: UserId, targetIds: readonly UserId[]): Promise<Audience> {
    const now = this.#clock();
    const privacy = this.#fresh(this.#privacy.get(viewerId), now);
    const relations = new Map<UserId, Relation>();
    /** The held entries answered, in the order of `relations`' first keys (for the revisions, if asked). */
    const answered: Held<Relation>[] = [];
    const missing = new Set<UserId>();
    const aging: UserId[] = [];
    const byTarget = this.#relations.get(viewerId);
    // An id named twice is skipped by the tables it went into (no set of every target made to find them).
    for (const id of targetIds) {
      if (relations.has(id) || missing.has(id)) continue;
      const held = this.#fresh(byTarget?.get(id), now);
      if (!held) missing.add(id);
      else {
        relations.set(id, held.value);
        answered.push(held);
        if (now >= held.renewFrom) aging.push(id);
      }
    }
    if (privacy && missing.size === 0) {
      this.stats.hits++;
      if (aging.length > 0 || now >= privacy.renewFrom) this.#renewAudience(viewerId, aging);
      return new Answer(privacy.value, relations, answered, viewerId, privacy.revision);
    }
    this.stats.misses++;
    const read = await this.#readAudience(viewerId, [...missing]);
    for (const [id, relation] of read.relations) relations.set(id, relation);
    return new Answer(read.viewerPrivacy, relations, answered, viewerId, undefined, read.revisions);
  }

  /**
   * What is held for `viewerId`, for synchronous look-ups target by target — or undefined when their own
   * mode is not held fresh. Each `relationOf` answers from memory or says a read is needed; once the
   * look-ups are done, `done()` counts the hit and renews ahead what they found aging, as `audience`
   * does. Nothing is gathered per target: the subscription hub asks this for every batch it sends.
   */
  heldFor(viewerId: UserId): HeldAudience | undefined {
    const now = this.#clock();
    const privacy = this.#fresh(this.#privacy.get(viewerId), now);
    if (!privacy) return undefined;
    return new HeldView(privacy, this.#relations.get(viewerId), now, (aging) => {
      this.stats.hits++;
      if (aging || now >= privacy.renewFrom) this.#renewAudience(viewerId, aging ?? []);
    });
  }

  async contacts(userId: UserId, first: number, after: UserId | null): Promise<ContactPage> {
    const key = `${first}|${after ?? ''}`;
    const now = this.#clock();
    const held = this.#fresh(this.#pages.get(userId)?.get(key), now);
    if (held) {
      this.stats.hits++;
      if (now >= held.renewFrom) {
        this.#renew(`${userId}|${key}`, async () => {
          const { stale, life } = await this.#extend([[userId, held]]);
          if (stale.size > 0) await this.#readPage(userId, first, after, key, life);
        });
      }
      return held.value;
    }
    this.stats.misses++;
    return this.#readPage(userId, first, after, key);
  }

  /**
   * Reads `viewerId`'s mode and relations to `targetIds` from the graph, keeping what may be kept. One life
   * for all it brought (presence/held.ts): it comes due, and is renewed, as one read — with `life`, the
   * one a renewal gave what it extended, so a change read again does not split the viewer's entries.
   */
  async #readAudience(viewerId: UserId, targetIds: readonly UserId[], life?: HeldLife): Promise<Audience> {
    const { value: read, keep, at } = await this.#read([viewerId, ...targetIds], () => this.#inner.audience(viewerId, targetIds));
    life ??= this.#life(at);
    if (read.viewerPrivacy !== undefined && keep(viewerId)) {
      this.#put(this.#privacy, viewerId, read.viewerPrivacy, read.revisions.get(viewerId), life);
      this.#confirm(viewerId, read.revisions.get(viewerId), at);
    }
    let byTarget = this.#relations.get(viewerId);
    for (const [id, relation] of read.relations) {
      if (!keep(id)) continue;
      this.#confirm(id, read.revisions.get(id), at);
      if (!byTarget) this.#relations.set(viewerId, (byTarget = new Map()));
      this.#put(byTarget, id, relation, read.revisions.get(id), life);
      let viewers = this.#viewersOf.get(id);
      if (!viewers) this.#viewersOf.set(id, (viewers = new Set()));
      viewers.add(viewerId);
    }
    this.#bound();
    return read;
  }

  async #readPage(userId: UserId, first: number, after: UserId | null, key: string, life?: HeldLife): Promise<ContactPage> {
    const { value: page, keep, at } = await this.#read([userId], () => this.#inner.contacts(userId, first, after));
    if (keep(userId)) {
      let byKey = this.#pages.get(userId);
      if (!byKey) this.#pages.set(userId, (byKey = new Map()));
      this.#put(byKey, key, page, page.revision, life ?? this.#life(at));
      this.#confirm(userId, page.revision, at);
      this.#bound();
    }
    return page;
  }

  /** Renews the viewer's mode and their relations to `targetIds`: extended where unchanged, read again where not. */
  #renewAudience(viewerId: UserId, targetIds: readonly UserId[]): void {
    this.#renew(viewerId, async () => {
      const held: [UserId, Held<unknown>][] = [];
      const privacy = this.#privacy.get(viewerId);
      if (privacy) held.push([viewerId, privacy]);
      const relations = new Set<UserId>();
      const byTarget = this.#relations.get(viewerId);
      for (const id of targetIds) {
        const relation = byTarget?.get(id);
        if (!relation) continue;
        held.push([id, relation]);
        relations.add(id);
      }
      const { stale, life } = await this.#extend(held);
      // Changed, or dropped since the use that asked for the renewal: read as before.
      const again = targetIds.filter((id) => stale.has(id) || !relations.has(id));
      if (again.length > 0 || !privacy || stale.has(viewerId)) await this.#readAudience(viewerId, again, life);
    });
  }

  /**
   * Asks the graph which users the `held` entries depend on changed since they were read — all but those
   * it vouched for, at the entry's revision, within `confirmedForMs` — and gives each entry whose user did
   * not, and about whom no change was heard meanwhile (nor a start-over), one `life`: drawn as of the
   * oldest of the check and the confirmations relied on, so each is as current as a read made then.
   * The users whose entries must be read again, and that life (for reading them).
   */
  async #extend(held: readonly (readonly [UserId, Held<unknown>])[]): Promise<{ stale: Set<UserId>; life: HeldLife }> {
    const began = this.#clock();
    const known = new Map<UserId, Revision>();
    const stale = new Set<UserId>();
    for (const [id, entry] of held) {
      // No revision, or two entries of one user read at different revisions (a viewer in their own list).
      if (entry.revision === undefined || (known.has(id) && known.get(id) !== entry.revision)) stale.add(id);
      else known.set(id, entry.revision);
    }
    for (const id of stale) known.delete(id);
    let from = began;
    const ask = new Map<UserId, Revision>();
    for (const [id, revision] of known) {
      const confirmed = this.#confirmed.get(id);
      if (confirmed?.revision === revision && began - confirmed.at < this.#confirmedForMs) from = Math.min(from, confirmed.at);
      else ask.set(id, revision);
    }
    const life = this.#life(from);
    if (known.size === 0) return { stale, life };
    const { value: changed, keep } = ask.size > 0 ? await this.#read([...ask.keys()], () => this.#inner.changed(ask)) : NOTHING_CHANGED;
    for (const [id, entry] of held) {
      if (stale.has(id)) continue;
      // Asked: unchanged, and nothing heard since the check began. Not asked: still vouched for (a change
      // heard since, or a start-over, dropped the confirmation with everything else about the user).
      const asked = ask.has(id);
      const current = asked ? !changed.has(id) && keep(id) : this.#confirmed.get(id)?.revision === entry.revision;
      if (!current) stale.add(id);
      else {
        entry.until = life.until;
        entry.renewFrom = life.renewFrom;
        if (asked) this.#confirm(id, entry.revision, began);
      }
    }
    return { stale, life };
  }

  /** Notes that the graph vouched for `userId` at `revision` as of `at` (a kept read or check). */
  #confirm(userId: UserId, revision: Revision | undefined, at: number): void {
    if (revision === undefined) return;
    const confirmed = this.#confirmed.get(userId);
    if (!confirmed) this.#confirmed.set(userId, { revision, at });
    else if (confirmed.at <= at) {
      confirmed.revision = revision;
      confirmed.at = at;
    }
  }

  /** One background read per key at a time (presence/held.ts). */
  #renew(key: string, read: () => Promise<unknown>): void {
    if (this.#renewals.renew([key], read)) this.stats.renewals++;
  }

  users(userIds: readonly UserId[]): Promise<Map<UserId, PrivacyMode>> {
    return this.#inner.users(userIds);
  }

  changed(known: ReadonlyMap<UserId, Revision>): Promise<Set<UserId>> {
    return this.#inner.changed(known);
  }

  /**
   * Nothing to forget: an unregistered user is never cached, as target or as viewer, and registering a
   * registered one changes nothing (every sign-in lands here: forgetting would make each one a miss for
   * everyone holding the user).
   */
  ensureUser(userId: UserId): Promise<void> {
    return this.#inner.ensureUser(userId);
  }

  async setPrivacy(userId: UserId, mode: PrivacyMode): Promise<void> {
    await this.#changing(userId, () => this.#inner.setPrivacy(userId, mode));
  }

  // An edge change alters who may see its owner (the first user), so it is theirs to forget.
  addContact(userId: UserId, contactId: UserId): Promise<boolean> {
    return this.#changing(userId, () => this.#inner.addContact(userId, contactId));
  }

  removeContact(userId: UserId, contactId: UserId): Promise<boolean> {
    return this.#changing(userId, () => this.#inner.removeContact(userId, contactId));
  }

  block(userId: UserId, blockedId: UserId): Promise<boolean> {
    return this.#changing(userId, () => this.#inner.block(userId, blockedId));
  }

  unblock(userId: UserId, blockedId: UserId): Promise<boolean> {
    return this.#changing(userId, () => this.#inner.unblock(userId, blockedId));
  }

  ping(): Promise<void> {
    return this.#inner.ping();
  }

  async close(): Promise<void> {
    this.#startOver(false);
    await this.#inner.close();
  }

  /**
   * A write, with what depended on `userId` forgotten once it is done (or failed: it may have applied).
   * A read racing it is not kept either: the forgetting counts as a change heard after the read began.
   */
  async #changing<T>(userId: UserId, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.#forget(userId);
    }
  }

  /**
   * Listens to `subjects`, then reads. `keep(id)` says whether what was read about `id` may be kept: the
   * feed promised to tell of any change, and none was heard since the read began.
   */
  async #read<T>(subjects: readonly UserId[], read: () => Promise<T>): Promise<{ value: T; keep: (id: UserId) => boolean; at: number }> {
    let listening = true;
    try {
      await this.#feed.listen(subjects);
      for (const id of subjects) this.#listened.add(id);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      listening = false;
    }
    const since = this.#generation;
    const at = this.#clock();
    const value = await read();
    return { value, at, keep: (id) => listening && this.#resetAt <= since && (this.#changedAt.get(id) ?? 0) <= since };
  }

  #fresh<T>(held: Held<T> | undefined, now: number): Held<T> | undefined {
    return held && now < held.until ? held : undefined;
  }

  /** The life of a read made at `at`. */
  #life(at: number): HeldLife {
    return heldLife(at, this.#ttlMs, this.#renewAfter, this.#random());
  }

  #put<K, T>(map: Map<K, Held<T>>, key: K, value: T, revision: Revision | undefined, life: HeldLife): void {
    if (!map.has(key)) this.#entries++;
    map.set(key, { value, revision, until: life.until, renewFrom: life.renewFrom });
  }

  #forget(userId: UserId): void {
    // Only listened users can have entries, or reads in flight that may keep some.
    if (this.#listened.has(userId)) this.#changedAt.set(userId, ++this.#generation);
    this.#confirmed.delete(userId);
    // Their relations to every viewer holding one; what they hold as a viewer depends on others, and stays.
    for (const viewerId of this.#viewersOf.get(userId) ?? []) {
      const byTarget = this.#relations.get(viewerId);
      if (!byTarget?.delete(userId)) continue;
      this.#entries--;
      if (byTarget.size === 0) this.#relations.delete(viewerId);
    }
    this.#viewersOf.delete(userId);
    this.#entries -= (this.#privacy.has(userId) ? 1 : 0) + (this.#pages.get(userId)?.size ?? 0);
    this.#privacy.delete(userId);
    this.#pages.delete(userId);
  }

  #bound(): void {
    if (this.#entries > this.#maxEntries) this.#startOver(true);
  }

  /** Drops everything; with `unlisten`, also stops listening to everyone (a bound was passed). */
  #startOver(unlisten: boolean): void {
    this.#resetAt = ++this.#generation;
    this.#relations.clear();
    this.#viewersOf.clear();
    this.#privacy.clear();
    this.#pages.clear();
    this.#changedAt.clear();
    this.#confirmed.clear();
    this.#entries = 0;
    if (!unlisten) return;
    const listened = [...this.#listened];
    this.#listened.clear();
    if (listened.length > 0) this.#feed.unlisten(listened).catch(() => undefined);
  }
}

/** What `heldFor` answers: the viewer's mode, and their relations as they are held now. */
export interface HeldAudience {
  readonly viewerPrivacy: PrivacyMode;
  /** The target's relation to the viewer, held and fresh; undefined when it must be read. */
  relationOf(targetId: UserId): Relation | undefined;
  /** The look-ups answered a read: count it, and renew ahead what they found aging. */
  done(): void;
}

class HeldView implements HeldAudience {
  readonly viewerPrivacy: PrivacyMode;
  #aging: UserId[] | undefined;

  constructor(
    privacy: Held<PrivacyMode>,
    readonly byTarget: ReadonlyMap<UserId, Held<Relation>> | undefined,
    readonly now: number,
    readonly finish: (aging: UserId[] | undefined) => void,
  ) {
    this.viewerPrivacy = privacy.value;
  }

  relationOf(targetId: UserId): Relation | undefined {
    const held = this.byTarget?.get(targetId);
    if (!held || this.now >= held.until) return undefined;
    if (this.now >= held.renewFrom) (this.#aging ??= []).push(targetId);
    return held.value;
  }

  done(): void {
    this.finish(this.#aging);
  }
}

/** What a check that was not needed would have said: nothing changed, everything may be kept. */
const NOTHING_CHANGED = { value: new Set<UserId>(), keep: () => true } as const;

/**
 * An audience answered (at least partly) from memory, whose revisions are gathered only when asked for:
 * the cache's own callers (the loaders, the relay) never ask, and a Map.set per target would slow every
 * 500-target hit for them. `answered[i]` is the held entry of the i-th key of `relations`; the keys
 * after them (and the viewer's, then) came from `read`.
 */
class Answer implements Audience {
  readonly viewerPrivacy: PrivacyMode | undefined;
  readonly relations: ReadonlyMap<UserId, Relation>;
  readonly #answered: readonly Held<Relation>[];
  readonly #viewerId: UserId;
  readonly #viewerRevision: Revision | undefined;
  readonly #read: ReadonlyMap<UserId, Revision> | undefined;
  #revisions: Map<UserId, Revision> | undefined;

  constructor(viewerPrivacy: PrivacyMode | undefined, relations: ReadonlyMap<UserId, Relation>, answered: readonly Held<Relation>[], viewerId: UserId, viewerRevision: Revision | undefined, read?: ReadonlyMap<UserId, Revision>) {
    this.viewerPrivacy = viewerPrivacy;
    this.relations = relations;
    this.#answered = answered;
    this.#viewerId = viewerId;
    this.#viewerRevision = viewerRevision;
    this.#read = read;
  }

  get revisions(): ReadonlyMap<UserId, Revision> {
    if (this.#revisions) return this.#revisions;
    const out = new Map<UserId, Revision>();
    if (this.#viewerRevision !== undefined) out.set(this.#viewerId, this.#viewerRevision);
    let i = 0;
    for (const id of this.relations.keys()) {
      if (i === this.#answered.length) break;
      const revision = this.#answered[i++]!.revision;
      if (revision !== undefined) out.set(id, revision);
    }
    for (const [id, revision] of this.#read ?? []) out.set(id, revision);
    return (this.#revisions = out);
  }
}

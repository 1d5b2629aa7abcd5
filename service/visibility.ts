/**
 * Who may see what: the one place where a viewer's view of other users is made, for every path a viewer
 * can reach — queries, subscription snapshots and every later event.
 *
 * A view walks one line: the viewer's relations to the targets, from the one relation cache in front of
 * the contact graph (graph/cached.ts, kept right by the visibility feed) → the rule
 * (presence/privacy.ts `decideVisibility`, which fails closed) → the records of only the users the
 * viewer may see → the view (presence/view.ts). A user hidden from the viewer costs no hot-store read.
 * A graph that cannot be read hides everyone it would have answered for (UNKNOWN); a hot store that
 * cannot be read shows UNKNOWN for the users it would have read, never a stale ONLINE.
 *
 * The viewer needs no relation to themself (they see all of their own) and always exists.
 */
import type { HeldAudience } from '../graph/cached.js';
import type { Audience } from '../graph/port.js';
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
import { listLoader, type ListLoader } from './batch.js';
import { UnknownUsersError } from './errors.js';

/** The relation reads views are made from: the relation cache (graph/cached.ts). */
export interface Relations {
  /** The viewer's own mode and each registered target's relation to them. */
  audience(viewerId: UserId, targetIds: readonly UserId[]): Promise<Audience>;
  /** What is held for the viewer, looked up target by target; undefined when their own mode must be read first. */
  heldFor(viewerId: UserId): HeldAudience | undefined;
}

/**
 * Where the records of a process-wide read come from (subscriptions/records.ts: what the feed brought),
 * and how a view of one is made (there: one shared object per record and visibility).
 */
export interface RecordSource<R> {
  /** The record held now, without waiting; undefined where one must be read. */
  held(userId: UserId): R | undefined;
  /** Reads records, in order (the newer where one arrived meanwhile); null where the hot store cannot be read (→ UNKNOWN). */
  read(userIds: readonly UserId[]): Promise<readonly (R | null)[]>;
  view(userId: UserId, record: R | null, visibility: Visibility): PresenceView;
}

/** One viewer's reads for one request: each store read once per tick, each id at most once per request. */
export interface ViewerReads {
  /**
   * What the viewer is shown of each of `ids`, in order (duplicates kept). With `mustExist`, fails with
   * UnknownUsersError — from the same graph read, before any record is read — when an id names no
   * registered user.
   */
  views(ids: readonly UserId[], options?: { readonly mustExist?: boolean }): Promise<PresenceView[]>;
  /** UnknownUsersError when an id names no registered user; ids the graph cannot vouch for pass (they read UNKNOWN). */
  requireRegistered(ids: readonly UserId[]): Promise<void>;
  /** The viewer's own mode; undefined when the graph cannot be read. */
  privacy(): Promise<PrivacyMode | undefined>;
}

export interface VisibilityDeps {
  readonly relations: Relations;
  /** Published records, in one hot-store read (service/presence.ts `records`); throws StoreUnavailableError('hot'). */
  readonly records: (userIds: readonly UserId[]) => Promise<Map<UserId, PresenceRecord>>;
  /** A read answered UNKNOWN because this store could not be read (metrics). */
  readonly unavailable?: (store: 'hot' | 'graph') => void;
}

/** What the graph said about one target for one viewer: its relation, not registered, or unreadable. */
type Audit = Relation | 'missing' | 'unavailable';

export class VisibilityService {
  readonly #deps: VisibilityDeps;
  /** Relation reads the subscription path could not answer from memory (metrics). */
  graphReads = 0;

  constructor(deps: VisibilityDeps) {
    this.#deps = deps;
  }

  /** The reads of one request by `viewerId`. */
  forRequest(viewerId: UserId): ViewerReads {
    return new RequestReads(viewerId, this.#deps);
  }

  /**
   * What `viewerId` may see of `ids` now, in order, with records from `source` (subscriptions: snapshots
   * and every later batch).
   */
  async views<R>(viewerId: UserId, ids: readonly UserId[], source: RecordSource<R>): Promise<PresenceView[]> {
    const audience = await this.#audience(viewerId, ids);
    const visibility = ids.map((id) => visibilityOf(viewerId, id, audience));
    const records: (R | null | undefined)[] = ids.map((id, i) => (visibility[i]!.status ? source.held(id) : null));
    const missing: number[] = [];
    records.forEach((record, i) => record === undefined && missing.push(i));
    if (missing.length > 0) {
      const read = await source.read(missing.map((i) => ids[i]!));
      missing.forEach((i, k) => (records[i] = read[k]!));
    }
    return ids.map((id, i) => source.view(id, records[i]!, visibility[i]!));
  }

  /** The same as `views`, answered from what is held without waiting — or null when anything must be read first. */
  viewsNow<R>(viewerId: UserId, ids: readonly UserId[], source: RecordSource<R>): PresenceView[] | null {
    const audience = this.#deps.relations.heldFor(viewerId);
    if (!audience) return null;
    const out: PresenceView[] = [];
    for (const id of ids) {
      let relation: Relation | undefined;
      if (id !== viewerId && (relation = audience.relationOf(id)) === undefined) return null;
      const seen = decideVisibility(viewerId, id, audience.viewerPrivacy, relation);
      if (!seen.status) {
        out.push(source.view(id, null, seen));
        continue;
      }
      const held = source.held(id);
      if (held === undefined) return null;
      out.push(source.view(id, held, seen));
    }
    audience.done();
    return out;
  }

  /** The viewer's relations to `ids`, read (the relation cache answers what it holds); null when the graph cannot be read. */
  async #audience(viewerId: UserId, ids: readonly UserId[]): Promise<Audience | null> {
    this.graphReads++;
    try {
      return await this.#deps.relations.audience(viewerId, others(viewerId, ids));
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.#deps.unavailable?.('graph');
      return null;
    }
  }
}

/** The rule for one target: what the graph said (null: it could not be read, so nothing is shown). */
function visibilityOf(viewerId: UserId, id: UserId, audience: Audience | null): Visibility {
  return decideVisibility(viewerId, id, audience?.viewerPrivacy, audience?.relations.get(id));
}

/** `ids` without the viewer, who needs no relation to themself. */
function others(viewerId: UserId, ids: readonly UserId[]): readonly UserId[] {
  return ids.includes(viewerId) ? ids.filter((id) => id !== viewerId) : ids;
}

class RequestReads implements ViewerReads {
  readonly #viewerId: UserId;
  readonly #records: ListLoader<PresenceRecord | null>;
  readonly #audits: ListLoader<Audit>;
  #privacy: Promise<PrivacyMode | undefined> | undefined;

  constructor(viewerId: UserId, deps: VisibilityDeps) {
    this.#viewerId = viewerId;
    this.#records = listLoader(async (ids) => {
      try {
        const found = await deps.records(ids);
        return ids.map((id) => found.get(id) ?? null);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        deps.unavailable?.('hot');
        return ids.map(() => null);
      }
    });
    this.#audits = listLoader(async (ids) => {
      try {
        const audience = await deps.relations.audience(viewerId, ids);
        this.#privacy ??= Promise.resolve(audience.viewerPrivacy);
        return ids.map((id): Audit => audience.relations.get(id) ?? 'missing');
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        deps.unavailable?.('graph');
        this.#privacy ??= Promise.resolve(undefined);
        return ids.map((): Audit => 'unavailable');
      }
    });
  }

  async views(ids: readonly UserId[], options: { readonly mustExist?: boolean } = {}): Promise<PresenceView[]> {
    const viewerId = this.#viewerId;
    const audits = await this.#auditsOf(ids);
    if (options.mustExist) failUnlessRegistered(ids, audits);
    const privacy = await this.privacy();
    const visibility = ids.map((id, i) => {
      const audit = audits[i];
      return decideVisibility(viewerId, id, privacy, typeof audit === 'object' ? audit : undefined);
    });
    const shown = await this.#records(ids.filter((_, i) => visibility[i]!.status));
    // `shown` follows `ids` with the hidden ones left out: walk both in step.
    let k = 0;
    return ids.map((id, i) => viewPresence(id, visibility[i]!.status ? shown[k++]! : null, visibility[i]!));
  }

  async requireRegistered(ids: readonly UserId[]): Promise<void> {
    failUnlessRegistered(ids, await this.#auditsOf(ids));
  }

  async privacy(): Promise<PrivacyMode | undefined> {
    if (!this.#privacy) await this.#audits([this.#viewerId]);
    return this.#privacy;
  }

  /** Each id's audit, in order; the viewer's own entry (never read: they exist) is undefined. */
  async #auditsOf(ids: readonly UserId[]): Promise<readonly (Audit | undefined)[]> {
    const viewerId = this.#viewerId;
    if (!ids.includes(viewerId)) return this.#audits(ids);
    const targets = ids.filter((id) => id !== viewerId);
    const read = await this.#audits(targets);
    let k = 0;
    return ids.map((id) => (id === viewerId ? undefined : read[k++]));
  }
}

/** UnknownUsersError for the ids the graph says are not registered (unreadable ones pass). */
function failUnlessRegistered(ids: readonly UserId[], audits: readonly (Audit | undefined)[]): void {
  const missing = ids.filter((_, i) => audits[i] === 'missing');
  if (missing.length > 0) throw new UnknownUsersError(missing);
}

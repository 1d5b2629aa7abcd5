/**
 * Per-request dataloaders: however many presences a query touches, each store is read once per tick —
 * one hot-store read (with one durable last-seen read for users it does not hold) and one contact-graph
 * `audience` for this viewer, the two at the same time.
 */
import DataLoader from 'dataloader';
import {
  decideVisibility,
  StoreUnavailableError,
  viewPresence,
  type PresenceRecord,
  type PresenceView,
  type PrivacyMode,
  type Relation,
  type UserId,
} from '../presence/index.js';
import type { App } from './context.js';
import { failUnlessRegistered } from './validate.js';

/** What the graph said about a target: its relation to the viewer, not registered, or unreadable. */
export type Audit = { readonly kind: 'ok'; readonly relation: Relation } | { readonly kind: 'missing' } | { readonly kind: 'unavailable' };

export interface Loaders {
  /** Published record per user; null when the hot store cannot be read (→ UNKNOWN). */
  readonly record: DataLoader<UserId, PresenceRecord | null>;
  readonly audit: DataLoader<UserId, Audit>;
  /**
   * What this viewer is shown of each user, in order. Both loads start at once and every view is then
   * computed synchronously: a 500-id read makes two batches and no per-id work beyond the loaders'.
   * With `mustExist`, fails with USER_NOT_FOUND (from the same graph read) when an id names no user.
   */
  views(ids: readonly UserId[], options?: { mustExist?: boolean }): Promise<PresenceView[]>;
  /** The viewer's own privacy mode; undefined when the graph cannot be read. */
  viewerPrivacy(): Promise<PrivacyMode | undefined>;
}

function rethrowUnlessUnavailable(error: unknown): void {
  if (!(error instanceof StoreUnavailableError)) throw error;
}

export function createLoaders(app: App, viewerId: UserId): Loaders {
  let viewerPrivacy: Promise<PrivacyMode | undefined> | undefined;

  const record = new DataLoader<UserId, PresenceRecord | null>(async (ids) => {
    try {
      const records = await app.service.records(ids);
      return ids.map((id) => records.get(id) ?? null);
    } catch (error) {
      rethrowUnlessUnavailable(error);
      app.metrics.storeFailures.inc({ store: 'hot' });
      return ids.map(() => null);
    }
  });

  const audit = new DataLoader<UserId, Audit>(async (ids) => {
    try {
      const audience = await app.graph.audience(viewerId, ids);
      viewerPrivacy ??= Promise.resolve(audience.viewerPrivacy);
      return ids.map((id): Audit => {
        const relation = audience.relations.get(id);
        return relation ? { kind: 'ok', relation } : { kind: 'missing' };
      });
    } catch (error) {
      rethrowUnlessUnavailable(error);
      app.metrics.storeFailures.inc({ store: 'graph' });
      viewerPrivacy ??= Promise.resolve(undefined);
      return ids.map((): Audit => ({ kind: 'unavailable' }));
    }
  });

  const loaders: Loaders = {
    record,
    audit,
    async views(ids, options = {}) {
      const [records, audits] = await Promise.all([record.loadMany(ids), audit.loadMany(ids)]);
      if (options.mustExist) failUnlessRegistered(ids, audits);
      const privacy = await loaders.viewerPrivacy();
      return ids.map((id, i) => {
        const rec = records[i]!;
        const aud = audits[i]!;
        if (rec instanceof Error) throw rec;
        if (aud instanceof Error) throw aud;
        return viewPresence(id, rec, decideVisibility(viewerId, id, privacy, aud.kind === 'ok' ? aud.relation : undefined));
      });
    },
    async viewerPrivacy() {
      if (!viewerPrivacy) await audit.load(viewerId);
      return viewerPrivacy;
    },
  };
  return loaders;
}

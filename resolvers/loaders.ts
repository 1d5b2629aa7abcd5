/**
 * Per-request dataloaders: however many presences a query touches, each store is read once per tick —
 * one hot-store load, one contact-graph `audience` for this viewer, one durable last-seen read.
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

/** What the graph said about a target: its relation to the viewer, not registered, or unreadable. */
export type Audit = { readonly kind: 'ok'; readonly relation: Relation } | { readonly kind: 'missing' } | { readonly kind: 'unavailable' };

export interface Seen {
  readonly view: PresenceView;
  readonly audit: Audit['kind'];
}

export interface Loaders {
  /** Published record per user; null when the hot store cannot be read (→ UNKNOWN). */
  readonly record: DataLoader<UserId, PresenceRecord | null>;
  readonly audit: DataLoader<UserId, Audit>;
  /** What this viewer is shown of each user. */
  readonly seen: DataLoader<UserId, Seen>;
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
    // One batch of each underlying load, then every view computed synchronously: a 500-id read makes
    // a handful of promises, not three per id.
    seen: new DataLoader<UserId, Seen>(async (ids) => {
      const [records, audits] = await Promise.all([record.loadMany(ids), audit.loadMany(ids)]);
      const privacy = await loaders.viewerPrivacy();
      return ids.map((id, i) => {
        const rec = records[i]!;
        const aud = audits[i]!;
        if (rec instanceof Error) return rec;
        if (aud instanceof Error) return aud;
        const visibility = decideVisibility(viewerId, id, privacy, aud.kind === 'ok' ? aud.relation : undefined);
        return { view: viewPresence(id, rec, visibility), audit: aud.kind };
      });
    }),
    async viewerPrivacy() {
      if (!viewerPrivacy) await audit.load(viewerId);
      return viewerPrivacy;
    },
  };
  return loaders;
}

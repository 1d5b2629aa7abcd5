/**
 * ContactGraph: users, their privacy mode, and the CONTACT / BLOCKED edges. Implemented in-process
 * (`embedded.ts`) and on Neo4j; one contract suite runs against both.
 *
 * Every method throws `StoreUnavailableError('graph')` when the graph cannot be read; privacy then
 * cannot be proven and callers answer UNKNOWN.
 */
import type { PrivacyMode, Relation, UserId } from '../presence/index.js';

/**
 * Where a user's side of the graph stands: it changes with every change to their privacy, their contacts
 * or their blocks — everything a read about them as a target, a viewer or a contacts-page owner depends
 * on. Only ever compared for equality (`changed`), never ordered. A reader that holds what it read with
 * the revision it was read at can later ask, cheaply, whether it still stands.
 */
export type Revision = number;

export interface ContactPage {
  /** Contact ids in a stable order (ascending id). */
  readonly ids: readonly UserId[];
  readonly hasNextPage: boolean;
  /** The owner's revision the page was read at; undefined if the owner is not registered. */
  readonly revision: Revision | undefined;
}

export interface Audience {
  /** The viewer's own mode (for reciprocity); undefined if the viewer is not registered. */
  readonly viewerPrivacy: PrivacyMode | undefined;
  /** Each registered target's relation to the viewer; unregistered targets are absent. */
  readonly relations: ReadonlyMap<UserId, Relation>;
  /** The revision the viewer's mode and each relation were read at: the viewer's (if registered) and each registered target's. */
  readonly revisions: ReadonlyMap<UserId, Revision>;
}

export interface ContactGraph {
  /** Registers a user (privacy CONTACTS) if new; no-op otherwise. */
  ensureUser(userId: UserId): Promise<void>;
  /** Which of these ids are registered users, with their privacy mode. */
  users(userIds: readonly UserId[]): Promise<Map<UserId, PrivacyMode>>;
  /** Everything privacy needs for one viewer and many targets, in one batched read. */
  audience(viewerId: UserId, targetIds: readonly UserId[]): Promise<Audience>;
  /** The user's contacts (`(user)-[:CONTACT]->(c)`), `first` of them after the id `after`. */
  contacts(userId: UserId, first: number, after: UserId | null): Promise<ContactPage>;
  /**
   * Which of the users in `known` (id → the revision something about them was read at) have changed
   * since: their revision is another now, or they are no longer registered. One batched read of the
   * users alone, no edges — how a cache renews what it holds without reading it all again.
   */
  changed(known: ReadonlyMap<UserId, Revision>): Promise<Set<UserId>>;
  setPrivacy(userId: UserId, mode: PrivacyMode): Promise<void>;
  /** Each returns whether the edge changed. Both users must be registered. */
  addContact(userId: UserId, contactId: UserId): Promise<boolean>;
  removeContact(userId: UserId, contactId: UserId): Promise<boolean>;
  block(userId: UserId, blockedId: UserId): Promise<boolean>;
  unblock(userId: UserId, blockedId: UserId): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

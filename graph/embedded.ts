/**
 * The in-process ContactGraph: what `npm start` uses when no NEO4J_URI is set, and the reference the
 * Neo4j implementation is checked against (test/contract/contactGraph.contract.ts).
 */
import { DEFAULT_PRIVACY, type PrivacyMode, type Relation, type UserId } from '../presence/index.js';
import type { Audience, ContactGraph, ContactPage, Revision } from './port.js';

interface Node {
  privacy: PrivacyMode;
  contacts: Set<UserId>;
  blocked: Set<UserId>;
  /** Bumped by every change to the user's privacy, contacts or blocks (port.ts: Revision). */
  revision: Revision;
}

export class EmbeddedContactGraph implements ContactGraph {
  #users = new Map<UserId, Node>();
  /** Round trips so far (one per call), so tests can prove batching the same way for every graph. */
  queries = 0;

  async ensureUser(userId: UserId): Promise<void> {
    this.queries++;
    if (!this.#users.has(userId)) this.#users.set(userId, { privacy: DEFAULT_PRIVACY, contacts: new Set(), blocked: new Set(), revision: 0 });
  }

  async users(userIds: readonly UserId[]): Promise<Map<UserId, PrivacyMode>> {
    this.queries++;
    const out = new Map<UserId, PrivacyMode>();
    for (const id of userIds) {
      const node = this.#users.get(id);
      if (node) out.set(id, node.privacy);
    }
    return out;
  }

  async audience(viewerId: UserId, targetIds: readonly UserId[]): Promise<Audience> {
    this.queries++;
    const relations = new Map<UserId, Relation>();
    const revisions = new Map<UserId, Revision>();
    const viewer = this.#users.get(viewerId);
    if (viewer) revisions.set(viewerId, viewer.revision);
    for (const id of targetIds) {
      const node = this.#users.get(id);
      if (!node) continue;
      relations.set(id, { privacy: node.privacy, listsViewer: node.contacts.has(viewerId), blocksViewer: node.blocked.has(viewerId) });
      revisions.set(id, node.revision);
    }
    return { viewerPrivacy: viewer?.privacy, relations, revisions };
  }

  async contacts(userId: UserId, first: number, after: UserId | null): Promise<ContactPage> {
    this.queries++;
    const owner = this.#users.get(userId);
    const all = [...(owner?.contacts ?? [])].sort();
    const from = after === null ? all : all.filter((id) => id > after);
    return { ids: from.slice(0, first), hasNextPage: from.length > first, revision: owner?.revision };
  }

  async changed(known: ReadonlyMap<UserId, Revision>): Promise<Set<UserId>> {
    this.queries++;
    const changed = new Set<UserId>();
    for (const [id, revision] of known) if (this.#users.get(id)?.revision !== revision) changed.add(id);
    return changed;
  }

  async setPrivacy(userId: UserId, mode: PrivacyMode): Promise<void> {
    this.queries++;
    const node = this.#users.get(userId);
    if (!node) return;
    node.privacy = mode;
    node.revision++;
  }

  addContact(userId: UserId, contactId: UserId): Promise<boolean> {
    return this.#edge(userId, contactId, 'contacts', true);
  }

  removeContact(userId: UserId, contactId: UserId): Promise<boolean> {
    return this.#edge(userId, contactId, 'contacts', false);
  }

  block(userId: UserId, blockedId: UserId): Promise<boolean> {
    return this.#edge(userId, blockedId, 'blocked', true);
  }

  unblock(userId: UserId, blockedId: UserId): Promise<boolean> {
    return this.#edge(userId, blockedId, 'blocked', false);
  }

  async #edge(from: UserId, to: UserId, kind: 'contacts' | 'blocked', present: boolean): Promise<boolean> {
    this.queries++;
    const node = this.#users.get(from);
    if (!node || !this.#users.has(to)) return false;
    const edges = node[kind];
    if (edges.has(to) === present) return false;
    if (present) edges.add(to);
    else edges.delete(to);
    node.revision++;
    return true;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * The in-process ContactGraph: what `npm start` uses when no NEO4J_URI is set, and the reference the
 * Neo4j implementation is checked against (test/contract/contactGraph.contract.ts).
 */
import { DEFAULT_PRIVACY, type PrivacyMode, type Relation, type UserId } from '../presence/index.js';
import type { Audience, ContactGraph, ContactPage } from './port.js';

interface Node {
  privacy: PrivacyMode;
  contacts: Set<UserId>;
  blocked: Set<UserId>;
}

export class EmbeddedContactGraph implements ContactGraph {
  #users = new Map<UserId, Node>();
  /** Round trips so far (one per call), so tests can prove batching the same way for every graph. */
  queries = 0;

  async ensureUser(userId: UserId): Promise<void> {
    this.queries++;
    if (!this.#users.has(userId)) this.#users.set(userId, { privacy: DEFAULT_PRIVACY, contacts: new Set(), blocked: new Set() });
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
    for (const id of targetIds) {
      const node = this.#users.get(id);
      if (node) relations.set(id, { privacy: node.privacy, listsViewer: node.contacts.has(viewerId), blocksViewer: node.blocked.has(viewerId) });
    }
    return { viewerPrivacy: this.#users.get(viewerId)?.privacy, relations };
  }

  async contacts(userId: UserId, first: number, after: UserId | null): Promise<ContactPage> {
    this.queries++;
    const all = [...(this.#users.get(userId)?.contacts ?? [])].sort();
    const from = after === null ? all : all.filter((id) => id > after);
    return { ids: from.slice(0, first), hasNextPage: from.length > first };
  }

  async setPrivacy(userId: UserId, mode: PrivacyMode): Promise<void> {
    this.queries++;
    const node = this.#users.get(userId);
    if (node) node.privacy = mode;
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
    return true;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

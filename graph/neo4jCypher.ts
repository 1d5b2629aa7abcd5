/**
 * Every Cypher statement Neo4jContactGraph sends, in one place. All values travel as parameters; none of
 * these strings is ever assembled at run time.
 *
 * Model: `(:User {ns, id, privacy, rev})`, `(u)-[:CONTACT]->(v)` (u lists v), `(u)-[:BLOCKED]->(v)` (u blocks v).
 * `rev` is the user's revision (graph/port.ts): every write that changes the user's privacy or one of
 * their own edges adds one to it, in the same statement; it is absent (read as 0) until the first.
 * `ns` is the namespace (see Neo4jContactGraphOptions.namespace); every statement matches users by
 * `{ns: $ns, id: …}`, which the composite uniqueness constraint below turns into an index seek, and edges
 * are only ever created between two users of the same namespace.
 */

/** Idempotent schema: one user per (namespace, id); its backing index serves every lookup. */
export const MIGRATE_USER_KEY = `
CREATE CONSTRAINT user_ns_id IF NOT EXISTS
FOR (u:User) REQUIRE (u.ns, u.id) IS UNIQUE`;

/** Registers the user with $privacy if new; an existing user's privacy is left alone. */
export const ENSURE_USER = `
MERGE (u:User {ns: $ns, id: $id})
ON CREATE SET u.privacy = $privacy`;

/** The registered ones among $ids, with their privacy. */
export const USERS = `
UNWIND $ids AS id
MATCH (u:User {ns: $ns, id: id})
RETURN u.id AS id, u.privacy AS privacy`;

/**
 * Everything privacy needs for one viewer and many targets, in one round trip. Always returns exactly one
 * row (the subquery aggregates), so the viewer's privacy comes back even for an empty $targetIds.
 * `listsViewer` is `(target)-[:CONTACT]->(viewer)`, `blocksViewer` is `(target)-[:BLOCKED]->(viewer)`;
 * both are false when the viewer is not registered. Unregistered targets produce no entry.
 */
export const AUDIENCE = `
OPTIONAL MATCH (viewer:User {ns: $ns, id: $viewerId})
CALL (viewer) {
  UNWIND $targetIds AS targetId
  MATCH (target:User {ns: $ns, id: targetId})
  RETURN collect({
    id: target.id,
    privacy: target.privacy,
    revision: coalesce(target.rev, 0),
    listsViewer: viewer IS NOT NULL AND EXISTS { (target)-[:CONTACT]->(viewer) },
    blocksViewer: viewer IS NOT NULL AND EXISTS { (target)-[:BLOCKED]->(viewer) }
  }) AS targets
}
RETURN viewer.privacy AS viewerPrivacy, CASE WHEN viewer IS NULL THEN null ELSE coalesce(viewer.rev, 0) END AS viewerRevision, targets`;

/**
 * The ids among $ids (with $revisions, the revision each was read at) whose user's revision is another
 * now, or who are not registered: one index seek per id, no edges read, and usually nothing sent back.
 */
export const CHANGED = `
UNWIND range(0, size($ids) - 1) AS i
OPTIONAL MATCH (u:User {ns: $ns, id: $ids[i]})
WITH $ids[i] AS id, u
WHERE u IS NULL OR coalesce(u.rev, 0) <> $revisions[i]
RETURN collect(id) AS changed`;

/** One page of `(user)-[:CONTACT]->(c)` by ascending id, after $after, with the owner's revision; $limit
 * is first + 1 (the last id only says whether there is a next page). No row: the owner is not registered. */
export const CONTACTS_PAGE = `
MATCH (u:User {ns: $ns, id: $userId})
CALL (u) {
  MATCH (u)-[:CONTACT]->(c:User)
  WHERE $after IS NULL OR c.id > $after
  WITH c.id AS id
  ORDER BY id
  LIMIT $limit
  RETURN collect(id) AS ids
}
RETURN coalesce(u.rev, 0) AS revision, ids`;

/** Changes a registered user's privacy; matches nothing (a no-op) for an unregistered id. */
export const SET_PRIVACY = `
MATCH (u:User {ns: $ns, id: $id})
SET u.privacy = $privacy, u.rev = coalesce(u.rev, 0) + 1`;

// Edge writes: the relationship type cannot be a parameter, so each (type, verb) is its own statement.
// MERGE between two bound nodes locks both, so concurrent adds never create a duplicate edge; whether the
// edge changed is read from the summary counters. An unregistered endpoint matches nothing: no change.
// Only a change moves the owner's revision: MERGE's ON CREATE, and a DELETE of an edge that was there.

export const ADD_CONTACT = `
MATCH (u:User {ns: $ns, id: $from}), (v:User {ns: $ns, id: $to})
MERGE (u)-[:CONTACT]->(v)
ON CREATE SET u.rev = coalesce(u.rev, 0) + 1`;

export const REMOVE_CONTACT = `
MATCH (u:User {ns: $ns, id: $from})-[r:CONTACT]->(:User {ns: $ns, id: $to})
SET u.rev = coalesce(u.rev, 0) + 1
DELETE r`;

export const BLOCK = `
MATCH (u:User {ns: $ns, id: $from}), (v:User {ns: $ns, id: $to})
MERGE (u)-[:BLOCKED]->(v)
ON CREATE SET u.rev = coalesce(u.rev, 0) + 1`;

export const UNBLOCK = `
MATCH (u:User {ns: $ns, id: $from})-[r:BLOCKED]->(:User {ns: $ns, id: $to})
SET u.rev = coalesce(u.rev, 0) + 1
DELETE r`;

export const PING = `RETURN 1 AS ok`;

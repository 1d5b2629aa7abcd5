/**
 * Every Cypher statement Neo4jContactGraph sends, in one place. All values travel as parameters; none of
 * these strings is ever assembled at run time.
 *
 * Model: `(:User {ns, id, privacy})`, `(u)-[:CONTACT]->(v)` (u lists v), `(u)-[:BLOCKED]->(v)` (u blocks v).
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
    listsViewer: viewer IS NOT NULL AND EXISTS { (target)-[:CONTACT]->(viewer) },
    blocksViewer: viewer IS NOT NULL AND EXISTS { (target)-[:BLOCKED]->(viewer) }
  }) AS targets
}
RETURN viewer.privacy AS viewerPrivacy, targets`;

/** One page of `(user)-[:CONTACT]->(c)` by ascending id, after $after; $limit is first + 1 (the +1 row
 * only says whether there is a next page). */
export const CONTACTS_PAGE = `
MATCH (:User {ns: $ns, id: $userId})-[:CONTACT]->(c:User)
WHERE $after IS NULL OR c.id > $after
RETURN c.id AS id
ORDER BY id
LIMIT $limit`;

/** Changes a registered user's privacy; matches nothing (a no-op) for an unregistered id. */
export const SET_PRIVACY = `
MATCH (u:User {ns: $ns, id: $id})
SET u.privacy = $privacy`;

// Edge writes: the relationship type cannot be a parameter, so each (type, verb) is its own statement.
// MERGE between two bound nodes locks both, so concurrent adds never create a duplicate edge; whether the
// edge changed is read from the summary counters. An unregistered endpoint matches nothing: no change.

export const ADD_CONTACT = `
MATCH (u:User {ns: $ns, id: $from}), (v:User {ns: $ns, id: $to})
MERGE (u)-[:CONTACT]->(v)`;

export const REMOVE_CONTACT = `
MATCH (:User {ns: $ns, id: $from})-[r:CONTACT]->(:User {ns: $ns, id: $to})
DELETE r`;

export const BLOCK = `
MATCH (u:User {ns: $ns, id: $from}), (v:User {ns: $ns, id: $to})
MERGE (u)-[:BLOCKED]->(v)`;

export const UNBLOCK = `
MATCH (:User {ns: $ns, id: $from})-[r:BLOCKED]->(:User {ns: $ns, id: $to})
DELETE r`;

export const PING = `RETURN 1 AS ok`;

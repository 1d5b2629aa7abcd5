/**
 * vitest globalSetup: the real services every integration test uses, up before the first test.
 * Neo4j is started (and left running for the next run; `npm run neo4j:stop` stops it).
 */
import { ensureNeo4j } from '../../scripts/neo4j/control.js';
import { ensurePostgres, ensureRedis } from '../../scripts/services.js';

export default async function setup(): Promise<void> {
  await Promise.all([ensureRedis(), ensurePostgres(), ensureNeo4j()]);
}

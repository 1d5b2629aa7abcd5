import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../../schema/index.js';

describe('the published SDL', () => {
  it('should match the schema built from code (run `npm run schema:print` after changing it)', () => {
    const committed = readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
    expect(printedSchema()).toBe(committed);
  });

  it('should keep every name of the contract in product.md', () => {
    const sdl = printedSchema();
    for (const line of [
      'enum PresenceStatus {',
      'enum PrivacyMode {',
      'enum ManualStatus {',
      'enum Platform {',
      'enum Activity {',
      'me: Viewer!',
      'presence(userId: ID!): Presence!',
      'presences(userIds: [ID!]!): [Presence!]!',
      'contacts(after: String, first: Int): ContactConnection!',
      'signOff(deviceId: ID!): Boolean!',
      'setStatus(status: ManualStatus!): Viewer!',
      'setPrivacy(mode: PrivacyMode!): Viewer!',
      'addContact(userId: ID!): Boolean!',
      'removeContact(userId: ID!): Boolean!',
      'block(userId: ID!): Boolean!',
      'unblock(userId: ID!): Boolean!',
      'presence(viewport: [ID!]!): PresenceBatch!',
      'snapshot: Boolean!',
      'presences: [Presence!]!',
      'lastSeen: LastSeen',
      'platforms: [Platform!]!',
      'version: Int!',
      'at: DateTime!',
      'ago: String!',
      'bucketSeconds: Int!',
    ]) {
      expect(sdl).toContain(line);
    }
    expect(sdl).toMatch(/heartbeat\(\s[\s\S]*activity: Activity[\s\S]*deviceId: ID![\s\S]*platform: Platform!\s*\): Heartbeat!/);
  });
});

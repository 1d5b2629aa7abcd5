/**
 * The small demo graph `npm start` seeds into embedded stores, so a new user has someone to look at.
 *
 *   alice ⇄ bob     contacts of each other (CONTACTS mode, the default)
 *   carol           EVERYONE: anyone signed in sees her
 *   dave            NOBODY: UNKNOWN to all, and sees no one's last-seen
 *   erin            lists alice, but blocks bob
 */
import type { ContactGraph } from '../graph/port.js';

export const DEMO_USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;

export async function seedDemo(graph: ContactGraph): Promise<void> {
  for (const id of DEMO_USERS) await graph.ensureUser(id);
  await graph.addContact('alice', 'bob');
  await graph.addContact('bob', 'alice');
  await graph.addContact('alice', 'carol');
  await graph.addContact('alice', 'dave');
  await graph.addContact('alice', 'erin');
  await graph.setPrivacy('carol', 'EVERYONE');
  await graph.setPrivacy('dave', 'NOBODY');
  await graph.addContact('erin', 'alice');
  await graph.addContact('erin', 'bob');
  await graph.block('erin', 'bob');
}

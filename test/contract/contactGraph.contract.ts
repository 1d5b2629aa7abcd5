/**
 * What every ContactGraph promises (graph/port.ts), as one suite run against each implementation:
 *
 *   contactGraphContract('EmbeddedContactGraph', async () => { const graph = …; return { graph, dispose } });
 *
 * `make` is called before each test and must return an empty graph (its own namespace, prefix or
 * instance); `dispose` runs after each test and removes whatever the test left. Only the port's promises
 * are checked here; implementation details (round trips, failure modes) belong to each implementation's
 * own tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContactGraph } from '../../graph/port.js';
import { PRIVACY_MODES, type Relation } from '../../presence/index.js';

export interface ContactGraphFixture {
  readonly graph: ContactGraph;
  readonly dispose: () => Promise<void>;
}

const NONE: Omit<Relation, 'privacy'> = { listsViewer: false, blocksViewer: false };

export function contactGraphContract(name: string, make: () => Promise<ContactGraphFixture>): void {
  describe(`ContactGraph contract: ${name}`, () => {
    let fixture: ContactGraphFixture | undefined;
    let graph: ContactGraph;

    beforeEach(async () => {
      fixture = await make();
      graph = fixture.graph;
    });

    afterEach(async () => {
      await fixture?.dispose();
      fixture = undefined;
    });

    async function register(...ids: string[]): Promise<void> {
      for (const id of ids) await graph.ensureUser(id);
    }

    describe('ensureUser / users', () => {
      it('should register a new user with privacy CONTACTS', async () => {
        await graph.ensureUser('alice');
        expect(await graph.users(['alice'])).toEqual(new Map([['alice', 'CONTACTS']]));
      });

      it('should be idempotent and keep a privacy that was set', async () => {
        await graph.ensureUser('alice');
        await graph.setPrivacy('alice', 'NOBODY');
        await graph.ensureUser('alice');
        await graph.ensureUser('alice');
        expect(await graph.users(['alice'])).toEqual(new Map([['alice', 'NOBODY']]));
      });

      it('should keep the edges of a user registered again', async () => {
        await register('alice', 'bob');
        await graph.addContact('alice', 'bob');
        await graph.ensureUser('alice');
        expect(await graph.contacts('alice', 10, null)).toMatchObject({ ids: ['bob'], hasNextPage: false });
      });

      it('should return only the registered ones among the ids asked', async () => {
        await register('alice', 'carol');
        await graph.setPrivacy('carol', 'EVERYONE');
        expect(await graph.users(['alice', 'ghost', 'carol'])).toEqual(
          new Map([
            ['alice', 'CONTACTS'],
            ['carol', 'EVERYONE'],
          ]),
        );
      });

      it('should return an empty map for no ids and for unknown ids only', async () => {
        await register('alice');
        expect(await graph.users([])).toEqual(new Map());
        expect(await graph.users(['ghost', 'phantom'])).toEqual(new Map());
      });
    });

    describe('setPrivacy', () => {
      it.each(PRIVACY_MODES)('should store %s', async (mode) => {
        await register('alice');
        await graph.setPrivacy('alice', mode);
        expect(await graph.users(['alice'])).toEqual(new Map([['alice', mode]]));
        expect((await graph.audience('alice', ['alice'])).viewerPrivacy).toBe(mode);
      });

      it('should change only that user', async () => {
        await register('alice', 'bob');
        await graph.setPrivacy('alice', 'EVERYONE');
        expect(await graph.users(['alice', 'bob'])).toEqual(
          new Map([
            ['alice', 'EVERYONE'],
            ['bob', 'CONTACTS'],
          ]),
        );
      });
    });

    describe('audience', () => {
      it("should return the viewer's own privacy", async () => {
        await register('viewer', 'alice');
        await graph.setPrivacy('viewer', 'NOBODY');
        const audience = await graph.audience('viewer', ['alice']);
        expect(audience.viewerPrivacy).toBe('NOBODY');
      });

      it("should return the viewer's privacy for an empty target list", async () => {
        await register('viewer');
        await graph.setPrivacy('viewer', 'EVERYONE');
        const audience = await graph.audience('viewer', []);
        expect(audience.viewerPrivacy).toBe('EVERYONE');
        expect(audience.relations).toEqual(new Map());
      });

      it('should leave viewerPrivacy undefined for an unregistered viewer, and still relate the targets', async () => {
        await register('alice');
        await graph.setPrivacy('alice', 'EVERYONE');
        const audience = await graph.audience('ghost', ['alice']);
        expect(audience.viewerPrivacy).toBeUndefined();
        expect(audience.relations).toEqual(new Map([['alice', { privacy: 'EVERYONE', ...NONE }]]));
      });

      it("should return each registered target's privacy with no relation when there are no edges", async () => {
        await register('viewer', 'alice', 'bob', 'carol');
        await graph.setPrivacy('bob', 'EVERYONE');
        await graph.setPrivacy('carol', 'NOBODY');
        const audience = await graph.audience('viewer', ['alice', 'bob', 'carol']);
        expect(audience.relations).toEqual(
          new Map([
            ['alice', { privacy: 'CONTACTS', ...NONE }],
            ['bob', { privacy: 'EVERYONE', ...NONE }],
            ['carol', { privacy: 'NOBODY', ...NONE }],
          ]),
        );
      });

      it('should leave unregistered targets out', async () => {
        await register('viewer', 'alice');
        const audience = await graph.audience('viewer', ['ghost', 'alice', 'phantom']);
        expect([...audience.relations.keys()]).toEqual(['alice']);
      });

      it('should set listsViewer when the target lists the viewer as a contact (target → viewer)', async () => {
        await register('viewer', 'alice');
        expect(await graph.addContact('alice', 'viewer')).toBe(true);
        const audience = await graph.audience('viewer', ['alice']);
        expect(audience.relations.get('alice')).toEqual({ privacy: 'CONTACTS', listsViewer: true, blocksViewer: false });
      });

      it('should not set listsViewer when only the viewer lists the target (viewer → target)', async () => {
        await register('viewer', 'alice');
        await graph.addContact('viewer', 'alice');
        const audience = await graph.audience('viewer', ['alice']);
        expect(audience.relations.get('alice')).toEqual({ privacy: 'CONTACTS', ...NONE });
      });

      it('should set blocksViewer when the target blocks the viewer (target → viewer)', async () => {
        await register('viewer', 'alice');
        await graph.setPrivacy('alice', 'EVERYONE');
        expect(await graph.block('alice', 'viewer')).toBe(true);
        const audience = await graph.audience('viewer', ['alice']);
        expect(audience.relations.get('alice')).toEqual({ privacy: 'EVERYONE', listsViewer: false, blocksViewer: true });
      });

      it('should not set blocksViewer when only the viewer blocks the target', async () => {
        await register('viewer', 'alice');
        await graph.block('viewer', 'alice');
        const audience = await graph.audience('viewer', ['alice']);
        expect(audience.relations.get('alice')).toEqual({ privacy: 'CONTACTS', ...NONE });
      });

      it('should report a contact that also blocks the viewer with both flags', async () => {
        await register('viewer', 'alice');
        await graph.addContact('alice', 'viewer');
        await graph.block('alice', 'viewer');
        const audience = await graph.audience('viewer', ['alice']);
        expect(audience.relations.get('alice')).toEqual({ privacy: 'CONTACTS', listsViewer: true, blocksViewer: true });
      });

      it('should relate each target to this viewer only', async () => {
        await register('viewer', 'other', 'alice', 'bob');
        await graph.addContact('alice', 'other');
        await graph.block('bob', 'other');
        await graph.addContact('bob', 'viewer');
        const audience = await graph.audience('viewer', ['alice', 'bob']);
        expect(audience.relations).toEqual(
          new Map([
            ['alice', { privacy: 'CONTACTS', ...NONE }],
            ['bob', { privacy: 'CONTACTS', listsViewer: true, blocksViewer: false }],
          ]),
        );
      });

      it('should reflect removed contacts and lifted blocks', async () => {
        await register('viewer', 'alice');
        await graph.addContact('alice', 'viewer');
        await graph.block('alice', 'viewer');
        await graph.removeContact('alice', 'viewer');
        await graph.unblock('alice', 'viewer');
        const audience = await graph.audience('viewer', ['alice']);
        expect(audience.relations.get('alice')).toEqual({ privacy: 'CONTACTS', ...NONE });
      });
    });

    describe('contacts', () => {
      const ids = ['c01', 'c02', 'c03', 'c04', 'c05'];

      async function withFiveContacts(): Promise<void> {
        await register('owner', ...ids);
        // Added out of order: the page order is by id, not by insertion.
        for (const id of ['c04', 'c01', 'c05', 'c03', 'c02']) await graph.addContact('owner', id);
      }

      it('should page through the contacts by ascending id', async () => {
        await withFiveContacts();
        expect(await graph.contacts('owner', 2, null)).toMatchObject({ ids: ['c01', 'c02'], hasNextPage: true });
        expect(await graph.contacts('owner', 2, 'c02')).toMatchObject({ ids: ['c03', 'c04'], hasNextPage: true });
        expect(await graph.contacts('owner', 2, 'c04')).toMatchObject({ ids: ['c05'], hasNextPage: false });
      });

      it('should say there is no next page when the page ends exactly at the last contact', async () => {
        await withFiveContacts();
        expect(await graph.contacts('owner', 5, null)).toMatchObject({ ids, hasNextPage: false });
        expect(await graph.contacts('owner', 4, null)).toMatchObject({ ids: ids.slice(0, 4), hasNextPage: true });
        expect(await graph.contacts('owner', 3, 'c02')).toMatchObject({ ids: ['c03', 'c04', 'c05'], hasNextPage: false });
      });

      it('should return an empty last page after the last contact', async () => {
        await withFiveContacts();
        expect(await graph.contacts('owner', 2, 'c05')).toMatchObject({ ids: [], hasNextPage: false });
      });

      it('should continue after an id that is not itself a contact', async () => {
        await withFiveContacts();
        expect(await graph.contacts('owner', 2, 'c02x')).toMatchObject({ ids: ['c03', 'c04'], hasNextPage: true });
        expect(await graph.contacts('owner', 10, 'a')).toMatchObject({ ids, hasNextPage: false });
      });

      it('should list only the users this user lists (outgoing CONTACT edges), not blocked ones', async () => {
        await register('owner', 'listed', 'listsOwner', 'blocked');
        await graph.addContact('owner', 'listed');
        await graph.addContact('listsOwner', 'owner');
        await graph.block('owner', 'blocked');
        expect(await graph.contacts('owner', 10, null)).toMatchObject({ ids: ['listed'], hasNextPage: false });
      });

      it('should return an empty page for a user without contacts', async () => {
        await register('owner');
        expect(await graph.contacts('owner', 10, null)).toMatchObject({ ids: [], hasNextPage: false });
      });

      it('should drop a removed contact from the pages', async () => {
        await withFiveContacts();
        await graph.removeContact('owner', 'c02');
        expect(await graph.contacts('owner', 2, null)).toMatchObject({ ids: ['c01', 'c03'], hasNextPage: true });
      });
    });

    describe('edge changes', () => {
      it.each(['addContact', 'block'] as const)('%s should return true, then false when repeated', async (add) => {
        await register('alice', 'bob');
        expect(await graph[add]('alice', 'bob')).toBe(true);
        expect(await graph[add]('alice', 'bob')).toBe(false);
      });

      it.each([
        ['addContact', 'removeContact'],
        ['block', 'unblock'],
      ] as const)('%s then %s should return true, then false when repeated', async (add, remove) => {
        await register('alice', 'bob');
        await graph[add]('alice', 'bob');
        expect(await graph[remove]('alice', 'bob')).toBe(true);
        expect(await graph[remove]('alice', 'bob')).toBe(false);
      });

      it.each([['removeContact'], ['unblock']] as const)('%s of a missing edge should return false', async (remove) => {
        await register('alice', 'bob');
        expect(await graph[remove]('alice', 'bob')).toBe(false);
      });

      it('should treat edges as directed: alice → bob is not bob → alice', async () => {
        await register('alice', 'bob');
        expect(await graph.addContact('alice', 'bob')).toBe(true);
        expect(await graph.addContact('bob', 'alice')).toBe(true);
        expect(await graph.removeContact('bob', 'alice')).toBe(true);
        expect(await graph.contacts('alice', 10, null)).toMatchObject({ ids: ['bob'], hasNextPage: false });
        expect(await graph.contacts('bob', 10, null)).toMatchObject({ ids: [], hasNextPage: false });
      });

      it('should keep CONTACT and BLOCKED edges independent', async () => {
        await register('alice', 'bob');
        expect(await graph.addContact('alice', 'bob')).toBe(true);
        expect(await graph.block('alice', 'bob')).toBe(true);
        expect(await graph.unblock('alice', 'bob')).toBe(true);
        expect(await graph.contacts('alice', 10, null)).toMatchObject({ ids: ['bob'], hasNextPage: false });
        expect(await graph.removeContact('alice', 'bob')).toBe(true);
        expect(await graph.block('alice', 'bob')).toBe(true);
        expect((await graph.audience('bob', ['alice'])).relations.get('alice')).toEqual({
          privacy: 'CONTACTS',
          listsViewer: false,
          blocksViewer: true,
        });
      });
    });

    describe('revisions', () => {
      /** The user's revision now, as a read about them brings it. */
      async function revisionOf(id: string): Promise<number | undefined> {
        return (await graph.audience(id, [])).revisions.get(id);
      }

      it('should bring the revision each part of a read was read at: the viewer\'s, each registered target\'s, a page owner\'s', async () => {
        await register('viewer', 'alice', 'bob');
        const audience = await graph.audience('viewer', ['alice', 'bob', 'ghost']);
        expect([...audience.revisions.keys()].sort()).toEqual(['alice', 'bob', 'viewer']);
        const page = await graph.contacts('alice', 10, null);
        expect(page.revision).toBe(audience.revisions.get('alice'));
        expect((await graph.audience('ghost', ['alice'])).revisions.has('ghost')).toBe(false);
        expect((await graph.contacts('ghost', 10, null)).revision).toBeUndefined();
      });

      it('should move a user\'s revision with every change of their privacy, contacts or blocks, and no one else\'s', async () => {
        await register('alice', 'bob');
        const changes: [string, () => Promise<unknown>][] = [
          ['setPrivacy', () => graph.setPrivacy('alice', 'NOBODY')],
          ['addContact', () => graph.addContact('alice', 'bob')],
          ['block', () => graph.block('alice', 'bob')],
          ['unblock', () => graph.unblock('alice', 'bob')],
          ['removeContact', () => graph.removeContact('alice', 'bob')],
        ];
        const seen = new Set([await revisionOf('alice')]);
        for (const [what, change] of changes) {
          const bob = await revisionOf('bob');
          await change();
          const alice = await revisionOf('alice');
          // Never one seen before: a holder of any earlier revision learns that it changed.
          expect(seen.has(alice), `${what} moved alice's revision`).toBe(false);
          seen.add(alice);
          expect(await revisionOf('bob'), `${what} left bob's alone`).toBe(bob);
        }
      });

      it('should leave the revision alone when an edge change changes nothing', async () => {
        await register('alice', 'bob');
        await graph.addContact('alice', 'bob');
        const before = await revisionOf('alice');
        expect(await graph.addContact('alice', 'bob')).toBe(false);
        expect(await graph.unblock('alice', 'bob')).toBe(false);
        expect(await graph.removeContact('bob', 'alice')).toBe(false);
        expect(await revisionOf('alice')).toBe(before);
      });

      it('should tell exactly which held revisions changed, including users not registered', async () => {
        await register('alice', 'bob', 'carol');
        const { revisions } = await graph.audience('alice', ['bob', 'carol']);
        const known = new Map([...revisions, ['ghost', 0]]);
        expect(await graph.changed(known)).toEqual(new Set(['ghost']));
        await graph.block('bob', 'alice');
        await graph.setPrivacy('carol', 'EVERYONE');
        expect(await graph.changed(known)).toEqual(new Set(['bob', 'carol', 'ghost']));
        expect(await graph.changed(new Map())).toEqual(new Set());
        // What a read now brings is current again.
        expect(await graph.changed((await graph.audience('alice', ['bob', 'carol'])).revisions)).toEqual(new Set());
      });
    });

    describe('ping', () => {
      it('should resolve when the graph is reachable', async () => {
        await expect(graph.ping()).resolves.toBeUndefined();
      });
    });
  });
}

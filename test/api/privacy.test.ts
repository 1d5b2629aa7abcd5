/** Privacy rules end to end, through the public contract. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '../support/clients.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('privacy over the API', () => {
  let t: TestServer;
  const tokens: Record<string, string> = {};
  const as = (u: string, q: string) => gql(t.url, q, {}, tokens[u]);
  const seen = async (viewer: string, target: string) =>
    ((await as(viewer, `{ presence(userId: "${target}") { status lastSeen { bucketSeconds } } }`)).data as { presence: unknown }).presence;

  beforeAll(async () => {
    t = await startTestServer();
    for (const u of ['target', 'contact', 'stranger', 'hermit', 'blocked']) {
      tokens[u] = await t.token(u);
      await as(u, '{ me { id } }');
    }
    await as('target', 'mutation { addContact(userId: "contact") }');
    await as('target', 'mutation { addContact(userId: "hermit") }');
    await as('target', 'mutation { addContact(userId: "blocked") }');
    await as('target', 'mutation { block(userId: "blocked") }');
    await as('hermit', 'mutation { setPrivacy(mode: NOBODY) { privacy } }');
    // target was online and left: OFFLINE with a last-seen.
    await as('target', 'mutation { heartbeat(deviceId: "t1", platform: WEB) { status } }');
    await as('target', 'mutation { signOff(deviceId: "t1") }');
  });
  afterAll(() => t.dispose());

  const OFFLINE_SEEN = { status: 'OFFLINE', lastSeen: { bucketSeconds: 60 } };
  const HIDDEN = { status: 'UNKNOWN', lastSeen: null };

  it('should give a new user CONTACTS: their contacts see them, strangers get UNKNOWN', async () => {
    expect(await seen('contact', 'target')).toEqual(OFFLINE_SEEN);
    expect(await seen('stranger', 'target')).toEqual(HIDDEN);
  });

  it('should hide everything from a blocked viewer, even though they are listed', async () => {
    expect(await seen('blocked', 'target')).toEqual(HIDDEN);
  });

  it('should show a NOBODY viewer the status but no last-seen (reciprocity)', async () => {
    expect(await seen('hermit', 'target')).toEqual({ status: 'OFFLINE', lastSeen: null });
  });

  it('should hide a NOBODY user from everyone, contacts included', async () => {
    await as('hermit', 'mutation { addContact(userId: "contact") }');
    expect(await seen('contact', 'hermit')).toEqual(HIDDEN);
  });

  it('should show an EVERYONE user to any signed-in viewer, and never to a blocked one', async () => {
    await as('target', 'mutation { setPrivacy(mode: EVERYONE) { privacy } }');
    try {
      expect(await seen('stranger', 'target')).toEqual(OFFLINE_SEEN);
      expect(await seen('blocked', 'target')).toEqual(HIDDEN);
    } finally {
      await as('target', 'mutation { setPrivacy(mode: CONTACTS) { privacy } }');
    }
  });

  it('should make INVISIBLE look exactly like OFFLINE to others, with the truth in me', async () => {
    const before = await as('contact', '{ presence(userId: "target") { status lastSeen { at } version platforms } }');
    await as('target', 'mutation { setStatus(status: INVISIBLE) { status } }');
    await as('target', 'mutation { heartbeat(deviceId: "t2", platform: MOBILE, activity: ACTIVE) { status } }');
    const during = await as('contact', '{ presence(userId: "target") { status lastSeen { at } version platforms } }');
    expect(during.data).toEqual(before.data);
    const me = await as('target', '{ me { status manualStatus devices { deviceId } asOthersSeeIt { status platforms } } }');
    expect(me.data).toEqual({ me: { status: 'ONLINE', manualStatus: 'INVISIBLE', devices: [{ deviceId: 't2' }], asOthersSeeIt: { status: 'OFFLINE', platforms: [] } } });
    await as('target', 'mutation { setStatus(status: AUTO) { status } }');
    expect(await seen('contact', 'target')).toEqual({ status: 'ONLINE', lastSeen: null });
    await as('target', 'mutation { signOff(deviceId: "t2") }');
  });

  it('should show DND while a device is live', async () => {
    await as('target', 'mutation { setStatus(status: DND) { status } }');
    expect(await seen('contact', 'target')).toMatchObject({ status: 'OFFLINE' });
    await as('target', 'mutation { heartbeat(deviceId: "t3", platform: DESKTOP) { status } }');
    expect(await seen('contact', 'target')).toEqual({ status: 'DND', lastSeen: null });
    await as('target', 'mutation { signOff(deviceId: "t3") }');
    await as('target', 'mutation { setStatus(status: AUTO) { status } }');
  });

  it('should list contacts with presence as the viewer may see each', async () => {
    // contact lists target back (so target may see them); blocked does not.
    await as('contact', 'mutation { addContact(userId: "target") }');
    const res = await as('target', '{ contacts(first: 2) { edges { cursor node { userId presence { status } } } pageInfo { hasNextPage endCursor } } }');
    const page = (res.data as any).contacts;
    expect(page.edges.map((e: any) => e.node.userId)).toEqual(['blocked', 'contact']);
    expect(page.edges.map((e: any) => e.node.presence.status)).toEqual(['UNKNOWN', 'OFFLINE']);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await gql(t.url, 'query ($a: String) { contacts(first: 2, after: $a) { nodes { userId presence { status } } pageInfo { hasNextPage } } }', { a: page.pageInfo.endCursor }, tokens.target);
    // hermit is NOBODY: even to someone who lists them, UNKNOWN.
    expect(next.data).toEqual({ contacts: { nodes: [{ userId: 'hermit', presence: { status: 'UNKNOWN' } }], pageInfo: { hasNextPage: false } } });
  });
});

/**
 * Neo4jContactGraph against a real Neo4j (started by scripts/neo4j/control.ts if not running): the shared
 * ContactGraph contract, then what only the Neo4j implementation promises — one round trip per call,
 * namespaces that never leak, a constraint that makes concurrent writes safe, and fail-closed errors.
 * Each test gets its own namespace and deletes its nodes afterwards.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import neo4j, { type Driver } from 'neo4j-driver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Neo4jContactGraph, type Neo4jContactGraphOptions } from '../../graph/neo4j.js';
import type { ContactGraph } from '../../graph/port.js';
import { StoreUnavailableError } from '../../presence/errors.js';
import { ensureNeo4j, type Neo4jConnection } from '../../scripts/neo4j/control.js';
import { contactGraphContract } from '../contract/contactGraph.contract.js';

let conn: Neo4jConnection;
let admin: Driver;

beforeAll(async () => {
  conn = await ensureNeo4j();
  admin = neo4j.driver(conn.uri, neo4j.auth.basic(conn.user, conn.password));
  const graph = new Neo4jContactGraph(conn);
  await graph.migrate();
  await graph.close();
});

afterAll(async () => {
  await admin?.close();
});

function newNamespace(): string {
  return `test-${randomUUID()}`;
}

async function deleteNamespace(namespace: string): Promise<void> {
  await admin.executeQuery('MATCH (u:User {ns: $ns}) DETACH DELETE u', { ns: namespace });
}

async function countNodes(namespace: string, id?: string): Promise<number> {
  const { records } = await admin.executeQuery(
    'MATCH (u:User {ns: $ns}) WHERE $id IS NULL OR u.id = $id RETURN count(u) AS n',
    { ns: namespace, id: id ?? null },
  );
  return neo4j.integer.toNumber(records[0]!.get('n'));
}

contactGraphContract('Neo4jContactGraph', async () => {
  const namespace = newNamespace();
  const graph = new Neo4jContactGraph({ ...conn, namespace });
  return {
    graph,
    dispose: async () => {
      await graph.close();
      await deleteNamespace(namespace);
    },
  };
});

describe('Neo4jContactGraph', () => {
  const opened: { graph: Neo4jContactGraph; namespace: string }[] = [];

  function open(options: Partial<Neo4jContactGraphOptions> = {}): Neo4jContactGraph {
    const namespace = options.namespace ?? newNamespace();
    const graph = new Neo4jContactGraph({ ...conn, ...options, namespace });
    opened.push({ graph, namespace });
    return graph;
  }

  afterEach(async () => {
    for (const { graph, namespace } of opened.splice(0)) {
      await graph.close();
      await deleteNamespace(namespace);
    }
  });

  describe('round trips', () => {
    it('should answer audience for 100 targets with exactly 1 query', async () => {
      const graph = open();
      await graph.ensureUser('viewer');
      const targets = Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(3, '0')}`);
      for (const [i, id] of targets.entries()) {
        if (i % 10 === 9) continue; // every tenth target is not registered
        await graph.ensureUser(id);
        if (i % 3 === 0) await graph.addContact(id, 'viewer');
        if (i % 7 === 0) await graph.block(id, 'viewer');
      }

      const before = graph.queries;
      const audience = await graph.audience('viewer', targets);
      expect(graph.queries - before).toBe(1);

      expect(audience.viewerPrivacy).toBe('CONTACTS');
      expect(audience.relations.size).toBe(90);
      for (const [i, id] of targets.entries()) {
        if (i % 10 === 9) {
          expect(audience.relations.has(id)).toBe(false);
          continue;
        }
        expect(audience.relations.get(id)).toEqual({
          privacy: 'CONTACTS',
          listsViewer: i % 3 === 0,
          blocksViewer: i % 7 === 0,
        });
      }
    });

    it.each<[string, (graph: ContactGraph) => Promise<unknown>]>([
      ['ensureUser', (g) => g.ensureUser('alice')],
      ['users', (g) => g.users(['alice', 'bob', 'ghost'])],
      ['audience', (g) => g.audience('alice', ['bob'])],
      ['contacts', (g) => g.contacts('alice', 10, null)],
      ['setPrivacy', (g) => g.setPrivacy('alice', 'EVERYONE')],
      ['addContact', (g) => g.addContact('alice', 'bob')],
      ['removeContact', (g) => g.removeContact('alice', 'bob')],
      ['block', (g) => g.block('alice', 'bob')],
      ['unblock', (g) => g.unblock('alice', 'bob')],
      ['ping', (g) => g.ping()],
      ['changed', (g) => g.changed(new Map([['alice', 0], ['bob', 3], ['ghost', 0]]))],
    ])('%s should cost exactly 1 query', async (_, call) => {
      const graph = open();
      await graph.ensureUser('alice');
      await graph.ensureUser('bob');
      const before = graph.queries;
      await call(graph);
      expect(graph.queries - before).toBe(1);
    });

    it('should not send a query for users([]) or changed() of nothing', async () => {
      const graph = open();
      expect(await graph.users([])).toEqual(new Map());
      expect(await graph.changed(new Map())).toEqual(new Set());
      expect(graph.queries).toBe(0);
    });

    it('should check 500 held revisions in 1 query that sends back only what changed', async () => {
      const graph = open();
      const ids = Array.from({ length: 500 }, (_, i) => `u${String(i).padStart(3, '0')}`);
      for (const id of ids) await graph.ensureUser(id);
      await graph.addContact('u007', 'u008');
      const { revisions } = await graph.audience('u000', ids);
      expect(revisions.size).toBe(500);
      await graph.setPrivacy('u123', 'NOBODY');
      const before = graph.queries;
      expect(await graph.changed(revisions)).toEqual(new Set(['u123']));
      expect(graph.queries - before).toBe(1);
    });
  });

  describe('namespaces', () => {
    it('should never let two namespaces see each other’s users or edges', async () => {
      const a = open();
      const b = open();
      await a.ensureUser('alice');
      await a.ensureUser('bob');
      await a.setPrivacy('alice', 'EVERYONE');
      await a.addContact('alice', 'bob');
      await a.block('bob', 'alice');

      expect(await b.users(['alice', 'bob'])).toEqual(new Map());
      expect(await b.audience('bob', ['alice'])).toMatchObject({ viewerPrivacy: undefined, relations: new Map() });
      expect(await b.contacts('alice', 10, null)).toMatchObject({ ids: [], hasNextPage: false });
      expect(await b.removeContact('alice', 'bob')).toBe(false);

      await b.ensureUser('alice');
      await b.ensureUser('bob');
      expect(await b.users(['alice'])).toEqual(new Map([['alice', 'CONTACTS']]));
      expect((await b.audience('bob', ['alice'])).relations.get('alice')).toEqual({
        privacy: 'CONTACTS',
        listsViewer: false,
        blocksViewer: false,
      });
      expect(await b.unblock('bob', 'alice')).toBe(false);

      // Namespace b's writes did not touch a.
      expect(await a.users(['alice'])).toEqual(new Map([['alice', 'EVERYONE']]));
      expect((await a.audience('bob', ['alice'])).relations.get('alice')).toEqual({
        privacy: 'EVERYONE',
        listsViewer: true,
        blocksViewer: false,
      });
    });

    it('should keep the production namespace apart from a test namespace', async () => {
      const namespace = newNamespace();
      const graph = open({ namespace });
      await graph.ensureUser('alice');
      const production = new Neo4jContactGraph(conn);
      try {
        expect(production.namespace).toBe('');
        expect(await production.users([`never-${namespace}`])).toEqual(new Map());
        expect(await production.audience(`never-${namespace}`, ['alice'])).toEqual(
          expect.objectContaining({ viewerPrivacy: undefined }),
        );
      } finally {
        await production.close();
      }
    });
  });

  describe('schema and concurrency', () => {
    it('should run migrate() twice without error and keep one (ns, id) constraint', async () => {
      const graph = open();
      await graph.migrate();
      await graph.migrate();
      const { records } = await admin.executeQuery(
        "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties WHERE name = 'user_ns_id' RETURN *",
      );
      expect(records.map((r) => r.toObject())).toEqual([
        { name: 'user_ns_id', type: 'UNIQUENESS', labelsOrTypes: ['User'], properties: ['ns', 'id'] },
      ]);
    });

    it('should create exactly one node for concurrent ensureUser calls', async () => {
      const graph = open();
      await Promise.all(Array.from({ length: 20 }, () => graph.ensureUser('alice')));
      expect(await countNodes(graph.namespace, 'alice')).toBe(1);
    });

    it('should report exactly one change for concurrent addContact calls', async () => {
      const graph = open();
      await graph.ensureUser('alice');
      await graph.ensureUser('bob');
      const changed = await Promise.all(Array.from({ length: 10 }, () => graph.addContact('alice', 'bob')));
      expect(changed.filter(Boolean)).toHaveLength(1);
      expect(await graph.contacts('alice', 10, null)).toMatchObject({ ids: ['bob'], hasNextPage: false });
    });
  });

  describe('revisions', () => {
    it('should read a user stored before revisions existed (no rev property) as revision 0, and move it on their first change', async () => {
      const namespace = newNamespace();
      const graph = open({ namespace });
      await graph.migrate();
      await admin.executeQuery("CREATE (:User {ns: $ns, id: 'old', privacy: 'EVERYONE'}), (:User {ns: $ns, id: 'viewer', privacy: 'CONTACTS'})", { ns: namespace });
      const audience = await graph.audience('viewer', ['old']);
      expect(audience.revisions).toEqual(new Map([['viewer', 0], ['old', 0]]));
      expect((await graph.contacts('old', 10, null)).revision).toBe(0);
      expect(await graph.changed(audience.revisions)).toEqual(new Set());
      await graph.addContact('old', 'viewer');
      expect(await graph.changed(audience.revisions)).toEqual(new Set(['old']));
    });
  });

  describe('unregistered users', () => {
    it.each(['addContact', 'removeContact', 'block', 'unblock'] as const)(
      '%s with an unregistered endpoint should return false and register no one',
      async (method) => {
        const graph = open();
        await graph.ensureUser('alice');
        expect(await graph[method]('alice', 'ghost')).toBe(false);
        expect(await graph[method]('ghost', 'alice')).toBe(false);
        expect(await countNodes(graph.namespace)).toBe(1);
      },
    );

    it('setPrivacy on an unregistered user should be a no-op', async () => {
      const graph = open();
      await graph.setPrivacy('ghost', 'EVERYONE');
      expect(await graph.users(['ghost'])).toEqual(new Map());
      expect(await countNodes(graph.namespace)).toBe(0);
    });

    it('contacts should reject a negative or fractional first with a RangeError', async () => {
      const graph = open();
      await expect(graph.contacts('alice', -1, null)).rejects.toThrow(RangeError);
      await expect(graph.contacts('alice', 1.5, null)).rejects.toThrow(RangeError);
      expect(graph.queries).toBe(0);
    });
  });

  // Concurrent: each of these waits out timeouts against nothing, not against the shared Neo4j.
  describe.concurrent('when Neo4j cannot be reached', () => {
    const calls: [string, (graph: Neo4jContactGraph) => Promise<unknown>][] = [
      ['migrate', (g) => g.migrate()],
      ['ensureUser', (g) => g.ensureUser('alice')],
      ['users', (g) => g.users(['alice'])],
      ['audience', (g) => g.audience('alice', ['bob'])],
      ['contacts', (g) => g.contacts('alice', 10, null)],
      ['setPrivacy', (g) => g.setPrivacy('alice', 'NOBODY')],
      ['addContact', (g) => g.addContact('alice', 'bob')],
      ['removeContact', (g) => g.removeContact('alice', 'bob')],
      ['block', (g) => g.block('alice', 'bob')],
      ['unblock', (g) => g.unblock('alice', 'bob')],
      ['ping', (g) => g.ping()],
    ];

    async function expectUnavailable(call: Promise<unknown>, withinMs: number): Promise<StoreUnavailableError> {
      const started = Date.now();
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(withinMs);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).store).toBe('graph');
      return error as StoreUnavailableError;
    }

    it.each(calls)('%s should reject with StoreUnavailableError(graph) quickly when nothing listens', async (_, call) => {
      const graph = new Neo4jContactGraph({ uri: 'bolt://127.0.0.1:1', user: 'neo4j', password: 'x' });
      try {
        const error = await expectUnavailable(call(graph), 3_000);
        expect((error.cause as { code?: string }).code).toBe('ServiceUnavailable');
      } finally {
        await graph.close();
      }
    });

    it('connect() should reject with StoreUnavailableError(graph) when nothing listens', async () => {
      await expectUnavailable(Neo4jContactGraph.connect({ uri: 'bolt://127.0.0.1:1', user: 'neo4j', password: 'x' }), 3_000);
    });

    describe('when a server accepts connections but never answers (a hung JVM)', () => {
      let server: Server;
      const sockets = new Set<Socket>();
      let port = 0;

      beforeAll(async () => {
        server = createServer((socket) => {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        port = (server.address() as { port: number }).port;
      });

      afterAll(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });

      it.each(calls)('%s should reject with StoreUnavailableError(graph) within the deadline', async (_, call) => {
        const graph = new Neo4jContactGraph({
          uri: `bolt://127.0.0.1:${port}`,
          user: 'neo4j',
          password: 'x',
          connectionTimeoutMs: 300,
          deadlineMs: 1_000,
        });
        try {
          await expectUnavailable(call(graph), 2_000);
        } finally {
          await graph.close();
        }
      });
    });

    it('should treat rejected credentials as unavailable, with the reason as cause', async () => {
      // An unknown user, so no failed-login lock-out ever hits the real `neo4j` user of parallel tests.
      const graph = new Neo4jContactGraph({ ...conn, user: `nobody-${randomUUID()}`, password: 'wrong-password' });
      try {
        const error = await expectUnavailable(graph.ping(), 3_000);
        expect((error.cause as { code?: string }).code).toBe('Neo.ClientError.Security.Unauthorized');
      } finally {
        await graph.close();
      }
    });
  });

  it('should reject invalid options with a message naming the option', () => {
    expect(() => new Neo4jContactGraph({ ...conn, deadlineMs: 0 })).toThrow('graph: deadlineMs must be > 0, got 0');
    expect(() => new Neo4jContactGraph({ ...conn, retryTimeMs: -1 })).toThrow('graph: retryTimeMs must be ≥ 0, got -1');
  });
});

import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * The `unit` project: tests that need no service and no network at all — no Redis, PostgreSQL or Neo4j,
 * no server on a port, not even loopback (`.ci/run` runs them under `unshare -n`, where loopback is
 * down, so a unit test that reaches for the network fails there). `npm run test:unit` is the quick loop.
 * Whole folders where every test is of that kind, so a new test there is a unit test; single files in
 * folders that mix both kinds. A test that starts a server (test/support/server.ts) is `integration`,
 * even one that only talks to it in-process.
 */
const UNIT = [
  'test/presence/**/*.test.ts', // the pure core
  'test/subscriptions/**/*.test.ts', // the frame compiler and the hub
  'test/service/**/*.test.ts', // use cases over the embedded stores
  'test/bench/**/*.test.ts', // the benchmark scripts' helpers
  'test/*/embedded.test.ts', // each store port's contract suite run against its embedded implementation
  'test/graph/cached.test.ts', // the relation cache over the embedded graph
  'test/graph/neo4jErrors.test.ts', // Neo4j error mapping, on driver error objects only
  'test/prisma/generate.test.ts', // prisma generate, offline
  'test/architecture/**/*.test.ts', // the import graph, read from the sources
  'test/server/auth.test.ts',
  'test/server/config.test.ts',
  'test/server/schema.test.ts', // the committed SDL is current
  'test/server/start-flags.test.ts',
  'test/server/token-script.test.ts',
  'test/client/codegen.test.ts', // the committed client/gql is current
];

export default defineConfig({
  resolve: {
    // graphql 16 ships index.js (CJS) and index.mjs; Vite would pick the .mjs for our code while
    // yoga and graphql-ws load the CJS one — two GraphQLError classes, and every error looks
    // "unexpected". Pin the one Node itself resolves.
    alias: { graphql: require.resolve('graphql') },
  },
  test: {
    // Integration tests start real servers on free ports; each owns its own stores. Unit tests get the
    // same ceilings: they run beside the integration tests in `npm test`, on a busy machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          // Every other test file: none can belong to neither project.
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT],
          // Redis, PostgreSQL and Neo4j up before any test (started by the repo's scripts if needed).
          globalSetup: ['test/setup/services.ts'],
        },
      },
    ],
  },
});

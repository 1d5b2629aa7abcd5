import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships index.js (CJS) and index.mjs; Vite would pick the .mjs for our code while
    // yoga and graphql-ws load the CJS one — two GraphQLError classes, and every error looks
    // "unexpected". Pin the one Node itself resolves.
    alias: { graphql: require.resolve('graphql') },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Redis, PostgreSQL and Neo4j up before any test (started by the repo's scripts if needed).
    globalSetup: ['test/setup/services.ts'],
    // Integration tests start real servers on free ports; each owns its own stores.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

/**
 * GraphQL Code Generator: typed documents for consumers of the API (`npm run codegen`).
 * Input: the published SDL and the operations in client/operations; output: client/gql (committed, so
 * a consumer can copy it; test/client/codegen.test.ts fails when it is stale).
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['client/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  // ESM: relative imports end in .js, as Node and this repo's tsconfig require.
  importExtension: '.js',
  generates: {
    'client/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: 'string' } },
    },
  },
};

export default config;

import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.js';

describe('the generated client (client/gql)', () => {
  it('should match what `npm run codegen` produces from the SDL and operations', async () => {
    const files = (await generate({ ...config, silent: true, cwd: new URL('../..', import.meta.url).pathname }, false)) as { filename: string; content: string }[];
    expect(files.map((f) => f.filename).sort()).toEqual(['client/gql/gql.ts', 'client/gql/graphql.ts', 'client/gql/index.ts']);
    for (const file of files) {
      const committed = readFileSync(new URL(`../../${file.filename}`, import.meta.url), 'utf8');
      expect(committed, `${file.filename} is stale: run npm run codegen`).toBe(file.content);
    }
  });
});

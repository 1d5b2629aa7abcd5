import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTPUT_DIR, ensureGenerated, expectedHash, generateEnv, isCurrent } from '../../prisma/generate.js';

describe('prisma:generate', () => {
  it('should leave a current client alone and stamp it with the schema hash', async () => {
    await ensureGenerated();

    expect(await ensureGenerated()).toEqual({ generated: false, hash: await expectedHash() });
    expect(await isCurrent()).toBe(true);
    expect((await readFile(join(OUTPUT_DIR, '.schema-hash'), 'utf8')).trim()).toBe(await expectedHash());
  });

  it('should point the CLI at an existing executable instead of downloading the schema engine', () => {
    const env = generateEnv({ PATH: '/usr/bin' });
    expect(env).toMatchObject({ PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' });
    expect(generateEnv({ PRISMA_SCHEMA_ENGINE_BINARY: '/opt/prisma/schema-engine' }).PRISMA_SCHEMA_ENGINE_BINARY).toBe('/opt/prisma/schema-engine');
  });
});

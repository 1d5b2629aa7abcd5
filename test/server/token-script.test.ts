import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createVerifier } from '../../server/auth.js';
import { loadConfig } from '../../server/config.js';

const run = promisify(execFile);
const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const script = new URL('../../scripts/token.ts', import.meta.url).pathname;

describe('npm run -s token', () => {
  it('should print a dev token the server accepts, with sub = the user id', async () => {
    const { stdout } = await run(tsx, [script, 'alice', '--ttl', '600'], { env: { ...process.env, JWT_SECRET: '', JWKS_URL: '' } });
    const token = stdout.trim();
    const claims = decodeJwt(token);
    expect(claims.sub).toBe('alice');
    expect(claims.exp! - claims.iat!).toBe(600);
    const identity = await createVerifier(loadConfig({}))(`Bearer ${token}`);
    expect(identity.userId).toBe('alice');
  });

  it('should refuse a malformed user id with usage help', async () => {
    await expect(run(tsx, [script, 'not valid'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage: npm run -s token -- <userId>') });
  });
});

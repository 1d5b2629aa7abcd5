/**
 * Prints a dev token: `npm run -s token -- <userId> [--ttl <seconds>]`. Signed with JWT_SECRET, or the
 * dev secret `npm start` uses when JWT_SECRET is unset.
 */
import { parseArgs } from 'node:util';
import { signToken } from '../server/auth.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { isUserId } from '../presence/index.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { ttl: { type: 'string', default: String(24 * 3600) } } });
const userId = positionals[0];
const ttlSeconds = Number(values.ttl);
if (!isUserId(userId) || !Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
  console.error('usage: npm run -s token -- <userId> [--ttl <seconds>]   (userId: letters, digits and _ . : @ -)');
  process.exit(2);
}
try {
  const config = loadConfig();
  if (config.auth.kind !== 'secret') {
    console.error('token: JWKS_URL is set; tokens come from your identity provider, not from here');
    process.exit(2);
  }
  console.log(await signToken(config.auth.secret, userId, { ttlSeconds }));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`token: ${error.message}`);
    process.exit(2);
  }
  throw error;
}

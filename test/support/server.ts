/**
 * Starts a real server on a free loopback port for a test, with short presence timings so expiry and
 * grace windows pass in well under a second. Every server owns its stores; dispose() closes it.
 */
import { pino } from 'pino';
import { createServer, type PresenceServer } from '../../server/app.js';
import { signToken } from '../../server/auth.js';
import { loadConfig, type Config } from '../../server/config.js';
import { embeddedStores, type Stores } from '../../server/stores.js';

export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';

/** Short timings: heartbeat 200 ms, jitter 50, TTL 500, grace 300, sweep every 20 ms. */
export const FAST_ENV = {
  JWT_SECRET: TEST_SECRET,
  PRESENCE_HEARTBEAT_MS: '200',
  PRESENCE_JITTER_MS: '50',
  PRESENCE_TTL_MS: '500',
  PRESENCE_GRACE_MS: '300',
  PRESENCE_SWEEP_MS: '20',
  PRESENCE_COALESCE_MS: '10',
  LOG_LEVEL: 'silent',
};

export interface TestServer {
  readonly server: PresenceServer;
  readonly stores: Stores;
  readonly config: Config;
  readonly url: string;
  readonly wsUrl: string;
  token(userId: string, options?: { ttlSeconds?: number; now?: number }): Promise<string>;
  dispose(): Promise<void>;
}

export async function startTestServer(
  options: { env?: Record<string, string>; stores?: Stores; clock?: () => number; port?: number } = {},
): Promise<TestServer> {
  const config = loadConfig({ ...FAST_ENV, ...options.env });
  const stores = options.stores ?? embeddedStores();
  const server = await createServer({ config, stores, clock: options.clock, log: pino({ level: 'silent' }) });
  const url = await server.listen(options.port ?? 0, '127.0.0.1');
  return {
    server,
    stores,
    config,
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/graphql',
    token: (userId, opts) => signToken(TEST_SECRET, userId, opts),
    dispose: () => server.close(),
  };
}

import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from '../../server/config.js';

describe('configuration', () => {
  it('should default to port 4000, embedded stores, the dev secret and the product timings', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect([config.redisUrl, config.databaseUrl, config.neo4j]).toEqual([undefined, undefined, undefined]);
    expect(config.auth).toEqual({ kind: 'secret', secret: DEV_JWT_SECRET, dev: true });
    expect(config.timing).toEqual({ heartbeatMs: 30_000, jitterMs: 5_000, ttlMs: 70_000, graceMs: 15_000, idleMs: 600_000 });
    expect(config.graphiql).toBe(true);
    expect(config.demoSeed).toBe(true);
  });

  it.each([
    [{ PRESENCE_HEARTBEAT_MS: '30000', PRESENCE_JITTER_MS: '5000', PRESENCE_TTL_MS: '65000' }, 'presence: ttl (65000 ms) must exceed 2 × heartbeat + jitter (2 × 30000 + 5000 = 65000 ms)'],
    [{ PORT: 'eighty' }, 'config: PORT must be a whole number ≥ 0, got "eighty"'],
    [{ PORT: '70000' }, 'server: PORT must be ≤ 65535, got 70000'],
    [{ NODE_ENV: 'production' }, 'auth: NODE_ENV=production needs JWT_SECRET or JWKS_URL'],
    [{ JWT_SECRET: 'short' }, 'auth: JWT_SECRET must be at least 32 characters (HS256 key)'],
    [{ JWT_SECRET: 'x'.repeat(32), JWKS_URL: 'https://idp.example/jwks' }, 'auth: set JWT_SECRET or JWKS_URL, not both'],
    [{ JWKS_URL: 'not a url' }, 'auth: JWKS_URL must be a URL, got "not a url"'],
    [{ GRAPHIQL: 'maybe' }, 'config: GRAPHIQL must be true or false, got "maybe"'],
    [{ PRESENCE_COALESCE_MS: '5000' }, 'subscriptions: PRESENCE_COALESCE_MS must be ≤ 1000 (the propagation bound), got 5000'],
  ])('should refuse %o at start-up with a message naming the area', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });

  it('should switch GraphiQL and introspection off in production, and use real stores when their URLs are set', () => {
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), REDIS_URL: 'redis://127.0.0.1:6379', NEO4J_URI: 'bolt://127.0.0.1:7687' });
    expect(config.graphiql).toBe(false);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.neo4j).toEqual({ uri: 'bolt://127.0.0.1:7687', user: 'neo4j', password: 'presence-dev', namespace: '' });
    expect(config.demoSeed).toBe(false);
  });

  it('should keep idle HTTP connections open longer than a load balancer\'s idle timeout, unless told otherwise', () => {
    expect(loadConfig({}).httpKeepAliveMs).toBe(65_000);
    expect(loadConfig({ HTTP_KEEPALIVE_MS: '1500' }).httpKeepAliveMs).toBe(1_500);
  });
});

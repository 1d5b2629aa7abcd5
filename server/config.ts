/**
 * Configuration from the environment (names fixed by product.md). Bad values and bad combinations fail
 * at start-up with a message that names the area.
 */
import { makeTiming, type Timing } from '../presence/index.js';
import { DEFAULT_LIMITS, type Limits } from '../resolvers/limits.js';

export type AuthConfig =
  | {
      readonly kind: 'secret';
      readonly secret: string;
      /** True when no JWT_SECRET was set and the well-known dev secret is used (never in production). */
      readonly dev: boolean;
    }
  | { readonly kind: 'jwks'; readonly url: string };

export interface Config {
  /** PORT: where HTTP, SSE and WebSocket are served. Default 4000. */
  readonly port: number;
  /** HOST: the interface to bind. Default 0.0.0.0. */
  readonly host: string;
  /** NODE_ENV=production: masked errors, no GraphiQL or introspection, no dev secret. */
  readonly production: boolean;
  /**
   * HTTP_KEEPALIVE_MS: how long an idle kept-alive HTTP connection stays open. Default 65 000: longer
   * than the idle timeout of the load balancers in front of such a service (60 s on common ones), so the
   * server never closes a connection a client or balancer is about to reuse (which reads as
   * ECONNRESET). Node's own default is 5 s.
   */
  readonly httpKeepAliveMs: number;
  readonly auth: AuthConfig;
  /** JWT_ISSUER / JWT_AUDIENCE: checked when set. */
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  /** REDIS_URL: hot state; unset → embedded. */
  readonly redisUrl: string | undefined;
  /** REDIS_PREFIX: prefix of every key and channel, so deployments can share a Redis. Default "presence:". */
  readonly redisPrefix: string;
  /** REDIS_PARTITIONS: fixed partition count of expiry indexes and outbox streams. Default 16; never change it live. */
  readonly redisPartitions: number;
  /** DATABASE_URL: last-seen and trail; unset → embedded. */
  readonly databaseUrl: string | undefined;
  /**
   * NEO4J_URI + NEO4J_USER + NEO4J_PASSWORD: contact graph; unset → embedded. NEO4J_NAMESPACE (default
   * empty) partitions one Neo4j between deployments or test runs.
   */
  readonly neo4j: { readonly uri: string; readonly user: string; readonly password: string; readonly namespace: string } | undefined;
  readonly timing: Timing;
  /**
   * PRESENCE_COALESCE_MS: at most one batch per subscription per window; changes within it go out
   * together. Default 25: a change waits at most 25 ms, and a subscription gets at most 40 batches/s.
   */
  readonly coalesceMs: number;
  /** PRESENCE_SWEEP_MS: how often each process sweeps the expiry index. Default 250. */
  readonly sweepMs: number;
  /** PRESENCE_TRAIL_RETENTION_MS: how long trail detail is kept. Default 24 h. */
  readonly trailRetentionMs: number;
  /** GRAPHIQL: serve GraphiQL at /graphql (and allow introspection). Default: on unless production. */
  readonly graphiql: boolean;
  /** DEMO_SEED: seed the demo graph into embedded stores. Default: on when the graph is embedded. */
  readonly demoSeed: boolean;
  /** LOG_LEVEL: pino level. Default info. */
  readonly logLevel: string;
  readonly limits: Limits;
}

/** The well-known secret used when JWT_SECRET is unset outside production. Never for real users. */
export const DEV_JWT_SECRET = 'presence-graph-dev-secret-do-not-use-in-production';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function int(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`config: ${name} must be a whole number ≥ 0, got "${raw}"`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`config: ${name} must be true or false, got "${raw}"`);
}

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const timing = makeTiming({
    heartbeatMs: int(env, 'PRESENCE_HEARTBEAT_MS'),
    jitterMs: int(env, 'PRESENCE_JITTER_MS'),
    ttlMs: int(env, 'PRESENCE_TTL_MS'),
    graceMs: int(env, 'PRESENCE_GRACE_MS'),
    idleMs: int(env, 'PRESENCE_IDLE_MS'),
  });
  if (!timing.ok) throw new ConfigError(timing.error);

  let auth: AuthConfig;
  if (env.JWT_SECRET && env.JWKS_URL) throw new ConfigError('auth: set JWT_SECRET or JWKS_URL, not both');
  if (env.JWKS_URL) {
    try {
      new URL(env.JWKS_URL);
    } catch {
      throw new ConfigError(`auth: JWKS_URL must be a URL, got "${env.JWKS_URL}"`);
    }
    auth = { kind: 'jwks', url: env.JWKS_URL };
  } else if (env.JWT_SECRET) {
    if (env.JWT_SECRET.length < 32) throw new ConfigError('auth: JWT_SECRET must be at least 32 characters (HS256 key)');
    auth = { kind: 'secret', secret: env.JWT_SECRET, dev: false };
  } else if (production) {
    throw new ConfigError('auth: NODE_ENV=production needs JWT_SECRET or JWKS_URL');
  } else {
    auth = { kind: 'secret', secret: DEV_JWT_SECRET, dev: true };
  }

  const neo4jUri = env.NEO4J_URI || undefined;
  const neo4j = neo4jUri
    ? { uri: neo4jUri, user: env.NEO4J_USER || 'neo4j', password: env.NEO4J_PASSWORD ?? 'presence-dev', namespace: env.NEO4J_NAMESPACE ?? '' }
    : undefined;
  const coalesceMs = int(env, 'PRESENCE_COALESCE_MS') ?? 25;
  if (coalesceMs > 1000) throw new ConfigError(`subscriptions: PRESENCE_COALESCE_MS must be ≤ 1000 (the propagation bound), got ${coalesceMs}`);
  const redisPartitions = int(env, 'REDIS_PARTITIONS') ?? 16;
  if (redisPartitions < 1 || redisPartitions > 16384) throw new ConfigError(`hot: REDIS_PARTITIONS must be between 1 and 16384, got ${redisPartitions}`);
  const port = int(env, 'PORT') ?? 4000;
  if (port > 65535) throw new ConfigError(`server: PORT must be ≤ 65535, got ${port}`);

  return {
    port,
    host: env.HOST || '0.0.0.0',
    production,
    httpKeepAliveMs: int(env, 'HTTP_KEEPALIVE_MS') ?? 65_000,
    auth,
    jwtIssuer: env.JWT_ISSUER || undefined,
    jwtAudience: env.JWT_AUDIENCE || undefined,
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX ?? 'presence:',
    redisPartitions,
    databaseUrl: env.DATABASE_URL || undefined,
    neo4j,
    timing: timing.timing,
    coalesceMs,
    sweepMs: int(env, 'PRESENCE_SWEEP_MS') ?? 250,
    trailRetentionMs: int(env, 'PRESENCE_TRAIL_RETENTION_MS') ?? 24 * 60 * 60 * 1000,
    graphiql: bool(env, 'GRAPHIQL', !production),
    demoSeed: bool(env, 'DEMO_SEED', !neo4jUri),
    logLevel: env.LOG_LEVEL || 'info',
    limits: DEFAULT_LIMITS,
  };
}

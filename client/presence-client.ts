/**
 * A graphql-ws client for presence-graph that keeps users connected through outages: it never gives
 * up (graphql-ws's default gives up after 5 tries, ~40 s), waits with full jitter
 * (`random(0, min(cap, base · 2^n))`, AWS Builders' Library) so a reconnect storm spreads out, and asks
 * for a fresh token on every (re)connect so a 4403 "token expired" heals by itself.
 *
 * A connection that passes `deviceId` is a device session: online while connected.
 */
import { createClient, type Client } from 'graphql-ws';

export interface PresenceClientOptions {
  /** ws://host:port/graphql */
  readonly url: string;
  /** A fresh JWT (without "Bearer "); called on every connect. */
  readonly token: () => string | Promise<string>;
  /** Makes this connection a device session. */
  readonly deviceId?: string;
  readonly platform?: 'WEB' | 'DESKTOP' | 'MOBILE';
  /** WebSocket implementation outside browsers (e.g. `ws`). */
  readonly webSocketImpl?: unknown;
  /** First retry ceiling; default 1 000 ms. */
  readonly retryBaseMs?: number;
  /** Retry ceiling; default 30 000 ms. */
  readonly retryCapMs?: number;
  /** Source of randomness in [0, 1); default Math.random. */
  readonly random?: () => number;
}

/** Close codes that mean "this client is broken": retrying the same thing cannot help. */
const FATAL_CLOSE_CODES = new Set([4400, 4406, 4409, 4429]);

/** Full jitter: a uniformly random wait in [0, min(cap, base · 2^attempt)). */
export function fullJitter(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

export function createPresenceClient(options: PresenceClientOptions): Client {
  const base = options.retryBaseMs ?? 1_000;
  const cap = options.retryCapMs ?? 30_000;
  return createClient({
    url: options.url,
    webSocketImpl: options.webSocketImpl,
    lazy: options.deviceId === undefined,
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: (attempt) => new Promise((resolve) => setTimeout(resolve, fullJitter(attempt, base, cap, options.random))),
    shouldRetry: (event) => !(isCloseEvent(event) && FATAL_CLOSE_CODES.has(event.code)),
    connectionParams: async () => ({
      authorization: `Bearer ${await options.token()}`,
      ...(options.deviceId ? { deviceId: options.deviceId, platform: options.platform ?? 'WEB' } : {}),
    }),
  });
}

function isCloseEvent(event: unknown): event is { code: number } {
  return typeof event === 'object' && event !== null && 'code' in event && typeof (event as { code: unknown }).code === 'number';
}

/**
 * JWT auth (jose): HS256 with JWT_SECRET, or any key of a JWKS URL. `sub` is the user id.
 * The same verifier serves HTTP (`Authorization: Bearer …`) and graphql-ws (`connectionParams.authorization`).
 *
 * A client sends the same token with every request, so a token whose signature checked out is reused
 * for up to a minute (never past its `exp`) instead of checked again: the signature check is a WebCrypto
 * job on the thread pool, which every request would otherwise pay for. Only tokens that passed are
 * held; a rejected one is checked again each time it is sent.
 *
 * The HS256 secret is imported as a WebCrypto key once: given the raw bytes, jose imports them again for
 * every token, a second WebCrypto call on top of the check — paid by every connecting socket, each with
 * a token of its own.
 */
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { isUserId, type UserId } from '../presence/index.js';
import type { Config } from './config.js';

export interface Identity {
  readonly userId: UserId;
  /** Expiry (epoch ms), or null when the token has none. */
  readonly expiresAt: number | null;
}

export type AuthFailure = 'missing' | 'malformed' | 'expired' | 'invalid';

export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(readonly reason: AuthFailure, message: string) {
    super(message);
  }
}

export interface Verifier {
  (authorization: unknown): Promise<Identity>;
  /** Signatures checked, and tokens answered from the ones that passed (metrics). */
  readonly stats: { checked: number; reused: number };
}

export interface VerifierOptions {
  /** Now, in epoch ms, for expiry (tests). Default Date.now. */
  readonly clock?: () => number;
  /** Tokens that passed held at most (least recently used dropped). Default 10 000; 0: none held. */
  readonly maxHeld?: number;
  /** How long a token that passed is reused without checking its signature again. Default 60 000 ms. */
  readonly holdMs?: number;
}

export function createVerifier(config: Pick<Config, 'auth' | 'jwtIssuer' | 'jwtAudience'>, options: VerifierOptions = {}): Verifier {
  const secret =
    config.auth.kind === 'secret'
      ? crypto.subtle.importKey('raw', new TextEncoder().encode(config.auth.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
      : null;
  // Awaited by every check; a failure (none is known for a non-empty secret) is each check's to report.
  secret?.catch(() => undefined);
  const jwks: JWTVerifyGetKey | null = config.auth.kind === 'jwks' ? createRemoteJWKSet(new URL(config.auth.url)) : null;
  const algorithms = config.auth.kind === 'secret' ? ['HS256'] : undefined;
  const clock = options.clock ?? Date.now;
  const holdMs = options.holdMs ?? 60_000;
  const maxHeld = options.maxHeld ?? 10_000;
  const held = maxHeld > 0 ? new LRUCache<string, Identity>({ max: maxHeld, ttl: holdMs, ttlResolution: 0, perf: { now: clock } }) : undefined;
  const stats = { checked: 0, reused: 0 };
  const verify = async (authorization: unknown): Promise<Identity> => {
    if (authorization === undefined || authorization === null || authorization === '') {
      throw new AuthError('missing', 'authentication required: send "Authorization: Bearer <JWT>"');
    }
    if (typeof authorization !== 'string') throw new AuthError('malformed', 'authorization must be a string "Bearer <JWT>"');
    const token = authorization.replace(/^Bearer\s+/i, '').trim();
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw new AuthError('malformed', 'authorization is not a JWT ("Bearer <header.payload.signature>")');
    const now = clock();
    const known = held?.get(token);
    if (known && (known.expiresAt === null || known.expiresAt > now)) {
      stats.reused++;
      return known;
    }
    try {
      stats.checked++;
      const options = { algorithms, issuer: config.jwtIssuer, audience: config.jwtAudience, currentDate: new Date(now) };
      const { payload } = secret ? await jwtVerify(token, await secret, options) : await jwtVerify(token, jwks!, options);
      if (!isUserId(payload.sub)) throw new AuthError('invalid', 'token has no valid "sub" (the user id)');
      const identity: Identity = { userId: payload.sub, expiresAt: payload.exp === undefined ? null : payload.exp * 1000 };
      held?.set(token, identity, { ttl: Math.min(holdMs, (identity.expiresAt ?? Infinity) - now) });
      return identity;
    } catch (error) {
      if (error instanceof AuthError) throw error;
      if (error instanceof errors.JWTExpired) throw new AuthError('expired', 'token expired: get a fresh one');
      if (error instanceof errors.JOSEError) throw new AuthError('invalid', `token rejected: ${error.code}`);
      throw error;
    }
  };
  return Object.assign(verify, { stats });
}

/** Signs an HS256 token for `userId` (dev tokens, tests). */
export async function signToken(secret: string, userId: UserId, options: { ttlSeconds?: number; now?: number } = {}): Promise<string> {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 24 * 3600))
    .sign(new TextEncoder().encode(secret));
}

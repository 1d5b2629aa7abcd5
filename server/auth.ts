/**
 * JWT auth (jose): HS256 with JWT_SECRET, or any key of a JWKS URL. `sub` is the user id.
 * The same verifier serves HTTP (`Authorization: Bearer …`) and graphql-ws (`connectionParams.authorization`).
 */
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { UserId } from '../presence/index.js';
import type { Config } from './config.js';
import { isUserId } from './ids.js';

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

export type Verifier = (authorization: unknown) => Promise<Identity>;

export function createVerifier(config: Pick<Config, 'auth' | 'jwtIssuer' | 'jwtAudience'>): Verifier {
  const key: Uint8Array | JWTVerifyGetKey =
    config.auth.kind === 'secret' ? new TextEncoder().encode(config.auth.secret) : createRemoteJWKSet(new URL(config.auth.url));
  const algorithms = config.auth.kind === 'secret' ? ['HS256'] : undefined;
  return async (authorization) => {
    if (authorization === undefined || authorization === null || authorization === '') {
      throw new AuthError('missing', 'authentication required: send "Authorization: Bearer <JWT>"');
    }
    if (typeof authorization !== 'string') throw new AuthError('malformed', 'authorization must be a string "Bearer <JWT>"');
    const token = authorization.replace(/^Bearer\s+/i, '').trim();
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw new AuthError('malformed', 'authorization is not a JWT ("Bearer <header.payload.signature>")');
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
      });
      if (!isUserId(payload.sub)) throw new AuthError('invalid', 'token has no valid "sub" (the user id)');
      return { userId: payload.sub, expiresAt: payload.exp === undefined ? null : payload.exp * 1000 };
    } catch (error) {
      if (error instanceof AuthError) throw error;
      if (error instanceof errors.JWTExpired) throw new AuthError('expired', 'token expired: get a fresh one');
      if (error instanceof errors.JOSEError) throw new AuthError('invalid', `token rejected: ${error.code}`);
      throw error;
    }
  };
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

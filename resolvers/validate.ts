/** Argument checks shared by resolvers: each failure is a GraphQL error with an `extensions.code`. */
import type { UserId } from '../presence/index.js';
import { fail, ErrorCode } from '../server/errors.js';
import { isUserId } from '../server/ids.js';
import type { RequestContext } from './context.js';
import type { Audit, Loaders } from './loaders.js';

export function requireViewer(ctx: RequestContext): UserId {
  if (!ctx.viewer) throw fail(ErrorCode.UNAUTHENTICATED, 'authentication required: send "Authorization: Bearer <JWT>"');
  return ctx.viewer.userId;
}

export function userIdArg(value: unknown, arg: string): UserId {
  if (!isUserId(value)) {
    throw fail(ErrorCode.BAD_USER_INPUT, `${arg} must be 1–128 characters of letters, digits and _ . : @ -, got ${JSON.stringify(value)}`, { argument: arg });
  }
  return value;
}

export function idListArg(values: readonly unknown[], arg: string, max: number, tooMany: ErrorCode): UserId[] {
  if (values.length === 0) throw fail(ErrorCode.BAD_USER_INPUT, `${arg} must name at least one user id, got an empty list`, { argument: arg });
  if (values.length > max) {
    throw fail(tooMany, `${arg} may hold at most ${max} ids, got ${values.length}`, { argument: arg, limit: max, received: values.length });
  }
  return values.map((v, i) => userIdArg(v, `${arg}[${i}]`));
}

/**
 * Fails with USER_NOT_FOUND when any id names no registered user. Ids the graph cannot vouch for
 * (unreachable) pass: they read as UNKNOWN.
 */
export async function requireRegistered(loaders: Pick<Loaders, 'audits'>, ids: readonly UserId[]): Promise<void> {
  failUnlessRegistered(ids, await loaders.audits(ids));
}

/** USER_NOT_FOUND for the ids whose audit says the graph has no such user (unreadable ones pass). */
export function failUnlessRegistered(ids: readonly UserId[], audits: readonly Audit[]): void {
  const missing = ids.filter((_, i) => audits[i] === 'missing');
  if (missing.length > 0) {
    const unique = [...new Set(missing)];
    throw fail(ErrorCode.USER_NOT_FOUND, `no such user${unique.length > 1 ? 's' : ''}: ${unique.slice(0, 10).join(', ')}${unique.length > 10 ? ', …' : ''} (users exist once they have signed in)`, {
      userIds: unique,
    });
  }
}

/** Argument checks shared by resolvers: each failure is a GraphQL error with an `extensions.code`. */
import { isUserId, type UserId } from '../presence/index.js';
import type { RequestContext } from './context.js';
import { ErrorCode, fail } from './errors.js';

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

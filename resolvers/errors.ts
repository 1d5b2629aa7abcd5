/**
 * Every error code and close code has a name and one fixed meaning; whether a client should retry is
 * decided here and nowhere else.
 */
import { GraphQLError } from 'graphql';

export const ErrorCode = {
  /** No token, or a malformed / expired / unverifiable one. HTTP 401. Retry with a fresh token. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Acting for another user (e.g. driving a device bound to someone else). */
  FORBIDDEN: 'FORBIDDEN',
  /** Arguments that can never succeed as sent (empty list, malformed id, bad page size, yourself). */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** Ids that name no registered user. `extensions.userIds` lists them. */
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  /** `presences` asked for more than 500 ids. */
  TOO_MANY_IDS: 'TOO_MANY_IDS',
  /** A viewport of more than 200 ids. */
  VIEWPORT_TOO_LARGE: 'VIEWPORT_TOO_LARGE',
  /** Too many requests or operations; `extensions.retryAfterMs` says when to try again. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The hot store cannot be written: nothing was applied. Retry with backoff. */
  PRESENCE_UNAVAILABLE: 'PRESENCE_UNAVAILABLE',
  /** The contact graph cannot be written: nothing was applied. Retry with backoff. */
  GRAPH_UNAVAILABLE: 'GRAPH_UNAVAILABLE',
  /** The same user's presence is being changed concurrently and kept conflicting. Retry. */
  CONFLICT: 'CONFLICT',
  /** Too deep, too many aliases or tokens, too costly. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** A request body over `limits.maxBodyBytes` (`extensions.limit`). HTTP 413. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A request body sent without a Content-Length (chunked): its size must be known up front. HTTP 411. */
  LENGTH_REQUIRED: 'LENGTH_REQUIRED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRYABLE: ReadonlySet<string> = new Set([
  ErrorCode.RATE_LIMITED,
  ErrorCode.PRESENCE_UNAVAILABLE,
  ErrorCode.GRAPH_UNAVAILABLE,
  ErrorCode.CONFLICT,
]);

/** Whether a client should retry an operation that failed with this code (after backoff). */
export function isRetryable(code: string): boolean {
  return RETRYABLE.has(code);
}

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  LENGTH_REQUIRED: 411,
};

/** The HTTP status that goes with a code, where one does. */
export function httpStatus(code: ErrorCode): number | undefined {
  return HTTP_STATUS[code];
}

/** A GraphQL error carrying `extensions.code` (and the HTTP status where one applies). */
export function fail(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  const status = httpStatus(code);
  return new GraphQLError(message, {
    extensions: { code, retryable: isRetryable(code), ...extensions, ...(status ? { http: { status } } : {}) },
  });
}

/** WebSocket close codes: graphql-transport-ws's own, plus the standard ones we use. */
export const CloseCode = {
  /** Graceful server shutdown: reconnect elsewhere. */
  GoingAway: 1001,
  /** Shedding load: try again later (clients retry 1013). */
  TryAgainLater: 1013,
  BadRequest: 4400,
  /** No or invalid token at connection init. */
  Unauthorized: 4401,
  /** Token expired while connected, or acting for another user: refresh the token and reconnect. */
  Forbidden: 4403,
  SubprotocolNotAcceptable: 4406,
  ConnectionInitialisationTimeout: 4408,
  SubscriberAlreadyExists: 4409,
  TooManyInitialisationRequests: 4429,
  InternalServerError: 4500,
} as const;

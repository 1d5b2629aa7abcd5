/**
 * Which neo4j-driver failures mean "the graph cannot be read right now". Those become
 * `StoreUnavailableError('graph')`, so callers answer UNKNOWN (fail closed); anything else (a Cypher bug,
 * a constraint violation) is a programming error and is rethrown unchanged.
 */
import { StoreUnavailableError } from '../presence/errors.js';

/** Driver error codes that say the server is gone, going, or refuses us as a client. */
const UNAVAILABLE_CODES = new Set([
  'ServiceUnavailable', // cannot connect, connection lost, handshake timed out
  'SessionExpired', // the connection died under a session
  'Neo.TransientError.General.DatabaseUnavailable', // starting up or shutting down
]);

/**
 * Driver errors that carry no specific code (`N/A`) but a recognisable message, and socket-level errors
 * that escape without being wrapped.
 */
const UNAVAILABLE_MESSAGE =
  /Connection acquisition timed out|Failed to establish connection|Pool is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|socket hang up/i;

export function isGraphUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_CODES.has(code)) return true;
    // Wrong credentials, lock-out, expired credentials: nothing can be proven either; the cause says why.
    if (code.startsWith('Neo.ClientError.Security.')) return true;
    if (code.startsWith('E') && UNAVAILABLE_MESSAGE.test(code)) return true;
  }
  return UNAVAILABLE_MESSAGE.test(error.message);
}

/** The error to throw for `error`: StoreUnavailableError('graph') when the graph is unreachable. */
export function toGraphError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  return isGraphUnavailable(error) ? new StoreUnavailableError('graph', { cause: error }) : error;
}

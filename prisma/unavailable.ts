/**
 * One place that decides whether an error from Prisma / `pg` means "the database cannot be used right
 * now" (→ `StoreUnavailableError`, callers fail closed, the drain retries) rather than a bug in what
 * we sent (left as is, so it is loud).
 */

/** Prisma error codes that mean the server is unreachable, refused us, or timed out. */
const PRISMA_CODES = new Set([
  'P1000', // authentication failed
  'P1001', // can't reach database server
  'P1002', // database server timed out
  'P1003', // database does not exist
  'P1008', // operations timed out
  'P1010', // access denied
  'P1011', // TLS connection error
  'P1017', // server closed the connection
  'P2024', // timed out fetching a connection from the pool
  'P2028', // transaction API error (e.g. the connection died mid-transaction)
]);

/** `@prisma/adapter-pg` driver-error kinds of the same meaning. */
const ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
  'ConnectionClosed',
  'SocketTimeout',
  'TlsConnectionError',
  'TooManyConnections',
]);

/** SQLSTATEs: connection exceptions (08…), shutdown / starting up, too many connections, statement timeout. */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '57014'].includes(code);
}

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** `pg` reports its own timeouts and dropped sockets as plain `Error`s with these messages. */
const PG_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error',
  'Connection refused',
];

type Loose = { code?: unknown; kind?: unknown; originalCode?: unknown; message?: unknown; name?: unknown; meta?: unknown; cause?: unknown };

/** Whether `error` (or anything in its cause chain / Prisma's `meta.driverAdapterError`) is a connection failure. */
export function isConnectionFailure(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const x = e as Loose;
    if (x.name === 'PrismaClientInitializationError') return true;
    if (typeof x.code === 'string' && (PRISMA_CODES.has(x.code) || SOCKET_CODES.has(x.code) || isUnavailableSqlState(x.code))) {
      return true;
    }
    if (typeof x.originalCode === 'string' && isUnavailableSqlState(x.originalCode)) return true;
    if (typeof x.kind === 'string' && ADAPTER_KINDS.has(x.kind)) return true;
    if (typeof x.message === 'string' && PG_MESSAGES.some((m) => (x.message as string).includes(m))) return true;
    queue.push(x.cause);
    if (x.meta && typeof x.meta === 'object') queue.push((x.meta as { driverAdapterError?: unknown }).driverAdapterError);
  }
  return false;
}

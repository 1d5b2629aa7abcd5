/** A store could not be read or written. Callers fail closed: reads become UNKNOWN, writes are refused. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(
    readonly store: 'hot' | 'graph' | 'lastSeen',
    options?: { cause?: unknown },
  ) {
    super(`${store} store unavailable`, options);
  }
}

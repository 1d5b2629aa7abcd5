/**
 * What the use cases report as they run. The server counts it (server/metrics.ts); tests may listen.
 * Every method is called synchronously on the hot path: it must only count.
 */
import type { Applied, Transition } from '../presence/index.js';

export interface ServiceObserver {
  /** A transition this process committed, whatever made it: a heartbeat, a socket, the sweeper. */
  transition(transition: Transition): void;
  /**
   * `count` heartbeats handled on one path with the same effect, each in `seconds`: the HTTP mutation
   * (one at a time) or the gateway's refresh of open sockets (a wheel slot at a time).
   */
  heartbeats(path: 'gateway' | 'mutation', effect: Applied['effect'], count: number, seconds: number): void;
  /** Closed sockets' devices: recorded (each in its grace window) or failed (left to expire by TTL). */
  disconnects(outcome: 'recorded' | 'failed', count: number): void;
  /** A read answered UNKNOWN because this store could not be read. */
  unavailable(store: 'hot' | 'graph'): void;
}

/** Observes nothing. */
export const UNOBSERVED: ServiceObserver = {
  transition: () => undefined,
  heartbeats: () => undefined,
  disconnects: () => undefined,
  unavailable: () => undefined,
};

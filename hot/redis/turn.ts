/**
 * One socket write per turn of the event loop for a Redis connection. Whatever the process asks of the
 * connection during a turn — each connecting socket's device claim, commit and SUBSCRIBE, a batch read's
 * call per partition — waits in the corked socket and leaves with the rest when the turn ends
 * (setImmediate, where ioredis's own auto-pipelining flushes too), as one write instead of one each.
 * On loopback every write is a syscall that also runs Redis's side of the connection, so a write per
 * command adds up when many sockets connect at once.
 *
 * Not ioredis's `enableAutoPipelining`: it leaves subscriber commands (SUBSCRIBE, UNSUBSCRIBE) out, and
 * builds a Pipeline per turn where corking only holds bytes. Replies are untouched: each command still
 * settles on its own, in order.
 */
import type { Redis } from 'ioredis';

export class TurnWrites {
  readonly #redis: Redis;
  /** The socket held corked until the end of this turn, if any. */
  #held: Redis['stream'] | null = null;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** Holds what is written to the connection from now until the end of this turn, then writes it at once. */
  hold(): void {
    if (this.#held !== null || this.#redis.status !== 'ready') return;
    const socket = this.#redis.stream;
    socket.cork();
    this.#held = socket;
    setImmediate(this.#release);
  }

  readonly #release = (): void => {
    const socket = this.#held;
    this.#held = null;
    // The socket corked, even if the connection has since been replaced (a closed one just drops it).
    socket?.uncork();
  };
}

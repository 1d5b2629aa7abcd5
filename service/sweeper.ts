/**
 * Offline detection without keyspace notifications: every process sweeps the hot store's expiry index
 * on a short interval; each due user is claimed by exactly one process.
 */
import type { Logger } from 'pino';
import type { PresenceService } from './presence.js';

export interface Sweeper {
  /** Stops sweeping; resolves once the sweep under way, if any, is done. */
  stop(): Promise<void>;
}

export function startSweeper(service: PresenceService, everyMs: number, log: Logger): Sweeper {
  let running: Promise<number> | null = null;
  let stopped = false;
  const sweepNow = async (): Promise<number> => {
    if (running) return running;
    running = (async () => {
      let total = 0;
      // Keep going while whole batches come back: a region heal can make thousands due at once.
      for (;;) {
        const { claimed, transitions } = await service.sweep(500);
        total += transitions;
        if (claimed < 500 || stopped) return total;
      }
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => {
    sweepNow().catch((error: unknown) => log.warn({ err: error }, 'presence sweep failed; retrying next interval'));
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => 0);
    },
  };
}

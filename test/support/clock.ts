/**
 * A SessionClock (service/sessions.ts) moved by hand: timers fire in time order as `advance` passes
 * them, each seeing the clock at its own due time. Wall and monotonic time move together.
 */
import type { Cancel, SessionClock } from '../../service/sessions.js';

interface Timer {
  at: number;
  readonly every: number | null;
  readonly fn: () => void;
  cancelled: boolean;
}

export interface ManualClock {
  readonly clock: SessionClock;
  /** Wall time now (epoch ms). */
  now(): number;
  /** Moves time on by `ms`, firing every timer that comes due on the way, in order. */
  advance(ms: number): void;
  /** Moves time on by `ms` with the process stalled: only then does each timer due fire, once. */
  stall(ms: number): void;
  /** Timers armed and not yet fired or cancelled. */
  readonly pending: number;
}

export function manualClock(start = Date.UTC(2026, 11, 8, 12, 0, 0)): ManualClock {
  let elapsed = 0;
  const timers = new Set<Timer>();
  const arm = (ms: number, fn: () => void, every: number | null): Cancel => {
    const timer: Timer = { at: elapsed + Math.max(0, ms), every, fn, cancelled: false };
    timers.add(timer);
    return () => {
      timer.cancelled = true;
      timers.delete(timer);
    };
  };
  const clock: SessionClock = {
    now: () => start + elapsed,
    monotonic: () => elapsed,
    every: (ms, fn) => arm(ms, fn, Math.max(1, ms)),
    after: (ms, fn) => arm(ms, fn, null),
  };
  return {
    clock,
    now: clock.now,
    advance(ms) {
      const until = elapsed + ms;
      for (;;) {
        let next: Timer | undefined;
        for (const timer of timers) if (timer.at <= until && (!next || timer.at < next.at)) next = timer;
        if (!next) break;
        elapsed = next.at;
        if (next.every === null) timers.delete(next);
        else next.at += next.every;
        next.fn();
      }
      elapsed = until;
    },
    stall(ms) {
      elapsed += ms;
      for (const timer of [...timers]) {
        if (timer.at > elapsed) continue;
        if (timer.every === null) timers.delete(timer);
        else timer.at = elapsed + timer.every;
        timer.fn();
      }
    },
    get pending() {
      return timers.size;
    },
  };
}

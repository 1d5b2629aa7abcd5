/**
 * Heartbeat TTL economics (product.md): a device expires at `now + TTL` with `TTL > 2·H + J`, so one
 * lost heartbeat plus jitter never declares a live device offline.
 */

export interface Timing {
  /** H: how often a client heartbeats (ms). Default 30 000. */
  readonly heartbeatMs: number;
  /** J: how late a heartbeat may be on a jittery network (ms). Default 5 000. */
  readonly jitterMs: number;
  /** Device expiry after its last heartbeat (ms). Must exceed 2·H + J. Default 2·H + 2·J (2·H + 1 when J = 0). */
  readonly ttlMs: number;
  /** How long a closed socket's device stays online waiting for a reconnect (ms). Default 15 000. */
  readonly graceMs: number;
  /** A device reporting no activity for this long counts as IDLE (ms). Default 600 000. */
  readonly idleMs: number;
}

export interface TimingInput {
  heartbeatMs?: number | undefined;
  jitterMs?: number | undefined;
  ttlMs?: number | undefined;
  graceMs?: number | undefined;
  idleMs?: number | undefined;
}

export const DEFAULT_HEARTBEAT_MS = 30_000;
export const DEFAULT_JITTER_MS = 5_000;
export const DEFAULT_GRACE_MS = 15_000;
export const DEFAULT_IDLE_MS = 600_000;

export type TimingResult = { ok: true; timing: Timing } | { ok: false; error: string };

/** Validates timing options; the error names the area and says what was expected and what arrived. */
export function makeTiming(input: TimingInput = {}): TimingResult {
  const heartbeatMs = input.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const jitterMs = input.jitterMs ?? DEFAULT_JITTER_MS;
  // 2·H + 2·J, but never 2·H + J itself: with J = 0 that would fail the very rule it is derived for.
  const ttlMs = input.ttlMs ?? 2 * heartbeatMs + jitterMs + Math.max(jitterMs, 1);
  const graceMs = input.graceMs ?? DEFAULT_GRACE_MS;
  const idleMs = input.idleMs ?? DEFAULT_IDLE_MS;
  const named: [string, number][] = [
    ['heartbeat', heartbeatMs],
    ['jitter', jitterMs],
    ['ttl', ttlMs],
    ['grace', graceMs],
    ['idle', idleMs],
  ];
  for (const [name, value] of named) {
    if (!Number.isSafeInteger(value) || value < 0) {
      return { ok: false, error: `presence: ${name} must be a whole number of milliseconds ≥ 0, got ${value}` };
    }
  }
  if (heartbeatMs === 0) return { ok: false, error: 'presence: heartbeat must be > 0 ms, got 0' };
  const floor = 2 * heartbeatMs + jitterMs;
  if (ttlMs <= floor) {
    return {
      ok: false,
      error: `presence: ttl (${ttlMs} ms) must exceed 2 × heartbeat + jitter (2 × ${heartbeatMs} + ${jitterMs} = ${floor} ms)`,
    };
  }
  if (graceMs > ttlMs) {
    return { ok: false, error: `presence: grace (${graceMs} ms) must not exceed ttl (${ttlMs} ms)` };
  }
  return { ok: true, timing: { heartbeatMs, jitterMs, ttlMs, graceMs, idleMs } };
}

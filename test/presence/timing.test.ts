import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GRACE_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_IDLE_MS,
  DEFAULT_JITTER_MS,
  makeTiming,
  type TimingInput,
} from '../../presence/index.js';

describe('makeTiming', () => {
  it('should default to H 30 s, J 5 s, TTL 2·H + 2·J = 70 s, grace 15 s and idle 10 min', () => {
    expect(makeTiming()).toEqual({
      ok: true,
      timing: { heartbeatMs: 30_000, jitterMs: 5_000, ttlMs: 70_000, graceMs: 15_000, idleMs: 600_000 },
    });
    expect([DEFAULT_HEARTBEAT_MS, DEFAULT_JITTER_MS, DEFAULT_GRACE_MS, DEFAULT_IDLE_MS]).toEqual([30_000, 5_000, 15_000, 600_000]);
  });

  it('should treat unset (undefined) options, as from an unset environment variable, as defaults', () => {
    const unset: TimingInput = { heartbeatMs: undefined, jitterMs: undefined, ttlMs: undefined, graceMs: undefined, idleMs: undefined };
    expect(makeTiming(unset)).toEqual(makeTiming());
  });

  it('should derive the TTL from the heartbeat and jitter it is given', () => {
    expect(makeTiming({ heartbeatMs: 10_000, jitterMs: 2_000, graceMs: 5_000 })).toEqual({
      ok: true,
      timing: { heartbeatMs: 10_000, jitterMs: 2_000, ttlMs: 24_000, graceMs: 5_000, idleMs: 600_000 },
    });
  });

  it('should derive a TTL that exceeds 2·H + J even when the jitter is 0', () => {
    const result = makeTiming({ jitterMs: 0 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.timing.ttlMs).toBeGreaterThan(2 * 30_000 + 0);
  });

  it('should derive a valid TTL for every valid heartbeat and jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), (heartbeatMs, jitterMs) => {
        const result = makeTiming({ heartbeatMs, jitterMs, graceMs: 0 });
        expect(result.ok).toBe(true);
        if (result.ok) expect(result.timing.ttlMs).toBeGreaterThan(2 * heartbeatMs + jitterMs);
      }),
    );
  });

  it.each([
    ['the smallest TTL above 2·H + J', { ttlMs: 65_001 }, 65_001],
    ['a generous TTL', { ttlMs: 300_000 }, 300_000],
    ['a TTL above a custom floor', { heartbeatMs: 1_000, jitterMs: 0, ttlMs: 2_001, graceMs: 2_001 }, 2_001],
  ] satisfies [string, TimingInput, number][])('should accept %s', (_name, input, ttlMs) => {
    const result = makeTiming(input);
    expect(result.ok && result.timing.ttlMs).toBe(ttlMs);
  });

  it.each([
    ['a grace window equal to the TTL', { graceMs: 70_000 }],
    ['a grace window of 0 (offline as soon as the socket closes)', { graceMs: 0 }],
    ['an idle timeout of 0', { idleMs: 0 }],
  ] satisfies [string, TimingInput][])('should accept %s', (_name, input) => {
    expect(makeTiming(input).ok).toBe(true);
  });

  it.each([
    ['a TTL equal to 2·H + J', { ttlMs: 65_000 }, 'presence: ttl (65000 ms) must exceed 2 × heartbeat + jitter (2 × 30000 + 5000 = 65000 ms)'],
    ['a TTL below 2·H + J', { ttlMs: 40_000 }, 'presence: ttl (40000 ms) must exceed 2 × heartbeat + jitter (2 × 30000 + 5000 = 65000 ms)'],
    [
      'a TTL that a longer heartbeat outgrows',
      { heartbeatMs: 60_000, ttlMs: 70_000 },
      'presence: ttl (70000 ms) must exceed 2 × heartbeat + jitter (2 × 60000 + 5000 = 125000 ms)',
    ],
    ['a TTL of 0', { ttlMs: 0 }, 'presence: ttl (0 ms) must exceed 2 × heartbeat + jitter (2 × 30000 + 5000 = 65000 ms)'],
    ['a negative heartbeat', { heartbeatMs: -1 }, 'presence: heartbeat must be a whole number of milliseconds ≥ 0, got -1'],
    ['a heartbeat of 0', { heartbeatMs: 0 }, 'presence: heartbeat must be > 0 ms, got 0'],
    ['a fractional heartbeat', { heartbeatMs: 30_000.5 }, 'presence: heartbeat must be a whole number of milliseconds ≥ 0, got 30000.5'],
    ['a heartbeat that is not a number', { heartbeatMs: Number.NaN }, 'presence: heartbeat must be a whole number of milliseconds ≥ 0, got NaN'],
    ['a negative jitter', { jitterMs: -5_000 }, 'presence: jitter must be a whole number of milliseconds ≥ 0, got -5000'],
    ['a fractional jitter', { jitterMs: 0.5 }, 'presence: jitter must be a whole number of milliseconds ≥ 0, got 0.5'],
    ['a negative TTL', { ttlMs: -70_000 }, 'presence: ttl must be a whole number of milliseconds ≥ 0, got -70000'],
    ['an infinite TTL', { ttlMs: Number.POSITIVE_INFINITY }, 'presence: ttl must be a whole number of milliseconds ≥ 0, got Infinity'],
    ['a fractional TTL', { ttlMs: 70_000.25 }, 'presence: ttl must be a whole number of milliseconds ≥ 0, got 70000.25'],
    ['a negative grace window', { graceMs: -1 }, 'presence: grace must be a whole number of milliseconds ≥ 0, got -1'],
    ['a fractional grace window', { graceMs: 1.5 }, 'presence: grace must be a whole number of milliseconds ≥ 0, got 1.5'],
    ['a negative idle timeout', { idleMs: -600_000 }, 'presence: idle must be a whole number of milliseconds ≥ 0, got -600000'],
    ['a fractional idle timeout', { idleMs: 0.1 }, 'presence: idle must be a whole number of milliseconds ≥ 0, got 0.1'],
    ['an unsafe integer idle timeout', { idleMs: 2 ** 53 }, 'presence: idle must be a whole number of milliseconds ≥ 0, got 9007199254740992'],
    ['a grace window longer than the TTL', { graceMs: 70_001 }, 'presence: grace (70001 ms) must not exceed ttl (70000 ms)'],
    [
      'a default grace window longer than a short derived TTL',
      { heartbeatMs: 1_000, jitterMs: 1_000 },
      'presence: grace (15000 ms) must not exceed ttl (4000 ms)',
    ],
  ] satisfies [string, TimingInput, string][])('should reject %s with a message naming the area', (_name, input, error) => {
    expect(makeTiming(input)).toEqual({ ok: false, error });
  });

  it('should start every TTL-rule error with "presence: ttl"', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.nat(),
        (heartbeatMs, jitterMs, below) => {
          const floor = 2 * heartbeatMs + jitterMs;
          const result = makeTiming({ heartbeatMs, jitterMs, ttlMs: floor - (below % (floor + 1)), graceMs: 0 });
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.error.startsWith('presence: ttl')).toBe(true);
        },
      ),
    );
  });
});

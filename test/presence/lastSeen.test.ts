import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKET_MS, BUCKET_SECONDS, agoLine, toBucket } from '../../presence/index.js';
import { DAY, HOUR, MINUTE, SECOND, T0 } from './fixtures.js';

/** Every form the human line may take: the numbers in it are minutes, hours or a date, never seconds. */
const COARSE_LINE = /^(just now|([2-9]|[1-5]\d) min ago|([1-9]|1\d|2[0-3]) h ago|yesterday|\d{4}-\d{2}-\d{2})$/;

/** Epoch times from 1970 to 2100. */
const epochMs = fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) });

describe('toBucket', () => {
  it('should use 60-second buckets', () => {
    expect([BUCKET_MS, BUCKET_SECONDS]).toEqual([60_000, 60]);
  });

  it.each([
    ['a bucket start', T0, T0],
    ['one millisecond into a bucket', T0 + 1, T0],
    ['the last millisecond of a bucket', T0 + 59_999, T0],
    ['the next bucket start', T0 + MINUTE, T0 + MINUTE],
    ['12 min 34.5 s past', T0 + 12 * MINUTE + 34_500, T0 + 12 * MINUTE],
    ['the epoch', 0, 0],
    ['a fractional millisecond', T0 + 0.5, T0],
  ])('should floor %s to its bucket start', (_name, at, bucket) => {
    expect(toBucket(at)).toBe(bucket);
  });

  it('should never round into the future and never lose a whole bucket', () => {
    fc.assert(
      fc.property(epochMs, (at) => {
        const bucket = toBucket(at);
        expect(bucket % BUCKET_MS).toBe(0);
        expect(bucket).toBeLessThanOrEqual(at);
        expect(at - bucket).toBeLessThan(BUCKET_MS);
      }),
    );
  });
});

describe('agoLine', () => {
  it.each([
    ['0 s', 'just now', 0],
    ['59 s', 'just now', 59 * SECOND],
    ['1 min', 'just now', MINUTE],
    ['1 min 59.999 s', 'just now', 2 * MINUTE - 1],
    ['2 min', '2 min ago', 2 * MINUTE],
    ['12 min 40 s', '12 min ago', 12 * MINUTE + 40 * SECOND],
    ['59 min 59.999 s', '59 min ago', HOUR - 1],
    ['1 h', '1 h ago', HOUR],
    ['5 h 59 min', '5 h ago', 5 * HOUR + 59 * MINUTE],
    ['23 h 59 min', '23 h ago', DAY - MINUTE],
    ['24 h', 'yesterday', DAY],
    ['47 h 59 min', 'yesterday', 2 * DAY - MINUTE],
    ['48 h', '2026-11-20', 2 * DAY],
    ['400 days', '2026-11-20', 400 * DAY],
  ])('should describe a bucket %s old as %j', (_name, line, elapsed) => {
    expect(agoLine(T0, T0 + elapsed)).toBe(line);
  });

  it('should read "just now" for a bucket in the future (clock skew between processes)', () => {
    expect(agoLine(T0 + 5 * MINUTE, T0)).toBe('just now');
  });

  it('should give the same line as spelling it out, made once and shared, for any bucket and now', () => {
    const spelled = (bucket: number, now: number) => {
      const elapsed = now - toBucket(bucket);
      if (elapsed < 2 * MINUTE) return 'just now';
      if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`;
      if (elapsed < DAY) return `${Math.floor(elapsed / HOUR)} h ago`;
      if (elapsed < 2 * DAY) return 'yesterday';
      return new Date(bucket).toISOString().slice(0, 10);
    };
    // Buckets from 1970 to 2100, nows up to 3 years after them (past the 512 dates kept).
    const bucket = fc.integer({ min: 0, max: 68_000_000 }).map((m) => m * MINUTE);
    fc.assert(
      fc.property(bucket, fc.integer({ min: -DAY, max: 3 * 365 * DAY }), (b, elapsed) => {
        expect(agoLine(b, b + elapsed)).toBe(spelled(b, b + elapsed));
      }),
      { numRuns: 2_000 },
    );
  });

  it('should print the UTC date of the bucket, not of now', () => {
    expect(agoLine(Date.UTC(2026, 0, 31, 23, 59, 0), Date.UTC(2026, 1, 10))).toBe('2026-01-31');
  });

  it('should measure from the start of the bucket, so seconds inside it never show', () => {
    expect(agoLine(T0 + 59_999, T0 + 2 * MINUTE)).toBe('2 min ago');
    expect(agoLine(T0 + 59_999, T0 + HOUR)).toBe('1 h ago');
  });

  it('should never mention seconds, whatever the bucket and now', () => {
    fc.assert(
      fc.property(epochMs, fc.integer({ min: -DAY, max: 5 * 365 * DAY }), (at, elapsed) => {
        const line = agoLine(toBucket(at), at + elapsed);
        expect(line).not.toMatch(/sec|\bs\b/);
        expect(line).toMatch(COARSE_LINE);
      }),
    );
  });

  it('should quote whole minutes or hours elapsed since the bucket began', () => {
    fc.assert(
      fc.property(epochMs, fc.integer({ min: 2 * MINUTE, max: DAY - 1 }), (bucketAt, elapsed) => {
        const bucket = toBucket(bucketAt);
        const expected = elapsed < HOUR ? `${Math.floor(elapsed / MINUTE)} min ago` : `${Math.floor(elapsed / HOUR)} h ago`;
        expect(agoLine(bucket, bucket + elapsed)).toBe(expected);
      }),
    );
  });

  it('should say the same for every time inside one bucket (no finer than a minute)', () => {
    fc.assert(
      fc.property(epochMs, fc.integer({ min: 0, max: BUCKET_MS - 1 }), fc.integer({ min: 0, max: 3 * DAY }), (at, offset, elapsed) => {
        const bucket = toBucket(at);
        const now = bucket + elapsed;
        expect(agoLine(bucket + offset, now)).toBe(agoLine(bucket, now));
      }),
    );
  });
});

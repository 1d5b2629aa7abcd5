/**
 * Approximate by design: last-seen is kept and served in 60 s buckets, and the human line is coarse.
 * Quoting presence more precisely than this leaks when someone opens and closes the app.
 */

export const BUCKET_MS = 60_000;
export const BUCKET_SECONDS = BUCKET_MS / 1000;

/** Start of the bucket holding `at` (floored; never rounds into the future). */
export function toBucket(at: number): number {
  return Math.floor(at / BUCKET_MS) * BUCKET_MS;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The coarse human line for a bucket seen from `now`: "just now", "N min ago", "N h ago",
 * "yesterday", then the UTC date ("2026-11-20"). Never seconds. A bucket in the future (clock skew
 * between processes) reads "just now".
 */
export function agoLine(bucket: number, now: number): string {
  const elapsed = now - toBucket(bucket);
  if (elapsed < 2 * MINUTE) return 'just now';
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`;
  if (elapsed < DAY) return `${Math.floor(elapsed / HOUR)} h ago`;
  if (elapsed < 2 * DAY) return 'yesterday';
  return new Date(bucket).toISOString().slice(0, 10);
}

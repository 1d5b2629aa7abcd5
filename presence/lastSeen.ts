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
  if (elapsed < HOUR) return MINUTES_AGO[Math.floor(elapsed / MINUTE)]!;
  if (elapsed < DAY) return HOURS_AGO[Math.floor(elapsed / HOUR)]!;
  if (elapsed < 2 * DAY) return 'yesterday';
  return dayOf(bucket);
}

// Every line made once: a 500-id read shows hundreds of them per request (and a fan-out frame one per view).
const MINUTES_AGO = Array.from({ length: 60 }, (_, n) => `${n} min ago`);
const HOURS_AGO = Array.from({ length: 24 }, (_, n) => `${n} h ago`);
/** UTC dates by day number, the most recent few hundred kept (a user's last day seen repeats across reads). */
const DAYS = new Map<number, string>();
const DAYS_KEPT = 512;

function dayOf(bucket: number): string {
  const day = Math.floor(bucket / DAY);
  let line = DAYS.get(day);
  if (line === undefined) {
    if (DAYS.size >= DAYS_KEPT) DAYS.clear();
    DAYS.set(day, (line = new Date(day * DAY).toISOString().slice(0, 10)));
  }
  return line;
}

/**
 * Which V8 flags and dependency patches earn their place: the same batch-read command (one open-loop
 * rate, one server process on the real stores) run once per variant per round, the variants alternated
 * round after round, so that every variant meets the same minutes of this shared machine.
 *
 *   npm run -w bench bench:tuning -- [--rate 300] [--seconds 60] [--rounds 3] [--users 20000]
 *                                    [--variants deployed,pretenuring,semi-space-16,no-parallel-scavenge,no-memory-reducer]
 *
 * A variant is the server as `npm start` runs it with one thing changed (VARIANTS below): a deployed flag
 * undone, a host-specific flag added, or dependency patches reversed when there are any.
 * Per variant and round: the worst p99 of the two queries, the presences p50, the server's own handling
 * p99, and its CPU and GC time per request; then each variant's median over the rounds, beside the
 * deployed one's. Bounded: rounds × variants runs of batch-read, each bounded itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { environment, round } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '3' },
    users: { type: 'string', default: '20000' },
    variants: { type: 'string', default: 'deployed,pretenuring,semi-space-16,no-parallel-scavenge,no-memory-reducer' },
  },
});

/**
 * What each variant changes against `npm start` as shipped: a deployed flag undone (the opposite flag after
 * the deployed ones: the last one wins), a host-specific flag added, or the patches of patches/ reversed
 * (when there are any: `patch-package --reverse` before its run, re-applied after it).
 */
const VARIANTS: Record<string, { readonly flags?: string; readonly reversePatches?: true; readonly changes: string }> = {
  deployed: { changes: 'nothing: npm start as shipped' },
  pretenuring: { flags: '--allocation-site-pretenuring', changes: 'undoes --no-allocation-site-pretenuring' },
  'semi-space-16': { flags: '--max-semi-space-size=16', changes: 'undoes --max-semi-space-size=32' },
  'no-parallel-scavenge': { flags: '--no-parallel-scavenge', changes: 'adds --no-parallel-scavenge (a deployment note)' },
  'no-memory-reducer': { flags: '--no-memory-reducer', changes: 'adds --no-memory-reducer (a deployment note)' },
  'patches-reversed': { reversePatches: true, changes: 'reverses patches/' },
};

const names = values.variants.split(',').map((v) => v.trim());
for (const name of names) if (!VARIANTS[name]) throw new Error(`unknown variant ${name}; one or more of ${Object.keys(VARIANTS).join(',')}`);
if (names.some((n) => VARIANTS[n]!.reversePatches) && !existsSync(`${ROOT}/patches`)) throw new Error('patches-reversed: there is no patches/ folder to reverse');
const ROUNDS = Math.min(Number(values.rounds), 6);
const SECONDS = Math.min(Number(values.seconds), 60);

interface Row {
  readonly worstP99Ms: number;
  readonly presencesP50Ms: number;
  readonly serverHandlingP99Ms: number;
  readonly serverCpuMsPerRequest: number;
  readonly serverGcMsPerRequest: number;
  readonly achievedPerSecond: number;
}

const patchPackage = (reverse: boolean) => execFileSync('npx', ['patch-package', ...(reverse ? ['--reverse'] : [])], { cwd: ROOT, stdio: 'pipe' });

function batchRead(flags: string | undefined): Promise<Row> {
  const args = [
    '--import',
    'tsx',
    'bench/batch-read.ts',
    '--users',
    values.users,
    '--mode',
    'open',
    '--rates',
    values.rate,
    '--rate-seconds',
    String(SECONDS),
    '--min-samples',
    '0',
    '--judge-seconds',
    '0',
    '--unloaded',
    '0',
    ...(flags ? [`--server-flags=${flags}`] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, BENCH_HOST_FLAGS: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`batch-read exited ${code}`));
      const report = JSON.parse(out.slice(out.indexOf('{'))) as { openLoop: { results: (Row & { queries: { presences: { latencyMs: { p50: number } } }; serverHandlingMs: { p99: number } })[] } };
      const r = report.openLoop.results[0]!;
      resolve({
        worstP99Ms: r.worstP99Ms,
        presencesP50Ms: r.queries.presences.latencyMs.p50,
        serverHandlingP99Ms: r.serverHandlingMs.p99,
        serverCpuMsPerRequest: r.serverCpuMsPerRequest,
        serverGcMsPerRequest: r.serverGcMsPerRequest,
        achievedPerSecond: r.achievedPerSecond,
      });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const runs: Record<string, Row[]> = Object.fromEntries(names.map((n) => [n, []]));
try {
  for (let r = 1; r <= ROUNDS; r++) {
    for (const name of names) {
      const variant = VARIANTS[name]!;
      process.stderr.write(`[tuning] round ${r}/${ROUNDS}: ${name}\n`);
      if (variant.reversePatches) patchPackage(true);
      try {
        runs[name]!.push(await batchRead(variant.flags));
      } finally {
        if (variant.reversePatches) patchPackage(false);
      }
    }
  }
} finally {
  // Whatever happened, the patches are back as npm ci leaves them.
  if (names.some((n) => VARIANTS[n]!.reversePatches)) patchPackage(false);
}

/** One row per variant: each figure's median over the rounds, and every round's. */
const results = names.map((name) => {
  const rows = runs[name]!;
  const of = (key: keyof Row) => ({ median: round(median(rows.map((row) => row[key]))), rounds: rows.map((row) => round(row[key])) });
  return {
    variant: name,
    changes: VARIANTS[name]!.changes,
    worstP99Ms: of('worstP99Ms'),
    presencesP50Ms: of('presencesP50Ms'),
    serverHandlingP99Ms: of('serverHandlingP99Ms'),
    serverCpuMsPerRequest: of('serverCpuMsPerRequest'),
    serverGcMsPerRequest: of('serverGcMsPerRequest'),
    achievedPerSecond: of('achievedPerSecond'),
  };
});
const report = {
  scenario: 'tuning',
  command: `npx tsx bench/tuning.ts ${process.argv.slice(2).join(' ')}`.trim(),
  parameters: { rate: Number(values.rate), secondsPerRun: SECONDS, rounds: ROUNDS, users: Number(values.users), variants: names },
  environment: environment(),
  results,
};
mkdirSync(`${ROOT}/bench/results`, { recursive: true });
writeFileSync(`${ROOT}/bench/results/tuning.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));

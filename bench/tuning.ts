/**
 * Which V8 flags and dependency patches earn their place: the same batch-read command (one open-loop
 * rate, one server process on the real stores) run once per variant per round, the variants alternated
 * round after round, so that every variant meets the same minutes of this shared machine.
 *
 *   npx tsx bench/tuning.ts [--rate 300] [--seconds 60] [--rounds 3] [--users 20000]
 *                           [--variants deployed,patches-reversed,pretenuring,memory-reducer,parallel-scavenge,semi-space-16]
 *
 * A variant is the server as `npm start` runs it with one thing undone: a flag turned back to V8's default
 * (the opposite flag after the deployed ones: the last one wins), or the patches of patches/ reversed
 * (`patch-package --reverse` before its run, re-applied after it, and at the end whatever happens).
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
    variants: { type: 'string', default: 'deployed,patches-reversed,pretenuring,memory-reducer,parallel-scavenge,semi-space-16' },
  },
});

/** What each variant undoes: server flags after the deployed ones, or the dependency patches. */
const VARIANTS: Record<string, { readonly flags?: string; readonly reversePatches?: true; readonly undoes: string }> = {
  deployed: { undoes: 'nothing: npm start as shipped' },
  'patches-reversed': { reversePatches: true, undoes: 'patches/ (ioredis, pg) reversed' },
  pretenuring: { flags: '--allocation-site-pretenuring', undoes: '--no-allocation-site-pretenuring' },
  'memory-reducer': { flags: '--memory-reducer', undoes: '--no-memory-reducer' },
  'parallel-scavenge': { flags: '--parallel-scavenge', undoes: '--no-parallel-scavenge' },
  'semi-space-16': { flags: '--max-semi-space-size=16', undoes: '--max-semi-space-size=32' },
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

const patchPackage = (reverse: boolean) =>
  execFileSync(process.execPath, [`${ROOT}/node_modules/patch-package/index.js`, ...(reverse ? ['--reverse'] : [])], { cwd: ROOT, stdio: 'pipe' });

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
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
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

const summary = Object.fromEntries(
  names.map((name) => {
    const rows = runs[name]!;
    const of = (key: keyof Row) => ({ median: round(median(rows.map((row) => row[key]))), rounds: rows.map((row) => round(row[key])) });
    return [
      name,
      {
        undoes: VARIANTS[name]!.undoes,
        worstP99Ms: of('worstP99Ms'),
        presencesP50Ms: of('presencesP50Ms'),
        serverHandlingP99Ms: of('serverHandlingP99Ms'),
        serverCpuMsPerRequest: of('serverCpuMsPerRequest'),
        serverGcMsPerRequest: of('serverGcMsPerRequest'),
        achievedPerSecond: of('achievedPerSecond'),
      },
    ];
  }),
);
const report = {
  scenario: 'tuning',
  command: `npx tsx bench/tuning.ts ${process.argv.slice(2).join(' ')}`.trim(),
  parameters: { rate: Number(values.rate), secondsPerRun: SECONDS, rounds: ROUNDS, users: Number(values.users), variants: names },
  environment: environment(),
  results: summary,
};
mkdirSync(`${ROOT}/bench/results`, { recursive: true });
writeFileSync(`${ROOT}/bench/results/tuning.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));

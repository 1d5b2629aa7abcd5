import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
/** Small helpers for benchmark figures: percentiles over recorded samples, and the command that ran. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summary(samples: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
}

/** The command that ran this script, as one would type it at the repository's root. */
export function commandLine(): string {
  const event = process.env.npm_lifecycle_event;
  const run = event ? `npm run ${process.env.npm_package_name === '@presence-graph/bench' ? '-w bench ' : ''}${event} --` : `npx tsx ${process.argv[1] ?? ''}`;
  return `${run} ${process.argv.slice(2).join(' ')}`.trim();
}

export function round(n: number, digits = 2): number {
  return Number(n.toFixed(digits));
}

/**
 * Busy, stolen and total clock ticks of each CPU so far (the `cpuN` lines of /proc/stat); empty where
 * there is none. Stolen: time this virtual machine was ready to run and the hypervisor ran another —
 * not busy here, and not idle either: on a shared host it is how much of the machine was not ours.
 */
export function cpuTicks(): CpuTicks[] {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => {
      // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
      const ticks = line.split(/\s+/).slice(1, 9).map((t) => Number(t) || 0);
      const total = ticks.reduce((a, b) => a + b, 0);
      const steal = ticks[7] ?? 0;
      return { busy: total - ticks[3]! - (ticks[4] ?? 0) - steal, steal, total };
    });
}

export interface CpuTicks {
  readonly busy: number;
  readonly steal: number;
  readonly total: number;
}

/** The whole machine's `key` ticks (all its CPUs) between two `cpuTicks()` readings; NaN where there were none. */
export function ticksBetween(before: readonly CpuTicks[], after: readonly CpuTicks[], key: keyof CpuTicks): number {
  if (after.length === 0) return Number.NaN;
  const sum = (ticks: readonly CpuTicks[]) => ticks.reduce((n, t) => n + t[key], 0);
  return sum(after) - sum(before);
}

/** The whole machine between two `cpuTicks()` readings: `key`'s share of all its CPUs' time, in %. */
export function machineShare(before: readonly CpuTicks[], after: readonly CpuTicks[], key: 'busy' | 'steal'): number {
  return (100 * ticksBetween(before, after, key)) / Math.max(ticksBetween(before, after, 'total'), 1);
}

/** Each CPU between two `cpuTicks()` readings, by name (`cpu0`, …): `key`'s share of its time, in %. */
export function corePercent(before: readonly CpuTicks[], after: readonly CpuTicks[], key: 'busy' | 'steal'): Record<string, number> {
  return Object.fromEntries(after.map((a, i) => [`cpu${i}`, round((100 * (a[key] - (before[i]?.[key] ?? 0))) / Math.max(a.total - (before[i]?.total ?? 0), 1), 1)]));
}

/**
 * One thread's scheduler accounting so far (Linux, /proc/<pid>/task/<tid>/schedstat): nanoseconds on a
 * CPU, nanoseconds ready to run but waiting for one (in a run queue), timeslices. A Node process's
 * JavaScript runs on its main thread (tid = pid): that thread's wait is time its event loop had work and
 * no CPU to do it on. On a machine the server shares with its load generator and its stores, that delay
 * is in every latency measured, and no profile of the process shows it (a CPU profile samples only the
 * time it ran).
 */
export interface SchedStat {
  readonly runNs: number;
  readonly waitNs: number;
  readonly slices: number;
}

/** The three numbers of a schedstat file; undefined unless there are three. */
export function parseSchedStat(text: string): SchedStat | undefined {
  const fields = text.trim().split(/\s+/).map(Number);
  if (fields.length !== 3 || !fields.every((n) => Number.isInteger(n) && n >= 0)) return undefined;
  const [runNs, waitNs, slices] = fields as [number, number, number];
  return { runNs, waitNs, slices };
}

/** A thread's accounting now (`tid` defaults to the main thread); undefined where it cannot be read (not Linux, gone, no pid). */
export function schedStat(pid: number | undefined, tid = pid): SchedStat | undefined {
  if (pid === undefined) return undefined;
  try {
    return parseSchedStat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export interface SchedShare {
  /** Share of the wall time spent on a CPU, %. */
  readonly cpuPercent: number;
  /** Share of the wall time spent ready to run and waiting for a CPU, %. */
  readonly waitPercent: number;
  /** Of the time it was ready (running or waiting), the share it waited, %. */
  readonly waitShareOfReadyPercent: number;
  /** Mean wait each time it was put on a CPU, ms. */
  readonly waitPerSliceMs: number;
}

/**
 * Several threads' readings as one (their sums), for `schedBetween` over `wallMs × their count`: each
 * one's mean share, and the wait's share of ready time and per slice pooled. Undefined unless every one
 * was read.
 */
export function sumSchedStats(stats: readonly (SchedStat | undefined)[]): SchedStat | undefined {
  if (stats.length === 0 || stats.some((x) => x === undefined)) return undefined;
  return stats.reduce<SchedStat>((sum, x) => ({ runNs: sum.runNs + x!.runNs, waitNs: sum.waitNs + x!.waitNs, slices: sum.slices + x!.slices }), { runNs: 0, waitNs: 0, slices: 0 });
}

/** One thread between two readings `wallMs` apart; undefined when either reading is missing. */
export function schedBetween(before: SchedStat | undefined, after: SchedStat | undefined, wallMs: number): SchedShare | undefined {
  if (!before || !after || !(wallMs > 0)) return undefined;
  const run = after.runNs - before.runNs;
  const wait = after.waitNs - before.waitNs;
  const slices = after.slices - before.slices;
  const wallNs = wallMs * 1e6;
  return {
    cpuPercent: round((100 * run) / wallNs, 1),
    waitPercent: round((100 * wait) / wallNs, 1),
    waitShareOfReadyPercent: round((100 * wait) / Math.max(run + wait, 1), 1),
    waitPerSliceMs: round(wait / 1e6 / Math.max(slices, 1), 3),
  };
}

/** Where and when a figure was made: every scenario's JSON carries this. */
export function environment(): { machine: string; cpus: number; memoryGiB: number; node: string; date: string; commit: string } {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    machine: `${cpus[0]?.model ?? 'unknown cpu'} (${os.platform()} ${os.arch()})`,
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
    commit,
  };
}

/**
 * Environment every benchmark server (ours and the peer) runs with: as deployed. NODE_ENV=production
 * matters beyond our own config (masked errors, no GraphiQL): graphql-js runs a development-mode check
 * whenever an `instanceof` fails during execution, which took ~10 % of a busy server's CPU in the
 * batch-read profile.
 */
export const DEPLOYED_ENV = { NODE_ENV: process.env.BENCH_NODE_ENV ?? 'production' } as const;

/**
 * Node flags benchmark servers add to `npm start`'s, as the root README's deployment notes tell a host of
 * this kind to: with two cores or fewer, shared with the stores and the load generator (and the server
 * pinned to one of them by `--pin`), V8's scavenger helper thread waits for a CPU the main thread holds,
 * so the main thread scavenges alone (`--no-parallel-scavenge`). Applied so that figures stay those of a
 * deployment configured for its host; `BENCH_HOST_FLAGS` (space-separated, empty for none) overrides
 * them, as `bench:tuning` does to measure each flag against `npm start` alone.
 */
export const HOST_SERVER_FLAGS: readonly string[] =
  process.env.BENCH_HOST_FLAGS !== undefined ? process.env.BENCH_HOST_FLAGS.split(/\s+/).filter(Boolean) : os.availableParallelism() <= 2 ? ['--no-parallel-scavenge'] : [];

/**
 * What a stretch of V8's `--trace-gc-nvp` output says (other lines in it are skipped): bytes allocated
 * and promoted to the old generation, each scavenge's pause in ms, and how many mark-compacts ran.
 */
export function gcTrace(text: string): { allocated: number; promoted: number; scavengePausesMs: number[]; markCompacts: number } {
  const lines = text.split('\n').filter((line) => /\bgc=\w+/.test(line));
  const field = (line: string, name: string) => Number(new RegExp(`\\b${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
  return {
    allocated: lines.reduce((n, line) => n + field(line, 'allocated'), 0),
    promoted: lines.reduce((n, line) => n + field(line, 'promoted'), 0),
    scavengePausesMs: lines.filter((line) => /\bgc=s\b/.test(line)).map((line) => field(line, 'pause')),
    markCompacts: lines.filter((line) => /\bgc=(mc|mmc)\b/.test(line)).length,
  };
}

/** Scavenge pauses (ms, from gcTrace) as the figures the GC scenarios print: count, mean, worst. */
export function scavengeFigures(pausesMs: readonly number[]): { scavenges: number; scavengeMsMean: number; scavengeMsMax: number } {
  return {
    scavenges: pausesMs.length,
    scavengeMsMean: round(pausesMs.reduce((a, b) => a + b, 0) / Math.max(pausesMs.length, 1), 2),
    scavengeMsMax: round(Math.max(0, ...pausesMs), 2),
  };
}

/**
 * A load generator's own heap policy: batch-read's driver and its open-loop sender (the server keeps its
 * deployed flags). The driver's old generation holds about 60 MB of setup (the graph it checks answers
 * against), and V8 sets the next mark-compact's limit close above that. Once the slack is smaller than the
 * new space, V8 starts incremental marking from a task, so the bench ran a mark-compact every 1.2-2.5 s.
 * Each one cost 23-52 ms of marking steps on its thread (one up to 16 ms) and a 5-39 ms pause
 * (--trace-gc --trace-incremental-marking), and the memory reducer added more. Every pause delays sends
 * and arrival stamps, and is counted as latency. With a wider limit and no memory reducer, at 150 req/s
 * two alternating pairs of runs gave: its GC pauses 24 / 20 → 8 / 8 (107 / 137 → 38 / 41 ms), send lag
 * p99 8.6 / 7.1 → 3.9 / 4.0 ms, client p99 33 / 41 → 23 / 24 ms. Call it at start, before the heap grows.
 */
export function useLoadGeneratorHeapPolicy(): void {
  v8.setFlagsFromString('--heap-growing-percent=300');
  v8.setFlagsFromString('--no-memory-reducer');
}

/** This process's GC pauses from now on; `since(from, to)` sums those that began in [from, to] (performance.now() ms). */
export function recordGcPauses(): { since(from: number, to?: number): { totalMs: number; maxMs: number; pauses: number } } {
  const pauses: { at: number; ms: number }[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ at: e.startTime, ms: e.duration });
  }).observe({ entryTypes: ['gc'] });
  return {
    since(from, to = Number.POSITIVE_INFINITY) {
      const within = pauses.filter((g) => g.at >= from && g.at <= to);
      return { totalMs: round(within.reduce((n, g) => n + g.ms, 0), 1), maxMs: round(Math.max(0, ...within.map((g) => g.ms)), 1), pauses: within.length };
    },
  };
}

/** Binds every thread of `pid` to `cpus` (a taskset list), or stops the run saying why it cannot. */
export function pin(pid: number, cpus: string): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`--pin: taskset could not bind pid ${pid} to CPU ${cpus} (${(error as Error).message.split('\n')[0]}); run without --pin`);
  }
}

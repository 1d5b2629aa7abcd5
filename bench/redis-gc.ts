/**
 * What per-call data of ioredis reads leaves for V8's old generation, in a bare process (no server, no
 * GraphQL): reads of 500 keys at a steady rate, against controls that build the same arguments and answer
 * without I/O. Each variant runs in a child process of its own with V8's `--trace-gc-nvp` and the
 * server's node flags; the first second is warm-up and is not counted.
 *
 *   npm run -w bench bench:redis-gc -- [--seconds 6] [--rate 250] [--redis redis://127.0.0.1:6379]
 *
 * The pattern it looks for: V8 allocates a function literal assigned straight to a property (`this.reject =
 * (err) => …`, as ioredis's Command does) in the old generation; once dead, such a closure keeps its
 * young context, and all that context reaches, alive through every scavenge until a mark-compact.
 * Variants: the control; the control plus one such closure per call (the pattern alone); ioredis MGET as
 * installed; the same with auto-pipelining (a Pipeline per tick). Per variant: calls made, bytes allocated
 * and promoted to the old generation per call (what outlived two scavenges), the promoted share of
 * allocation, scavenge pauses (mean, worst). Loopback only; bounded by --seconds per variant; the keys
 * read do not exist.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { SERVER_NODE_FLAGS } from '../scripts/server-process.js';
import { commandLine, environment, gcTrace, round, scavengeFigures } from './stats.js';

const VARIANTS = {
  'no I/O (control)': { redis: false, autoPipelining: false, closure: false },
  'no I/O, plus a closure assigned to a property per call': { redis: false, autoPipelining: false, closure: true },
  'ioredis MGET 500': { redis: true, autoPipelining: false, closure: false },
  'ioredis MGET 500, auto-pipelining': { redis: true, autoPipelining: true, closure: false },
} as const;
type Variant = keyof typeof VARIANTS;

/**
 * What ioredis 6.0.0's Command.initPromise does, without ioredis: an arrow over the Promise executor's
 * context (reject, this) assigned straight to a property, so V8 allocates it in the old generation.
 * Never called; only its existence counts.
 */
class Pending {
  readonly promise: Promise<unknown>;
  reject?: (err: Error) => void;
  constructor(
    readonly args: string[],
    answer: Promise<unknown>,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.reject = (err) => reject(err);
      resolve(answer);
    });
  }
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    rate: { type: 'string', default: '250' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    child: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
if (!(seconds >= 2 && seconds <= 60 && rate > 0 && rate <= 2000)) {
  process.stderr.write('redis-gc: --seconds in [2, 60], --rate in (0, 2000]\n');
  process.exit(2);
}

if (values.child !== undefined) {
  // The child: `rate` reads per second for `seconds`, in ticks of 20 ms; prints its call count.
  const variant = VARIANTS[values.child as Variant];
  const redis = variant.redis ? new Redis(values.redis, { enableAutoPipelining: variant.autoPipelining, lazyConnect: true }) : null;
  await redis?.connect();
  const keys = Array.from({ length: 500 }, (_, i) => `bench:redis-gc:${process.pid}:${i}`);
  const read = (args: string[]): Promise<unknown> => {
    if (redis) return redis.mget(...args);
    const answer = new Promise((resolve) => setImmediate(() => resolve(args.map(() => null))));
    return variant.closure ? new Pending(args, answer).promise : answer;
  };
  let calls = 0;
  const perTick = rate / 50;
  let owed = 0;
  const started = Date.now();
  // The first second is warm-up (module loading and first connects promote by design): marked in the
  // output, which --trace-gc-nvp shares, so the parent counts only what comes after it.
  setTimeout(() => process.stdout.write(`WARM ${calls}\n`), 1000);
  await new Promise<void>((done) => {
    const tick = setInterval(() => {
      for (owed += perTick; owed >= 1; owed--) void read(keys.map((k) => `${k}:${calls % 7}`)).then(() => calls++);
      if (Date.now() - started >= seconds * 1000) {
        clearInterval(tick);
        setTimeout(done, 100);
      }
    }, 20);
  });
  redis?.disconnect();
  process.stdout.write(`CALLS ${calls}\n`);
} else {
  const results: Result[] = [];
  for (const variant of Object.keys(VARIANTS) as Variant[]) {
    process.stderr.write(`[redis-gc] ${variant}, ${rate}/s for ${seconds} s … `);
    const run = await measure(variant);
    const r: Result = {
      variant,
      calls: run.calls,
      allocatedKbPerCall: round(run.allocated / run.calls / 1024, 1),
      promotedKbPerCall: round(run.promoted / run.calls / 1024, 2),
      promotedPercentOfAllocated: round((100 * run.promoted) / Math.max(run.allocated, 1), 1),
      ...scavengeFigures(run.pauses),
    };
    process.stderr.write(`${r.promotedKbPerCall} KB promoted per call (${r.promotedPercentOfAllocated} % of allocated), scavenges ${r.scavengeMsMean} ms mean\n`);
    results.push(r);
  }
  console.log(
    JSON.stringify(
      {
        scenario: 'redis-gc',
        command: commandLine(),
        environment: environment(),
        parameters: { seconds, rate, keysPerCall: 500, warmupSeconds: 1, nodeFlags: [...SERVER_NODE_FLAGS, '--trace-gc-nvp'] },
        results,
        verdict: verdictOf(results),
      },
      null,
      2,
    ),
  );
}

interface Result {
  variant: Variant;
  calls: number;
  allocatedKbPerCall: number;
  promotedKbPerCall: number;
  promotedPercentOfAllocated: number;
  scavenges: number;
  scavengeMsMean: number;
  scavengeMsMax: number;
}

function verdictOf(results: readonly Result[]): string {
  const control = results.find((r) => r.variant === 'no I/O (control)')!;
  const others = results.filter((r) => r !== control);
  return (
    others.map((r) => `${r.variant}: ${r.promotedKbPerCall} KB promoted per call (${r.promotedPercentOfAllocated} % of allocated), scavenges ${r.scavengeMsMean} ms on average`).join('; ') +
    ` — against ${control.promotedKbPerCall} KB and ${control.scavengeMsMean} ms for the control`
  );
}

/** One variant in a child process: its calls and scavenges after the warm-up second. */
function measure(variant: Variant): Promise<{ calls: number; allocated: number; promoted: number; pauses: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, '--trace-gc-nvp', '--import', 'tsx', new URL(import.meta.url).pathname, '--child', variant, '--seconds', String(seconds), '--rate', String(rate), '--redis', values.redis], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const warm = /WARM (\d+)/.exec(out);
      const done = /CALLS (\d+)/.exec(out);
      if (code !== 0 || !warm || !done) return reject(new Error(`redis-gc: the ${variant} child exited ${code}:\n${out.slice(-2000)}`));
      const steady = gcTrace(out.slice(warm.index));
      resolve({ calls: Number(done[1]) - Number(warm[1]), allocated: steady.allocated, promoted: steady.promoted, pauses: steady.scavengePausesMs });
    });
  });
}

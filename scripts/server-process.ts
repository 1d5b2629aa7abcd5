/**
 * Real server processes for multi-process tests and benchmarks: `server/main.ts` started as a child
 * with its own environment, on a free port, stopped (SIGTERM) or killed (SIGKILL) by the caller.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServerProcess {
  readonly url: string;
  readonly wsUrl: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM and wait (graceful), or SIGKILL (a crash: nothing runs after it). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface SpawnOptions {
  /**
   * Extra node flags placed before the loader, e.g. `--max-old-space-size=8192`, `--expose-gc` or
   * `--inspect=127.0.0.1:0` (benchmarks). Default: none.
   */
  readonly nodeFlags?: readonly string[];
}

/**
 * The node flags our server runs with, here and in `npm start` (package.json; a test keeps the two the
 * same).
 * - `--max-semi-space-size=32`: a 32 MB young-generation semi-space instead of V8's 16 MB. A
 *   presences(500) request allocates about 1 MB, so at 100 requests/s the default scavenged six times a
 *   second, each pause (10–50 ms on these shared 2-core machines) landing in the latency of the requests
 *   in flight. With 32 MB, batch-read's open-loop p99 at 100 req/s was lower in every one of four paired
 *   runs (99–173 ms against 236–799 ms).
 * - `--no-allocation-site-pretenuring`: V8 otherwise starts allocating an object literal straight in the
 *   old generation once most objects from its site were seen surviving scavenges, as a request's do when
 *   several are in flight. Such an object, dead or not, then holds what it points to alive through every
 *   scavenge until a mark-compact: the rest of its request. batch-read at 220 req/s, 30 s,
 *   alternating runs: 255 and 262 MB promoted (over the whole process, setup included) against 464 and
 *   468 MB, scavenge pauses 1.4 and 1.3 s against 2.0 and 1.7 s, server CPU 60 and 59 % of a core against
 *   70 and 64 %; in the steady state 0.9 MB promoted a second, from 9. In-process, four presences(500)
 *   at a time on the real stores: 0.9 KB promoted per round of four instead of 37–67.
 * - `--no-memory-reducer`: when allocation slows (a lull between bursts of load), V8's memory reducer
 *   runs mark-compacts that shrink the heap to its live size, so the next burst starts at a low limit and
 *   pays a run of mark-compacts as the heap grows back. bench:batch-read with two open-loop windows
 *   (`--mode open --rates 300,327 --rate-seconds 60 --judge-seconds 0`, `--trace-gc`): with the reducer, a
 *   "Mark-Compact (reduce)" in the gap and two more mark-compacts in the next 2 s (43 and 21 ms pauses,
 *   the 327 req/s window's p99 300 ms); without it, no mark-compact in 2.5 minutes of load and that
 *   window's p99 19.4 ms. The cost: a heap that grew under load is not handed back while idle.
 * - `--no-parallel-scavenge`: the main thread scavenges alone. On two cores, V8 splits a scavenge with one
 *   helper thread, and the main thread waits at the end for the helper's share — a helper the kernel has
 *   not put on a CPU yet, because the other core runs Redis, the stores or a load generator (or, pinned
 *   with the server as in bench:fanout --pin, the same core as the main thread). bench:batch-read at
 *   323 req/s, 60 s windows (`--server-flags="--trace-gc[-nvp] …"`), nine runs with the flag against six
 *   without, the first eight of them alternating: scavenge pauses p99 4.5–8.2 ms (median 5.8) against
 *   6.6–9.8 (median 7.9), the longest 7.5–18.9 ms against 12.8–36.7 — the same ~390 scavenges and 24 MB
 *   promoted a minute either way. A modest gain, and the client p99 did not tell the two apart on this
 *   noisy host. On a machine with idle cores to spare, parallel scavenging would shorten the pauses instead.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32', '--no-allocation-site-pretenuring', '--no-memory-reducer', '--no-parallel-scavenge'];

/** Our server (server/main.ts) as a child process, with SERVER_NODE_FLAGS before any of `options`. */
export function spawnServer(env: Record<string, string>, startTimeoutMs = 30_000, options: SpawnOptions = {}): Promise<ServerProcess> {
  return spawnProcess('server/main.ts', { LOG_LEVEL: 'warn', ...env }, startTimeoutMs, { ...options, nodeFlags: [...SERVER_NODE_FLAGS, ...(options.nodeFlags ?? [])] });
}

/**
 * Any server entry of this repository (a path from the root) as a child process on a free port,
 * ready once it prints its "GraphiQL    http://host:port/graphql" line. One process (node with tsx's
 * loader), not the tsx CLI, which runs the entry in a grandchild that a SIGKILL of the CLI would orphan.
 */
export async function spawnProcess(entry: string, env: Record<string, string>, startTimeoutMs = 30_000, options: SpawnOptions = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const copy = process.env.SERVER_OUTPUT_FILE;
  if (copy) {
    // Diagnostics (e.g. a benchmark's server run with --trace-gc-nvp): everything it prints, also to a file.
    const file = createWriteStream(copy.replace('%p', String(child.pid)), { flags: 'a' });
    child.stdout!.pipe(file, { end: false });
    child.stderr!.pipe(file, { end: false });
    void exited.then(() => file.end());
  }
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start within ${startTimeoutMs} ms:\n${output}`)), startTimeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/GraphiQL\s+(http:\/\/[^/\s]+)\/graphql/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited (${code}) before starting:\n${output}`));
    });
  });
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/graphql',
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

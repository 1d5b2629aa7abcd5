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
 * same): only flags that help a server of this kind on any machine. `bench/tuning.ts` undoes each in
 * turn, alternated, and keeps what it shows (bench/README.md has the figures; host-specific flags are
 * deployment notes in the root README, not defaults).
 * - `--max-semi-space-size=32`: a young generation twice V8's default. A `presences(500)` request
 *   allocates much short-lived data, so under read load the default scavenges several times a second,
 *   each pause in the latency of every request in flight; twice the space, half the scavenges, for a
 *   larger young generation's memory.
 * - `--no-allocation-site-pretenuring`: V8 otherwise starts allocating an object literal straight in the
 *   old generation once most objects from its site were seen surviving scavenges — as a request's do
 *   while several are in flight. Such an object, dead or not, then keeps what it points to (the rest of
 *   its request) alive through every scavenge until a mark-compact.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32', '--no-allocation-site-pretenuring'];

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

/**
 * Real server processes for multi-process tests and benchmarks: `server/main.ts` started as a child
 * with its own environment, on a free port, stopped (SIGTERM) or killed (SIGKILL) by the caller.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

/** Our server (server/main.ts) as a child process. */
export function spawnServer(env: Record<string, string>, startTimeoutMs = 30_000, options: SpawnOptions = {}): Promise<ServerProcess> {
  return spawnProcess('server/main.ts', { LOG_LEVEL: 'warn', ...env }, startTimeoutMs, options);
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

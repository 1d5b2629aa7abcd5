/**
 * The peer server (./server.ts) as a child process on a free port, the way scripts/server-process.ts
 * starts ours: one node process with tsx's loader (so SIGTERM/SIGKILL reach the server itself), ready
 * once it prints its GraphiQL line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerProcess } from '../../../scripts/server-process.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export async function spawnPeer(env: Record<string, string>, startTimeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/peers/redis-subscriptions/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer did not start within ${startTimeoutMs} ms:\n${output}`)), startTimeoutMs);
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
      reject(new Error(`peer exited (${code}) before starting:\n${output}`));
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

/** The eager baseline (./server.ts) as a child process on a free port, started as ours is. */
import { SERVER_NODE_FLAGS, spawnProcess, type ServerProcess, type SpawnOptions } from '../../../scripts/server-process.js';

export function spawnEager(env: Record<string, string>, startTimeoutMs = 30_000, options: SpawnOptions = {}): Promise<ServerProcess> {
  return spawnProcess('bench/baselines/eager/server.ts', { LOG_LEVEL: 'warn', ...env }, startTimeoutMs, { ...options, nodeFlags: [...SERVER_NODE_FLAGS, ...(options.nodeFlags ?? [])] });
}

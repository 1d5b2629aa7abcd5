/** The peer server (./server.ts) as a child process on a free port, started like ours. */
import { spawnProcess, type ServerProcess } from '../../../scripts/server-process.js';

export function spawnPeer(env: Record<string, string>, startTimeoutMs = 30_000): Promise<ServerProcess> {
  return spawnProcess('bench/peers/redis-subscriptions/server.ts', env, startTimeoutMs);
}

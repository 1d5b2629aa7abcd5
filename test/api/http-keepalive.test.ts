/**
 * Idle kept-alive HTTP connections are closed by the server after HTTP_KEEPALIVE_MS, not Node's 5 s
 * default (which races a load balancer reusing the connection: ECONNRESET).
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.js';

describe('HTTP keep-alive', () => {
  it('should keep a connection open across requests and close it once idle for HTTP_KEEPALIVE_MS', async () => {
    const t = await startTestServer({ env: { HTTP_KEEPALIVE_MS: '300' } });
    try {
      const { port } = new URL(t.url);
      const socket = connect(Number(port), '127.0.0.1');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
      const request = 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n';
      const answered = async (n: number) => {
        const deadline = Date.now() + 5_000;
        while (received.split('HTTP/1.1 200').length - 1 < n) {
          if (Date.now() > deadline) throw new Error(`no answer ${n}: ${received}`);
          await new Promise((r) => setTimeout(r, 5));
        }
        return performance.now();
      };
      socket.write(request);
      await answered(1);
      socket.write(request);
      const idleFrom = await answered(2);
      // Closed by the server after the configured idle time (well within the test's deadline).
      const closedAt = await Promise.race([closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not closed within 5 s')), 5_000))]);
      expect(closedAt - idleFrom).toBeGreaterThanOrEqual(250);
      expect(received).toMatch(/keep-alive/i);
    } finally {
      await t.dispose();
    }
  });
});

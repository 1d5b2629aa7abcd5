import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createPresenceClient, fullJitter } from '../../client/presence-client.js';
import { gql, record, until } from '../support/clients.js';
import { startTestServer } from '../support/server.js';

describe('fullJitter', () => {
  it.each([
    [0, 0.999, 999],
    [3, 0.5, 4_000],
    [10, 0.999, 29_970],
    [50, 0.5, 15_000],
  ])('should wait in [0, min(cap, base·2^n)) for attempt %i', (attempt, random, expected) => {
    expect(fullJitter(attempt, 1_000, 30_000, () => random)).toBe(expected);
  });
});

describe('createPresenceClient', () => {
  it('should reconnect after the server restarts, with a fresh token, and resubscribe', async () => {
    const first = await startTestServer();
    const port = Number(new URL(first.url).port);
    let tokensIssued = 0;
    const client = createPresenceClient({
      url: first.wsUrl,
      webSocketImpl: WebSocket,
      retryBaseMs: 50,
      retryCapMs: 200,
      deviceId: 'alice-tab',
      token: () => {
        tokensIssued++;
        return first.token('alice');
      },
    });
    const feed = record<{ presence: { snapshot: boolean; presences: { userId: string; status: string }[] } }>(
      client,
      'subscription { presence(viewport: ["alice"]) { snapshot presences { userId status } } }',
    );
    try {
      await feed.next((e) => e.presence.snapshot && e.presence.presences[0]!.status === 'ONLINE', 'first snapshot, alice ONLINE');
      expect(tokensIssued).toBe(1);
      await first.dispose();
      // A new process on the same port, with fresh embedded stores: the client comes back by itself.
      const second = await startTestServer({ port });
      try {
        await feed.next((e) => e.presence.snapshot, 'a new snapshot after reconnecting', 10_000);
        await until(async () => {
          const res = await gql(second.url, '{ presence(userId: "alice") { status } }', {}, await second.token('alice'));
          return (res.data as { presence: { status: string } } | null)?.presence.status === 'ONLINE';
        }, 'alice ONLINE again on the new process');
        expect(tokensIssued).toBeGreaterThanOrEqual(2);
        expect(feed.completed).toBe(false);
      } finally {
        await client.dispose();
        await second.dispose();
      }
    } finally {
      await client.dispose();
    }
  });
});

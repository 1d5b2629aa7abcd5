/** A raw graphql-transport-ws socket for protocol-level tests: send anything, observe every frame and the close. */
import WebSocket from 'ws';

export interface RawSocket {
  readonly messages: Record<string, unknown>[];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  send(message: unknown): void;
  sendRaw(data: string): void;
  /** Waits for a message satisfying `predicate` (deadline `ms`). */
  next(predicate: (m: Record<string, unknown>) => boolean, what: string, ms?: number): Promise<Record<string, unknown>>;
  close(): void;
}

export function rawSocket(url: string, protocol: string | null = 'graphql-transport-ws'): RawSocket {
  const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: String(reason) });
      for (const w of waiters) w();
    });
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  return {
    messages,
    closed,
    opened,
    send: (message) => ws.send(JSON.stringify(message)),
    sendRaw: (data) => ws.send(data),
    next(predicate, what, ms = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (found) {
            cleanup();
            resolve(found);
          } else if (ws.readyState === WebSocket.CLOSED) {
            cleanup();
            reject(new Error(`socket closed while waiting for: ${what}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${ms} ms waiting for: ${what}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () => ws.close(),
  };
}

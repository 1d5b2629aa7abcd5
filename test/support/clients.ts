/** Test clients that speak only the public contract: GraphQL over HTTP and graphql-ws. */
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

export interface GqlResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly data?: T | null;
  readonly errors?: { message: string; extensions?: Record<string, unknown>; path?: unknown[] }[];
}

export async function gql<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GqlResponse<T>, 'status'>;
  return { status: res.status, ...body };
}

/** The codes of a response's errors, in order. */
export function codes(response: GqlResponse): unknown[] {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

/** Resolves when `predicate` holds, polling cheaply; rejects with `what` after `ms`. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface WsSession {
  readonly client: Client;
  /** Resolves with the ack payload, or rejects with the close event. */
  readonly connected: Promise<Record<string, unknown> | undefined>;
  /** Resolves with the close code once the socket closes. */
  readonly closed: Promise<number>;
  dispose(): Promise<void>;
}

export function connectWs(wsUrl: string, params: Record<string, unknown>): WsSession {
  let ack!: (payload: Record<string, unknown> | undefined) => void;
  let nack!: (error: unknown) => void;
  let onClosed!: (code: number) => void;
  const connected = new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
    ack = resolve;
    nack = reject;
  });
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  connected.catch(() => undefined);
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: params,
    lazy: false,
    retryAttempts: 0,
    // The close is reported through `closed`; graphql-ws would also console.error it.
    onNonLazyError: () => undefined,
    on: {
      connected: (_socket, payload) => ack(payload as Record<string, unknown> | undefined),
      closed: (event) => {
        const code = (event as { code?: number }).code ?? 0;
        nack(Object.assign(new Error(`closed ${code}`), { code }));
        onClosed(code);
      },
    },
  });
  return {
    client,
    connected,
    closed,
    async dispose() {
      await client.dispose();
      await closed;
    },
  };
}

/** A subscription that records every result, so tests wait for what they expect with a deadline. */
export interface Recorder<T> {
  readonly events: T[];
  readonly errors: unknown[];
  readonly completed: boolean;
  /** Waits until an event satisfies `predicate`, returning it. */
  next(predicate: (event: T) => boolean, what: string, ms?: number): Promise<T>;
  stop(): void;
}

export function record<T = any>(client: Client, query: string, variables?: Record<string, unknown>): Recorder<T> {
  const events: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (result: ExecutionResult<T>) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) events.push(result.data);
      },
      error: (error) => {
        errors.push(error);
        completed = true;
      },
      complete: () => {
        completed = true;
      },
    },
  );
  let seen = 0;
  return {
    events,
    errors,
    get completed() {
      return completed;
    },
    async next(predicate, what, ms = 5_000) {
      let found: T | undefined;
      await until(() => {
        for (; seen < events.length; seen++) {
          if (predicate(events[seen]!)) {
            found = events[seen++];
            return true;
          }
        }
        return false;
      }, what, ms);
      return found!;
    },
    stop,
  };
}

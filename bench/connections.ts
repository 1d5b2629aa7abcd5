/**
 * Connections held: N idle graphql-ws device sessions, each with ONE `presence(viewport:)` subscription
 * of V ids, on ONE real server process. Measures the server's memory per connection (RSS and V8 heap,
 * subscription state included), the time to connect them all, and the client side's own RSS.
 *
 *   npm run bench:connections -- [--connections 20000] [--viewport 20] [--targets 1000] [--concurrency 500]
 *                                [--per-address 20000] [--idle-seconds 5] [--max-seconds 600]
 *                                [--server-heap-mb 8192] [--max-total-gib 16] [--heap-snapshot <file>]
 *                                [--redis redis://127.0.0.1:6379]
 *
 * Stores: the real Redis (hot state, fan-out; a unique REDIS_PREFIX, removed with SCAN+DEL at the end),
 * the embedded contact graph and the embedded last-seen store (no NEO4J_URI, no DATABASE_URL, DEMO_SEED
 * off). Every user — T viewport targets and the N connecting users — is registered over HTTP before the
 * "before" figure is taken, so the per-connection figure holds what a connection costs (socket,
 * graphql-ws and session state, device timers, the subscription, its relay and interest entries), not
 * the embedded graph's user records, which a deployment keeps in Neo4j. What registration cost is
 * reported separately.
 *
 * Client side: a minimal graphql-transport-ws client on raw `ws` sockets (connection_init → ack →
 * subscribe → the first `next` is the snapshot; protocol pings answered with pongs, WebSocket pings by
 * ws itself), spread over client worker processes (the open-files limit is per process) and over source
 * addresses 127.0.0.2 … 127.0.0.K (an address's ephemeral ports run out at ~28 k), with at most
 * --concurrency handshakes in flight. The first connection error stops the run and names the limit hit.
 *
 * Server memory: scraped from /metrics (process_resident_memory_bytes, nodejs_heap_size_used_bytes)
 * after V8's last-resort GC (compacting; frees pages back to the OS — where an idle server settles),
 * run through the server's inspector (--expose-gc, inspector on a random loopback port): once on the
 * fresh server, once after registration ("before"), once after all N are connected and idle ("after").
 * bytes per connection = (after − before) / N. The idle RSS before that GC is reported too.
 *
 * Bounded: --max-seconds (default 600) for the whole run, --max-total-gib (default 16) of RSS for the
 * server and the clients together; everything is closed, the server stopped and its keys removed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { signToken } from '../server/auth.js';
import { spawnServer, type ServerProcess } from '../scripts/server-process.js';
import { commandLine, environment, round, summary } from './stats.js';

const WORKER_ENV = 'PRESENCE_BENCH_CONNECTIONS_WORKER';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const JWT_SECRET = 'bench-connections-secret-0123456789abcdef';
const GOAL = { connections: 100_000, maxBytesPerConnection: 40_960 } as const;
const SUBSCRIPTION = 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot presences { userId status platforms lastSeen { ago } version } } }';
const CONNECT_TIMEOUT_MS = 60_000;
/** Files the server needs besides the bench's sockets: /metrics scrapes, the inspector, Redis reconnects. */
const SERVER_FD_RESERVE = 16;
/** Files a client worker needs besides its sockets. */
const CLIENT_FD_RESERVE = 200;

const userOf = (i: number) => `c${i}`;
const deviceOf = (i: number) => `dev-${i}`;
const targetOf = (j: number) => `t${j}`;

/** V distinct targets for connection i, spread so every target is watched about equally. */
function viewportOf(i: number, viewport: number, targets: number): string[] {
  const step = Math.floor(targets / viewport);
  return Array.from({ length: viewport }, (_, k) => targetOf((i * 7 + k * step) % targets));
}

function sourceAddress(i: number, perAddress: number): string {
  return `127.0.0.${2 + Math.floor(i / perAddress)}`;
}

// ───────────────────────────── Linux process facts ─────────────────────────────

function openFilesLimit(pid: number | 'self'): { soft: number; hard: number } | null {
  try {
    const m = readFileSync(`/proc/${pid}/limits`, 'utf8').match(/^Max open files\s+(\S+)\s+(\S+)/m);
    if (!m) return null;
    const n = (s: string) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return null;
  }
}

function openFiles(pid: number | 'self'): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function rssOf(pid: number | 'self'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function ephemeralPorts(): { low: number; high: number } | null {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low && high ? { low, high } : null;
  } catch {
    return null;
  }
}

function sysctl(name: string): number | null {
  try {
    return Number(readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
}

// ───────────────────────────── shared by coordinator and workers ─────────────────────────────

/** Registers users over HTTP (their first authenticated request does it) and returns their tokens. */
async function registerUsers(url: string, ids: readonly string[], concurrency: number): Promise<string[]> {
  const tokens: string[] = new Array(ids.length);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const endpoint = new URL('/graphql', url);
  const body = JSON.stringify({ query: '{ me { id } }' });
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, ids.length) }, async () => {
        while (next < ids.length) {
          const k = next++;
          const token = await signToken(JWT_SECRET, ids[k]!, { ttlSeconds: 12 * 3600 });
          tokens[k] = token;
          const answer = await new Promise<string>((resolve, reject) => {
            const req = http.request(
              endpoint,
              { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
              (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (chunk: string) => (text += chunk));
                res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`registering ${ids[k]}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))));
              },
            );
            req.on('error', reject);
            req.end(body);
          });
          if (!answer.includes(`"id":"${ids[k]}"`)) throw new Error(`registering ${ids[k]}: unexpected answer ${answer.slice(0, 300)}`);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return tokens;
}

/** What a connection error means in terms of the limit that was hit. */
function explain(error: unknown, where: { address: string; index: number }): string {
  const e = error as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const limit = openFilesLimit('self');
  const ports = ephemeralPorts();
  switch (code) {
    case 'EMFILE':
    case 'ENFILE':
      return `${code} in a client worker at connection #${where.index}: the open-files limit was hit (this worker's ulimit -n is ${limit?.soft ?? '?'}, hard ${limit?.hard ?? '?'}; fs.file-max ${sysctl('fs.file-max') ?? '?'})`;
    case 'EADDRNOTAVAIL':
    case 'EADDRINUSE':
      return (
        `${code} from source address ${where.address} at connection #${where.index}: its ephemeral ports ran out ` +
        `(net.ipv4.ip_local_port_range ${ports ? `${ports.low}–${ports.high}, ${ports.high - ports.low + 1} per address` : '?'}; ports in TIME_WAIT from an earlier run count too) — lower --per-address, or, if the address itself is refused, this OS does not route 127/8 to loopback`
      );
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
      return `${code} at connection #${where.index}: the server refused or dropped the connection — its open-files limit, its listen backlog (net.core.somaxconn ${sysctl('net.core.somaxconn') ?? '?'}, tcp_max_syn_backlog ${sysctl('net.ipv4.tcp_max_syn_backlog') ?? '?'}) or a crash; lower --concurrency or check the server output`;
    case 'ETIMEDOUT':
      return `ETIMEDOUT at connection #${where.index}: the server did not complete the handshake in time (overloaded); lower --concurrency`;
    default:
      return `connection #${where.index} from ${where.address} failed: ${e?.message ?? String(error)}`;
  }
}

// ───────────────────────────── worker (client sockets) ─────────────────────────────

type ToWorker =
  | { type: 'register'; url: string; from: number; to: number; concurrency: number }
  | { type: 'connect'; wsUrl: string; from: number; to: number; concurrency: number; viewport: number; targets: number; perAddress: number }
  | { type: 'stats' }
  | { type: 'closing' }
  | { type: 'reset' }
  | { type: 'exit' };

type FromWorker =
  | { type: 'registered' }
  | { type: 'progress'; done: number }
  | { type: 'connected'; latencies: number[] }
  | { type: 'stats'; rss: number; heapUsed: number; openFiles: number | null; live: number; dropped: number; updates: number; ended: number }
  | { type: 'reset' }
  | { type: 'failed'; message: string };

async function worker(): Promise<void> {
  const send = (msg: FromWorker) => process.send!(msg);
  const sockets: WebSocket[] = [];
  /** The TCP sockets under them, to reset (RST) at the end: a FIN from this side would leave every source port in TIME_WAIT for a minute. */
  const tcp: net.Socket[] = [];
  const createConnection = ((options: net.NetConnectOpts & { socketPath?: string }) => {
    // As ws's own netConnect: the request's `path` (/graphql) must not reach net.connect as a socket path.
    const socket = net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts);
    tcp.push(socket);
    return socket;
  }) as typeof net.createConnection;
  let tokens: string[] = [];
  let tokenBase = 0;
  let closing = false;
  let live = 0;
  let dropped = 0;
  let updates = 0;
  let ended = 0;
  let failed = false;

  const fail = (message: string) => {
    if (failed) return;
    failed = true;
    send({ type: 'failed', message });
  };

  function open(i: number, wsUrl: string, viewport: number, targets: number, perAddress: number): Promise<number> {
    const address = sourceAddress(i, perAddress);
    const ids = viewport > 0 ? viewportOf(i, viewport, targets) : [];
    const token = tokens[i - tokenBase]!;
    return new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      let state: 'opening' | 'init' | 'subscribed' | 'live' | 'failed' = 'opening';
      const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { localAddress: address, perMessageDeflate: false, handshakeTimeout: CONNECT_TIMEOUT_MS, createConnection });
      const timer = setTimeout(() => stop(`connection #${i} from ${address}: no ${state === 'subscribed' ? 'snapshot' : 'connection_ack'} within ${CONNECT_TIMEOUT_MS / 1000} s — the server is overloaded; lower --concurrency`), CONNECT_TIMEOUT_MS);
      const stop = (message: string) => {
        if (state === 'live' || state === 'failed') return;
        state = 'failed';
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(message));
      };
      const established = () => {
        state = 'live';
        clearTimeout(timer);
        live++;
        resolve(performance.now() - t0);
      };
      ws.on('open', () => {
        state = 'init';
        ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}`, deviceId: deviceOf(i), platform: 'WEB' } }));
      });
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as { type: string; id?: string; payload?: unknown };
        if (msg.type === 'ping') return ws.send('{"type":"pong"}');
        if (msg.type === 'pong') return;
        if (state === 'live') {
          if (msg.type === 'next') updates++;
          else if (msg.type === 'error' || msg.type === 'complete') ended++;
          return;
        }
        if (msg.type === 'connection_ack' && state === 'init') {
          if (ids.length === 0) return established();
          state = 'subscribed';
          return ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { ids } } }));
        }
        if (msg.type === 'next' && state === 'subscribed') {
          const payload = msg.payload as { data?: { presence?: { snapshot: boolean; presences: unknown[] } }; errors?: { message: string; extensions?: { code?: string } }[] };
          const batch = payload.data?.presence;
          if (payload.errors?.length || !batch?.snapshot || batch.presences.length !== ids.length) {
            return stop(`connection #${i}: the first event was not a ${ids.length}-id snapshot: ${JSON.stringify(payload).slice(0, 400)}`);
          }
          return established();
        }
        if (msg.type === 'error') {
          const errors = msg.payload as { message: string; extensions?: { code?: string } }[];
          return stop(`connection #${i}: subscribe refused: ${errors.map((e) => `${e.extensions?.code ?? 'ERROR'} ${e.message}`).join('; ').slice(0, 400)}`);
        }
        stop(`connection #${i}: unexpected ${msg.type} while ${state}`);
      });
      ws.on('error', (error) => {
        if (state === 'live') return;
        stop(explain(error, { address, index: i }));
      });
      ws.on('close', (code, reason) => {
        if (state === 'live') {
          live--;
          if (!closing) dropped++;
          return;
        }
        stop(`connection #${i} from ${address}: closed by the server before the ${state === 'subscribed' ? 'snapshot' : 'ack'} (code ${code}${reason.length ? ` "${reason.toString()}"` : ''})`);
      });
      sockets.push(ws);
    });
  }

  process.on('message', (msg: ToWorker) => {
    void (async () => {
      try {
        switch (msg.type) {
          case 'register': {
            const ids = Array.from({ length: msg.to - msg.from }, (_, k) => userOf(msg.from + k));
            tokenBase = msg.from;
            tokens = await registerUsers(msg.url, ids, msg.concurrency);
            send({ type: 'registered' });
            return;
          }
          case 'connect': {
            const latencies: number[] = [];
            let next = msg.from;
            let pending = 0;
            let lastReport = performance.now();
            await Promise.all(
              Array.from({ length: Math.min(msg.concurrency, msg.to - msg.from) }, async () => {
                while (next < msg.to && !failed) {
                  const i = next++;
                  latencies.push(await open(i, msg.wsUrl, msg.viewport, msg.targets, msg.perAddress));
                  pending++;
                  if (pending >= 100 || performance.now() - lastReport > 200) {
                    send({ type: 'progress', done: pending });
                    pending = 0;
                    lastReport = performance.now();
                  }
                }
              }),
            );
            if (pending > 0) send({ type: 'progress', done: pending });
            tokens = [];
            send({ type: 'connected', latencies });
            return;
          }
          case 'stats': {
            const mem = process.memoryUsage();
            send({ type: 'stats', rss: mem.rss, heapUsed: mem.heapUsed, openFiles: openFiles('self'), live, dropped, updates, ended });
            return;
          }
          case 'closing':
            closing = true;
            return;
          case 'reset':
            closing = true;
            for (const socket of tcp) if (!socket.destroyed) socket.resetAndDestroy();
            send({ type: 'reset' });
            return;
          case 'exit':
            closing = true;
            for (const socket of tcp) if (!socket.destroyed) socket.resetAndDestroy();
            process.exit(0);
        }
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error));
      }
    })();
  });
  // The coordinator is gone: nothing left to measure.
  process.on('disconnect', () => process.exit(0));
}

// ───────────────────────────── coordinator ─────────────────────────────

class ClientWorker {
  readonly child: ChildProcess;
  readonly #waiting = new Map<string, (msg: FromWorker) => void>();

  constructor(
    readonly from: number,
    readonly to: number,
    onProgress: (n: number) => void,
    onFailure: (message: string) => void,
  ) {
    this.child = fork(fileURLToPath(import.meta.url), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, [WORKER_ENV]: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (msg: FromWorker) => {
      if (msg.type === 'progress') return onProgress(msg.done);
      if (msg.type === 'failed') return onFailure(msg.message);
      const waiter = this.#waiting.get(msg.type);
      this.#waiting.delete(msg.type);
      waiter?.(msg);
    });
    this.child.on('exit', (code, signal) => {
      if (!this.exiting) onFailure(`client worker ${this.child.pid} exited (${code ?? signal}) — out of memory? (it held connections ${from}–${to - 1})`);
    });
  }

  exiting = false;

  request<T extends FromWorker['type']>(msg: ToWorker, reply: T): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve) => {
      this.#waiting.set(reply, resolve as (msg: FromWorker) => void);
      this.child.send(msg);
    });
  }

  tell(msg: ToWorker): void {
    if (this.child.connected) this.child.send(msg);
  }

  async exit(): Promise<void> {
    this.exiting = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.tell({ type: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A minimal Chrome DevTools Protocol client: full GCs and heap snapshots of the server. */
class Inspector {
  readonly #ws: WebSocket;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #events = new Map<string, (params: Record<string, unknown>) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: Record<string, unknown> };
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`inspector: ${msg.error.message}`));
        else p?.resolve(msg.result);
      } else if (msg.method) this.#events.get(msg.method)?.(msg.params ?? {});
    });
  }

  static connect(url: string): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
      ws.once('open', () => resolve(new Inspector(ws)));
      ws.once('error', reject);
    });
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  on(method: string, handler: (params: Record<string, unknown>) => void): void {
    this.#events.set(method, handler);
  }

  async heapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.on('HeapProfiler.addHeapSnapshotChunk', (params) => out.write(params.chunk as string));
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }

  close(): void {
    this.#ws.terminate();
  }
}

interface Scrape {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  cpuSeconds: number;
  wsSockets: number;
  viewportSubscriptions: number;
  watchedUsers: number;
}

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

async function scrape(server: ServerProcess): Promise<Scrape> {
  const text = await getText(`${server.url}/metrics`);
  const value = (name: string) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)`, 'm'))?.[1] ?? Number.NaN);
  return {
    rss: value('process_resident_memory_bytes'),
    heapUsed: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
    cpuSeconds: value('process_cpu_seconds_total'),
    wsSockets: value('presence_ws_sockets'),
    viewportSubscriptions: value('presence_viewport_subscriptions'),
    watchedUsers: value('presence_watched_users'),
  };
}

async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(info.match(/^used_memory:(\d+)/m)?.[1] ?? Number.NaN);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => round(bytes / 2 ** 20, 1);
const kb = (bytes: number) => round(bytes / 1024, 2);
const memory = (s: Scrape) => ({ rssBytes: s.rss, heapUsedBytes: s.heapUsed, heapTotalBytes: s.heapTotal, externalBytes: s.external });

async function coordinator(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '20000' },
      viewport: { type: 'string', default: '20' },
      targets: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '500' },
      'per-address': { type: 'string', default: '20000' },
      'idle-seconds': { type: 'string', default: '5' },
      'max-seconds': { type: 'string', default: '600' },
      'server-heap-mb': { type: 'string', default: '8192' },
      'max-total-gib': { type: 'string', default: '16' },
      'heap-snapshot': { type: 'string' },
      redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    },
  });
  const N = Number(values.connections);
  const V = Number(values.viewport);
  const T = Number(values.targets);
  const concurrency = Number(values.concurrency);
  const perAddress = Number(values['per-address']);
  const idleSeconds = Math.min(Number(values['idle-seconds']), 120);
  const maxSeconds = Math.min(Number(values['max-seconds']), 3600);
  const serverHeapMb = Number(values['server-heap-mb']);
  const maxTotalBytes = Number(values['max-total-gib']) * 2 ** 30;
  const heapSnapshot = values['heap-snapshot'];
  const log = (line: string) => process.stderr.write(`[connections] ${line}\n`);

  const clientLimit = openFilesLimit('self');
  const perWorker = Math.max(1, Math.min(25_000, (clientLimit?.soft ?? 25_000) - CLIENT_FD_RESERVE));
  const workerCount = Math.max(1, Math.ceil(N / perWorker));
  const addressCount = Math.ceil(N / perAddress);
  const addresses = Array.from({ length: addressCount }, (_, a) => `127.0.0.${2 + a}`);
  const parameters = {
    connections: N,
    viewport: V,
    targets: T,
    concurrency,
    perAddress,
    sourceAddresses: addressCount > 0 ? `${addresses[0]}…${addresses.at(-1)}` : 'none',
    clientProcesses: workerCount,
    idleSeconds,
    maxSeconds,
    serverHeapMb,
    stores: { hot: 'redis', graph: 'embedded', lastSeen: 'embedded' },
    subscription: V > 0 ? SUBSCRIPTION : 'none (device session only)',
  };
  const started = performance.now();
  const env = environment();

  const fatal = (message: string): never => {
    throw new Error(message);
  };
  if (!Number.isSafeInteger(N) || N < 1) fatal('--connections must be a whole number ≥ 1');
  if (!Number.isSafeInteger(V) || V < 0 || V > 200) fatal('--viewport must be 0–200 (0: device sessions without a subscription)');
  if (!Number.isSafeInteger(T) || T < Math.max(V, 1)) fatal('--targets must be ≥ --viewport');
  if (addressCount > 253) fatal(`--per-address ${perAddress} needs ${addressCount} source addresses; at most 253 (127.0.0.2–127.0.0.254)`);
  const ports = ephemeralPorts();
  if (ports && perAddress > ports.high - ports.low + 1) {
    fatal(`--per-address ${perAddress} exceeds the ephemeral ports of one address (net.ipv4.ip_local_port_range ${ports.low}–${ports.high} = ${ports.high - ports.low + 1})`);
  }

  // Everything below is aborted — and cleaned up — on the first failure, the time cap or the memory cap.
  let abort!: (error: Error) => void;
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  aborted.catch(() => undefined);
  const race = <T>(p: Promise<T>) => Promise.race([p, aborted]);
  const cap = setTimeout(() => abort(new Error(`time cap: the run exceeded --max-seconds ${maxSeconds}`)), maxSeconds * 1000);

  const prefix = `bench:conn:${randomUUID().slice(0, 8)}:`;
  let server: ServerProcess | undefined;
  let inspector: Inspector | undefined;
  const workers: ClientWorker[] = [];
  let watchdog: NodeJS.Timeout | undefined;
  let peakTotalRss = 0;
  const redis = new Redis(values.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });

  try {
    await redis.connect();
    const redisBefore = await redisUsedMemory(redis);
    log(`server: one process, Redis prefix ${prefix}, embedded graph and last-seen, heap limit ${serverHeapMb} MB`);
    server = await race(
      spawnServer(
        { REDIS_URL: values.redis, REDIS_PREFIX: prefix, NEO4J_URI: '', DATABASE_URL: '', DEMO_SEED: 'false', JWT_SECRET, LOG_LEVEL: 'warn' },
        60_000,
        { nodeFlags: [`--max-old-space-size=${serverHeapMb}`, '--expose-gc', '--inspect=127.0.0.1:0'] },
      ),
    );
    const srv = server;
    void srv.exited.then((code) => abort(new Error(`the server exited (${code}) during the run:\n${srv.output().slice(-2000)}`)));
    const pid = srv.child.pid!;
    const inspectorUrl = srv.output().match(/Debugger listening on (ws:\/\/\S+)/)?.[1];
    if (!inspectorUrl) fatal(`the server's inspector did not start:\n${srv.output()}`);
    inspector = await race(Inspector.connect(inspectorUrl!));
    const insp = inspector;
    const measure = async (): Promise<Scrape> => {
      // Full collections until the heap stops shrinking (at most 4): the inspector's precise GC, then V8's
      // last-resort one (compacting; returns free pages to the OS — where an idle server settles).
      let last = Number.POSITIVE_INFINITY;
      let figures = await race(scrape(srv));
      for (let k = 0; k < 4; k++) {
        await race(insp.call('HeapProfiler.collectGarbage'));
        await race(insp.call('Runtime.evaluate', { expression: "gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })" }));
        await delay(200);
        figures = await race(scrape(srv));
        if (figures.heapUsed > last * 0.995) break;
        last = figures.heapUsed;
      }
      return figures;
    };

    // Can the server hold N more sockets? (Its open-files limit is inherited from this process.)
    const serverLimit = openFilesLimit(pid);
    const serverOpen = openFiles(pid);
    if (serverLimit && serverOpen !== null && N > serverLimit.soft - serverOpen - SERVER_FD_RESERVE) {
      const fit = serverLimit.soft - serverOpen - SERVER_FD_RESERVE;
      fatal(
        `--connections ${N} needs ${N} sockets in the one server process, which has ${serverOpen} files open and an open-files limit of ${serverLimit.soft} (hard ${serverLimit.hard}): at most ${fit} fit. ` +
          `Raise the limit (the npm script sets ulimit -n to 1048576, else to the hard limit; raising the hard limit needs root with CAP_SYS_RESOURCE — limits.conf, prlimit, systemd LimitNOFILE) or run with --connections ${fit}.`,
      );
    }
    watchdog = setInterval(() => {
      const total = rssOf(pid) + workers.reduce((sum, w) => sum + (w.child.pid ? rssOf(w.child.pid) : 0), 0) + rssOf('self');
      peakTotalRss = Math.max(peakTotalRss, total);
      if (total > maxTotalBytes) abort(new Error(`memory cap: server and clients hold ${mb(total)} MB RSS together, over --max-total-gib ${values['max-total-gib']}`));
    }, 1_000);

    const fresh = await measure();

    // Targets first (viewport ids must be registered users), then the N connecting users, in the workers.
    const onFailure = (message: string) => abort(new Error(message));
    let connected = 0;
    let mark = 1;
    let connectStart = 0;
    const onProgress = (n: number) => {
      connected += n;
      // Every 5 % (marks 1–20; one line when a report crosses several).
      if (mark > 20 || connected < Math.ceil((mark * N) / 20)) return;
      while (mark <= 20 && connected >= Math.ceil((mark * N) / 20)) mark++;
      const s = (performance.now() - connectStart) / 1000;
      log(`${(mark - 1) * 5}%  ${connected}/${N} connected in ${round(s, 1)} s (${Math.round(connected / s)}/s), server RSS ${mb(rssOf(pid))} MB`);
    };
    for (let w = 0; w < workerCount; w++) {
      const from = Math.floor((w * N) / workerCount);
      const to = Math.floor(((w + 1) * N) / workerCount);
      workers.push(new ClientWorker(from, to, onProgress, onFailure));
    }
    const registerStart = performance.now();
    log(`registering ${T} targets and ${N} users over HTTP`);
    await race(registerUsers(srv.url, Array.from({ length: T }, (_, j) => targetOf(j)), 64));
    await race(Promise.all(workers.map((w) => w.request({ type: 'register', url: srv.url, from: w.from, to: w.to, concurrency: Math.ceil(64 / workerCount) }, 'registered'))));
    const registerSeconds = (performance.now() - registerStart) / 1000;
    const before = await measure();
    log(`registered ${T + N} users in ${round(registerSeconds, 1)} s; server RSS ${mb(before.rss)} MB, heap ${mb(before.heapUsed)} MB`);

    // Every source address must reach the server (Linux routes all of 127/8 to lo; other systems need aliases).
    const port = Number(new URL(srv.url).port);
    for (const address of addresses) {
      await race(
        new Promise<void>((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port, localAddress: address }, () => {
            socket.resetAndDestroy();
            resolve();
          });
          socket.on('error', (error) => reject(new Error(`source address ${address} cannot reach 127.0.0.1:${port}: ${(error as NodeJS.ErrnoException).code ?? error.message} — this OS does not route 127/8 to loopback; add aliases or use fewer addresses (--per-address)`)));
        }),
      );
    }

    log(`connecting ${N} device sessions (viewport ${V}) from ${workerCount} client process(es) over ${addressCount} source address(es), ${concurrency} in flight`);
    const cpuBefore = before.cpuSeconds;
    connectStart = performance.now();
    const done = await race(
      Promise.all(
        workers.map((w) =>
          w.request(
            { type: 'connect', wsUrl: srv.wsUrl, from: w.from, to: w.to, concurrency: Math.ceil(concurrency / workerCount), viewport: V, targets: T, perAddress },
            'connected',
          ),
        ),
      ),
    );
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const latency = summary(done.flatMap((d) => d.latencies));
    const atConnected = await race(scrape(srv));
    log(`all ${N} connected in ${round(connectSeconds, 1)} s (${Math.round(N / connectSeconds)}/s); idle ${idleSeconds} s`);

    await race(delay(idleSeconds * 1000));
    const idleEnd = await race(scrape(srv));
    const after = await measure();
    const serverOpenAfter = openFiles(pid);
    const clients = await race(Promise.all(workers.map((w) => w.request({ type: 'stats' }, 'stats'))));
    const redisAfter = await redisUsedMemory(redis);
    if (after.wsSockets !== N || (V > 0 && after.viewportSubscriptions !== N)) {
      fatal(`the server counts ${after.wsSockets} sockets and ${after.viewportSubscriptions} viewport subscriptions, expected ${N} and ${V > 0 ? N : 0}`);
    }
    if (heapSnapshot) {
      log(`writing a heap snapshot of the server to ${heapSnapshot}`);
      await race(insp.heapSnapshot(heapSnapshot));
    }

    const rssPerConnection = (after.rss - before.rss) / N;
    const heapPerConnection = (after.heapUsed - before.heapUsed) / N;
    const clientRss = clients.reduce((sum, c) => sum + c.rss, 0) + rssOf('self');
    const projectedRss = before.rss + rssPerConnection * GOAL.connections;
    const withinBytes = rssPerConnection <= GOAL.maxBytesPerConnection;
    const reached = N >= GOAL.connections;
    const capNote =
      !reached && serverLimit && serverLimit.hard < GOAL.connections + SERVER_FD_RESERVE
        ? ` (not reachable here: one process may hold at most ${serverLimit.hard} files — open-files hard limit ${serverLimit.hard})`
        : '';
    const verdict = {
      pass: reached && withinBytes,
      withinBytesPerConnection: withinBytes,
      reachedGoalConnections: reached,
      rssBytesPerConnection: Math.round(rssPerConnection),
      projectedServerRssAtGoalBytes: Math.round(projectedRss),
      summary:
        `${withinBytes ? 'within' : 'OVER'} the per-connection budget: ${kb(rssPerConnection)} KB RSS per connection ${withinBytes ? '≤' : '>'} ${GOAL.maxBytesPerConnection / 1024} KB at ${N} connections; ` +
        (reached ? `${N} connections held in ${mb(after.rss)} MB server RSS` : `${GOAL.connections} connections not run${capNote}; projected ${mb(projectedRss)} MB server RSS at ${GOAL.connections}`) +
        ` → ${reached && withinBytes ? 'PASS' : reached ? 'FAIL' : withinBytes ? 'PASS per connection, 100 k not demonstrated' : 'FAIL'}`,
    };

    const results = {
      connected: clients.reduce((sum, c) => sum + c.live, 0),
      connectSeconds: round(connectSeconds, 2),
      connectionsPerSecond: Math.round(N / connectSeconds),
      connectLatencyMs: { p50: round(latency.p50, 1), p99: round(latency.p99, 1), max: round(latency.max, 1) },
      server: {
        fresh: memory(fresh),
        before: memory(before),
        after: memory(after),
        afterBeforeGc: memory(idleEnd),
        rssBytesPerConnectionBeforeGc: Math.round((idleEnd.rss - before.rss) / N),
        rssBytesPerConnection: Math.round(rssPerConnection),
        heapUsedBytesPerConnection: Math.round(heapPerConnection),
        heapTotalBytesPerConnection: Math.round((after.heapTotal - before.heapTotal) / N),
        externalBytesPerConnection: Math.round((after.external - before.external) / N),
        registration: {
          users: T + N,
          seconds: round(registerSeconds, 1),
          rssBytesPerUser: Math.round((before.rss - fresh.rss) / (T + N)),
          heapUsedBytesPerUser: Math.round((before.heapUsed - fresh.heapUsed) / (T + N)),
        },
        cpuSecondsPerThousandConnections: round(((atConnected.cpuSeconds - cpuBefore) / N) * 1000, 3),
        idleCpuShare: round((idleEnd.cpuSeconds - atConnected.cpuSeconds) / idleSeconds, 3),
        wsSockets: after.wsSockets,
        viewportSubscriptions: after.viewportSubscriptions,
        watchedUsers: after.watchedUsers,
        openFiles: serverOpenAfter,
        openFilesLimit: serverLimit,
      },
      client: {
        processes: workerCount,
        sourceAddresses: addressCount,
        rssBytes: clientRss,
        rssBytesPerConnection: Math.round(clientRss / N),
        droppedWhileIdle: clients.reduce((sum, c) => sum + c.dropped, 0),
        updatesWhileIdle: clients.reduce((sum, c) => sum + c.updates, 0),
        openFilesLimit: clientLimit,
      },
      redis: { usedMemoryDeltaBytes: redisAfter - redisBefore, note: 'shared instance: other runs may move it' },
      peakTotalRssBytes: peakTotalRss,
      runSeconds: round((performance.now() - started) / 1000, 1),
    };
    log(verdict.summary);
    console.log(JSON.stringify({ scenario: 'connections', command: commandLine(), parameters, environment: env, results, goal: GOAL, verdict }, null, 2));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`FAILED: ${message}`);
    console.log(
      JSON.stringify(
        { scenario: 'connections', command: commandLine(), parameters, environment: env, error: message, goal: GOAL, verdict: { pass: false, summary: `error: ${message.split('\n')[0]}` } },
        null,
        2,
      ),
    );
    process.exitCode = 1;
  } finally {
    clearTimeout(cap);
    if (watchdog) clearInterval(watchdog);
    inspector?.close();
    for (const w of workers) w.tell({ type: 'closing' });
    // Reset the client sockets first (RST: no TIME_WAIT on the source ports, so the next run finds them
    // free); the server sees every socket close and records the disconnects.
    await Promise.all(workers.map((w) => (w.child.connected ? Promise.race([w.request({ type: 'reset' }, 'reset'), delay(10_000)]) : undefined)));
    if (server) {
      log('stopping the server');
      const srv = server;
      const kill = setTimeout(() => void srv.stop('SIGKILL'), 60_000);
      await srv.stop('SIGTERM');
      clearTimeout(kill);
    }
    await Promise.all(workers.map((w) => w.exit()));
    try {
      let cursor = '0';
      let removed = 0;
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) removed += await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      log(`removed ${removed} Redis keys under ${prefix}`);
    } catch (error) {
      log(`could not remove the Redis keys under ${prefix}: ${error instanceof Error ? error.message : String(error)}`);
    }
    redis.disconnect();
  }
}

if (process.env[WORKER_ENV]) await worker();
else await coordinator();

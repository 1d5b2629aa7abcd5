/**
 * Shared by the graphql-ws load scenarios (connections.ts, heartbeat.ts --mode gateway): real client
 * sockets against a real server process.
 *
 * - A minimal graphql-transport-ws client on raw `ws` sockets (connection_init → ack → optionally one
 *   `presence(viewport:)` subscription whose first `next` is the snapshot; protocol pings answered with
 *   pongs, WebSocket pings by ws itself), run in client worker processes (`ClientWorker`: the open-files
 *   limit is per process) and spread over source addresses 127.0.0.2 … 127.0.0.K (an address's
 *   ephemeral ports run out at ~28 k), with at most `concurrency` handshakes in flight. The first
 *   connection error stops the run and names the limit hit (`explain`).
 * - Linux process facts (open-files limits, open files, RSS, CPU time, ephemeral ports, sysctls), the
 *   pre-flight checks (source addresses reach the server, the server can hold N more sockets), user
 *   registration over HTTP, /metrics text, Redis prefix removal, connect progress lines.
 *
 * This file is also the client worker's entry: `ClientWorker` forks it with WORKER_ENV set.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { ServerProcess } from '../scripts/server-process.js';
import { signToken } from '../server/auth.js';
import { round } from './stats.js';

const WORKER_ENV = 'PRESENCE_BENCH_WS_WORKER';
const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** HS256 secret the bench servers are started with and the workers sign tokens with. */
export const BENCH_JWT_SECRET = 'bench-connections-secret-0123456789abcdef';
export const SUBSCRIPTION = 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot presences { userId status platforms lastSeen { ago } version } } }';
const CONNECT_TIMEOUT_MS = 60_000;
/** Files the server needs besides the bench's sockets: /metrics scrapes, the inspector, Redis reconnects. */
export const SERVER_FD_RESERVE = 16;
/** Files a client worker needs besides its sockets. */
export const CLIENT_FD_RESERVE = 200;

export const userOf = (i: number) => `c${i}`;
export const deviceOf = (i: number) => `dev-${i}`;
export const targetOf = (j: number) => `t${j}`;


/** V distinct targets for connection i, spread so every target is watched about equally. */
export function viewportOf(i: number, viewport: number, targets: number): string[] {
  const step = Math.floor(targets / viewport);
  return Array.from({ length: viewport }, (_, k) => targetOf((i * 7 + k * step) % targets));
}

/**
 * Sockets per source address: `auto` spreads N over up to 200 addresses, at least 250 on each. Binding a
 * client socket to an address that already holds thousands makes the kernel search its ephemeral ports
 * for a free one on every connect (Node cannot set IP_BIND_ADDRESS_NO_PORT), and that search — in the
 * load client, not the server — capped the connect rate: 19 800 sessions on one address took 43–80 s
 * (~330/s), on 80 addresses 19.5 s (~1 000/s).
 */
export function perAddressFor(N: number, option: string | undefined): number {
  if (option === undefined || option === 'auto') return Math.max(250, Math.ceil(N / 200));
  const n = Number(option);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--per-address must be a whole number ≥ 1 or "auto", got ${option}`);
  return n;
}

export function sourceAddress(i: number, perAddress: number): string {
  return `127.0.0.${2 + Math.floor(i / perAddress)}`;
}

// ───────────────────────────── Linux process facts ─────────────────────────────

export function openFilesLimit(pid: number | 'self'): { soft: number; hard: number } | null {
  try {
    const m = readFileSync(`/proc/${pid}/limits`, 'utf8').match(/^Max open files\s+(\S+)\s+(\S+)/m);
    if (!m) return null;
    const n = (s: string) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return null;
  }
}

export function openFiles(pid: number | 'self'): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

export function rssOf(pid: number | 'self'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function ephemeralPorts(): { low: number; high: number } | null {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low && high ? { low, high } : null;
  } catch {
    return null;
  }
}

export function sysctl(name: string): number | null {
  try {
    return Number(readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
}

// ───────────────────────────── shared by coordinator and workers ─────────────────────────────

/** Registers users over HTTP (their first authenticated request does it) and returns their tokens. */
export async function registerUsers(url: string, ids: readonly string[], concurrency: number, secret = BENCH_JWT_SECRET): Promise<string[]> {
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
          const token = await signToken(secret, ids[k]!, { ttlSeconds: 12 * 3600 });
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
export function explain(error: unknown, where: { address: string; index: number }): string {
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

/** `register` with a url registers the users over HTTP (their first authenticated request); with null it only signs their tokens (the socket's connection_init registers them). */
export type ToWorker =
  | { type: 'register'; url: string | null; from: number; to: number; concurrency: number }
  | {
      type: 'connect';
      wsUrl: string;
      from: number;
      to: number;
      concurrency: number;
      viewport: number;
      targets: number;
      perAddress: number;
      /** Explicit viewports, one per connection from `from` (instead of `viewport` ids of `targets`). */
      viewports?: string[][];
      /** A server per connection from `from` (instead of `wsUrl` for all). */
      wsUrls?: string[];
      /** The subscription document (default SUBSCRIPTION); it must select presences { userId version }. */
      query?: string;
      /** Record every presence received after the snapshot: user, version, arrival (epoch ms). */
      record?: boolean;
      /** Whether each connection is a device session (connectionParams.deviceId); default true. */
      device?: boolean;
      /**
       * Whether the first event must be a snapshot of exactly the viewport asked for; default true. Off
       * where the server watches more than asked (the eager baseline watches every contact).
       */
      exactSnapshot?: boolean;
    }
  | { type: 'receipts' }
  | { type: 'stats' }
  | { type: 'closing' }
  | { type: 'reset' }
  | { type: 'exit' };

export type FromWorker =
  | { type: 'registered' }
  | { type: 'progress'; done: number }
  | { type: 'connected'; latencies: number[] }
  | { type: 'stats'; rss: number; heapUsed: number; cpuSeconds: number; openFiles: number | null; live: number; dropped: number; updates: number; ended: number }
  | { type: 'reset' }
  /** Receipt i: user `users[user[i]]`, version `version[i]`, arrived at `at[i]` (epoch ms). */
  | {
      type: 'receipts';
      users: string[];
      user: Uint32Array;
      version: Uint32Array;
      at: Float64Array;
      frames: number;
      presences: number;
      bytes: number;
      /**
       * This worker's event-loop delay while it recorded (2 ms resolution: an idle loop reads ≈ 2 ms):
       * how late its arrival stamps could be because it was busy, the measuring side's share of a latency.
       */
      loopLagMs: { p50: number; p99: number; max: number } | null;
    }
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
  // Receipts (with `record`): user, version and when it arrived, on the epoch clock every process shares.
  // Numbers in typed arrays, not a string per presence: this process's GC must not delay the stamps.
  let recording = false;
  const userIndex = new Map<string, number>();
  const users: string[] = [];
  let receiptUser = new Uint32Array(1 << 16);
  let receiptVersion = new Uint32Array(1 << 16);
  let receiptAt = new Float64Array(1 << 16);
  let receipts = 0;
  let loopLag: IntervalHistogram | undefined;
  const grow = <A extends Uint32Array | Float64Array>(array: A): A => {
    const grown = new (array.constructor as new (n: number) => A)(array.length * 2);
    grown.set(array);
    return grown;
  };
  let frames = 0;
  let presences = 0;
  let bytes = 0;
  const epochNow = () => performance.timeOrigin + performance.now();

  const fail = (message: string) => {
    if (failed) return;
    failed = true;
    send({ type: 'failed', message });
  };

  /** Opens connection `i` of a `connect` request (its server, viewport and subscription as that asks). */
  function open(i: number, msg: Extract<ToWorker, { type: 'connect' }>): Promise<number> {
    const { viewport, targets, perAddress, query = SUBSCRIPTION, device = true, exactSnapshot = true } = msg;
    const wsUrl = msg.wsUrls?.[i - msg.from] ?? msg.wsUrl;
    const address = sourceAddress(i, perAddress);
    const ids = msg.viewports?.[i - msg.from] ?? (viewport > 0 ? viewportOf(i, viewport, targets) : []);
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
        const params = device ? { authorization: `Bearer ${token}`, deviceId: deviceOf(i), platform: 'WEB' } : { authorization: `Bearer ${token}` };
        ws.send(JSON.stringify({ type: 'connection_init', payload: params }));
      });
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as { type: string; id?: string; payload?: unknown };
        if (msg.type === 'ping') return ws.send('{"type":"pong"}');
        if (msg.type === 'pong') return;
        if (state === 'live') {
          if (msg.type === 'next') {
            updates++;
            if (recording) {
              const arrived = epochNow();
              const batch = (msg.payload as { data?: { presence?: { presences: { userId: string; version: number }[] } } }).data?.presence;
              frames++;
              bytes += (data as Buffer).length;
              for (const p of batch?.presences ?? []) {
                if (receipts === receiptAt.length) {
                  receiptUser = grow(receiptUser);
                  receiptVersion = grow(receiptVersion);
                  receiptAt = grow(receiptAt);
                }
                let u = userIndex.get(p.userId);
                if (u === undefined) {
                  u = users.push(p.userId) - 1;
                  userIndex.set(p.userId, u);
                }
                receiptUser[receipts] = u;
                receiptVersion[receipts] = p.version;
                receiptAt[receipts] = arrived;
                receipts++;
                presences++;
              }
            }
          } else if (msg.type === 'error' || msg.type === 'complete') ended++;
          return;
        }
        if (msg.type === 'connection_ack' && state === 'init') {
          if (ids.length === 0) return established();
          state = 'subscribed';
          return ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { ids } } }));
        }
        if (msg.type === 'next' && state === 'subscribed') {
          const payload = msg.payload as { data?: { presence?: { snapshot: boolean; presences: unknown[] } }; errors?: { message: string; extensions?: { code?: string } }[] };
          const batch = payload.data?.presence;
          if (payload.errors?.length || !batch?.snapshot || (exactSnapshot && batch.presences.length !== ids.length)) {
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
            tokens = msg.url === null ? await Promise.all(ids.map((id) => signToken(BENCH_JWT_SECRET, id, { ttlSeconds: 12 * 3600 }))) : await registerUsers(msg.url, ids, msg.concurrency);
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
                  latencies.push(await open(i, msg));
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
            recording = msg.record === true;
            if (recording && !loopLag) {
              loopLag = monitorEventLoopDelay({ resolution: 2 });
              loopLag.enable();
            }
            send({ type: 'connected', latencies });
            return;
          }
          case 'stats': {
            const mem = process.memoryUsage();
            const cpu = process.cpuUsage();
            send({ type: 'stats', rss: mem.rss, heapUsed: mem.heapUsed, cpuSeconds: (cpu.user + cpu.system) / 1e6, openFiles: openFiles('self'), live, dropped, updates, ended });
            return;
          }
          case 'receipts': {
            const lagMs = loopLag ? { p50: round(loopLag.percentile(50) / 1e6, 1), p99: round(loopLag.percentile(99) / 1e6, 1), max: round(loopLag.max / 1e6, 1) } : null;
            send({ type: 'receipts', users: [...users], user: receiptUser.slice(0, receipts), version: receiptVersion.slice(0, receipts), at: receiptAt.slice(0, receipts), frames, presences, bytes, loopLagMs: lagMs });
            receipts = frames = presences = bytes = 0;
            loopLag?.reset();
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

/** One client worker process (this file, forked): holds the sockets of connections [from, to). */
export class ClientWorker {
  readonly child: ChildProcess;
  readonly #waiting = new Map<string, (msg: FromWorker) => void>();

  constructor(
    readonly from: number,
    readonly to: number,
    onProgress: (n: number) => void,
    onFailure: (message: string) => void,
  ) {
    this.child = fork(SELF, [], {
      // Structured clone: receipts travel as typed arrays, not JSON.
      serialization: 'advanced',
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

export function getText(url: string): Promise<string> {
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

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

// ───────────────────────────── coordinator helpers ─────────────────────────────

/** CPU seconds (user + system) a process has used so far, from /proc; NaN when unreadable. */
export function cpuSecondsOf(pid: number | 'self'): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** How N sockets are spread: client worker processes (per this process's open-files limit) and source addresses. */
export function clientPlan(N: number, perAddress: number) {
  const clientLimit = openFilesLimit('self');
  const perWorker = Math.max(1, Math.min(25_000, (clientLimit?.soft ?? 25_000) - CLIENT_FD_RESERVE));
  const workerCount = Math.max(1, Math.ceil(N / perWorker));
  const addressCount = Math.ceil(N / perAddress);
  const addresses = Array.from({ length: addressCount }, (_, a) => `127.0.0.${2 + a}`);
  return { clientLimit, workerCount, addressCount, addresses };
}

/** Why the source addresses cannot carry the plan, or null. */
export function addressProblem(perAddress: number, addressCount: number): string | null {
  if (addressCount > 253) return `--per-address ${perAddress} needs ${addressCount} source addresses; at most 253 (127.0.0.2–127.0.0.254)`;
  const ports = ephemeralPorts();
  if (ports && perAddress > ports.high - ports.low + 1) {
    return `--per-address ${perAddress} exceeds the ephemeral ports of one address (net.ipv4.ip_local_port_range ${ports.low}–${ports.high} = ${ports.high - ports.low + 1})`;
  }
  return null;
}

/** Why the server process cannot hold N more sockets (its open-files limit is inherited from this process), or null. */
export function serverRoomProblem(pid: number, N: number): string | null {
  const serverLimit = openFilesLimit(pid);
  const serverOpen = openFiles(pid);
  if (serverLimit && serverOpen !== null && N > serverLimit.soft - serverOpen - SERVER_FD_RESERVE) {
    const fit = serverLimit.soft - serverOpen - SERVER_FD_RESERVE;
    return (
      `--connections ${N} needs ${N} sockets in the one server process, which has ${serverOpen} files open and an open-files limit of ${serverLimit.soft} (hard ${serverLimit.hard}): at most ${fit} fit. ` +
      `Raise the limit (the npm script sets ulimit -n to 1048576, else to the hard limit; raising the hard limit needs root with CAP_SYS_RESOURCE — limits.conf, prlimit, systemd LimitNOFILE) or run with --connections ${fit}.`
    );
  }
  return null;
}

/** Every source address must reach the server (Linux routes all of 127/8 to lo; other systems need aliases). */
export async function checkAddresses(addresses: readonly string[], port: number): Promise<void> {
  for (const address of addresses) {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: address }, () => {
        socket.resetAndDestroy();
        resolve();
      });
      socket.on('error', (error) => reject(new Error(`source address ${address} cannot reach 127.0.0.1:${port}: ${(error as NodeJS.ErrnoException).code ?? error.message} — this OS does not route 127/8 to loopback; add aliases or use fewer addresses (--per-address)`)));
    });
  }
}

/** Client workers for connections [0, N), split evenly. */
export function startWorkers(N: number, workerCount: number, onProgress: (n: number) => void, onFailure: (message: string) => void): ClientWorker[] {
  return Array.from({ length: workerCount }, (_, w) => new ClientWorker(Math.floor((w * N) / workerCount), Math.floor(((w + 1) * N) / workerCount), onProgress, onFailure));
}

/** Opens the workers' sockets (each worker its share of `concurrency` handshakes in flight); their handshake latencies. */
export function connectAll(
  workers: readonly ClientWorker[],
  options: {
    /** The server every worker connects to, or the server of each worker (by its index). */
    wsUrl: string | ((worker: number) => string);
    concurrency: number;
    viewport: number;
    targets: number;
    perAddress: number;
    viewports?: string[][];
    query?: string;
    record?: boolean;
  },
): Promise<Extract<FromWorker, { type: 'connected' }>[]> {
  const { wsUrl, concurrency, viewport, targets, perAddress, viewports, query, record } = options;
  return Promise.all(
    workers.map((w, i) =>
      w.request(
        { type: 'connect', wsUrl: typeof wsUrl === 'string' ? wsUrl : wsUrl(i), from: w.from, to: w.to, concurrency: Math.ceil(concurrency / workers.length), viewport, targets, perAddress, viewports: viewports?.slice(w.from, w.to), query, record },
        'connected',
      ),
    ),
  );
}

/** A progress line every 5 % of N connected (one line when a report crosses several marks). */
export function connectProgress(N: number, log: (line: string) => void, pids: readonly number[]) {
  let connected = 0;
  let mark = 1;
  let connectStart = 0;
  return {
    start() {
      connectStart = performance.now();
    },
    onProgress(n: number) {
      connected += n;
      if (mark > 20 || connected < Math.ceil((mark * N) / 20)) return;
      while (mark <= 20 && connected >= Math.ceil((mark * N) / 20)) mark++;
      const s = (performance.now() - connectStart) / 1000;
      log(`${(mark - 1) * 5}%  ${connected}/${N} connected in ${round(s, 1)} s (${Math.round(connected / s)}/s), ${pids.length === 1 ? 'server' : `${pids.length} servers'`} RSS ${mb(pids.reduce((sum, pid) => sum + rssOf(pid), 0))} MB`);
    },
  };
}

/** Resets every client socket (RST: no TIME_WAIT on the source ports, so the next run finds them free). */
export async function resetWorkers(workers: readonly ClientWorker[]): Promise<void> {
  for (const w of workers) w.tell({ type: 'closing' });
  await Promise.all(workers.map((w) => (w.child.connected ? Promise.race([w.request({ type: 'reset' }, 'reset'), delay(10_000)]) : undefined)));
}

/**
 * Ends a load run in the order that leaves nothing behind: client sockets reset first (the server sees
 * every close and records the disconnects), then the server stopped (SIGKILL if it is not gone within
 * 60 s), then the workers.
 */
export async function stopLoad(workers: readonly ClientWorker[], servers: readonly ServerProcess[], log: (line: string) => void): Promise<void> {
  await resetWorkers(workers);
  if (servers.length > 0) {
    log(servers.length === 1 ? 'stopping the server' : `stopping the ${servers.length} servers`);
    const t = performance.now();
    await Promise.all(
      servers.map(async (server) => {
        const kill = setTimeout(() => void server.stop('SIGKILL'), 60_000);
        await server.stop('SIGTERM');
        clearTimeout(kill);
      }),
    );
    const killed = servers.filter((server) => server.child.signalCode === 'SIGKILL').length;
    log(`stopped in ${round((performance.now() - t) / 1000, 1)} s${killed ? ` (${killed} killed after 60 s)` : ''}`);
  }
  await Promise.all(workers.map((w) => w.exit()));
}

/** Removes every key under the prefix (SCAN + DEL); returns how many. */
/** Deletes every key under `prefix` with a connection of its own; how many. */
export async function purgeRedis(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    return await purgePrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** Commands Redis has processed so far (INFO stats), whoever sent them. */
export async function redisCommandsProcessed(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? Number.NaN);
  } finally {
    redis.disconnect();
  }
}

export async function purgePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) removed += await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  return removed;
}

/** A minimal Chrome DevTools Protocol client for a server started with --inspect: GCs, heap snapshots, CPU profiles. */
export class Inspector {
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

  /** Starts V8's CPU profiler in the inspected process (a sample every 500 µs). */
  async startProfile(): Promise<void> {
    await this.call('Profiler.enable');
    await this.call('Profiler.setSamplingInterval', { interval: 500 });
    await this.call('Profiler.start');
  }

  /** Stops the profiler and writes what it sampled to `file` (a `.cpuprofile`; its folder is made). */
  async stopProfile(file: string): Promise<void> {
    const { profile } = await this.call<{ profile: unknown }>('Profiler.stop');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
  }

  close(): void {
    this.#ws.terminate();
  }
}

/** Prometheus text exposition, parsed: every sample as name, labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function metricSum(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name || !Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    sum += s.value;
    found = true;
  }
  return found ? sum : Number.NaN;
}

export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/** The cumulative buckets of histogram `name` (without its `_bucket` suffix) whose labels include `match`. */
export function bucketsOf(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): Bucket[] {
  return samples
    .filter((s) => s.name === `${name}_bucket` && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .map((s) => ({ le: s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le), count: s.value }));
}

/** What histogram `name` counted between two scrapes, bucket by bucket. */
export function bucketsBetween(before: readonly Sample[], after: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): Bucket[] {
  const earlier = new Map(bucketsOf(before, name, match).map((b) => [b.le, b.count]));
  return bucketsOf(after, name, match).map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) }));
}

/** The q-quantile (0–1) of a Prometheus histogram's bucket deltas, interpolated linearly within its bucket. */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): { value: number; beyondLastBucket: boolean } {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return { value: Number.NaN, beyondLastBucket: false };
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return { value: prevLe, beyondLastBucket: true };
      const inBucket = b.count - prevCount;
      return { value: inBucket > 0 ? prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket : b.le, beyondLastBucket: false };
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return { value: prevLe, beyondLastBucket: true };
}

// The worker's entry: ClientWorker forks this file with WORKER_ENV set.
if (process.env[WORKER_ENV] && process.argv[1] && resolvePath(process.argv[1]) === SELF) await worker();

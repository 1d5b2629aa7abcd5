/**
 * batch-read's open-loop sender, a process of its own (bench/batch-read.ts forks it through `OpenLoopSender`).
 *
 * It sends a schedule of POSTs on a keep-alive Agent and times each from its scheduled time to the last
 * byte of its answer; it writes the answers' bytes to a file as they come (held in memory for a 60 s
 * window they grew to about 300 MB, and this process once paused 46.7 ms) and hands the timings and the
 * file back once the schedule is done; the driver reads, checks and removes it.
 * Nothing else lives here: the graph, the expectations and the checking stay in the driver. The reason is
 * GC. The driver holds about 60 MB of setup, and at 200 req/s its own collections paused it up to 28.6 ms
 * (48 pauses in a 60 s window) while answers were arriving. A pause here is stamped on the answers that
 * arrive during it, and so counted as latency the server did not cause. This process's heap is the
 * schedule, the request bodies and the answers in flight.
 *
 * Messages: `setup` once (endpoint, sockets, bodies and authorizations by request index), then `run` per
 * rate (offsets in ms from the window's start, negative while settling, and the request index of each);
 * it answers `open` when the window's first arrival goes out and `done` with the results. `stop` (or
 * SIGINT) stops sending; what is in flight is still awaited.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { recordGcPauses, useLoadGeneratorHeapPolicy } from './stats.js';

export interface SenderSetup {
  readonly endpoint: string;
  readonly sockets: number;
  readonly timeoutMs: number;
  /** By request index: the JSON body and the Authorization header. */
  readonly bodies: readonly string[];
  readonly authorizations: readonly string[];
  /** Where the answers files go (the driver's handle makes it, and removes it on `close`). */
  readonly answersDir: string;
}

export interface SenderRun {
  /** ms from the window's start, ascending; negative: settling (sent, answered, not part of the window). */
  readonly offsets: Float64Array;
  /** The request index of each arrival. */
  readonly requests: Uint32Array;
  /** Index of the window's first arrival (those before it settle). */
  readonly windowFrom: number;
}

export interface SenderResult {
  /** Per arrival, ms from its scheduled time to the answer's last byte; NaN: no answer (see `failures`). */
  readonly latencies: Float64Array;
  readonly statuses: Uint16Array;
  readonly failures: readonly (readonly [index: number, message: string])[];
  /** A file of the answers' bytes in the order they came: arrival i's are `answerLengths[i]` bytes from `answerStarts[i]`. The caller removes it. */
  readonly answersFile: string;
  readonly answerStarts: Float64Array;
  readonly answerLengths: Uint32Array;
  /** How late each window arrival went out (ms). */
  readonly lagsMs: Float64Array;
  /** The last answer's end, in ms from the window's start. */
  readonly lastEndMs: number;
  readonly newConnections: number;
  readonly maxInFlight: number;
  /** This process's GC pauses from the window's start to the last answer. */
  readonly gc: { readonly totalMs: number; readonly maxMs: number; readonly pauses: number };
  /** This process's CPU over the run (s). */
  readonly cpuSeconds: number;
}

export type ToSender = { readonly type: 'setup'; readonly setup: SenderSetup } | { readonly type: 'run'; readonly run: SenderRun } | { readonly type: 'stop' };
export type FromSender = { readonly type: 'ready' } | { readonly type: 'open' } | { readonly type: 'done'; readonly result: SenderResult } | { readonly type: 'failed'; readonly message: string };

const SENDER_ENV = 'OPEN_LOOP_SENDER';

/** The driver's handle on the sender process: one schedule at a time. */
export class OpenLoopSender {
  readonly #child: ChildProcess;
  readonly #answersDir: string;
  #current: { resolve: (r: SenderResult) => void; reject: (e: Error) => void; onOpen: () => void } | undefined;
  #ready: Promise<void>;

  private constructor(setup: Omit<SenderSetup, 'answersDir'>) {
    this.#answersDir = mkdtempSync(path.join(os.tmpdir(), 'batch-read-answers-'));
    this.#child = fork(fileURLToPath(import.meta.url), [], {
      // Structured clone: latencies and answers travel as typed arrays.
      serialization: 'advanced',
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, [SENDER_ENV]: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#ready = new Promise((resolve, reject) => {
      const onExit = (code: number | null) => {
        const error = new Error(`open-loop sender exited (${code})`);
        reject(error);
        this.#current?.reject(error);
        this.#current = undefined;
      };
      this.#child.once('exit', onExit);
      this.#child.on('message', (message: FromSender) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'open') this.#current?.onOpen();
        else {
          const current = this.#current;
          this.#current = undefined;
          if (message.type === 'done') current?.resolve(message.result);
          else current?.reject(new Error(`open-loop sender: ${message.message}`));
        }
      });
    });
    this.#child.send({ type: 'setup', setup: { ...setup, answersDir: this.#answersDir } } satisfies ToSender);
  }

  static async start(setup: Omit<SenderSetup, 'answersDir'>): Promise<OpenLoopSender> {
    const sender = new OpenLoopSender(setup);
    await sender.#ready;
    return sender;
  }

  /** The sender process's pid (its main thread's scheduling is read beside the server's). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Sends `run`'s schedule; `onOpen` is called as the window's first arrival goes out. */
  run(run: SenderRun, onOpen: () => void): Promise<SenderResult> {
    if (this.#current) return Promise.reject(new Error('open-loop sender: one schedule at a time'));
    return new Promise((resolve, reject) => {
      this.#current = { resolve, reject, onOpen };
      this.#child.send({ type: 'run', run } satisfies ToSender);
    });
  }

  /** Stops sending (what is in flight is still awaited and reported). */
  stop(): void {
    if (this.#child.connected) this.#child.send({ type: 'stop' } satisfies ToSender);
  }

  /** Ends the sender and removes its answers folder, with any file a run cut short left in it. */
  close(): void {
    if (this.#child.connected) this.#child.disconnect();
    this.#child.kill();
    rmSync(this.#answersDir, { recursive: true, force: true });
  }
}

if (process.send && process.env[SENDER_ENV] === '1') {
  useLoadGeneratorHeapPolicy();
  const gc = recordGcPauses();
  let setup: SenderSetup | undefined;
  let agent: http.Agent | undefined;
  let stopping = false;
  let runs = 0;
  process.on('SIGINT', () => (stopping = true));
  process.on('disconnect', () => process.exit(0));
  const send = (message: FromSender) => process.send!(message);
  process.on('message', (message: ToSender) => {
    if (message.type === 'setup') {
      setup = message.setup;
      agent = new http.Agent({ keepAlive: true, maxSockets: setup.sockets, maxFreeSockets: setup.sockets });
      send({ type: 'ready' });
    } else if (message.type === 'stop') stopping = true;
    else if (!setup || !agent) send({ type: 'failed', message: 'run before setup' });
    else
      runSchedule(setup, agent, message.run).then(
        (result) => send({ type: 'done', result }),
        (error: unknown) => send({ type: 'failed', message: (error as Error).stack ?? String(error) }),
      );
  });

  async function runSchedule(s: SenderSetup, pool: http.Agent, run: SenderRun): Promise<SenderResult> {
    const n = run.offsets.length;
    const latencies = new Float64Array(n).fill(Number.NaN);
    const statuses = new Uint16Array(n);
    const failures: [number, string][] = [];
    const answersFile = path.join(s.answersDir, `${++runs}.bin`);
    const file = createWriteStream(answersFile);
    const fileDone = new Promise<void>((resolve, reject) => {
      file.once('finish', resolve);
      file.once('error', reject);
    });
    const answerStarts = new Float64Array(n);
    const answerLengths = new Uint32Array(n);
    let written = 0;
    const lags: number[] = [];
    const target = new URL(s.endpoint);
    const cpu0 = process.cpuUsage();
    let newConnections = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let lastEnd = 0;
    const pending: Promise<void>[] = [];
    const settleMs = n > 0 ? Math.max(0, -run.offsets[0]!) : 0;
    const start = performance.now() + 20 + settleMs;

    const post = (i: number, scheduledAt: number): Promise<void> =>
      new Promise((resolve) => {
        const body = s.bodies[run.requests[i]!]!;
        let settled = false;
        const finish = () => {
          settled = true;
          clearTimeout(timer);
          inFlight--;
          resolve();
        };
        const fail = (error: Error) => {
          if (settled) return;
          failures.push([i, error.message]);
          lastEnd = Math.max(lastEnd, performance.now());
          finish();
        };
        const req = http.request(
          {
            agent: pool,
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json', authorization: s.authorizations[run.requests[i]!]!, 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            if (!req.reusedSocket && i >= run.windowFrom) newConnections++;
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', fail);
            res.on('end', () => {
              if (settled) return;
              const end = performance.now();
              latencies[i] = end - scheduledAt;
              statuses[i] = res.statusCode ?? 0;
              const bytes = Buffer.concat(chunks);
              answerStarts[i] = written;
              answerLengths[i] = bytes.length;
              written += bytes.length;
              file.write(bytes);
              lastEnd = Math.max(lastEnd, end);
              finish();
            });
          },
        );
        const timer = setTimeout(() => req.destroy(new Error(`no answer ${s.timeoutMs / 1000} s after its scheduled time`)), Math.max(0, scheduledAt + s.timeoutMs - performance.now()));
        req.on('error', fail);
        req.end(body);
      });

    let i = 0;
    while (i < n && !stopping) {
      const due = start + run.offsets[i]!;
      const now = performance.now();
      if (due > now) {
        await new Promise((r) => setTimeout(r, due - now));
        continue;
      }
      // Everything due by now goes out at once, each timed from its own scheduled time.
      for (; i < n && start + run.offsets[i]! <= performance.now(); i++) {
        const scheduledAt = start + run.offsets[i]!;
        if (i >= run.windowFrom) {
          if (i === run.windowFrom) send({ type: 'open' });
          lags.push(performance.now() - scheduledAt);
        }
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        pending.push(post(i, scheduledAt));
      }
    }
    await Promise.all(pending);
    file.end();
    await fileDone;
    const cpu = process.cpuUsage(cpu0);
    return {
      latencies,
      statuses,
      failures,
      answersFile,
      answerStarts,
      answerLengths,
      lagsMs: Float64Array.from(lags),
      lastEndMs: lastEnd - start,
      newConnections,
      maxInFlight,
      gc: gc.since(start, lastEnd),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }
}

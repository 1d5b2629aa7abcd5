/**
 * The floor under the fan-out's cost per frame: what writing one graphql-transport-ws `next` frame to a
 * loopback WebSocket costs the writing process when it has nothing else to do — no feed, no coalescing,
 * no serialization (the frames are prebuilt, of the size bench:fanout-saturation sends). The hub cannot
 * send a frame for less on this machine.
 *
 *   npm run -w bench bench:frame-floor -- [--sockets 1000] [--rate 30000] [--seconds 4] [--rounds 2] [--pin]
 *
 * A WebSocket server (ws, as the gateway's: no compression) in this process; --sockets WebSocket clients
 * in a child process that read and count every frame. This process writes --rate frames a second
 * round-robin over the sockets (each timer tick writes what is due), through:
 *   - `ws.send(text)` — what the gateway does: ws frames the text and writes header and payload corked,
 *     one writev per frame;
 *   - `socket.write(bytes)` — the same frame, framed beforehand, written straight to the TCP socket: one
 *     write per frame, none of ws's work;
 *   - control — the same loop and pacing, no write.
 * Variants alternate, --rounds times each, on the same sockets. Per variant: frames written (and read by
 * the child), this process's CPU per frame (user and system apart, process.cpuUsage: every thread), the
 * share of a core that is at --rate, and the frames a second one core would write at that cost. On
 * loopback the writing process's system time includes the receiving side's TCP work, which the kernel
 * does in the writer's system call. --pin: this process on CPU 0, the reader on the others (taskset), as
 * bench:fanout-saturation --pin places its server and watchers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { commandLine, environment, pin, round } from './stats.js';

type ToReader = { type: 'count' } | { type: 'exit' };
type FromReader = { type: 'ready' } | { type: 'count'; frames: number; bytes: number } | { type: 'failed'; message: string };

/** The child: opens `n` clients to `url`, counts what they read, answers `count`. */
async function reader(url: string, n: number): Promise<void> {
  let frames = 0;
  let bytes = 0;
  const send = (msg: FromReader) => process.send!(msg);
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.on('open', () => resolve(ws));
          ws.on('error', reject);
          ws.on('message', (data: Buffer) => {
            frames++;
            bytes += data.length;
          });
        }),
    ),
  ).catch((error: unknown) => {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  });
  process.on('message', (msg: ToReader) => {
    if (msg.type === 'count') send({ type: 'count', frames, bytes });
    else {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

/** Frames as the fan-out sends them at 1 000 transitions/s: three presences of `{ userId status version }`. */
function frames(count: number): string[] {
  return Array.from({ length: count }, (_, k) => {
    const presences = [0, 1, 2].map((j) => `{"userId":"user-${(k * 3 + j) % 200}","status":"${(k + j) % 2 ? 'ONLINE' : 'OFFLINE'}","version":${1000 + k * 3 + j}}`);
    return `{"id":"1","type":"next","payload":{"data":{"presence":{"snapshot":false,"presences":[${presences.join(',')}]}}}}`;
  });
}

/** A server-to-client WebSocket text frame (unmasked, FIN) around `text`. */
function wireFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 65_536) throw new Error('frame too large for this bench');
  const header = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sockets: { type: 'string', default: '1000' },
      rate: { type: 'string', default: '30000' },
      seconds: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '2' },
      pin: { type: 'boolean', default: false },
    },
  });
  const N = Number(values.sockets);
  const rate = Number(values.rate);
  const seconds = Math.min(Number(values.seconds), 60);
  const rounds = Math.min(Number(values.rounds), 10);
  if (!Number.isSafeInteger(N) || N < 1 || N > 10_000) throw new Error('--sockets must be a whole number from 1 to 10000');
  if (!(rate > 0 && rate <= 500_000)) throw new Error('--rate must be a number from 1 to 500000');
  if (!(seconds > 0) || !Number.isSafeInteger(rounds) || rounds < 1) throw new Error('--seconds must be > 0 and --rounds a whole number ≥ 1');
  const log = (line: string) => process.stderr.write(`[frame-floor] ${line}\n`);
  const cpus = os.cpus().length;
  if (values.pin && cpus < 2) throw new Error('--pin needs at least 2 CPUs');

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const conns: WebSocket[] = [];
  wss.on('connection', (ws) => conns.push(ws));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  let child: ChildProcess | undefined;
  try {
    child = fork(fileURLToPath(import.meta.url), ['--reader', url, String(N)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const replies: ((msg: FromReader) => void)[] = [];
    const failure = new Promise<never>((_, reject) => {
      child!.on('message', (msg: FromReader) => (msg.type === 'failed' ? reject(new Error(`reader: ${msg.message}`)) : replies.shift()?.(msg)));
      child!.on('exit', (code) => reject(new Error(`the reader exited (${code})`)));
    });
    failure.catch(() => undefined);
    const next = () => Promise.race([new Promise<FromReader>((resolve) => replies.push(resolve)), failure]);
    await next();
    while (conns.length < N) await new Promise((resolve) => setTimeout(resolve, 10));
    if (values.pin) {
      pin(process.pid, '0');
      pin(child.pid!, `1-${cpus - 1}`);
    }
    const counted = async () => {
      child!.send({ type: 'count' } satisfies ToReader);
      return (await next()) as Extract<FromReader, { type: 'count' }>;
    };

    const texts = frames(64);
    const wires = texts.map(wireFrame);
    const sockets = conns.map((ws) => (ws as unknown as { _socket: Socket })._socket);
    const variants = {
      'ws.send(text)': (i: number, k: number) => conns[i]!.send(texts[k]!),
      'socket.write(bytes)': (i: number, k: number) => void sockets[i]!.write(wires[k]!),
      'control (no write)': (_i: number, k: number) => void texts[k]!.length,
    } as const;
    type Name = keyof typeof variants;
    const totals = new Map<Name, { frames: number; read: number; userUs: number; systemUs: number; seconds: number; backlogged: number }>();

    /** Writes `rate` frames a second for `seconds` through `write`; resolves with what it cost. */
    const drive = (write: (i: number, k: number) => void, seconds: number) =>
      new Promise<{ frames: number; userUs: number; systemUs: number; seconds: number; backlogged: number }>((resolve) => {
        let sent = 0;
        let backlogged = 0;
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const tick = () => {
          const elapsed = performance.now() - t0;
          const due = Math.min(Math.floor((elapsed * rate) / 1000), Math.floor(seconds * rate));
          for (; sent < due; sent++) {
            const i = sent % N;
            write(i, sent % texts.length);
            if (conns[i]!.bufferedAmount > 0) backlogged++;
          }
          if (elapsed < seconds * 1000) return void setTimeout(tick, 1);
          const cpu = process.cpuUsage(cpu0);
          resolve({ frames: sent, userUs: cpu.user, systemUs: cpu.system, seconds: (performance.now() - t0) / 1000, backlogged });
        };
        tick();
      });

    // One short pass of each first, not counted: code warmed, socket buffers sized.
    for (const write of Object.values(variants)) await drive(write, Math.min(1, seconds));
    for (let round_ = 0; round_ < rounds; round_++) {
      for (const [name, write] of Object.entries(variants) as [Name, (i: number, k: number) => void][]) {
        const before = await counted();
        const r = await drive(write, seconds);
        // Until the reader has everything (bounded): frames written but not read would be counted as free.
        let after = await counted();
        const deadline = performance.now() + 5_000;
        while (name !== 'control (no write)' && after.frames - before.frames < r.frames && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          after = await counted();
        }
        const t = totals.get(name) ?? { frames: 0, read: 0, userUs: 0, systemUs: 0, seconds: 0, backlogged: 0 };
        totals.set(name, {
          frames: t.frames + r.frames,
          read: t.read + after.frames - before.frames,
          userUs: t.userUs + r.userUs,
          systemUs: t.systemUs + r.systemUs,
          seconds: t.seconds + r.seconds,
          backlogged: t.backlogged + r.backlogged,
        });
        log(`${name}: ${r.frames} frames in ${round(r.seconds, 1)} s, ${round((r.userUs + r.systemUs) / r.frames, 2)} µs CPU each`);
      }
    }

    const control = totals.get('control (no write)')!;
    const controlUs = (control.userUs + control.systemUs) / control.frames;
    const results = [...totals].map(([variant, t]) => {
      const us = (t.userUs + t.systemUs) / t.frames;
      const netUs = variant === 'control (no write)' ? us : us - controlUs;
      return {
        variant,
        frames: t.frames,
        framesRead: variant === 'control (no write)' ? 0 : t.read,
        seconds: round(t.seconds, 2),
        framesPerSecond: Math.round(t.frames / t.seconds),
        cpuUsPerFrame: round(us, 2),
        userUsPerFrame: round(t.userUs / t.frames, 2),
        systemUsPerFrame: round(t.systemUs / t.frames, 2),
        cpuUsPerFrameOverControl: round(netUs, 2),
        coreShareAtRate: round((us * rate) / 1e6, 3),
        framesPerCoreSecond: Math.round(1e6 / us),
        writesWithBytesLeftInUserSpace: t.backlogged,
      };
    });
    const send = results.find((r) => r.variant === 'ws.send(text)')!;
    const raw = results.find((r) => r.variant === 'socket.write(bytes)')!;
    const frameBytes = Math.round(wires.reduce((a, b) => a + b.length, 0) / wires.length);
    const summary =
      `ws.send of a ${frameBytes}-byte frame costs this process ${send.cpuUsPerFrame} µs of CPU (${send.systemUsPerFrame} of it in the kernel), ` +
      `a raw socket.write of the same bytes ${raw.cpuUsPerFrame} µs: one core writes at most ~${send.framesPerCoreSecond} frames/s through ws before any presence work; ` +
      `${rate} frames/s is ${round(send.coreShareAtRate * 100, 1)} % of a core.`;
    log(summary);
    console.log(
      JSON.stringify(
        {
          scenario: 'frame-floor',
          command: commandLine(),
          parameters: { sockets: N, rate, seconds, rounds, pinned: values.pin, frameBytes, variants: Object.keys(variants) },
          environment: environment(),
          results,
          summary,
        },
        null,
        2,
      ),
    );
    child.send({ type: 'exit' } satisfies ToReader);
  } finally {
    child?.kill();
    for (const ws of conns) ws.terminate();
    wss.close();
  }
}

if (process.argv[2] === '--reader') await reader(process.argv[3]!, Number(process.argv[4]));
else await main();

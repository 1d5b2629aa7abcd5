/**
 * What one /metrics scrape costs the event loop as connections grow: prom-client's default metrics as
 * they come, against the server's registry (server/metrics.ts: the defaults less the families that walk
 * every open handle or file descriptor), side by side at each count of open sockets, renders alternating.
 *
 *   npm run -w bench bench:metrics-scrape -- [--sockets 0,1000,4000,8000] [--renders 15]
 *
 * The sockets are loopback TCP connections to a listener in this same process, so each counts twice
 * (2 descriptors, 2 handles), as a server's own connections count once each. Per count: the median and
 * worst render of each registry, and at the highest count the families that cost the most (each rendered
 * alone). Loopback only; bounded by the socket counts (at most 9,000: 18,000 descriptors).
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createMetrics, PER_HANDLE_DEFAULT_METRICS } from '../server/metrics.js';
import { commandLine, environment, round, summary } from './stats.js';

const { values } = parseArgs({ options: { sockets: { type: 'string', default: '0,1000,4000,8000' }, renders: { type: 'string', default: '15' } } });
const counts = values.sockets.split(',').map(Number);
const renders = Number(values.renders);
if (!counts.every((n) => Number.isInteger(n) && n >= 0 && n <= 9_000) || !(Number.isInteger(renders) && renders >= 3 && renders <= 200)) {
  process.stderr.write('metrics-scrape: --sockets: comma-separated counts 0…9000; --renders 3…200\n');
  process.exit(2);
}

const defaults = new Registry();
collectDefaultMetrics({ register: defaults });
const registries = { "prom-client's defaults": defaults, 'server registry (server/metrics.ts)': createMetrics({ defaults: true }).registry };
type Name = keyof typeof registries;

const listener = net.createServer(() => undefined).listen(0, '127.0.0.1');
await new Promise((resolve) => listener.once('listening', resolve));
const port = (listener.address() as net.AddressInfo).port;
const sockets: net.Socket[] = [];
async function openUpTo(n: number): Promise<void> {
  while (sockets.length < n) {
    const batch = Math.min(250, n - sockets.length);
    await Promise.all(
      Array.from({ length: batch }, () => new Promise<void>((resolve, reject) => sockets.push(net.connect(port, '127.0.0.1', resolve).on('error', reject)))),
    );
  }
}

const results = [];
try {
  for (const n of counts) {
    await openUpTo(n);
    process.stderr.write(`[metrics-scrape] ${n} sockets open: `);
    const times = new Map<Name, number[]>(Object.keys(registries).map((name) => [name as Name, []]));
    for (const registry of Object.values(registries)) await registry.metrics(); // warm
    for (let i = 0; i < renders; i++) {
      for (const [name, registry] of Object.entries(registries) as [Name, Registry][]) {
        const t0 = performance.now();
        await registry.metrics();
        times.get(name)!.push(performance.now() - t0);
      }
    }
    const row: Record<string, unknown> = { sockets: n, descriptors: 2 * n };
    const rendered = [...times].map(([name, ms]) => [name, summary(ms)] as const);
    for (const [name, s] of rendered) row[name] = { medianMs: round(s.p50, 2), maxMs: round(s.max, 2) };
    results.push(row);
    process.stderr.write(rendered.map(([name, s]) => `${name} median ${round(s.p50, 2)} ms`).join(', ') + '\n');
  }
  // Where the defaults' time goes at the highest count: each family rendered alone.
  const families = [];
  for (const { name } of defaults.getMetricsAsArray()) {
    const metric = defaults.getSingleMetric(name)!;
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await metric.get();
    families.push({ family: name, ms: round((performance.now() - t0) / 5, 2), leftOutByServer: (PER_HANDLE_DEFAULT_METRICS as readonly string[]).includes(name) });
  }
  families.sort((a, b) => b.ms - a.ms);
  const top = results.at(-1)! as Record<Name, { medianMs: number }> & { sockets: number };
  process.stdout.write(
    `${JSON.stringify(
      {
        scenario: 'metrics-scrape',
        command: commandLine(),
        parameters: { sockets: counts, renders, socketsAre: 'loopback TCP connections to a listener in the same process (2 descriptors and 2 handles each)' },
        environment: environment(),
        results,
        costliestFamiliesAtHighestCount: families.slice(0, 8),
        verdict: `at ${top.sockets} sockets a render takes ${top["prom-client's defaults"].medianMs} ms with prom-client's defaults and ${top['server registry (server/metrics.ts)'].medianMs} ms with the server's registry (median of ${renders}); rendered alone, the families the server leaves out take ${round(
          families.filter((f) => f.leftOutByServer).reduce((sum, f) => sum + f.ms, 0),
          1,
        )} ms (${families
          .filter((f) => f.leftOutByServer)
          .map((f) => `${f.family} ${f.ms}`)
          .join(', ')})`,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  sockets.forEach((socket) => socket.destroy());
  listener.close();
}

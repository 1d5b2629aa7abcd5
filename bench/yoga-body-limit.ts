/**
 * Why server/yoga.ts turns yoga's body limit off (maxRequestBodySize: false) and server/app.ts checks the
 * Content-Length itself: side by side, in one run, the same tiny yoga server with yoga's limit (the
 * default) and without it, under one keep-alive client sending `{ __typename }` back to back.
 *
 *   npm run -w bench bench:yoga-body-limit -- [--seconds 5] [--rounds 2]
 *
 * Each variant runs in a child process of its own with V8's `--trace-gc-nvp` (and the server's node
 * flags), rounds alternating (A B A B…) so a slow stretch of a shared machine hits both. Per variant:
 * requests/s, the bytes V8 promoted to the old generation per request (what outlived two scavenges),
 * scavenge pauses (mean and worst), and mark-compacts. Loopback only; bounded by --seconds × --rounds.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { SERVER_NODE_FLAGS } from '../scripts/server-process.js';
import { commandLine, environment, gcTrace, round, scavengeFigures } from './stats.js';

const VARIANTS = {
  'yoga (maxRequestBodySize default)': {},
  'yoga (maxRequestBodySize: false)': { maxRequestBodySize: false },
} as const;
type Variant = keyof typeof VARIANTS;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    serve: { type: 'string' },
  },
});

if (values.serve !== undefined) {
  // The child: a yoga server of one field, with the variant's options, on a free port.
  const { createSchema, createYoga } = await import('graphql-yoga');
  const options = VARIANTS[values.serve as Variant];
  const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { hello: String }' }), logging: false, graphiql: false, landingPage: false, ...options });
  const server = http.createServer(yoga).listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as { port: number }).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else {
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  if (!(seconds > 0 && seconds <= 60 && Number.isInteger(rounds) && rounds >= 1 && rounds <= 10)) {
    process.stderr.write('yoga-body-limit: --seconds in (0, 60], --rounds 1…10\n');
    process.exit(2);
  }
  const tally = new Map<Variant, { requests: number; ms: number; promoted: number; scavenges: number[]; markCompacts: number }>();
  for (let r = 1; r <= rounds; r++) {
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      process.stderr.write(`[yoga-body-limit] round ${r}/${rounds}: ${variant}, ${seconds} s … `);
      const run = await measure(variant, seconds);
      process.stderr.write(`${Math.round(run.requests / (run.ms / 1000))} req/s, ${round(run.promoted / run.requests / 1024, 2)} KB promoted per request\n`);
      const t = tally.get(variant) ?? { requests: 0, ms: 0, promoted: 0, scavenges: [], markCompacts: 0 };
      t.requests += run.requests;
      t.ms += run.ms;
      t.promoted += run.promoted;
      t.scavenges.push(...run.scavenges);
      t.markCompacts += run.markCompacts;
      tally.set(variant, t);
    }
  }
  const results = [...tally].map(([variant, t]) => ({
    variant,
    requests: t.requests,
    requestsPerSecond: Math.round(t.requests / (t.ms / 1000)),
    promotedKbPerRequest: round(t.promoted / t.requests / 1024, 2),
    ...scavengeFigures(t.scavenges),
    markCompacts: t.markCompacts,
  }));
  const [withLimit, without] = results;
  process.stdout.write(
    `${JSON.stringify(
      {
        scenario: 'yoga-body-limit',
        command: commandLine(),
        parameters: { seconds, rounds, query: '{ __typename }', client: 'one node:http keep-alive client, requests back to back', serverNodeFlags: [...SERVER_NODE_FLAGS, '--trace-gc-nvp'] },
        environment: environment(),
        results,
        verdict: `without yoga's body limit: ${round(without!.requestsPerSecond / withLimit!.requestsPerSecond, 2)}× the requests/s, ${without!.promotedKbPerRequest} KB promoted per request against ${withLimit!.promotedKbPerRequest}, scavenges ${without!.scavengeMsMean} ms against ${withLimit!.scavengeMsMean} ms on average`,
      },
      null,
      2,
    )}\n`,
  );
}

/** One variant in a fresh child for `seconds`: requests answered and the child's GC lines meanwhile. */
async function measure(variant: Variant, seconds: number) {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, '--trace-gc-nvp', '--import', 'tsx', new URL(import.meta.url).pathname, '--serve', variant], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${variant}: no port within 30 s`)), 30_000);
      child.stdout.on('data', () => {
        const m = out.match(/PORT (\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`${variant}: exited (${code}) before listening`)));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const body = JSON.stringify({ query: '{ __typename }' });
    const one = () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request({ agent, host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => (text.includes('"__typename":"Query"') ? resolve() : reject(new Error(`${variant}: unexpected answer ${res.statusCode} ${text.slice(0, 200)}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    for (let i = 0; i < 500; i++) await one(); // warm: compiled, caches filled
    const from = out.length;
    const t0 = performance.now();
    let requests = 0;
    while (performance.now() - t0 < seconds * 1000) {
      await one();
      requests++;
    }
    const ms = performance.now() - t0;
    agent.destroy();
    const gc = gcTrace(out.slice(from));
    return { requests, ms, promoted: gc.promoted, scavenges: gc.scavengePausesMs, markCompacts: gc.markCompacts };
  } finally {
    child.kill('SIGTERM');
  }
}

/**
 * Summarises a V8 profile by function and by package, so a benchmark that misses its goal can name its
 * hot spot:
 * - a .cpuprofile (`node --cpu-prof`, batch-read's `--profile`): self time;
 * - a .heapprofile (bench/preload/alloc-profile.cjs: sampled allocations, the ones that died young
 *   included): bytes allocated, with the total and, given `--requests N`, the bytes per request.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile | file.heapprofile> [--top 25] [--requests N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuNode {
  id: number;
  callFrame: CallFrame;
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children?: HeapNode[];
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, requests: { type: 'string' } } });
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as
  | { nodes: CpuNode[]; samples: number[]; timeDeltas: number[] }
  | { head: HeapNode };

/** Each call frame with what it costs itself: µs of CPU, or bytes allocated. */
const costs: [CallFrame, number][] = [];
if ('head' in profile) {
  const walk = (node: HeapNode) => {
    costs.push([node.callFrame, node.selfSize]);
    for (const child of node.children ?? []) walk(child);
  };
  walk(profile.head);
} else {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  for (const node of profile.nodes) costs.push([node.callFrame, selfUs.get(node.id) ?? 0]);
}

const total = costs.reduce((sum, [, cost]) => sum + cost, 0);
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const [{ functionName, url, lineNumber }, cost] of costs) {
  if (cost === 0) continue;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/main\//, '');
  const key = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + cost);
  const pkg = url.includes('node_modules/') ? url.replace(/^.*node_modules\//, '').split('/').slice(0, url.includes('node_modules/@') ? 2 : 1).join('/') : url.startsWith('node:') ? 'node internals' : url ? 'presence-graph' : functionName || '(vm)';
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + cost);
}
const pct = (cost: number) => `${((cost / total) * 100).toFixed(1)}%`;
const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, cost]) => `${pct(cost).padStart(6)}  ${k}`);
const heading =
  'head' in profile
    ? `total allocated (sampled): ${(total / 2 ** 20).toFixed(1)} MB` + (values.requests ? `, ${(total / 1024 / Number(values.requests)).toFixed(1)} KB per request over ${values.requests}` : '')
    : `total sampled: ${(total / 1e6).toFixed(2)} s`;
console.log(`${heading}\n\nby package:\n${top(byPackage, 15).join('\n')}\n\nby function (self ${'head' in profile ? 'bytes' : 'time'}):\n${top(byFunction, Number(values.top)).join('\n')}`);

/** `npm start` and the servers the benchmarks and multi-process tests spawn run with the same node flags. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../scripts/server-process.js';

/**
 * Trains one allocation site the way requests in flight do — most of its objects outlive scavenges — and
 * asks V8 (%InYoungGeneration) whether the next object from that site is still born young.
 */
const PRETENURING_PROBE = `
function make(i) { return { i, next: null }; }
const kept = [];
for (let round = 0; round < 60; round++) {
  for (let i = 0; i < 20000; i++) kept.push(make(i));
  for (let j = 0; j < 2000; j++) new Array(1000).fill(j);
}
process.stdout.write(JSON.stringify({ young: %InYoungGeneration(make(-1)), kept: kept.length }));
`;

function bornYoung(flags: readonly string[]): boolean {
  const out = JSON.parse(execFileSync(process.execPath, [...flags, '--allow-natives-syntax', '-e', PRETENURING_PROBE], { encoding: 'utf8', timeout: 30_000 })) as { young: boolean; kept: number };
  expect(out.kept).toBe(1_200_000);
  return out.young;
}

/**
 * Scavenges a live set ten times and reports, from V8's own trace, the time helper threads spent in each
 * (background.scavenge.parallel): none when scavenging is single-threaded.
 */
const SCAVENGE_PROBE = `
const kept = [];
for (let round = 0; round < 10; round++) {
  for (let i = 0; i < 300000; i++) kept.push({ i, round });
  gc({ type: 'minor' });
}
`;

function helperScavengeMs(flags: readonly string[]): number[] {
  const trace = execFileSync(process.execPath, [...flags, '--expose-gc', '--trace-gc-nvp', '-e', SCAVENGE_PROBE], { encoding: 'utf8', timeout: 30_000 });
  return [...trace.matchAll(/gc=s .*?background\.scavenge\.parallel=([\d.]+)/g)].map((m) => Number(m[1]));
}

describe('server node flags', () => {
  it('should be the same in npm start as in spawnServer', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    const serve = pkg.scripts.start!.split('&&').map((part) => part.trim()).find((part) => part.endsWith('server/main.ts'));
    expect(serve).toBeDefined();
    const words = serve!.split(/\s+/);
    expect(words[0]).toBe('node');
    expect(words.slice(1, words.indexOf('--import'))).toEqual([...SERVER_NODE_FLAGS]);
  });

  it("should keep objects young whose site V8 would pretenure (the probe sees it happen without the flag)", () => {
    const withoutPretenuringFlag = SERVER_NODE_FLAGS.filter((flag) => flag !== '--no-allocation-site-pretenuring');
    expect(withoutPretenuringFlag).toHaveLength(SERVER_NODE_FLAGS.length - 1);
    expect(bornYoung(withoutPretenuringFlag)).toBe(false);
    expect(bornYoung(SERVER_NODE_FLAGS)).toBe(true);
  });

  it('should scavenge on the main thread alone (the probe sees helper threads work without the flag)', () => {
    const withoutFlag = SERVER_NODE_FLAGS.filter((flag) => flag !== '--no-parallel-scavenge');
    expect(withoutFlag).toHaveLength(SERVER_NODE_FLAGS.length - 1);
    const helped = helperScavengeMs(withoutFlag);
    expect(helped.length).toBeGreaterThanOrEqual(10);
    expect(helped.some((ms) => ms > 0)).toBe(true);
    const alone = helperScavengeMs(SERVER_NODE_FLAGS);
    expect(alone.length).toBeGreaterThanOrEqual(10);
    expect(alone.every((ms) => ms === 0)).toBe(true);
  });
});

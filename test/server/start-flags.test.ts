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
    // Whether V8 pretenures the site depends on when its optimizing compiler, on a background thread,
    // gets to the function (on Node 24 under load, in about half the runs): without the flag it must
    // happen in at least one of a few runs; with it, in none.
    let pretenured = 0;
    for (let run = 0; run < 8 && pretenured === 0; run++) if (!bornYoung(withoutPretenuringFlag)) pretenured++;
    expect(pretenured).toBe(1);
    for (let run = 0; run < 3; run++) expect(bornYoung(SERVER_NODE_FLAGS)).toBe(true);
  });
});

/** `npm start` and the servers the benchmarks and multi-process tests spawn run with the same node flags. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../scripts/server-process.js';

describe('server node flags', () => {
  it('should be the same in npm start as in spawnServer', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    const serve = pkg.scripts.start!.split('&&').map((part) => part.trim()).find((part) => part.endsWith('server/main.ts'));
    expect(serve).toBeDefined();
    const words = serve!.split(/\s+/);
    expect(words[0]).toBe('node');
    expect(words.slice(1, words.indexOf('--import'))).toEqual([...SERVER_NODE_FLAGS]);
  });
});

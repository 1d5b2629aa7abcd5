/**
 * patches/ (applied by patch-package on install) keeps the per-command closures of ioredis and pg young.
 * Published, both write a function literal straight to a property (`this.reject = (err) => …`,
 * `query.callback = (err, res) => …`), which V8 allocates in the old generation: dead, it keeps its
 * command and the caller behind it alive through every scavenge until a mark-compact (bench/redis-gc.ts
 * measures what that costs). ioredis's Pipeline also defined its `length` getter on each instance: the
 * accessor pair is old too, and its getter's closure held the pipeline. V8's own answer decides here: a child node with --allow-natives-syntax asks
 * %InYoungGeneration of each closure right after it is made, and of a control written the published way,
 * which must be old, so the probe is shown able to tell. No server or store is needed: nothing connects.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const PROBE = `
const young = (f) => typeof f === 'function' && %InYoungGeneration(f);
const out = {};
{
  const holder = {};
  const captured = [1];
  holder.f = () => captured;
  out.controlWrittenThePublishedWay = young(holder.f);
}
const Command = require('ioredis/built/Command.js').default;
const command = new Command('get', ['k']);
out.ioredisCommandReject = young(command.reject);
out.ioredisCommandResolve = young(command.resolve);
const Script = require('ioredis/built/Script.js').default;
const script = new Script('return 1', 0);
const scriptCommand = new script.Command('evalsha', [script.sha, 0]);
scriptCommand.toWritable({});
out.ioredisScriptReject = young(scriptCommand.reject);
const Pipeline = require('ioredis/built/Pipeline.js').default;
const pipeline = new Pipeline({ options: {}, scriptsSet: {}, addedBuiltinSet: new Set() });
pipeline.get('k');
pipeline.get('j');
out.ioredisPipelineOwnLength = Object.getOwnPropertyDescriptor(pipeline, 'length') !== undefined;
out.ioredisPipelineLength = pipeline.length;
const { Client } = require('pg');
const plain = new Client();
plain.query('select 1').catch(() => {});
out.pgQueryCallback = young(plain._queryQueue[0].callback);
const timed = new Client({ query_timeout: 60000 });
timed.query('select 1').catch(() => {});
out.pgQueryCallbackWithTimeout = young(timed._queryQueue[0].callback);
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;

describe('dependency patches (patches/, applied on install)', () => {
  const verdicts = JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', '-e', PROBE], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 })) as Record<string, boolean>;

  it('should have a probe that sees a closure written the published way as old', () => {
    expect(verdicts.controlWrittenThePublishedWay).toBe(false);
  });

  it("should keep ioredis's per-command closures young (Command and script commands)", () => {
    expect(verdicts).toMatchObject({ ioredisCommandReject: true, ioredisCommandResolve: true, ioredisScriptReject: true });
  });

  it("should give ioredis's Pipeline its length from the prototype, not a per-pipeline accessor", () => {
    // A per-object accessor pair lives in V8's old generation, and its getter's closure held the whole
    // pipeline: bench:redis-gc's auto-pipelining variant promoted 21.7 KB per call with it, 0.01 KB without.
    expect(verdicts).toMatchObject({ ioredisPipelineOwnLength: false, ioredisPipelineLength: 2 });
  });

  it("should keep pg's per-query callback young, with and without query_timeout", () => {
    expect(verdicts).toMatchObject({ pgQueryCallback: true, pgQueryCallbackWithTimeout: true });
  });
});

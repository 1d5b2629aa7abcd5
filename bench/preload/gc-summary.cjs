/**
 * Diagnostic only: preload that records every GC of the process with v8.GCProfiler and, on SIGTERM or
 * exit, writes a summary to $GC_SUMMARY_FILE (JSON): scavenges, their total and worst pause, and the
 * bytes they promoted (growth of the spaces other than new space across each scavenge), the count of
 * other GCs, each kind's count and pauses, and every mark-compact and the ten slowest pauses, each with
 * the heap's used MB before and after it (after a mark-compact: the live heap). SIGUSR2 marks the start
 * of a steady state: the summary then also has `sinceMark`, the same figures for the GCs after the last
 * mark only (start-up and warm-up left out). For a server under a benchmark:
 *
 *   GC_SUMMARY_FILE=/tmp/gc.json npm run bench:batch-read -- --server-flags="-r ./bench/preload/gc-summary.cjs"
 */
'use strict';
const v8 = require('node:v8');
const { writeFileSync } = require('node:fs');
const onStop = require('./on-stop.cjs');

const file = process.env.GC_SUMMARY_FILE ?? `gc-summary-${process.pid}.json`;
const profiler = new v8.GCProfiler();
profiler.start();

const before = [];
let mark;
process.on('SIGUSR2', () => {
  const { statistics } = profiler.stop();
  profiler.start();
  before.push(...statistics);
  mark = Date.now();
});

function write() {
  const recent = profiler.stop().statistics;
  const all = [...before, ...recent];
  const summary = summarise(all);
  if (mark !== undefined) summary.sinceMark = { seconds: Math.round((Date.now() - mark) / 100) / 10, ...summarise(recent) };
  writeFileSync(file, JSON.stringify(summary) + '\n');
}

/** Used MB of the heap in all, and of its old and large-object spaces (what a mark-compact walks). */
function heapMB(at) {
  const mb = (n) => Math.round((n / 2 ** 20) * 10) / 10;
  const used = (names) => at.heapSpaceStatistics.filter((s) => names.includes(s.spaceName)).reduce((sum, s) => sum + s.spaceUsedSize, 0);
  return { used: mb(at.heapStatistics.usedHeapSize), old: mb(used(['old_space'])), large: mb(used(['large_object_space', 'code_large_object_space'])) };
}

function summarise(statistics) {
  const outsideNewSpace = (spaces) => spaces.filter((s) => s.spaceName !== 'new_space').reduce((sum, s) => sum + s.spaceUsedSize, 0);
  const scavenges = statistics.filter((gc) => gc.gcType === 'Scavenge');
  const pauses = scavenges.map((gc) => gc.cost / 1000);
  const promoted = scavenges.reduce((sum, gc) => sum + Math.max(0, outsideNewSpace(gc.afterGC.heapSpaceStatistics) - outsideNewSpace(gc.beforeGC.heapSpaceStatistics)), 0);
  return {
    scavenges: scavenges.length,
    scavengeMsTotal: Math.round(pauses.reduce((a, b) => a + b, 0)),
    scavengeMsMax: Math.round(Math.max(0, ...pauses)),
    promotedMB: Math.round((promoted / 2 ** 20) * 10) / 10,
    otherGcs: statistics.length - scavenges.length,
    // Every kind's count and pauses (ms), and the ten slowest: a full mark-compact's pause is what can hold
    // the event loop for tens of milliseconds. (GCProfiler gives no start times on Node 20.)
    byType: Object.fromEntries(
      [...new Set(statistics.map((gc) => gc.gcType))].map((type) => {
        const costs = statistics.filter((gc) => gc.gcType === type).map((gc) => gc.cost / 1000);
        return [type, { count: costs.length, msTotal: Math.round(costs.reduce((a, b) => a + b, 0)), msMax: Math.round(Math.max(0, ...costs) * 10) / 10 }];
      }),
    ),
    // Every full GC with the heap it left: its `after` is the live heap (what the process holds).
    markCompacts: statistics
      .filter((gc) => gc.gcType === 'MarkSweepCompact')
      .map((gc) => ({ ms: Math.round(gc.cost / 100) / 10, heapMB: { before: heapMB(gc.beforeGC), after: heapMB(gc.afterGC) } })),
    slowest: [...statistics]
      .sort((a, b) => b.cost - a.cost)
      .slice(0, 10)
      .map((gc) => ({ type: gc.gcType, ms: Math.round(gc.cost / 100) / 10, heapMB: { before: heapMB(gc.beforeGC), after: heapMB(gc.afterGC) } })),
  };
}
onStop(write);

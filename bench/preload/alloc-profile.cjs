/**
 * Diagnostic only: preload that samples where the process allocates — every allocation, including
 * objects that die young (V8's sampling heap profiler with includeObjectsCollectedByMinorGC/MajorGC, over
 * the inspector) — and writes the profile to $ALLOC_PROFILE_FILE (a .heapprofile, which Chrome DevTools
 * opens; `npx tsx bench/profile-summary.ts <file>` sums it by function and package) on SIGTERM or exit.
 * SIGUSR2 starts the sampling over, so the profile covers a steady state only. For a server under a
 * benchmark:
 *
 *   ALLOC_PROFILE_FILE=/tmp/alloc.heapprofile npm run bench:batch-read -- --server-flags="-r ./bench/preload/alloc-profile.cjs"
 *
 * `ALLOC_SAMPLING_INTERVAL` (bytes, default 16384): the mean gap between samples.
 * `ALLOC_PROFILE_KEEP=survivors`: leave out what a scavenge collected, so the profile holds what outlived
 * the young generation — what V8 promoted to its old space (and what a mark-compact later freed, or is
 * still alive): where the old-space growth that brings mark-compacts comes from. Before that profile is
 * written, two scavenges run (`gc({ type: 'minor' })`): otherwise whatever was allocated since the last
 * scavenge — up to a whole semi-space of objects merely still young when the process stopped, most of
 * them dead — would be counted as having outlived the young generation.
 */
'use strict';
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');
const onStop = require('./on-stop.cjs');

const file = process.env.ALLOC_PROFILE_FILE ?? `alloc-${process.pid}.heapprofile`;
const samplingInterval = Number(process.env.ALLOC_SAMPLING_INTERVAL ?? 16384);
const keep = process.env.ALLOC_PROFILE_KEEP ?? 'all';
if (keep !== 'all' && keep !== 'survivors') throw new Error(`ALLOC_PROFILE_KEEP must be all or survivors, got ${keep}`);
const session = new inspector.Session();
session.connect();
// A same-thread session answers synchronously: each callback has run when post() returns.
const start = () =>
  session.post('HeapProfiler.startSampling', { samplingInterval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: keep === 'all' });
session.post('HeapProfiler.enable');
start();

process.on('SIGUSR2', () => {
  session.post('HeapProfiler.stopSampling');
  start();
});

/** Survivors only: scavenge what is merely young now (twice: the first only ages what is still referenced). */
const settleYoung = () => {
  if (keep !== 'survivors') return;
  require('node:v8').setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  gc({ type: 'minor' });
  gc({ type: 'minor' });
};

onStop(() => {
  settleYoung();
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) writeFileSync(file, JSON.stringify(result.profile));
  });
});

/**
 * For the diagnostic preloads: runs `write` once when the process stops — on SIGTERM, before the
 * process's own handlers (which then shut it down as usual; a process with no handler of its own still
 * ends, as it would without the preloads), or else on exit. One SIGTERM listener for every preload loaded.
 */
'use strict';
const writers = [];

function onSigterm() {
  for (const write of writers) write();
  if (process.listenerCount('SIGTERM') === 1) process.exit(128 + 15);
}

module.exports = function onStop(write) {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    write();
  };
  writers.push(once);
  process.once('exit', once);
  if (writers.length === 1) process.prependListener('SIGTERM', onSigterm);
};

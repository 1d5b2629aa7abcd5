/**
 * Diagnostic only (benchmarks, never the server): puts back ioredis 6.0.0's Command#initPromise as
 * published, undoing that part of patches/ioredis+6.0.0.patch in this process, so bench/redis-gc.ts
 * (plain MGETs, no scripts) can show both side by side. As published it writes `this.reject = (err) => …`:
 * a function literal assigned straight to a property, which V8 allocates in the old generation. Once the
 * command is done that closure is garbage only a mark-compact finds; until then it keeps its young context
 * alive (reject, `this` = the command: arguments, promise, and through the promise its caller's suspended
 * async function), and every scavenge promotes all of it.
 *
 *   node -r ./bench/preload/ioredis-as-published.cjs …
 */
'use strict';
const path = require('node:path');
const commandModule = require('ioredis/built/Command.js');
const { optimizeErrorStack } = require('ioredis/built/utils/index.js');
const { default: asCallback } = require('standard-as-callback');

const Command = commandModule.default;
const ioredisDir = path.dirname(require.resolve('ioredis/built/Command.js'));

Command.prototype.initPromise = function initPromise() {
  this.isResolved = false;
  this.isSettled = false;
  const promise = new Promise((resolve, reject) => {
    if (!this.transformed) {
      this.transformed = true;
      const transformer = Command._transformer.argument[this.name];
      if (transformer) this.args = transformer(this.args);
      this.stringifyArguments();
    }
    this.resolve = this._convertValue(resolve);
    this.reject = (err) => {
      this._clearTimers();
      this.isSettled = true;
      reject(this.errorStack ? optimizeErrorStack(err, this.errorStack.stack, ioredisDir) : err);
    };
  });
  this.promise = asCallback(promise, this.callback);
};

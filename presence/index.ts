/** The presence core: plain functions over plain data, `now` passed in. No I/O below this line. */
export * from './types.js';
export * from './timing.js';
export * from './lastSeen.js';
export * from './aggregate.js';
export * from './state.js';
export * from './privacy.js';
export * from './view.js';
export * from './errors.js';
export * from './held.js';
export * from './ids.js';

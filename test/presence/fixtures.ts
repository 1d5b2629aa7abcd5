/**
 * Shared helpers for the presence core tests: a bucket-aligned clock origin, validated timings and
 * terse command builders. Plain functions, no state.
 */
import {
  apply,
  makeTiming,
  type Activity,
  type Applied,
  type Command,
  type Device,
  type ManualStatus,
  type Platform,
  type Timing,
  type TimingInput,
  type UserState,
} from '../../presence/index.js';

/** 2026-11-20T12:00:00.000Z — a bucket start, so offsets from it read as plain durations. */
export const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A timing that must validate; throws with the validator's message otherwise. */
export function timing(input: TimingInput = {}): Timing {
  const result = makeTiming(input);
  if (!result.ok) throw new Error(result.error);
  return result.timing;
}

/** H 30 s, J 5 s, TTL 70 s, grace 15 s, idle 10 min. */
export const DEFAULTS = timing();

export function heartbeat(deviceId: string, platform: Platform, now: number, activity?: Activity): Command {
  return activity === undefined ? { type: 'heartbeat', deviceId, platform, now } : { type: 'heartbeat', deviceId, platform, activity, now };
}

export function disconnect(deviceId: string, now: number): Command {
  return { type: 'disconnect', deviceId, now };
}

export function signOff(deviceId: string, now: number): Command {
  return { type: 'signOff', deviceId, now };
}

export function setManual(manual: ManualStatus, now: number): Command {
  return { type: 'setManual', manual, now };
}

export function tick(now: number): Command {
  return { type: 'tick', now };
}

/** Applies `commands` in order, returning every step's result. */
export function run(state: UserState, commands: readonly Command[], t: Timing = DEFAULTS): Applied[] {
  const steps: Applied[] = [];
  let current = state;
  for (const command of commands) {
    const step = apply(current, command, t);
    steps.push(step);
    current = step.state;
  }
  return steps;
}

/** The last element; fails the test (rather than returning undefined) when there is none. */
export function last<T>(items: readonly T[]): T {
  const item = items.at(-1);
  if (item === undefined) throw new Error('expected at least one item');
  return item;
}

/** The stored device, failing the test when it is absent. */
export function deviceOf(state: UserState, deviceId: string): Device {
  const device = state.devices[deviceId];
  if (!device) throw new Error(`expected device ${deviceId} in ${JSON.stringify(Object.keys(state.devices))}`);
  return device;
}

/** A device as the state machine would store it, for the pure aggregate/view functions. */
export function device(overrides: Partial<Device> & Pick<Device, 'deviceId'>): Device {
  return {
    platform: 'WEB',
    activity: 'ACTIVE',
    lastActiveAt: T0,
    lastSeenAt: T0,
    expiresAt: T0 + DEFAULTS.ttlMs,
    ...overrides,
  };
}

/** Recursively freezes plain data, so any mutation by the code under test throws (ESM is strict). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

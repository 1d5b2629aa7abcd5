import { describe, expect, it } from 'vitest';
import { parseSchedStat, schedBetween, schedStat, sumSchedStats } from '../../bench/stats.js';

describe('bench/stats: a thread as the scheduler accounted it', () => {
  it('reads the three numbers of a schedstat file, and nothing else', () => {
    expect(parseSchedStat('1520389221 40011 812\n')).toEqual({ runNs: 1520389221, waitNs: 40011, slices: 812 });
    expect(parseSchedStat('1 2')).toBeUndefined();
    expect(parseSchedStat('1 2 3 4')).toBeUndefined();
    expect(parseSchedStat('a b c')).toBeUndefined();
    expect(parseSchedStat('1 -2 3')).toBeUndefined();
    expect(parseSchedStat('')).toBeUndefined();
  });

  it('turns two readings into shares of the wall time between them', () => {
    const before = { runNs: 1_000_000_000, waitNs: 300_000_000, slices: 50 };
    const after = { runNs: 1_500_000_000, waitNs: 550_000_000, slices: 150 };
    expect(schedBetween(before, after, 1_000)).toEqual({ cpuPercent: 50, waitPercent: 25, waitShareOfReadyPercent: 33.3, waitPerSliceMs: 2.5 });
    // A thread that never ran nor waited: nothing divides by zero.
    expect(schedBetween(before, before, 1_000)).toEqual({ cpuPercent: 0, waitPercent: 0, waitShareOfReadyPercent: 0, waitPerSliceMs: 0 });
    expect(schedBetween(undefined, after, 1_000)).toBeUndefined();
    expect(schedBetween(before, undefined, 1_000)).toBeUndefined();
    expect(schedBetween(before, after, 0)).toBeUndefined();
  });

  it('pools several threads into one reading: over their count times the wall time, each one\'s mean share', () => {
    const a = { runNs: 100_000_000, waitNs: 0, slices: 10 };
    const b = { runNs: 300_000_000, waitNs: 200_000_000, slices: 30 };
    const zero = { runNs: 0, waitNs: 0, slices: 0 };
    expect(sumSchedStats([a, b])).toEqual({ runNs: 400_000_000, waitNs: 200_000_000, slices: 40 });
    expect(schedBetween(sumSchedStats([zero, zero]), sumSchedStats([a, b]), 1_000 * 2)).toEqual({ cpuPercent: 20, waitPercent: 10, waitShareOfReadyPercent: 33.3, waitPerSliceMs: 5 });
    expect(sumSchedStats([a, undefined])).toBeUndefined();
    expect(sumSchedStats([])).toBeUndefined();
  });

  it('reads this process\'s main thread, whose run time grows as it computes; a process that is not there reads as unknown', () => {
    const before = schedStat(process.pid);
    expect(before).toBeDefined();
    // Work the scheduler must account: hash until the thread's own CPU clock has advanced 5 ms.
    const cpu0 = process.cpuUsage();
    let x = 0;
    while (process.cpuUsage(cpu0).user < 5_000) x = (x * 31 + 7) % 1_000_003;
    const after = schedStat(process.pid)!;
    expect(x).toBeGreaterThanOrEqual(0);
    expect(after.runNs - before!.runNs).toBeGreaterThanOrEqual(2_000_000);
    expect(after.slices).toBeGreaterThanOrEqual(before!.slices);
    expect(schedStat(undefined)).toBeUndefined();
    expect(schedStat(2 ** 22 + 1)).toBeUndefined();
  });
});

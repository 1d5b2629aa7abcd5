import { describe, expect, it } from 'vitest';
import { heldLife, Renewals } from '../../presence/index.js';

describe('heldLife', () => {
  it('should hold a read for its TTL less up to a quarter, and renew it from its share of that life', () => {
    expect(heldLife(1_000, 60_000, 0.5, 0)).toEqual({ until: 61_000, renewFrom: 31_000 });
    expect(heldLife(1_000, 60_000, 0.5, 0.999_999).until).toBeCloseTo(46_000, 0);
    expect(heldLife(1_000, 60_000, 1, 0.5)).toEqual({ until: 53_500, renewFrom: 53_500 });
  });
});

describe('Renewals', () => {
  it('should start one background read per key at a time, for the keys not already renewing', async () => {
    const renewals = new Renewals<string>();
    const reads: string[][] = [];
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const read = async (keys: readonly string[]) => {
      reads.push([...keys]);
      await gate;
    };
    expect(renewals.renew(['a', 'b'], read)).toBe(true);
    expect(renewals.renew(['b', 'c'], read)).toBe(true);
    expect(renewals.renew(['a', 'c'], read)).toBe(false);
    expect(renewals.renew([], read)).toBe(false);
    expect(reads).toEqual([['a', 'b'], ['c']]);
    finish();
    await gate;
    await new Promise((r) => setImmediate(r));
    expect(renewals.renew(['a'], read)).toBe(true);
    expect(reads).toEqual([['a', 'b'], ['c'], ['a']]);
  });

  it('should swallow a failed read and let its keys be renewed again', async () => {
    const renewals = new Renewals<string>();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('store down');
    };
    expect(renewals.renew(['a'], failing)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(renewals.renew(['a'], failing)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(2);
  });
});

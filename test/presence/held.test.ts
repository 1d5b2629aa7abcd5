import { describe, expect, it } from 'vitest';
import { heldLife, Renewals } from '../../presence/index.js';
import { until } from '../support/clients.js';

describe('heldLife', () => {
  it('should hold a read for its TTL less up to a quarter, and renew it from its share of that life', () => {
    expect(heldLife(1_000, 60_000, 0.5, 0)).toEqual({ until: 61_000, renewFrom: 31_000 });
    expect(heldLife(1_000, 60_000, 0.5, 0.999_999).until).toBeCloseTo(46_000, 0);
    expect(heldLife(1_000, 60_000, 1, 0.5)).toEqual({ until: 53_500, renewFrom: 53_500 });
  });
});

describe('Renewals', () => {
  it('should start one background read per key at a time, for the keys not already renewing', async () => {
    const renewals = new Renewals<string>(2);
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

  it('should run at most its concurrency of reads at once, the rest in line, first come first served', async () => {
    const renewals = new Renewals<string>(1);
    const started: string[] = [];
    const finish = new Map<string, (ok: boolean) => void>();
    const read = (keys: readonly string[]) =>
      new Promise<void>((resolve, reject) => {
        started.push(keys.join());
        finish.set(keys.join(), (ok) => (ok ? resolve() : reject(new Error('store down'))));
      });
    expect(renewals.renew(['a'], read)).toBe(true);
    expect(renewals.renew(['b'], read)).toBe(true);
    expect(renewals.renew(['c'], read)).toBe(true);
    // Waiting in line counts as renewing: not lined up twice.
    expect(renewals.renew(['b', 'c'], read)).toBe(false);
    expect(started).toEqual(['a']);
    expect(renewals.waiting).toBe(2);
    // A failed read frees its place as a finished one does.
    finish.get('a')!(false);
    await until(() => started.length === 2, 'b to start');
    expect(started).toEqual(['a', 'b']);
    finish.get('b')!(true);
    await until(() => started.length === 3, 'c to start');
    expect(started).toEqual(['a', 'b', 'c']);
    expect(renewals.waiting).toBe(0);
    finish.get('c')!(true);
    await new Promise((r) => setImmediate(r));
    expect(renewals.renew(['a', 'b', 'c'], read)).toBe(true);
    expect(started).toEqual(['a', 'b', 'c', 'a,b,c']);
  });

  it('should run up to its concurrency at once', () => {
    const renewals = new Renewals<string>(2);
    const started: string[] = [];
    const read = (keys: readonly string[]) => (started.push(keys.join()), new Promise<void>(() => undefined));
    for (const k of ['a', 'b', 'c']) renewals.renew([k], read);
    expect(started).toEqual(['a', 'b']);
    expect(renewals.waiting).toBe(1);
    expect(() => new Renewals(0)).toThrow(RangeError);
  });
});

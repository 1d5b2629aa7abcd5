import { describe, expect, it } from 'vitest';
import { listLoader } from '../../service/batch.js';

/** A read that records what it was asked and answers `id:n` (n = how many reads so far). */
function recordingRead() {
  const calls: string[][] = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    calls,
    /** Holds every read until `open()` is called. */
    hold() {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return open;
    },
    read: async (ids: readonly string[]) => {
      calls.push([...ids]);
      const n = calls.length;
      await gate;
      return ids.map((id) => `${id}:${n}`);
    },
  };
}

describe('listLoader', () => {
  it('should read the union of the lists asked in one tick once, and give each caller its own list in order', async () => {
    const r = recordingRead();
    const load = listLoader(r.read);
    const [a, b, c] = await Promise.all([load(['x', 'y', 'x']), load(['z', 'y']), load(['w'])]);
    expect(r.calls).toEqual([['x', 'y', 'z', 'w']]);
    expect(a).toEqual(['x:1', 'y:1', 'x:1']);
    expect(b).toEqual(['z:1', 'y:1']);
    expect(c).toEqual(['w:1']);
  });

  it('should give a lone list its own array, an id named twice read once, and still hold what it read', async () => {
    const r = recordingRead();
    const load = listLoader(r.read);
    const once = await load(['a', 'b']);
    expect(once).toEqual(['a:1', 'b:1']);
    once.pop();
    expect(await load(['b', 'a'])).toEqual(['b:1', 'a:1']);
    expect(await load(['c', 'c', 'a'])).toEqual(['c:2', 'c:2', 'a:1']);
    expect(r.calls).toEqual([['a', 'b'], ['c']]);
  });

  it('should answer ids already read from what it holds, and read only the new ones', async () => {
    const r = recordingRead();
    const load = listLoader(r.read);
    await load(['a', 'b']);
    expect(await load(['b', 'c', 'a'])).toEqual(['b:1', 'c:2', 'a:1']);
    expect(r.calls).toEqual([['a', 'b'], ['c']]);
    expect(await load(['c', 'a'])).toEqual(['c:2', 'a:1']);
    expect(r.calls).toHaveLength(2);
  });

  it('should wait for a read already under way instead of reading its ids again', async () => {
    const r = recordingRead();
    const load = listLoader(r.read);
    const open = r.hold();
    const first = load(['a', 'b']);
    // A later tick, while the first read is still out.
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.calls).toEqual([['a', 'b']]);
    const second = load(['b', 'c']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.calls).toEqual([['a', 'b'], ['c']]);
    open();
    expect(await first).toEqual(['a:1', 'b:1']);
    expect(await second).toEqual(['b:1', 'c:2']);
  });

  it('should fail every list waiting on a failed read, hold nothing from it, and read again when asked again', async () => {
    let fail = true;
    const calls: string[][] = [];
    const load = listLoader(async (ids: readonly string[]) => {
      calls.push([...ids]);
      if (fail) throw new Error('boom');
      return ids.map((id) => id.toUpperCase());
    });
    const results = await Promise.allSettled([load(['a']), load(['b'])]);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toEqual(new Error('boom'));
    fail = false;
    expect(await load(['a', 'b'])).toEqual(['A', 'B']);
    expect(calls).toEqual([['a', 'b'], ['a', 'b']]);
  });

  it('should answer an empty list without reading', async () => {
    const r = recordingRead();
    expect(await listLoader(r.read)([])).toEqual([]);
    expect(r.calls).toEqual([]);
  });
});

/**
 * What every LastSeenStore promises (prisma/port.ts), run against the embedded and the Postgres store.
 * Each test gets a fresh store from `make` and disposes it.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUCKET_MS,
  StoreUnavailableError,
  type KnownStatus,
  type Transition,
  type TransitionCause,
} from '../../presence/index.js';
import type { LastSeenStore } from '../../prisma/port.js';

/** A whole minute (2026-11-22 06:00 UTC): every bucket in these tests is T0 + n minutes. */
export const T0 = Date.UTC(2026, 10, 22, 6, 0);
export const MINUTE = BUCKET_MS;

export interface TransitionInput {
  userId: string;
  version: number;
  to?: KnownStatus;
  from?: KnownStatus;
  /** Default T0 + version minutes. */
  bucket?: number;
  cause?: TransitionCause;
  /** Default: `bucket` when `to` is OFFLINE, else null (only OFFLINE records carry a last-seen). */
  lastSeen?: number | null;
}

/** A transition as the core emits it: id `${userId}:${version}`, published record matching `to`. */
export function transition(input: TransitionInput): Transition {
  const to = input.to ?? 'OFFLINE';
  const from = input.from ?? (to === 'OFFLINE' ? 'ONLINE' : 'OFFLINE');
  const bucket = input.bucket ?? T0 + input.version * MINUTE;
  const lastSeen = input.lastSeen !== undefined ? input.lastSeen : to === 'OFFLINE' ? bucket : null;
  return {
    id: `${input.userId}:${input.version}`,
    userId: input.userId,
    from,
    to,
    version: input.version,
    bucket,
    cause: input.cause ?? (to === 'OFFLINE' ? 'EXPIRY' : 'CONNECT'),
    published: { status: to, platforms: to === 'OFFLINE' ? [] : ['WEB'], lastSeen },
  };
}

export interface StoreUnderTest {
  store: LastSeenStore;
  dispose(): Promise<void>;
  /** Statements the store has sent so far, when it counts them (proves batching). */
  queries?: () => number;
}

export function lastSeenStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`LastSeenStore contract: ${name}`, () => {
    let current: StoreUnderTest | null = null;
    const open = async (): Promise<StoreUnderTest> => (current = await make());

    afterEach(async () => {
      await current?.dispose();
      current = null;
    });

    describe('record', () => {
      it('should set the last-seen from an OFFLINE transition and append it to the trail', async () => {
        const { store } = await open();
        await store.record([transition({ userId: 'ada', version: 1, to: 'OFFLINE', bucket: T0 + 5 * MINUTE })]);

        expect(await store.lastSeen(['ada'])).toEqual(new Map([['ada', { bucket: T0 + 5 * MINUTE, version: 1 }]]));
        expect(await store.trail('ada', 10)).toEqual([
          { transitionId: 'ada:1', userId: 'ada', from: 'ONLINE', to: 'OFFLINE', bucket: T0 + 5 * MINUTE, cause: 'EXPIRY', version: 1 },
        ]);
      });

      it('should keep a trail but no last-seen for transitions that are not OFFLINE', async () => {
        const { store } = await open();
        await store.record([
          transition({ userId: 'bo', version: 1, to: 'ONLINE' }),
          transition({ userId: 'bo', version: 2, from: 'ONLINE', to: 'IDLE', cause: 'IDLE_TIMEOUT' }),
        ]);

        expect(await store.lastSeen(['bo'])).toEqual(new Map());
        expect((await store.trail('bo', 10)).map((r) => r.transitionId)).toEqual(['bo:2', 'bo:1']);
      });

      it('should take the frozen last-seen of an INVISIBLE user from published.lastSeen, not from the bucket', async () => {
        const { store } = await open();
        const hid = transition({ userId: 'cy', version: 4, to: 'OFFLINE', cause: 'MANUAL_STATUS', bucket: T0 + 9 * MINUTE, lastSeen: T0 + 7 * MINUTE });
        await store.record([hid]);

        expect(await store.lastSeen(['cy'])).toEqual(new Map([['cy', { bucket: T0 + 7 * MINUTE, version: 4 }]]));
        expect((await store.trail('cy', 1))[0]?.bucket).toBe(T0 + 9 * MINUTE);
      });

      it('should change nothing when the same batch is replayed', async () => {
        const { store } = await open();
        const batch = [
          transition({ userId: 'di', version: 1, to: 'ONLINE' }),
          transition({ userId: 'di', version: 2, to: 'OFFLINE' }),
          transition({ userId: 'ed', version: 7, to: 'OFFLINE' }),
        ];
        await store.record(batch);
        await store.record(batch);
        await store.record([batch[2]!, batch[2]!]);

        expect((await store.trail('di', 10)).map((r) => r.transitionId)).toEqual(['di:2', 'di:1']);
        expect((await store.trail('ed', 10)).map((r) => r.transitionId)).toEqual(['ed:7']);
        expect(await store.lastSeen(['di', 'ed'])).toEqual(
          new Map([
            ['di', { bucket: T0 + 2 * MINUTE, version: 2 }],
            ['ed', { bucket: T0 + 7 * MINUTE, version: 7 }],
          ]),
        );
      });

      it('should accept an empty batch', async () => {
        const { store } = await open();
        await expect(store.record([])).resolves.toBeUndefined();
      });
    });

    describe('forward-only last-seen', () => {
      it('should ignore an older transition that arrives after a newer one', async () => {
        const { store } = await open();
        await store.record([transition({ userId: 'fa', version: 5, bucket: T0 + 10 * MINUTE })]);
        await store.record([transition({ userId: 'fa', version: 3, bucket: T0 + 4 * MINUTE })]);

        expect(await store.lastSeen(['fa'])).toEqual(new Map([['fa', { bucket: T0 + 10 * MINUTE, version: 5 }]]));
        // The late transition still belongs in the trail.
        expect((await store.trail('fa', 10)).map((r) => r.transitionId)).toEqual(['fa:5', 'fa:3']);
      });

      it('should move forward to a later version in the same bucket', async () => {
        const { store } = await open();
        await store.record([transition({ userId: 'gu', version: 1, bucket: T0 })]);
        await store.record([transition({ userId: 'gu', version: 3, bucket: T0 })]);

        expect(await store.lastSeen(['gu'])).toEqual(new Map([['gu', { bucket: T0, version: 3 }]]));
      });

      it('should never move the bucket backwards, even for a later version (clock skew between processes)', async () => {
        const { store } = await open();
        await store.record([transition({ userId: 'hu', version: 2, bucket: T0 + 6 * MINUTE })]);
        await store.record([transition({ userId: 'hu', version: 3, bucket: T0 + 5 * MINUTE })]);

        expect(await store.lastSeen(['hu'])).toEqual(new Map([['hu', { bucket: T0 + 6 * MINUTE, version: 2 }]]));
      });

      it('should keep the greatest (bucket, version) of several transitions of one user in one batch', async () => {
        const { store } = await open();
        await store.record([
          transition({ userId: 'io', version: 2, bucket: T0 + 2 * MINUTE }),
          transition({ userId: 'io', version: 4, bucket: T0 + 8 * MINUTE }),
          transition({ userId: 'io', version: 3, bucket: T0 + 3 * MINUTE }),
          transition({ userId: 'io', version: 5, to: 'ONLINE' }),
        ]);

        expect(await store.lastSeen(['io'])).toEqual(new Map([['io', { bucket: T0 + 8 * MINUTE, version: 4 }]]));
      });

      it('should converge to the same last-seen whatever the order and batching of delivery', async () => {
        const { store } = await open();
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(fc.record({ version: fc.integer({ min: 1, max: 40 }), minute: fc.integer({ min: 0, max: 20 }) }), {
              minLength: 1,
              maxLength: 8,
              selector: (x) => x.version,
            }),
            fc.integer({ min: 1, max: 4 }),
            async (events, chunk) => {
              const userId = `prop-${run++}`;
              const batch = events.map((e) => transition({ userId, version: e.version, bucket: T0 + e.minute * MINUTE }));
              for (let i = 0; i < batch.length; i += chunk) await store.record(batch.slice(i, i + chunk));
              await store.record(batch); // and a full replay

              const best = [...events].sort((a, b) => b.minute - a.minute || b.version - a.version)[0]!;
              expect(await store.lastSeen([userId])).toEqual(
                new Map([[userId, { bucket: T0 + best.minute * MINUTE, version: best.version }]]),
              );
            },
          ),
          { numRuns: 15 },
        );
      });
    });

    describe('whole-minute buckets', () => {
      it.each([
        ['a bucket 30 s into a minute', { bucket: T0 + 30_000 }],
        ['a bucket 1 ms into a minute', { bucket: T0 + 1 }],
        ['a published last-seen 1 s into a minute', { bucket: T0, lastSeen: T0 + 1_000 }],
      ])('should refuse %s and store nothing of the batch', async (_name, fields) => {
        const { store } = await open();
        const good = transition({ userId: 'jo', version: 1 });
        const bad = transition({ userId: 'jo', version: 2, ...fields });

        await expect(store.record([good, bad])).rejects.toThrow(/jo:2.*start of a 60 s bucket/);
        await expect(store.record([good, bad])).rejects.toBeInstanceOf(RangeError);
        expect(await store.trail('jo', 10)).toEqual([]);
        expect(await store.lastSeen(['jo'])).toEqual(new Map());
      });

      it('should refuse a transition whose id is not `${userId}:${version}`', async () => {
        const { store } = await open();
        const bad = { ...transition({ userId: 'ka', version: 1 }), id: 'ka:2' };

        await expect(store.record([bad])).rejects.toThrow('lastSeen: transition "ka:2" has id "ka:2" (expected "ka:1")');
      });

      it('should only ever return buckets that are whole minutes', async () => {
        const { store } = await open();
        await store.record([transition({ userId: 'le', version: 1, bucket: T0 + 59 * MINUTE })]);

        const [row] = await store.trail('le', 1);
        const seen = (await store.lastSeen(['le'])).get('le');
        expect(row!.bucket % MINUTE).toBe(0);
        expect(seen!.bucket % MINUTE).toBe(0);
        expect(new Date(seen!.bucket).toISOString()).toBe('2026-11-22T06:59:00.000Z');
      });
    });

    describe('lastSeen', () => {
      it('should answer many ids, duplicates and unknown ones included, in one query', async () => {
        const made = await open();
        const { store } = made;
        const known = Array.from({ length: 150 }, (_, i) => `user-${i}`);
        await store.record(known.map((userId, i) => transition({ userId, version: 1, bucket: T0 + (i % 30) * MINUTE })));
        const asked = [...known, ...known.slice(0, 10), ...Array.from({ length: 150 }, (_, i) => `ghost-${i}`)];

        const before = made.queries?.();
        const result = await store.lastSeen(asked);
        const after = made.queries?.();

        expect(result.size).toBe(150);
        expect(result.get('user-31')).toEqual({ bucket: T0 + MINUTE, version: 1 });
        expect(result.has('ghost-0')).toBe(false);
        if (before !== undefined) expect(after! - before).toBe(1);
      });

      it('should not query at all for no ids', async () => {
        const made = await open();
        const before = made.queries?.();

        expect(await made.store.lastSeen([])).toEqual(new Map());
        if (before !== undefined) expect(made.queries!()).toBe(before);
      });
    });

    describe('trail', () => {
      it('should list one user newest first, at most `limit` rows', async () => {
        const { store } = await open();
        await store.record([
          transition({ userId: 'mo', version: 1, to: 'ONLINE', bucket: T0 }),
          transition({ userId: 'mo', version: 2, to: 'IDLE', from: 'ONLINE', bucket: T0 + MINUTE }),
          transition({ userId: 'mo', version: 3, to: 'DND', from: 'IDLE', bucket: T0 + MINUTE, cause: 'MANUAL_STATUS' }),
          transition({ userId: 'mo', version: 4, to: 'OFFLINE', from: 'DND', bucket: T0 + 3 * MINUTE, cause: 'SIGN_OFF' }),
          transition({ userId: 'nu', version: 9, to: 'ONLINE', bucket: T0 + 9 * MINUTE }),
        ]);

        expect(await store.trail('mo', 3)).toEqual([
          { transitionId: 'mo:4', userId: 'mo', from: 'DND', to: 'OFFLINE', bucket: T0 + 3 * MINUTE, cause: 'SIGN_OFF', version: 4 },
          { transitionId: 'mo:3', userId: 'mo', from: 'IDLE', to: 'DND', bucket: T0 + MINUTE, cause: 'MANUAL_STATUS', version: 3 },
          { transitionId: 'mo:2', userId: 'mo', from: 'ONLINE', to: 'IDLE', bucket: T0 + MINUTE, cause: 'CONNECT', version: 2 },
        ]);
        expect(await store.trail('mo', 0)).toEqual([]);
        expect(await store.trail('nobody', 5)).toEqual([]);
      });

      it('should refuse a negative or fractional limit', async () => {
        const { store } = await open();
        await expect(store.trail('mo', -1)).rejects.toThrow('lastSeen: trail limit must be a non-negative integer, got -1');
        await expect(store.trail('mo', 1.5)).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('prune', () => {
      it('should delete trail rows strictly older than `before`, count them, and leave last-seen alone', async () => {
        const { store } = await open();
        await store.record([
          transition({ userId: 'ol', version: 1, bucket: T0 }),
          transition({ userId: 'ol', version: 2, bucket: T0 + MINUTE, to: 'ONLINE' }),
          transition({ userId: 'pa', version: 1, bucket: T0 + MINUTE }),
          transition({ userId: 'pa', version: 2, bucket: T0 + 2 * MINUTE, to: 'ONLINE' }),
        ]);

        expect(await store.prune(T0 + 2 * MINUTE)).toBe(3);
        expect(await store.prune(T0 + 2 * MINUTE)).toBe(0);
        expect(await store.trail('ol', 10)).toEqual([]);
        expect((await store.trail('pa', 10)).map((r) => r.transitionId)).toEqual(['pa:2']);
        expect(await store.lastSeen(['ol', 'pa'])).toEqual(
          new Map([
            ['ol', { bucket: T0, version: 1 }],
            ['pa', { bucket: T0 + MINUTE, version: 1 }],
          ]),
        );
      });
    });

    describe('lifecycle', () => {
      it('should answer ping while open and refuse every call with StoreUnavailableError once closed', async () => {
        const { store } = await open();
        await expect(store.ping()).resolves.toBeUndefined();
        await store.close();
        await store.close();

        const refused = await Promise.allSettled([store.ping(), store.lastSeen(['a']), store.record([transition({ userId: 'a', version: 1 })]), store.trail('a', 1), store.prune(T0)]);
        for (const outcome of refused) {
          expect(outcome.status).toBe('rejected');
          const reason = (outcome as PromiseRejectedResult).reason as StoreUnavailableError;
          expect(reason).toBeInstanceOf(StoreUnavailableError);
          expect(reason.store).toBe('lastSeen');
        }
      });
    });
  });
}

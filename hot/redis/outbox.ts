/**
 * The outbox on Redis streams: one stream per partition, one consumer group ("trail"). An entry is
 * acknowledged (and deleted) only after the drain has committed it to PostgreSQL, so a crash or a
 * database outage delays the trail and loses nothing. A consumer first re-reads its own pending entries,
 * then takes over entries a dead consumer left pending, then reads new ones.
 */
import type { Redis } from 'ioredis';
import { parseTransition } from './scripts.js';
import { allPartitions, outboxKey, type KeySpace } from './keys.js';
import type { Outbox, OutboxEntry } from '../port.js';

export const OUTBOX_GROUP = 'trail';
/** Pending entries idle this long belong to a consumer presumed dead and are taken over. */
const ABANDONED_MS = 30_000;

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

export class RedisOutbox implements Outbox {
  readonly #redis: Redis;
  readonly #space: KeySpace;
  #groupsReady = false;

  constructor(redis: Redis, space: KeySpace) {
    this.#redis = redis;
    this.#space = space;
  }

  async read(consumer: string, count: number): Promise<OutboxEntry[]> {
    await this.#ensureGroups();
    for (const cursor of ['0', 'claim', '>'] as const) {
      const entries = await this.#readAll(consumer, count, cursor);
      if (entries.length > 0) return entries;
    }
    return [];
  }

  async ack(ids: readonly string[]): Promise<void> {
    const byPartition = new Map<number, string[]>();
    for (const id of ids) {
      const [partition, streamId] = splitId(id);
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), streamId]);
    }
    const pipeline = this.#redis.pipeline();
    for (const [partition, streamIds] of byPartition) {
      const key = outboxKey(this.#space, partition);
      pipeline.xack(key, OUTBOX_GROUP, ...streamIds);
      pipeline.xdel(key, ...streamIds);
    }
    throwFirst(await pipeline.exec());
  }

  async backlog(): Promise<number> {
    const pipeline = this.#redis.pipeline();
    for (const p of allPartitions(this.#space)) pipeline.xlen(outboxKey(this.#space, p));
    return throwFirst(await pipeline.exec()).reduce<number>((sum, n) => sum + Number(n), 0);
  }

  async #readAll(consumer: string, count: number, cursor: '0' | 'claim' | '>'): Promise<OutboxEntry[]> {
    const pipeline = this.#redis.pipeline();
    for (const p of allPartitions(this.#space)) {
      const key = outboxKey(this.#space, p);
      if (cursor === 'claim') pipeline.xautoclaim(key, OUTBOX_GROUP, consumer, ABANDONED_MS, '0-0', 'COUNT', count);
      else pipeline.xreadgroup('GROUP', OUTBOX_GROUP, consumer, 'COUNT', count, 'STREAMS', key, cursor);
    }
    let results: unknown[];
    try {
      results = throwFirst(await pipeline.exec());
    } catch (error) {
      // A Redis without persistence that restarted has lost the groups: make them again.
      if (String(error).includes('NOGROUP')) this.#groupsReady = false;
      throw error;
    }
    const out: OutboxEntry[] = [];
    results.forEach((result, p) => {
      const entries = cursor === 'claim' ? ((result as [string, [string, string[]][]])[1] ?? []) : ((result as StreamReply)?.[0]?.[1] ?? []);
      for (const [streamId, fields] of entries) {
        if (out.length >= count || !fields) continue;
        const json = fields[fields.indexOf('t') + 1];
        if (json !== undefined) out.push({ id: `${p}/${streamId}`, transition: parseTransition(json) });
      }
    });
    return out;
  }

  async #ensureGroups(): Promise<void> {
    if (this.#groupsReady) return;
    const pipeline = this.#redis.pipeline();
    for (const p of allPartitions(this.#space)) pipeline.xgroup('CREATE', outboxKey(this.#space, p), OUTBOX_GROUP, '0', 'MKSTREAM');
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) {
      if (error && !String(error).includes('BUSYGROUP')) throw error;
    }
    this.#groupsReady = true;
  }
}

function splitId(id: string): [number, string] {
  const slash = id.indexOf('/');
  return [Number(id.slice(0, slash)), id.slice(slash + 1)];
}

/** Results of a pipeline, throwing the first error in it. */
export function throwFirst(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('pipeline discarded');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/**
 * Fault injection on our own ports (never on ioredis, Prisma or neo4j-driver): a store wrapped so a
 * test can switch it "down" (every call throws StoreUnavailableError) and count calls per method.
 */
import { StoreUnavailableError } from '../../presence/index.js';

export interface Switchable<T> {
  readonly store: T;
  down: boolean;
  readonly calls: Record<string, number>;
  /** The arguments of each call, per method. */
  readonly args: Record<string, unknown[][]>;
  reset(): void;
}

export function switchable<T extends object>(inner: T, name: 'hot' | 'graph' | 'lastSeen'): Switchable<T> {
  const calls: Record<string, number> = {};
  const args: Record<string, unknown[][]> = {};
  const control = {
    down: false,
    calls,
    args,
    reset() {
      for (const k of Object.keys(calls)) delete calls[k];
      for (const k of Object.keys(args)) delete args[k];
    },
  } as Switchable<T>;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      return (...a: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        (args[String(prop)] ??= []).push(a);
        if (control.down && prop !== 'close') return Promise.reject(new StoreUnavailableError(name));
        return (value as (...a: unknown[]) => unknown).apply(target, a);
      };
    },
  });
  Object.defineProperty(control, 'store', { value: store });
  return control;
}

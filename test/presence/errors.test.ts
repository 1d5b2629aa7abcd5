import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../presence/index.js';

describe('StoreUnavailableError', () => {
  it.each(['hot', 'graph', 'lastSeen'] as const)('should name the %s store that could not be reached', (store) => {
    const error = new StoreUnavailableError(store);
    expect(error).toBeInstanceOf(Error);
    expect({ name: error.name, store: error.store, message: error.message }).toEqual({
      name: 'StoreUnavailableError',
      store,
      message: `${store} store unavailable`,
    });
  });

  it('should keep the underlying cause', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    expect(new StoreUnavailableError('hot', { cause }).cause).toBe(cause);
  });
});

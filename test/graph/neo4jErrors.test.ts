import { Neo4jError } from 'neo4j-driver';
import { describe, expect, it } from 'vitest';
import { isGraphUnavailable, toGraphError } from '../../graph/neo4jErrors.js';
import { StoreUnavailableError } from '../../presence/errors.js';

function driverError(code: string, message = 'boom'): Neo4jError {
  return new Neo4jError(message, code, '50N42', 'general processing exception');
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:7687`), { code });
}

describe('isGraphUnavailable', () => {
  it.each<[string, unknown, boolean]>([
    ['ServiceUnavailable', driverError('ServiceUnavailable'), true],
    ['SessionExpired', driverError('SessionExpired'), true],
    ['database starting or stopping', driverError('Neo.TransientError.General.DatabaseUnavailable'), true],
    ['wrong credentials', driverError('Neo.ClientError.Security.Unauthorized'), true],
    ['failed-login lock-out', driverError('Neo.ClientError.Security.AuthenticationRateLimit'), true],
    ['acquisition timeout (code N/A)', driverError('N/A', 'Connection acquisition timed out in 2000 ms. Pool status: …'), true],
    ['connection timeout (code N/A)', driverError('N/A', 'Failed to establish connection in 2000ms'), true],
    ['closed driver', driverError('N/A', 'Pool is closed, it is no more able to serve requests.'), true],
    ['raw ECONNREFUSED', socketError('ECONNREFUSED'), true],
    ['raw ECONNRESET', socketError('ECONNRESET'), true],
    ['Cypher syntax error', driverError('Neo.ClientError.Statement.SyntaxError'), false],
    ['constraint violation', driverError('Neo.ClientError.Schema.ConstraintValidationFailed'), false],
    ['deadlock (retried by the driver, then a real failure)', driverError('Neo.TransientError.Transaction.DeadlockDetected'), false],
    ['a TypeError', new TypeError('x is not a function'), false],
    ['not an error', 'ServiceUnavailable', false],
  ])('%s → %s', (_, error, expected) => {
    expect(isGraphUnavailable(error)).toBe(expected);
  });
});

describe('toGraphError', () => {
  it('should wrap an unavailable error as StoreUnavailableError(graph) with the original as cause', () => {
    const cause = driverError('ServiceUnavailable');
    const error = toGraphError(cause);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).store).toBe('graph');
    expect((error as StoreUnavailableError).message).toBe('graph store unavailable');
    expect((error as StoreUnavailableError).cause).toBe(cause);
  });

  it('should pass any other error through unchanged', () => {
    const error = driverError('Neo.ClientError.Statement.SyntaxError');
    expect(toGraphError(error)).toBe(error);
  });

  it('should not wrap a StoreUnavailableError twice', () => {
    const error = new StoreUnavailableError('graph');
    expect(toGraphError(error)).toBe(error);
  });
});

import { describe, expect, it } from 'vitest';
import { isDependencyOutage } from '../../lib/dependency-outage';

describe('isDependencyOutage', () => {
  it("takes node-postgres' lost connection (a killed postmaster under a pooled connection) for an outage", () => {
    // What @prisma/adapter-pg passes on, unchanged, when the server dies mid-query.
    expect(isDependencyOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDependencyOutage(new Error('Connection terminated'))).toBe(true);
    expect(isDependencyOutage(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDependencyOutage(new Error('wrapped', { cause: new Error('Connection terminated unexpectedly') }))).toBe(
      true,
    );
  });

  it('keeps other errors, even ones that mention a connection, for what they are', () => {
    expect(isDependencyOutage(new Error('Connection terminated unexpectedly by the tenant'))).toBe(false);
    expect(isDependencyOutage(new TypeError('Connection terminated'))).toBe(false);
    expect(isDependencyOutage(new Error('invalid input syntax for type uuid'))).toBe(false);
  });
});

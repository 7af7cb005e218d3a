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

  it('takes a Prisma query error whose adapter cause is a terminated connection (57P01) for an outage', () => {
    // The shape a raw query (P2010) failed with while the chaos suite killed the postmaster.
    const queryError = (code: string) =>
      Object.assign(new Error('Raw query failed.'), {
        name: 'PrismaClientKnownRequestError',
        code: 'P2010',
        meta: {
          driverAdapterError: {
            name: 'DriverAdapterError',
            cause: { originalCode: code, kind: 'postgres', code, severity: 'FATAL', message: '…' },
          },
        },
      });
    expect(isDependencyOutage(queryError('57P01'))).toBe(true);
    expect(isDependencyOutage(queryError('57P03'))).toBe(true);
    // A constraint violation under the same wrapping stays the request's fault.
    expect(isDependencyOutage(queryError('23505'))).toBe(false);
  });
});

import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../activities/create-activities';

/** An error shaped like Prisma's (checked by name and code, as prisma/db.ts does). */
function prismaError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'PrismaClientKnownRequestError', code });
}

describe('activity failure classification', () => {
  it('fails fast on a database error a retry would repeat', () => {
    const classified = classifyFailure(
      prismaError('P2003', 'Invalid `db.file.upsert()` invocation:\n\nForeign key constraint violated'),
    );
    expect(classified).toBeInstanceOf(ApplicationFailure);
    expect((classified as ApplicationFailure).type).toBe('DatabaseError');
    expect((classified as ApplicationFailure).nonRetryable).toBe(true);
    expect((classified as ApplicationFailure).message).toBe('Foreign key constraint violated');
  });

  it('lets connection and contention errors through for Temporal to retry', () => {
    const lost = prismaError('P1001', "Can't reach database server");
    expect(classifyFailure(lost)).toBe(lost);
    const conflict = prismaError('P2034', 'Transaction failed due to a write conflict or a deadlock');
    expect(classifyFailure(conflict)).toBe(conflict);
  });

  it('leaves S3, clamd and business failures as they are', () => {
    const s3 = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    expect(classifyFailure(s3)).toBe(s3);
    const rejected = ApplicationFailure.create({ type: 'Rejected', nonRetryable: true, message: 'no' });
    expect(classifyFailure(rejected)).toBe(rejected);
  });
});

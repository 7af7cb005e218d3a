import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  FailureTypes,
  databaseError,
  fileRowMissing,
  infected,
  infectedDetailsOf,
  isFailureOfType,
  objectMissing,
  rejected,
  webhookRefused,
} from '../../common/failures';

describe('failure constructors', () => {
  it('build a non-retryable ApplicationFailure of their own type with the given message', () => {
    const built = [
      [rejected('too big'), FailureTypes.Rejected],
      [objectMissing('gone'), FailureTypes.ObjectMissing],
      [fileRowMissing('no row'), FailureTypes.FileRowMissing],
      [databaseError('constraint', new Error('constraint')), FailureTypes.DatabaseError],
      [webhookRefused('private address'), FailureTypes.WebhookRefused],
    ] as const;
    for (const [failure, type] of built) {
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type, nonRetryable: true });
      expect(isFailureOfType(failure, type)).toBe(true);
    }
    expect(rejected('too big').message).toBe('too big');
  });

  it('an infected verdict carries its signature and what the scan learnt, and reads back', () => {
    const failure = infected('Eicar-Test-Signature', 'quarantine/t/f', { sha256: 'abc', size: 68 });
    expect(failure).toMatchObject({ type: 'Infected', nonRetryable: true, message: 'infected: Eicar-Test-Signature' });
    expect(failure.details).toEqual([
      { signature: 'Eicar-Test-Signature', quarantineKey: 'quarantine/t/f', sha256: 'abc', size: 68 },
    ]);
    expect(infectedDetailsOf(failure)).toEqual({ signature: 'Eicar-Test-Signature', sha256: 'abc' });
    expect(infectedDetailsOf(infected('X', 'q'))).toEqual({ signature: 'X', sha256: null });
  });

  it('reading an Infected failure without usable details gives nulls rather than throwing', () => {
    const bare = ApplicationFailure.create({ type: FailureTypes.Infected, details: ['not an object'] });
    expect(infectedDetailsOf(bare)).toEqual({ signature: null, sha256: null });
  });

  it('a failure of another type, or a plain error, is not mistaken for a business failure', () => {
    expect(isFailureOfType(rejected('no'), FailureTypes.Infected)).toBe(false);
    expect(isFailureOfType(new Error('Rejected'), FailureTypes.Rejected)).toBe(false);
  });
});

import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from './types';

/** A business rejection: not retried, and its message is the reason shown to the user. */
export function rejected(reason: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.Rejected, nonRetryable: true, message: reason });
}

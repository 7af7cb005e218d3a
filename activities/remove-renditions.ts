import { deleteKeys } from '../lib/s3-objects';
import type { ActivityDeps } from './deps';
import type { RemoveRenditionsInput } from './types';

/** Compensation for a file that ends FAILED after renditions were written; missing keys are fine. */
export async function removeRenditions(deps: ActivityDeps, input: RemoveRenditionsInput): Promise<void> {
  await deleteKeys(deps.s3, deps.config.s3.bucket, input.keys);
}

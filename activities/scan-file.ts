import type { Readable } from 'node:stream';
import { cancellationSignal } from '@temporalio/activity';
import { ScanSizeLimitError } from '../lib/clamd-scanner';
import { copyObject, deleteKeys, getObjectStream, isNotFound, objectMetadata } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import { infected, objectMissing, rejected } from '../common/failures';
import { recordQuarantine } from '../prisma/files';
import type { ActivityDeps } from './deps';
import { HashingStream } from './hashing-stream';
import type { ScanInput, ScanResult } from './types';

/** S3 user-metadata key on the quarantined copy, so a retried scan can repeat the verdict it already reached. */
const SIGNATURE_METADATA = 'clamav-signature';

/**
 * Streams the upload to clamd and, in the same single read, computes its sha256 and size. An infected
 * file is moved to quarantine (never served) and fails the activity non-retryably; an unreachable
 * scanner throws, so Temporal retries and nothing is ever passed as clean without a verdict.
 */
export async function scanFile(deps: ActivityDeps, input: ScanInput): Promise<ScanResult> {
  const { config, s3, scanner } = deps;
  const bucket = config.s3.bucket;
  const quarantineKey = storageKeys.quarantine(input.tenantId, input.fileId);

  let body: Readable;
  let sourceKey = input.key;
  try {
    body = await getObjectStream(s3, bucket, input.key);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    // A retry after the infected branch already moved the file: repeat the verdict recorded with the copy.
    const quarantined = await objectMetadata(s3, bucket, quarantineKey);
    if (quarantined) throw infected(quarantined[SIGNATURE_METADATA] ?? 'unknown signature', quarantineKey);
    // A re-run after the store step moved it: local activities of one workflow task are recorded only
    // when the task completes, so a task that timed out under load runs scan again after its store.
    sourceKey = storageKeys.original(input.tenantId, input.fileId);
    try {
      body = await getObjectStream(s3, bucket, sourceKey);
    } catch (again) {
      if (!isNotFound(again)) throw again;
      throw objectMissing('The uploaded file is no longer in the incoming area, so it cannot be scanned.');
    }
  }

  // clamd refuses a stream longer than its StreamMaxLength, but as it hangs up mid-stream the client
  // may see only a broken pipe; stopping at the same limit here makes the refusal certain.
  const hashing = new HashingStream(config.clamd.maxStreamBytes);
  body.on('error', (error) => hashing.destroy(error));
  body.pipe(hashing);
  // A delete cancels the scan (the workflow waits for the attempt to end before removing the file): stop
  // feeding clamd at once rather than wait out a hung daemon's timeout.
  const cancelled = cancellationSignal();
  const stop = () => hashing.destroy(cancelled.reason as Error);
  cancelled.addEventListener('abort', stop, { once: true });
  const scanning = scanner.scanStream(hashing);
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(cancelled.reason as Error);
    if (cancelled.aborted) fail();
    else cancelled.addEventListener('abort', fail, { once: true });
  });
  // The scanner's own promise may still settle after an abort; nobody waits for it then.
  scanning.catch(() => undefined);
  const verdict = await Promise.race([scanning, aborted])
    .catch((error: unknown) => {
      // Release the S3 connection; the activity is retried from the start.
      body.destroy();
      // Fail closed, but at once: a file the scanner will never take is not accepted unscanned, and
      // retrying it for a day would only keep it PROCESSING.
      if (hashing.overLimit || error instanceof ScanSizeLimitError) {
        throw rejected(
          'The file is larger than the virus scanner accepts (clamd StreamMaxLength), so it cannot be scanned and is not accepted.',
        );
      }
      throw error;
    })
    .finally(() => cancelled.removeEventListener('abort', stop));
  const result: ScanResult = { sha256: hashing.digest(), size: hashing.bytesSeen };
  deps.metrics?.scanVerdict(verdict.infected ? 'infected' : 'clean');
  if (!verdict.infected) return result;

  const signature = verdict.signature ?? 'unknown signature';
  deps.log?.warn({ fileId: input.fileId, signature }, 'infected upload quarantined');
  await copyObject(s3, bucket, sourceKey, quarantineKey, { [SIGNATURE_METADATA]: signature });
  await deleteKeys(s3, bucket, [sourceKey]);
  await recordQuarantine(
    deps.db,
    { id: input.fileId, tenantId: input.tenantId },
    { quarantineKey, sha256: result.sha256, size: result.size },
  );
  throw infected(signature, quarantineKey, result);
}

import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/create-activities';
import { ScanSizeLimitError } from '../../lib/clamd-scanner';
import { storageKeys } from '../../lib/storage-keys';
import type { Db } from '../../prisma/db';
import {
  activityDeps,
  activityEnvironment,
  FakeS3,
  fakeScanner,
  testConfig,
  unreachableScanner,
} from '../support/fake-activity-deps';

const TENANT = 'acme';
const FILE_ID = 'f_scanunit';
const INCOMING = storageKeys.incoming(TENANT, FILE_ID);
const QUARANTINE = storageKeys.quarantine(TENANT, FILE_ID);
const input = { fileId: FILE_ID, tenantId: TENANT, key: INCOMING };
const bytes = Buffer.from('the quick brown fox jumps over the lazy dog\n');

/** The File rows the scan writes, as the repository's upserts leave them. */
function fakeFileTable() {
  const upserts: { where: { id: string }; create: Record<string, unknown>; update: Record<string, unknown> }[] = [];
  const db = { file: { upsert: async (args: (typeof upserts)[number]) => void upserts.push(args) } } as unknown as Db;
  return { db, upserts };
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => expect.fail('the scan should have failed'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('scanFile', () => {
  it('passes a clean file with the sha256 and size of the bytes it scanned, leaving it in place', async () => {
    const s3 = new FakeS3();
    s3.put(INCOMING, bytes);
    const scanned: Buffer[] = [];
    const { scanFile } = createActivities(
      activityDeps({ s3, scanner: fakeScanner((b) => (scanned.push(b), { infected: false, signature: null })) }),
    );

    const result = await activityEnvironment().run(scanFile, input);

    expect(result).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
    expect(Buffer.concat(scanned)).toEqual(bytes);
    expect(s3.keys()).toEqual([INCOMING]);
  });

  it('quarantines an infected file, records it on the row and fails non-retryably as Infected', async () => {
    const s3 = new FakeS3();
    s3.put(INCOMING, bytes);
    const { db, upserts } = fakeFileTable();
    const { scanFile } = createActivities(
      activityDeps({ s3, db, scanner: fakeScanner(() => ({ infected: true, signature: 'Eicar-Test-Signature' })) }),
    );

    const failure = await failureOf(activityEnvironment().run(scanFile, input));

    expect(failure.type).toBe('Infected');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details?.[0]).toMatchObject({ signature: 'Eicar-Test-Signature', quarantineKey: QUARANTINE });
    // Never served: the incoming copy is gone and only the quarantined one remains.
    expect(s3.keys()).toEqual([QUARANTINE]);
    expect(s3.objects.get(QUARANTINE)?.body).toEqual(bytes);
    expect(upserts).toHaveLength(1);
    expect(upserts[0]?.update).toMatchObject({
      quarantineKey: QUARANTINE,
      storageKey: null,
      size: BigInt(bytes.length),
    });
  });

  it('repeats the recorded verdict when a retry finds the file already quarantined', async () => {
    const s3 = new FakeS3();
    s3.put(QUARANTINE, bytes, { 'clamav-signature': 'Eicar-Test-Signature' });
    const { scanFile } = createActivities(activityDeps({ s3, scanner: unreachableScanner() }));

    const failure = await failureOf(activityEnvironment({ attempt: 2 }).run(scanFile, input));

    expect(failure.type).toBe('Infected');
    expect(failure.details?.[0]).toMatchObject({ signature: 'Eicar-Test-Signature', quarantineKey: QUARANTINE });
  });

  it('throws a retryable error when clamd is unreachable, and passes nothing as clean', async () => {
    const s3 = new FakeS3();
    s3.put(INCOMING, bytes);
    const { scanFile } = createActivities(activityDeps({ s3, scanner: unreachableScanner() }));

    const error = await activityEnvironment()
      .run(scanFile, input)
      .then(
        () => expect.fail('the scan should have failed'),
        (e: unknown) => e as Error,
      );

    // Not an ApplicationFailure: Temporal retries it with the activity's retry policy.
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(s3.keys()).toEqual([INCOMING]);
  });

  it('rejects a file longer than clamd accepts instead of retrying it', async () => {
    const s3 = new FakeS3();
    s3.put(INCOMING, bytes);
    const config = testConfig({ CLAMD_MAX_STREAM_BYTES: '16', INTAKE_MAX_UPLOAD_BYTES: '16' });
    const { scanFile } = createActivities(
      activityDeps({ s3, config, scanner: fakeScanner(() => ({ infected: false, signature: null })) }),
    );

    const failure = await failureOf(activityEnvironment().run(scanFile, input));

    expect(failure.type).toBe('Rejected');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/StreamMaxLength/);
  });

  it('rejects a file clamd itself refuses as over its stream limit', async () => {
    const s3 = new FakeS3();
    s3.put(INCOMING, bytes);
    const { scanFile } = createActivities(
      activityDeps({ s3, scanner: fakeScanner(() => new ScanSizeLimitError('INSTREAM size limit exceeded')) }),
    );

    const failure = await failureOf(activityEnvironment().run(scanFile, input));

    expect(failure.type).toBe('Rejected');
    expect(failure.nonRetryable).toBe(true);
  });

  it('fails non-retryably when the upload is gone and was never quarantined', async () => {
    const { scanFile } = createActivities(activityDeps({ s3: new FakeS3() }));

    const failure = await failureOf(activityEnvironment().run(scanFile, input));

    expect(failure.type).toBe('ObjectMissing');
    expect(failure.nonRetryable).toBe(true);
  });
});

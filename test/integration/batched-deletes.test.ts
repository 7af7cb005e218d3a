import type { DeleteObjectsCommandInput, DeleteObjectsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/create-activities';
import { createObjectDeleter } from '../../lib/batched-deletes';
import { createS3Client } from '../../lib/s3-client';
import { deleteKeys } from '../../lib/s3-objects';
import { storageKeys } from '../../lib/storage-keys';
import {
  createTenant,
  exists,
  newFileId,
  openActivityStack,
  putObject,
  runActivity,
  type ActivityStack,
} from './activities-stack';

/*
 * Deletion against the real MinIO. Per-key errors are injected by a middleware on a real S3 client:
 * it holds chosen keys back from a DeleteObjects request (MinIO never sees them, so they stay stored)
 * and reports each as S3 does, as an entry of the response's Errors, the request itself succeeding.
 */

const TENANT = 'acme-batched-deletes';
let stack: ActivityStack;

beforeAll(async () => {
  stack = await openActivityStack();
  await createTenant(stack.db, TENANT);
});
afterAll(async () => {
  await stack?.close();
});

interface Observed {
  s3: S3Client;
  /** The keys of each DeleteObjects request, in order. */
  requests: string[][];
  /** Keys reported as failed: each entry is how many more requests refuse it (Infinity: always). */
  refuse: Map<string, number>;
}

function observedS3(): Observed {
  const s3 = createS3Client(stack.config.s3);
  const observed: Observed = { s3, requests: [], refuse: new Map() };
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'DeleteObjectsCommand') return next(args);
      const input = args.input as DeleteObjectsCommandInput;
      const objects = input.Delete?.Objects ?? [];
      observed.requests.push(objects.map((o) => o.Key ?? ''));
      const refused = objects.filter((o) => (observed.refuse.get(o.Key ?? '') ?? 0) > 0);
      for (const o of refused) observed.refuse.set(o.Key!, observed.refuse.get(o.Key!)! - 1);
      const sent = objects.filter((o) => !refused.includes(o));
      const result =
        sent.length > 0
          ? await next({ ...args, input: { ...input, Delete: { ...input.Delete, Objects: sent } } })
          : { output: { $metadata: {} } as DeleteObjectsCommandOutput, response: {} };
      const output = result.output as DeleteObjectsCommandOutput;
      output.Errors = [
        ...(output.Errors ?? []),
        ...refused.map((o) => ({ Key: o.Key, Code: 'InternalError', Message: 'We encountered an internal error.' })),
      ];
      return result;
    },
    { step: 'initialize', name: 'injectDeleteErrors' },
  );
  return observed;
}

/** A stored file's objects: its original and three renditions (as a READY image has). */
async function storedFile(): Promise<{ fileId: string; keys: string[] }> {
  const fileId = newFileId();
  const keys = [
    storageKeys.original(TENANT, fileId),
    ...['thumb', 'medium', 'large'].map((name) => storageKeys.rendition(TENANT, fileId, name)),
  ];
  await Promise.all(keys.map((key) => putObject(stack, key, `bytes of ${key}`)));
  return { fileId, keys };
}

const allGone = async (keys: string[]) => (await Promise.all(keys.map((key) => exists(stack, key)))).every((e) => !e);

describe('batched deletes', () => {
  it('deleting many files at once removes every artifact in far fewer DeleteObjects requests than files', async () => {
    const observed = observedS3();
    const activities = createActivities({ ...stack, s3: observed.s3 });
    const files = await Promise.all(Array.from({ length: 40 }, () => storedFile()));

    await Promise.all(
      files.map(({ fileId }) =>
        runActivity(activities.deleteArtifacts, { fileId, tenantId: TENANT, reason: 'expired' }),
      ),
    );

    for (const file of files) expect(await allGone(file.keys)).toBe(true);
    // Each file asks for 7 keys (incoming, original, quarantine and its 4 listed ones, two of them
    // twice): 40 files coalesce into a handful of requests, not 40.
    expect(observed.requests.length).toBeLessThanOrEqual(8);
    expect(observed.requests.flat()).toEqual(expect.arrayContaining(files.flatMap((f) => f.keys)));
    observed.s3.destroy();
  });

  it('keys S3 reports an error for are sent again until they are deleted, never ignored', async () => {
    const observed = observedS3();
    const deleter = createObjectDeleter({ s3: observed.s3, bucket: stack.config.s3.bucket, retryDelayMs: 10 });
    const files = await Promise.all(Array.from({ length: 5 }, () => storedFile()));
    const flaky = [files[0]!.keys[0]!, files[3]!.keys[2]!];
    observed.refuse.set(flaky[0]!, 1);
    observed.refuse.set(flaky[1]!, 2);

    await Promise.all(files.map((file) => deleter.deleteKeys(file.keys)));

    for (const file of files) expect(await allGone(file.keys)).toBe(true);
    expect(observed.requests.filter((keys) => keys.includes(flaky[0]!))).toHaveLength(2);
    expect(observed.requests.filter((keys) => keys.includes(flaky[1]!))).toHaveLength(3);
    observed.s3.destroy();
  });

  it('a key S3 keeps refusing fails its deletion, naming the key, and the file is not tombstoned', async () => {
    const observed = observedS3();
    const activities = createActivities({ ...stack, s3: observed.s3 });
    const kept = await storedFile();
    const other = await storedFile();
    const stubborn = kept.keys[1]!;
    observed.refuse.set(stubborn, Number.POSITIVE_INFINITY);
    await stack.db.file.create({
      data: {
        id: kept.fileId,
        tenantId: TENANT,
        workflowId: `upload-${kept.fileId}`,
        filename: 'kept.txt',
        status: 'READY',
        contentType: 'text/plain',
        size: 1,
        storageKey: kept.keys[0]!,
      },
    });

    const [keptResult, otherResult] = await Promise.allSettled([
      runActivity(activities.deleteArtifacts, { fileId: kept.fileId, tenantId: TENANT, reason: 'expired' }),
      runActivity(activities.deleteArtifacts, { fileId: other.fileId, tenantId: TENANT, reason: 'expired' }),
    ]);

    expect(keptResult.status).toBe('rejected');
    expect(String((keptResult as PromiseRejectedResult).reason)).toContain(stubborn);
    expect(otherResult.status).toBe('fulfilled');
    expect(await allGone(other.keys)).toBe(true);
    expect(await exists(stack, stubborn)).toBe(true);
    expect((await stack.db.file.findUniqueOrThrow({ where: { id: kept.fileId } })).status).toBe('READY');

    // Once S3 deletes it, the retried activity finishes the job.
    observed.refuse.delete(stubborn);
    await runActivity(activities.deleteArtifacts, { fileId: kept.fileId, tenantId: TENANT, reason: 'expired' });
    expect(await allGone(kept.keys)).toBe(true);
    expect((await stack.db.file.findUniqueOrThrow({ where: { id: kept.fileId } })).status).toBe('DELETED');
    observed.s3.destroy();
  });

  it('the unbatched deleteKeys also retries per-key errors and throws for a key S3 keeps', async () => {
    const observed = observedS3();
    const file = await storedFile();
    observed.refuse.set(file.keys[2]!, 1);
    await deleteKeys(observed.s3, stack.config.s3.bucket, file.keys);
    expect(await allGone(file.keys)).toBe(true);
    expect(observed.requests).toHaveLength(2);

    const kept = await storedFile();
    observed.refuse.set(kept.keys[0]!, Number.POSITIVE_INFINITY);
    await expect(deleteKeys(observed.s3, stack.config.s3.bucket, kept.keys)).rejects.toThrow(kept.keys[0]!);
    expect(await exists(stack, kept.keys[0]!)).toBe(true);
    observed.s3.destroy();
  });
});

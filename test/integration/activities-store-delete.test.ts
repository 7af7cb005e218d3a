import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreInput } from '../../activities/types';
import { listKeys } from '../../lib/s3-objects';
import { storageKeys } from '../../lib/storage-keys';
import type { FileState, StepName, StepStatus } from '../../common/domain';
import {
  createTenant,
  exists,
  getObject,
  newFileId,
  openActivityStack,
  putObject,
  runActivity,
  type ActivityStack,
} from './activities-stack';

const TENANT = 'acme-store';
let stack: ActivityStack;

beforeAll(async () => {
  stack = await openActivityStack();
  await createTenant(stack.db, TENANT);
});
afterAll(async () => {
  await stack?.close();
});

const done: StepStatus = { state: 'done', attempts: 1, startedAt: null, finishedAt: null, error: null };
const steps = Object.fromEntries(
  (['scan', 'validate', 'resize', 'store', 'index', 'notify'] as StepName[]).map((name) => [name, done]),
) as Record<StepName, StepStatus>;

/** A text upload sitting in the incoming area, and the input storeFile would get for it. */
async function landedTextUpload(text: string, filename: string): Promise<StoreInput> {
  const fileId = newFileId();
  const incomingKey = storageKeys.incoming(TENANT, fileId);
  await putObject(stack, incomingKey, text);
  return {
    upload: {
      fileId,
      tenantId: TENANT,
      filename,
      declaredContentType: 'text/plain',
      size: Buffer.byteLength(text),
      incomingKey,
      tags: ['quarterly', 'finance'],
      callbackUrl: null,
      retentionMs: 60_000,
      createdAt: '2026-01-01T10:00:00.000Z',
    },
    scan: { sha256: createHash('sha256').update(text).digest('hex'), size: Buffer.byteLength(text) },
    validation: { contentType: 'text/plain', isImage: false, width: null, height: null },
    renditions: [],
  };
}

function stateFor(input: StoreInput, overrides: Partial<FileState> = {}): FileState {
  return {
    fileId: input.upload.fileId,
    tenantId: TENANT,
    filename: input.upload.filename,
    status: 'READY',
    reason: null,
    contentType: input.validation.contentType,
    size: input.scan.size,
    sha256: input.scan.sha256,
    width: null,
    height: null,
    renditions: [],
    tags: input.upload.tags,
    steps,
    createdAt: input.upload.createdAt,
    completedAt: '2026-01-01T10:00:05.000Z',
    expiresAt: '2026-01-01T10:01:05.000Z',
    hold: false,
    deletedAt: null,
    deletionReason: null,
    ...overrides,
  };
}

async function search(term: string): Promise<string[]> {
  const rows = await stack.db.$queryRaw<{ id: string }[]>`
    SELECT id FROM "File" WHERE "tenantId" = ${TENANT} AND "searchVector" @@ plainto_tsquery('simple', ${term})`;
  return rows.map((row) => row.id);
}

describe('storeFile, indexFile, recordFile and deleteArtifacts', () => {
  it('store the original once, however often they run, and make it searchable', async () => {
    const input = await landedTextUpload('The aardvark budget grew by nine percent.', 'Q3_report-final.txt');
    const { fileId, incomingKey } = input.upload;
    const originalKey = storageKeys.original(TENANT, fileId);

    expect(await runActivity(stack.activities.storeFile, input)).toEqual({ key: originalKey });
    expect(await runActivity(stack.activities.storeFile, input)).toEqual({ key: originalKey });
    expect(await exists(stack, incomingKey)).toBe(false);
    expect((await getObject(stack, originalKey)).toString()).toBe('The aardvark budget grew by nine percent.');
    const stored = await stack.db.file.findUniqueOrThrow({ where: { id: fileId } });
    expect(stored).toMatchObject({
      tenantId: TENANT,
      filename: 'Q3_report-final.txt',
      contentType: 'text/plain',
      size: BigInt(input.scan.size),
      sha256: input.scan.sha256,
      storageKey: originalKey,
      status: 'PROCESSING',
      tags: ['quarterly', 'finance'],
    });

    await runActivity(stack.activities.indexFile, { fileId, tenantId: TENANT });
    await runActivity(stack.activities.indexFile, { fileId, tenantId: TENANT });
    expect(await search('aardvark')).toEqual([fileId]);
    expect(await search('report')).toEqual([fileId]);
    expect(await search('finance')).toEqual([fileId]);
    expect(await search('zebra')).toEqual([]);

    await runActivity(stack.activities.recordFile, stateFor(input));
    await runActivity(stack.activities.recordFile, stateFor(input));
    const recorded = await stack.db.file.findUniqueOrThrow({ where: { id: fileId } });
    expect(recorded.status).toBe('READY');
    expect(recorded.expiresAt?.toISOString()).toBe('2026-01-01T10:01:05.000Z');
    expect(recorded.steps).toEqual(steps);
    // recordFile mirrors workflow state and leaves the storage facts storeFile wrote.
    expect(recorded.storageKey).toBe(originalKey);
  });

  it('fails storeFile non-retryably when the upload is in neither place', async () => {
    const input = await landedTextUpload('gone', 'gone.txt');
    await stack.activities.removeRenditions({ keys: [input.upload.incomingKey] });
    const error = await runActivity(stack.activities.storeFile, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('delete every artifact and leave the same tombstone when run twice', async () => {
    const input = await landedTextUpload('searchable platypus notes', 'notes.txt');
    const { fileId } = input.upload;
    await runActivity(stack.activities.storeFile, input);
    await runActivity(stack.activities.indexFile, { fileId, tenantId: TENANT });
    await runActivity(stack.activities.recordFile, stateFor(input));
    // Leftovers of every kind: a rendition, a quarantined copy and a stray incoming object.
    await putObject(stack, storageKeys.rendition(TENANT, fileId, 'thumb'), 'webp bytes');
    await putObject(stack, storageKeys.quarantine(TENANT, fileId), 'quarantined bytes');
    await putObject(stack, storageKeys.incoming(TENANT, fileId), 'incoming bytes');
    expect(await search('platypus')).toEqual([fileId]);

    await runActivity(stack.activities.deleteArtifacts, { fileId, tenantId: TENANT, reason: 'expired' });
    const first = await stack.db.file.findUniqueOrThrow({ where: { id: fileId } });
    await runActivity(stack.activities.deleteArtifacts, { fileId, tenantId: TENANT, reason: 'requested' });
    const second = await stack.db.file.findUniqueOrThrow({ where: { id: fileId } });

    const bucket = stack.config.s3.bucket;
    expect(await listKeys(stack.s3, bucket, storageKeys.filePrefix(TENANT, fileId))).toEqual([]);
    expect(await exists(stack, storageKeys.quarantine(TENANT, fileId))).toBe(false);
    expect(await exists(stack, storageKeys.incoming(TENANT, fileId))).toBe(false);
    expect(await search('platypus')).toEqual([]);
    // Same end state; only Prisma's updatedAt moves.
    expect({ ...second, updatedAt: null }).toEqual({ ...first, updatedAt: null });
    expect(second).toMatchObject({
      status: 'DELETED',
      deletionReason: 'expired',
      storageKey: null,
      quarantineKey: null,
      renditions: [],
      filename: 'notes.txt',
      sha256: input.scan.sha256,
    });
    expect(second.deletedAt).toBeInstanceOf(Date);

    // A late snapshot of the live file (a record racing the deletion) never revives the tombstone.
    await runActivity(stack.activities.recordFile, stateFor(input));
    const third = await stack.db.file.findUniqueOrThrow({ where: { id: fileId } });
    expect(third).toMatchObject({ status: 'DELETED', renditions: [], storageKey: null });
  });

  it('removeRenditions deletes the given keys and ignores missing ones', async () => {
    const fileId = newFileId();
    const keys = ['thumb', 'medium'].map((name) => storageKeys.rendition(TENANT, fileId, name));
    await putObject(stack, keys[0]!, 'x');
    await runActivity(stack.activities.removeRenditions, { keys });
    await runActivity(stack.activities.removeRenditions, { keys });
    expect(await listKeys(stack.s3, stack.config.s3.bucket, storageKeys.filePrefix(TENANT, fileId))).toEqual([]);
  });
});

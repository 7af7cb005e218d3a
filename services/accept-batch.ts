import type { S3Client } from '@aws-sdk/client-s3';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Logger } from 'pino';
import type { BatchInput, FileStatus } from '../common/domain';
import { batchExpectedSignal } from '../common/messages';
import { IntakeTenant } from '../common/search-attributes';
import { batchWorkflowIdFor, GENERAL_TASK_QUEUE } from '../common/task-queues';
import { newFileId, newId } from '../lib/ids';
import { discardObject } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import { deleteBatch, findBatchByIdempotencyKey, insertBatch, type NewBatchFile } from '../prisma/batches';
import type { Batch, Db } from '../prisma/db';
import { isUniqueViolation } from '../prisma/file-records';
import type { batchWorkflow } from '../workflows';
import {
  restartIfLost,
  startAcceptedUpload,
  UploadRefused,
  workflowExists,
  pinSchema,
  type AcceptedUpload,
  type SchemaPin,
  type AcceptUploadDeps,
  type UploadOptions,
} from './accept-upload';

/*
 * Accepting a batch: receive every part into the incoming area → insert the batch and its files in one
 * transaction → start the batch's workflow (told how many files to wait for) → start each file's
 * workflow. A body that breaks, options that are invalid, or a batch workflow that cannot start leave
 * nothing behind; a file whose own start is lost after that is repaired like a single upload's (its
 * next read, the client's retry with the same Idempotency-Key, or the sweeper), and tells its batch
 * when it ends.
 */

export const BATCH_WORKFLOW = 'batchWorkflow';

/** How many file workflows a batch starts at once: a thousand files must not open a thousand calls. */
const START_CONCURRENCY = 8;

export const newBatchId = () => newId('b');

/** Where the parts of one batch go, and how many and how large they may be. */
export interface BatchTarget {
  s3: S3Client;
  bucket: string;
  maxBytes: number;
  maxFiles: number;
  log: Logger;
  /** False when the parts are only read and counted (an Idempotency-Key replay). */
  store: boolean;
  newFileId(): string;
  keyFor(fileId: string): string;
}

/** One `file` part as it arrived. */
export interface ReceivedPart {
  fileId: string;
  key: string;
  /** The client's filename, untrusted and unsanitised. */
  filename: string | null;
  declaredContentType: string | null;
  size: number;
  /** Why the part cannot be processed (empty, too large); it still becomes a file, REJECTED. */
  refusal: string | null;
}

export interface ReceivedBatch {
  parts: ReceivedPart[];
  fields: Record<string, string[]>;
}

export interface BatchRequest {
  tenantId: string;
  idempotencyKey: string | null;
  useLog(log: Logger): void;
  receive(target: BatchTarget): Promise<ReceivedBatch>;
  /** The options every file of the batch gets, from the received fields. */
  readOptions(fields: Record<string, string[]>): UploadOptions;
  sanitizeFilename(raw: string | null | undefined): string;
}

export interface BatchMember {
  id: string;
  filename: string;
  status: FileStatus;
}

export interface AcceptBatchResult {
  batch: Batch;
  files: BatchMember[];
  /** True when the answer is an earlier batch with the same Idempotency-Key: nothing new started. */
  replayed: boolean;
  /** The bytes stored for this request's files (0 for a replay). */
  acceptedBytes: number;
}

/**
 * Signals a batch's workflow, starting it if it is not running: whichever producer or member speaks
 * first starts it. A batch that completed stays completed: the reuse policy refuses a second run, which
 * would wait for ever (WorkflowExecutionAlreadyStartedError tells the caller).
 */
export async function signalBatch<Args extends unknown[]>(
  client: Client,
  input: BatchInput,
  signal: SignalDefinition<Args>,
  args: Args,
): Promise<void> {
  // The SDK's option types cannot be resolved for a generic Args; the signature above keeps callers typed.
  await client.workflow.signalWithStart<typeof batchWorkflow, unknown[]>(BATCH_WORKFLOW, {
    workflowId: batchWorkflowIdFor(input.batchId),
    taskQueue: GENERAL_TASK_QUEUE,
    args: [input],
    signal: signal as SignalDefinition<unknown[]>,
    signalArgs: args,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    // Listed with the tenant's uploads in the Temporal UI (IntakeTenant = "…").
    typedSearchAttributes: [{ key: IntakeTenant, value: input.tenantId }],
  });
}

/** The batch workflow's start for a batch whose file count is known at once (POST /v1/batches). */
export function startBatchWorkflow(client: Client, input: BatchInput, expected: number): Promise<void> {
  return signalBatch(client, input, batchExpectedSignal, [{ count: expected }]);
}

export async function acceptBatch(deps: AcceptUploadDeps, request: BatchRequest): Promise<AcceptBatchResult> {
  const { config, s3 } = deps;
  const { tenantId, idempotencyKey } = request;

  if (idempotencyKey) {
    const existing = await deps.withDb((db) => findBatchByIdempotencyKey(db, tenantId, idempotencyKey));
    if (existing) return replayBatch(deps, request, existing);
  }

  const batchId = newBatchId();
  const log = deps.log.child({ batchId });
  request.useLog(log);
  const received = await request.receive(batchTarget(deps, tenantId, log, true));
  const discardParts = () =>
    Promise.allSettled(
      received.parts.map((part) => discardObject({ s3, bucket: config.s3.bucket, key: part.key, log })),
    );

  let options: UploadOptions;
  let schema: SchemaPin | null = null;
  try {
    options = request.readOptions(received.fields);
    const { schemaName } = options;
    if (schemaName) schema = await deps.withDb((db) => pinSchema(db, tenantId, schemaName));
  } catch (error) {
    await discardParts();
    throw error;
  }
  const createdAt = new Date();
  const uploads: AcceptedUpload[] = received.parts.map((part) => ({
    fileId: part.fileId,
    tenantId,
    filename: request.sanitizeFilename(part.filename),
    declaredContentType: part.declaredContentType,
    size: part.size,
    incomingKey: part.key,
    tags: options.tags,
    callbackUrl: options.callbackUrl,
    retentionMs: options.retentionMs,
    createdAt,
    batchId,
    ...(part.refusal === null ? {} : { refusal: part.refusal }),
    ...(schema ? { schema } : {}),
  }));

  let batch: Batch;
  try {
    batch = await deps.withDb((db) =>
      insertBatch(
        db,
        { id: batchId, tenantId, fileCount: uploads.length, idempotencyKey, createdAt },
        uploads.map(rowOf),
        deps.limits,
      ),
    );
  } catch (error) {
    await discardParts();
    if (idempotencyKey && isUniqueViolation(error)) {
      // A concurrent request with the same key won the race: answer with its batch.
      const winner = await deps.withDb((db) => findBatchByIdempotencyKey(db, tenantId, idempotencyKey));
      if (winner) return { batch: winner, files: await membersOf(deps, winner), replayed: true, acceptedBytes: 0 };
    }
    throw error;
  }

  const input: BatchInput = { batchId, tenantId, callbackUrl: options.callbackUrl, createdAt: createdAt.toISOString() };
  try {
    await deps.withTemporal((client) => startBatchWorkflow(client, input, uploads.length));
  } catch (error) {
    const started = await batchStartedAfterAll(deps, batchId, error);
    if (started !== true) {
      log.error({ err: error }, 'could not start the batch workflow');
      if (started === false || !idempotencyKey) {
        // No file has started yet: undo everything; the client retries.
        await Promise.allSettled([deps.withDb((db) => deleteBatch(db, batchId)), discardParts()]);
      } else {
        log.warn('kept the batch for the retry with its Idempotency-Key to repair');
      }
      throw new UploadRefused(
        'processing_not_started',
        'Could not start processing (Temporal unavailable); retry later',
      );
    }
  }

  const lost = await startEach(uploads, async (upload) => {
    await deps.withTemporal((client) => startAcceptedUpload(client, config, upload));
  });
  if (lost.length > 0) {
    // Each is still PROCESSING with its bytes: its next read, a retry with this key or the sweeper starts it.
    log.error({ files: lost.length, err: lost[0] }, 'could not start the workflows of some files of the batch');
  }
  log.info(
    { files: uploads.length, refused: received.parts.filter((p) => p.refusal !== null).length },
    'batch accepted',
  );
  return {
    batch,
    files: uploads.map((upload) => ({ id: upload.fileId, filename: upload.filename, status: 'PROCESSING' })),
    replayed: false,
    acceptedBytes: received.parts.reduce((sum, part) => sum + (part.refusal === null ? part.size : 0), 0),
  };
}

function batchTarget(deps: AcceptUploadDeps, tenantId: string, log: Logger, store: boolean): BatchTarget {
  const { config, s3 } = deps;
  return {
    s3,
    bucket: config.s3.bucket,
    maxBytes: config.limits.maxUploadBytes,
    maxFiles: config.limits.maxBatchFiles,
    log,
    store,
    newFileId,
    keyFor: (fileId) => storageKeys.incoming(tenantId, fileId),
  };
}

/** A member's row: PROCESSING, its refusal (if any) kept as the reason its workflow records. */
function rowOf(upload: AcceptedUpload): NewBatchFile {
  return {
    id: upload.fileId,
    tenantId: upload.tenantId,
    filename: upload.filename,
    declaredContentType: upload.declaredContentType,
    size: upload.size,
    tags: upload.tags,
    callbackUrl: upload.callbackUrl,
    retentionMs: upload.retentionMs,
    storageKey: upload.refusal === undefined ? upload.incomingKey : null,
    reason: upload.refusal ?? null,
    ...(upload.schema ? { schemaName: upload.schema.name, schemaVersion: upload.schema.version } : {}),
  };
}

/** Runs `start` for every upload, a few at a time; returns the errors of those that did not start. */
async function startEach<T>(items: readonly T[], start: (item: T) => Promise<unknown>) {
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await start(item);
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, items.length) }, worker));
  return errors;
}

async function batchStartedAfterAll(deps: AcceptUploadDeps, batchId: string, error: unknown) {
  if (error instanceof WorkflowExecutionAlreadyStartedError) return true;
  try {
    return await deps.withTemporal((client) => workflowExists(client, batchWorkflowIdFor(batchId)));
  } catch {
    return undefined;
  }
}

async function membersOf(deps: AcceptUploadDeps, batch: Batch): Promise<BatchMember[]> {
  const rows = await deps.withDb((db: Db) =>
    db.file.findMany({
      where: { batchId: batch.id },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, filename: true, status: true },
    }),
  );
  return rows.map((row) => ({ ...row, status: row.status as FileStatus }));
}

/**
 * A request repeating an Idempotency-Key answers with the first batch once what it declares matches:
 * the same files (names and sizes, in order) and options. Its body is read and counted, not stored. A
 * first batch whose workflows did not all start is repaired now: the batch workflow is started if it
 * is missing, and each file still PROCESSING without its workflow is started.
 */
async function replayBatch(deps: AcceptUploadDeps, request: BatchRequest, existing: Batch): Promise<AcceptBatchResult> {
  const received = await request.receive(batchTarget(deps, existing.tenantId, deps.log, false));
  const options = request.readOptions(received.fields);
  const rows = await deps.withDb((db) =>
    db.file.findMany({ where: { batchId: existing.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
  );
  // Rows of one batch share createdAt; their order is the parts' only when compared as sets.
  const declared = (names: { filename: string; size: number }[]) =>
    names.map((n) => `${n.filename}\u0000${n.size}`).sort();
  const now = declared(
    received.parts.map((part) => ({
      filename: request.sanitizeFilename(part.filename),
      size: part.refusal === null ? part.size : -1,
    })),
  );
  const before = declared(
    rows.map((row) => ({ filename: row.filename, size: row.reason === null ? Number(row.size) : -1 })),
  );
  const first = rows[0];
  const sameOptions =
    first === undefined ||
    (options.tags.join(',') === first.tags.join(',') &&
      options.callbackUrl === first.callbackUrl &&
      (first.retentionMs === null || options.retentionMs === Number(first.retentionMs)));
  if (now.join('\n') !== before.join('\n') || !sameOptions) {
    throw new UploadRefused(
      'idempotency_key_reused',
      'This Idempotency-Key was first used for a different batch (its files or options differ); use a new key for a new batch',
    );
  }
  if (existing.status === 'PROCESSING') {
    const input: BatchInput = {
      batchId: existing.id,
      tenantId: existing.tenantId,
      callbackUrl: first?.callbackUrl ?? null,
      createdAt: existing.createdAt.toISOString(),
    };
    await deps
      .withTemporal((client) => startBatchWorkflow(client, input, rows.length))
      .catch((error: unknown) => {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      });
    const processing = rows.filter((row) => row.status === 'PROCESSING');
    const lost = await startEach(processing, (row) => restartIfLost(deps, row, 'a retried batch'));
    if (lost.length > 0) throw lost[0];
  }
  return {
    batch: existing,
    files: rows.map((row) => ({ id: row.id, filename: row.filename, status: row.status as FileStatus })),
    replayed: true,
    acceptedBytes: 0,
  };
}

import type { S3Client } from '@aws-sdk/client-s3';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/env';
import { GENERAL_TASK_QUEUE, workflowIdFor } from '../common/task-queues';
import type { DeclaredFacts, UploadInput } from '../common/domain';
import { IntakeFilename, IntakeHold, IntakeStatus, IntakeTenant } from '../common/search-attributes';
import { newFileId } from '../lib/ids';
import { currentTraceId } from '../lib/tracing';
import { discardObject, objectExists } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import type { Db, Prisma } from '../prisma/db';
import { findByIdempotencyKey, findTenantFile, isUniqueViolation, type FileRecord } from '../prisma/file-records';
import { deleteRow, insertProcessing } from '../prisma/files';
import { releaseReservation, reserveUpload } from '../prisma/quotas';
import type { TenantLimits } from '../common/tenant-limits';
import type { uploadWorkflow } from '../workflows';
import { findCurrentSchema } from '../prisma/json-schemas';

/*
 * Accepting an upload: receive its bytes into the incoming area → insert its PROCESSING File row →
 * start its workflow. The API runs all three for a new upload; the sweeper runs only the last for an
 * accepted upload whose start was lost, through the same startAcceptedUpload.
 */

/** The workflow runs on the worker; starters need only its type and start it by name. */
export const UPLOAD_WORKFLOW = 'uploadWorkflow';

/** What is known about an upload once its bytes sit in the incoming area and its File row exists. */
export type AcceptedUpload = Omit<UploadInput, 'retentionMinMs' | 'retentionMaxMs' | 'createdAt'> & {
  createdAt: Date;
  /** Kept with the row only: the validate step reads it from Postgres, so workflow input stays as it was. */
  schema?: SchemaPin;
};

/**
 * The upload workflow's input. The API builds it for a new upload and the sweeper for an upload whose
 * workflow never started, so both starts look the same to the workflow.
 */
export function buildUploadInput(config: Pick<Config, 'retention'>, upload: AcceptedUpload): UploadInput {
  // Field by field: whatever else a caller's object carries must not ride along in workflow history.
  return {
    fileId: upload.fileId,
    tenantId: upload.tenantId,
    filename: upload.filename,
    declaredContentType: upload.declaredContentType,
    size: upload.size,
    incomingKey: upload.incomingKey,
    tags: upload.tags,
    callbackUrl: upload.callbackUrl,
    retentionMs: upload.retentionMs,
    retentionMinMs: config.retention.minMs,
    retentionMaxMs: config.retention.maxMs,
    quarantineRetentionMs: config.retention.quarantineMs,
    ...(upload.declared ? { declared: { size: upload.declared.size, sha256: upload.declared.sha256 } } : {}),
    createdAt: upload.createdAt.toISOString(),
    // Only batch members carry these, so a single upload's input stays what it always was.
    ...(upload.batchId === undefined ? {} : { batchId: upload.batchId }),
    ...(upload.refusal === undefined ? {} : { refusal: upload.refusal }),
  };
}

/**
 * Starts the accepted upload's workflow under its deterministic id, so a second start (a retried
 * request, the sweeper racing the API) fails with WorkflowExecutionAlreadyStartedError instead of
 * duplicating work.
 */
export function startAcceptedUpload(
  client: Client,
  config: Pick<Config, 'retention'>,
  upload: AcceptedUpload,
): Promise<WorkflowHandle<typeof uploadWorkflow>> {
  const input = buildUploadInput(config, upload);
  return client.workflow.start<typeof uploadWorkflow>(UPLOAD_WORKFLOW, {
    workflowId: workflowIdFor(input.fileId),
    taskQueue: GENERAL_TASK_QUEUE,
    args: [input],
    typedSearchAttributes: [
      { key: IntakeStatus, value: 'PROCESSING' },
      { key: IntakeTenant, value: input.tenantId },
      { key: IntakeFilename, value: input.filename },
      { key: IntakeHold, value: false },
    ],
  });
}

/** Where the bytes of one upload go, and how many may come. */
/** The accepted upload a PROCESSING File row describes, to start its workflow again. */
export function acceptedUploadOf(
  row: FileRecord,
  config: Pick<Config, 'retention'>,
  declared?: DeclaredFacts,
): AcceptedUpload {
  return {
    ...(declared ? { declared } : {}),
    fileId: row.id,
    tenantId: row.tenantId,
    filename: row.filename,
    declaredContentType: row.declaredContentType,
    size: Number(row.size),
    // Deterministic from the ids: where the API put the bytes, whatever the row's storageKey says now.
    incomingKey: storageKeys.incoming(row.tenantId, row.id),
    tags: row.tags,
    callbackUrl: row.callbackUrl,
    // Kept with the row since it existed; older rows get the default (the tenant can still change it).
    retentionMs: row.retentionMs === null ? config.retention.defaultMs : Number(row.retentionMs),
    createdAt: row.createdAt,
    ...(row.batchId === null ? {} : { batchId: row.batchId }),
    // A batch part refused on arrival is inserted PROCESSING with its refusal as the reason.
    ...(row.batchId !== null && row.reason !== null ? { refusal: row.reason } : {}),
  };
}

/** Whether Temporal has the workflow; throws when Temporal cannot say (it is unreachable). */
export async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

export interface UploadTarget {
  s3: S3Client;
  bucket: string;
  key: string;
  maxBytes: number;
  log: Logger;
}

export interface ReceivedUpload {
  /** The client's filename, untrusted and unsanitised (see sanitizeFilename). */
  filename: string | null;
  /** The declared Content-Type of the part or body; null when absent or generic. */
  declaredContentType: string | null;
  size: number;
  /** Multipart text fields (repeated fields keep every value). Empty for raw uploads. */
  fields: Record<string, string[]>;
}

/** The options an upload may carry, parsed and checked. */
export interface UploadOptions {
  callbackUrl: string | null;
  retentionMs: number;
  tags: string[];
  /** The tenant's JSON Schema the upload names (schema=<name>), if any. */
  schemaName?: string | null;
}

/** The schema an upload is checked against: the version that was current when it arrived. */
export interface SchemaPin {
  name: string;
  version: number;
}

/**
 * Pins the tenant's current version of `name`. An unknown name is refused now, at upload time, rather
 * than failing the file later: the client learns of its typo while it still holds the file.
 */
export async function pinSchema(db: Db, tenantId: string, name: string): Promise<SchemaPin> {
  const row = await findCurrentSchema(db, tenantId, name);
  if (!row) {
    throw new UploadRefused('unknown_schema', `No JSON Schema named "${name}" is registered (PUT /v1/schemas/${name})`);
  }
  return { name, version: row.version };
}

/** Why an upload was not accepted: a field it carries (invalid_request), or the service's own reason. */
export type UploadRefusalReason =
  | 'invalid_request'
  | 'empty_file'
  | 'processing_not_started'
  | 'idempotency_key_reused'
  | 'upload_not_found'
  | 'upload_expired'
  | 'upload_incomplete'
  | 'unknown_schema';

export class UploadRefused extends Error {
  override name = 'UploadRefused';
  constructor(
    readonly reason: UploadRefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export interface AcceptUploadDeps {
  config: Config;
  s3: S3Client;
  log: Logger;
  /** Runs one Postgres call; the API bounds it with a deadline so a silent database is a quick 503. */
  withDb: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  /** Runs one Temporal call, bounded the same way. */
  withTemporal: <T>(fn: (client: Client) => Promise<T>) => Promise<T>;
  /** The tenant's limits; the storage and file quotas are reserved against them. */
  limits: TenantLimits;
}

/** One upload request, with the transport-specific steps the caller supplies. */
export interface UploadRequest {
  tenantId: string;
  idempotencyKey: string | null;
  /**
   * A file id the caller derived (a Kafka message's, from its key or its position): a second request
   * with the same id answers with the first upload instead of making another. A random one otherwise.
   */
  fileId?: string;
  /** Where the upload came from when not over HTTP, kept with its row (File.ingestSource). */
  source?: Prisma.InputJsonObject;
  /** The batch the file belongs to (a Kafka batch's): its row must exist and its workflow must run. */
  batchId?: string;
  /** The filename to use when the received body names none (a raw upload's ?filename=). */
  fallbackFilename: string | undefined;
  /** Checks what can be checked before any byte is stored; runs after the idempotency look-up. */
  checkBeforeReceiving(): void;
  /**
   * The most bytes the body can hold (its Content-Length), when known: reserved against the quota
   * before any byte is stored. Unknown (chunked), the quota is reserved right after streaming.
   */
  expectedBytes: number | null;
  /** Once the upload has its ids: the caller's request log is replaced by this one. */
  useLog(log: Logger): void;
  /** Streams the body to the target; throws (and leaves nothing stored) when it cannot. */
  receive(target: UploadTarget): Promise<ReceivedUpload>;
  /** Parses the options, from received fields and anything the caller already holds. */
  readOptions(fields: Record<string, string[]>): UploadOptions;
  /** Turns a client's filename into one that is safe to store and serve. */
  sanitizeFilename(raw: string | null | undefined): string;
}

export interface AcceptUploadResult {
  row: FileRecord;
  /** True when the answer is an earlier upload with the same Idempotency-Key: nothing new started. */
  replayed: boolean;
}

/**
 * Receive → insert row → start workflow, undoing what was done when a later step fails, so an upload
 * is either fully accepted (bytes, row and workflow) or leaves nothing behind.
 */
export async function acceptUpload(deps: AcceptUploadDeps, request: UploadRequest): Promise<AcceptUploadResult> {
  const { config, s3 } = deps;
  const { tenantId, idempotencyKey } = request;

  const existing = await deps.withDb((db) => findEarlier(db, request));
  if (existing) return replayUpload(deps, request, existing);
  request.checkBeforeReceiving();

  const fileId = request.fileId ?? newFileId();
  // With a derived id a later request repeats this one, so the row and bytes may stay for it to repair.
  const repeatable = Boolean(idempotencyKey || request.fileId);
  const log = deps.log.child({ fileId, workflowId: workflowIdFor(fileId) });
  request.useLog(log);
  const target: UploadTarget = {
    s3,
    bucket: config.s3.bucket,
    key: storageKeys.incoming(tenantId, fileId),
    maxBytes: config.limits.maxUploadBytes,
    log,
  };

  // Reserved before a byte is stored when the body's length is known; an upload that ends short gives
  // the difference back, one that fails gives it all back.
  let reserved = 0;
  const giveBack = async () => {
    if (reserved === 0) return;
    const bytes = reserved;
    reserved = 0;
    await deps
      .withDb((db) => releaseReservation(db, tenantId, bytes))
      .catch((error: unknown) => {
        log.error({ err: error, bytes }, 'could not release a quota reservation');
      });
  };
  if (request.expectedBytes !== null) {
    const bytes = Math.max(1, Math.min(request.expectedBytes, config.limits.maxUploadBytes));
    await deps.withDb((db) => reserveUpload(db, tenantId, deps.limits, bytes));
    reserved = bytes;
  }

  let received: ReceivedUpload;
  let options: UploadOptions;
  let schema: SchemaPin | undefined;
  try {
    received = await request.receive(target);
  } catch (error) {
    await giveBack();
    throw error;
  }
  try {
    options = request.readOptions(received.fields);
    if (received.size === 0) throw new UploadRefused('empty_file', 'The uploaded file is empty (0 bytes)');
    if (reserved === 0) {
      // The length was unknown: reserve now; a full quota removes the bytes before the 403.
      await deps.withDb((db) => reserveUpload(db, tenantId, deps.limits, received.size));
    } else if (received.size > reserved) {
      // Cannot happen with an honest Content-Length (the body stops there); charge what arrived.
      await deps.withDb((db) => reserveUpload(db, tenantId, deps.limits, received.size - reserved, 0));
    } else if (received.size < reserved) {
      await deps.withDb((db) => releaseReservation(db, tenantId, reserved - received.size, 0));
    }
    reserved = received.size;
    if (options.schemaName) {
      const name = options.schemaName;
      schema = await deps.withDb((db) => pinSchema(db, tenantId, name));
    }
  } catch (error) {
    await discardObject(target);
    await giveBack();
    throw error;
  }

  const upload: AcceptedUpload = {
    fileId,
    tenantId,
    filename: request.sanitizeFilename(received.filename ?? request.fallbackFilename),
    declaredContentType: received.declaredContentType,
    size: received.size,
    incomingKey: target.key,
    tags: options.tags,
    callbackUrl: options.callbackUrl,
    retentionMs: options.retentionMs,
    createdAt: new Date(),
    ...(request.batchId === undefined ? {} : { batchId: request.batchId }),
    ...(schema ? { schema } : {}),
  };
  try {
    return await admitUpload({ ...deps, log }, upload, {
      idempotencyKey,
      discard: () => discardObject(target),
      retryRepairs: repeatable,
      ...(request.source ? { source: request.source } : {}),
      // From here on the File row carries the reservation (File.chargedBytes) and releases it.
      onRowInserted: () => void (reserved = 0),
      charged: true,
    });
  } catch (error) {
    await giveBack();
    if (!isUniqueViolation(error)) throw error;
    // A concurrent request with the same key or derived id won the race: answer with its file.
    const winner = repeatable ? await deps.withDb((db) => findEarlier(db, request)) : null;
    // The winner of a derived id owns the bytes at this very key (the same bytes): keep them.
    if (winner?.id !== fileId) await discardObject(target);
    if (winner) return { row: winner, replayed: true };
    if (request.fileId) {
      // Another tenant's file holds the derived id: this request can never be accepted under it.
      throw new UploadRefused('idempotency_key_reused', `The file id ${fileId} derived for this upload is taken`);
    }
    throw error;
  }
}

export interface AdmitOptions {
  idempotencyKey: string | null;
  /** Removes the upload's bytes when the upload is undone; a direct upload keeps them for its retry. */
  discard: () => Promise<void>;
  /**
   * Whether a retry by the client can repair a start whose outcome Temporal cannot tell (a retry with
   * the same Idempotency-Key, or of a direct upload's complete): then the row and bytes stay for it.
   */
  retryRepairs: boolean;
  /** Where the upload came from when not over HTTP, kept with its row (File.ingestSource). */
  source?: Prisma.InputJsonObject;
  /** Whether the upload's quota is reserved already: its row then carries the charge (File.chargedBytes). */
  charged: boolean;
  onRowInserted?: () => void;
}

/**
 * The second half of accepting an upload whose bytes are in the incoming area: insert its PROCESSING row,
 * then start its workflow, undoing the row (and, through `discard`, the bytes) when the start surely
 * failed. POST /v1/files, a Kafka message and a direct upload's complete all go through here. A unique
 * violation on the insert (the same key or file raced) is thrown with the bytes left in place: with a
 * derived file id the winner owns those very bytes, so only the caller can tell whether to discard them.
 */
export async function admitUpload(
  deps: AcceptUploadDeps,
  upload: AcceptedUpload,
  options: AdmitOptions,
): Promise<AcceptUploadResult> {
  const { config, log } = deps;
  const workflowId = workflowIdFor(upload.fileId);
  let row: FileRecord;
  try {
    row = await deps.withDb((db) =>
      insertUploadRow(db, upload, workflowId, options.idempotencyKey, {
        source: options.source,
        chargedBytes: options.charged ? upload.size : undefined,
      }),
    );
    options.onRowInserted?.();
  } catch (error) {
    if (!isUniqueViolation(error)) await options.discard();
    throw error;
  }

  try {
    await deps.withTemporal((client) => startAcceptedUpload(client, config, upload));
  } catch (error) {
    // A start that timed out may still have started the workflow: ask Temporal (the id is
    // deterministic) before undoing anything a running upload needs.
    const started = await startedAfterAll(deps, workflowId, error);
    if (started === true) {
      log.warn({ err: error }, 'the workflow start answered with an error, but the workflow runs');
      log.info({ size: upload.size, declaredContentType: upload.declaredContentType }, 'upload accepted');
      return { row, replayed: false };
    }
    log.error({ err: error }, 'could not start the upload workflow');
    if (started === false || !options.retryRepairs) {
      // Without a workflow nothing would ever process or delete the upload: undo it; the client retries.
      await Promise.allSettled([deps.withDb((db) => deleteRow(db, upload.fileId)), options.discard()]);
    } else {
      // Temporal cannot say. The row and bytes stay: the client's retry (the same Idempotency-Key, a
      // redelivered message, a direct upload's complete) starts the workflow if it is missing, and so would
      // the sweeper.
      log.warn('kept the row and bytes for the retry to repair');
    }
    throw new UploadRefused('processing_not_started', 'Could not start processing (Temporal unavailable); retry later');
  }
  log.info({ size: upload.size, declaredContentType: upload.declaredContentType }, 'upload accepted');
  return { row, replayed: false };
}

/** The upload an earlier request with the same Idempotency-Key or derived file id made, if any. */
async function findEarlier(db: Db, request: UploadRequest): Promise<FileRecord | null> {
  // A key is stored with the row it names, so with a key the look-up by key is the whole answer.
  if (request.idempotencyKey) return findByIdempotencyKey(db, request.tenantId, request.idempotencyKey);
  return request.fileId ? findTenantFile(db, request.tenantId, request.fileId) : null;
}

/** After a failed start: true if the workflow runs anyway, false if it does not, undefined if unknown. */
async function startedAfterAll(deps: AcceptUploadDeps, workflowId: string, error: unknown) {
  if (error instanceof WorkflowExecutionAlreadyStartedError) return true;
  try {
    return await deps.withTemporal((client) => workflowExists(client, workflowId));
  } catch {
    return undefined;
  }
}

/**
 * A request repeating an Idempotency-Key answers with the first upload, once what it declares matches
 * (Stripe's rule: a key names one request). Its body is read, as HTTP requires, to compare its size,
 * then dropped. A first upload whose workflow never started (the API died, or the start failed) is
 * started now, so the client's retry is what repairs it, not the hourly sweeper.
 */
async function replayUpload(
  deps: AcceptUploadDeps,
  request: UploadRequest,
  existing: FileRecord,
): Promise<AcceptUploadResult> {
  const { config, s3 } = deps;
  request.checkBeforeReceiving();
  const scratch: UploadTarget = {
    s3,
    bucket: config.s3.bucket,
    key: storageKeys.incoming(request.tenantId, newFileId()),
    maxBytes: config.limits.maxUploadBytes,
    log: deps.log,
  };
  const received = await request.receive(scratch);
  try {
    const options = request.readOptions(received.fields);
    const declared: Record<string, [unknown, unknown]> = {
      filename: [request.sanitizeFilename(received.filename ?? request.fallbackFilename), existing.filename],
      size: [received.size, Number(existing.size)],
      'content type': [received.declaredContentType, existing.declaredContentType],
      tags: [options.tags.join(','), existing.tags.join(',')],
      callbackUrl: [options.callbackUrl, existing.callbackUrl],
      retention: [
        options.retentionMs,
        existing.retentionMs === null ? options.retentionMs : Number(existing.retentionMs),
      ],
    };
    const differing = Object.entries(declared)
      .filter(([, [now, before]]) => now !== before)
      .map(([name]) => name);
    if (differing.length > 0) {
      throw new UploadRefused(
        'idempotency_key_reused',
        `This Idempotency-Key was first used for a different upload (its ${differing.join(', ')} differ); use a new key for a new upload`,
      );
    }
  } finally {
    await discardObject(scratch);
  }
  await restartIfLost(deps, existing, 'a retried upload');
  return { row: existing, replayed: true };
}

/** What restarting a lost workflow needs: no Postgres, the row is already read. */
export type RestartDeps = Pick<AcceptUploadDeps, 'config' | 's3' | 'log' | 'withTemporal'>;

/**
 * Starts the workflow of an accepted upload that has none, if its bytes are still there: the API died
 * between inserting the row and starting the workflow. Temporal is asked first (the id is
 * deterministic), so a running upload is never started twice; a race with another repairer ends in
 * WorkflowExecutionAlreadyStartedError, which is success. Returns whether it started one.
 */
export async function restartIfLost(
  deps: RestartDeps,
  row: FileRecord,
  why: string,
  declared?: DeclaredFacts,
): Promise<boolean> {
  const { config } = deps;
  if (row.status !== 'PROCESSING') return false;
  if (await deps.withTemporal((client) => workflowExists(client, row.workflowId))) return false;
  const upload = acceptedUploadOf(row, config, declared);
  // Without its bytes there is nothing to process; the sweeper fails such an upload after its grace.
  // (A refused batch part never had any: its workflow only records the refusal.)
  if (upload.refusal === undefined && !(await objectExists(deps.s3, config.s3.bucket, upload.incomingKey))) {
    return false;
  }
  try {
    await deps.withTemporal((client) => startAcceptedUpload(client, config, upload));
    deps.log.warn({ fileId: row.id }, `started the lost workflow of ${why}`);
    return true;
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return false;
  }
}

/** The one write of an upload's File row: PROCESSING, pointing at its bytes in the incoming area. */
function insertUploadRow(
  db: Db,
  upload: AcceptedUpload,
  workflowId: string,
  idempotencyKey: string | null,
  extra: { source: Prisma.InputJsonObject | undefined; chargedBytes: number | undefined },
) {
  return insertProcessing(db, {
    ...(extra.chargedBytes === undefined ? {} : { chargedBytes: extra.chargedBytes }),
    id: upload.fileId,
    tenantId: upload.tenantId,
    workflowId,
    filename: upload.filename,
    declaredContentType: upload.declaredContentType,
    size: upload.size,
    tags: upload.tags,
    callbackUrl: upload.callbackUrl,
    retentionMs: upload.retentionMs,
    idempotencyKey,
    ...(extra.source ? { ingestSource: extra.source } : {}),
    ...(upload.batchId === undefined ? {} : { batchId: upload.batchId }),
    // The request's trace, which the workflow and its activities continue (lib/temporal-tracing.ts).
    traceId: currentTraceId(),
    storageKey: upload.incomingKey,
    createdAt: upload.createdAt,
    ...(upload.schema ? { schemaName: upload.schema.name, schemaVersion: upload.schema.version } : {}),
  });
}

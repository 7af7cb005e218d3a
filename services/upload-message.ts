import { z } from 'zod';
import { isTenantId } from '../common/tenant-id';
import { derivedFileId } from '../lib/ids';
import { normaliseContentType } from './upload-fields';

/*
 * One Kafka message on the uploads topic is one file. Its value is the file's bytes, or, with
 * `content-type: application/vnd.intake.upload+json`, a JSON reference to an object already in a
 * bucket. This module reads a message into an UploadMessage or refuses it with the reason its dead
 * letter will carry; it does no I/O.
 */

export const UPLOAD_REFERENCE_TYPE = 'application/vnd.intake.upload+json';

/** The headers Intake reads; any other header rides along untouched (and into the dead letters). */
export const UPLOAD_HEADERS = {
  tenant: 'intake-tenant',
  filename: 'intake-filename',
  contentType: 'content-type',
  callbackUrl: 'intake-callback-url',
  retention: 'intake-retention',
  tags: 'intake-tags',
  idempotencyKey: 'intake-idempotency-key',
  batchId: 'intake-batch-id',
  batchEnd: 'intake-batch-end',
  schema: 'intake-schema',
} as const;

/** The header a dead letter carries: why Intake refused the message. */
export const ERROR_HEADER = 'intake-error';

/** Why a message cannot become a file; never worth retrying, so the consumer moves it to the DLQ. */
export type MessageRefusalReason =
  | 'missing_header'
  | 'invalid_header'
  | 'invalid_reference'
  | 'unknown_tenant'
  | 'payload_too_large'
  | 'empty_file'
  | 'missing_object';

export class MessageRefused extends Error {
  override name = 'MessageRefused';
  constructor(
    readonly reason: MessageRefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** The raw option values a message carries; services/upload-fields.ts parses them as for HTTP. */
export interface MessageOptions {
  callbackUrl: string | undefined;
  retention: string | undefined;
  tags: string[];
  /** The tenant's JSON Schema the file is validated against (intake-schema), if named. */
  schema?: string | undefined;
}

export interface UploadMessage {
  tenantId: string;
  /** The client's filename, unsanitised (acceptUpload sanitises it as it does an HTTP one). */
  filename: string;
  declaredContentType: string | null;
  idempotencyKey: string | null;
  /** The intake-batch-id header, recorded with the file. */
  batchId: string | null;
  options: MessageOptions;
  body: { kind: 'inline'; bytes: Buffer } | { kind: 'reference'; bucket: string; key: string };
}

/** Where a message sits: with the idempotency key (if any), what names its file. */
export interface MessagePosition {
  topic: string;
  partition: number;
  offset: bigint;
}

const MAX_HEADER_CHARS = 2048;

/** Header names are case-insensitive here as in HTTP; a repeated header's first value counts. */
export function readHeaders(
  entries: Iterable<[Buffer | string, Buffer | string | undefined | null]>,
): Map<string, string> {
  const headers = new Map<string, string>();
  for (const [rawName, rawValue] of entries) {
    const name = rawName.toString().toLowerCase();
    if (!headers.has(name) && rawValue !== undefined && rawValue !== null) headers.set(name, rawValue.toString('utf8'));
  }
  return headers;
}

const text = (name: string, max = MAX_HEADER_CHARS) =>
  z
    .string()
    .max(max, `${name}: at most ${max} characters`)
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), `${name}: control characters are not allowed`);

const referenceSchema = z
  .object({
    tenant: text('tenant', 63).optional(),
    filename: text('filename', 1024).optional(),
    s3: z.object({ bucket: text('s3.bucket', 255).min(3), key: z.string().min(1).max(1024) }),
    contentType: text('contentType', 255).optional(),
    callbackUrl: text('callbackUrl').optional(),
    retention: text('retention', 64).optional(),
    tags: z.union([text('tags'), z.array(text('tags', 64)).max(32)]).optional(),
    idempotencyKey: text('idempotencyKey', 255).optional(),
    batchId: text('batchId', 255).optional(),
  })
  .strict();

type Reference = z.infer<typeof referenceSchema>;

/** One option from the header or the reference's JSON; both may name it only if they agree. */
function pick(headers: Map<string, string>, header: string, fromJson: string | undefined): string | undefined {
  const fromHeader = headers.get(header);
  if (fromHeader !== undefined && fromJson !== undefined && fromHeader !== fromJson) {
    throw new MessageRefused('invalid_header', `${header}: the header and the JSON reference disagree`);
  }
  return fromJson ?? fromHeader;
}

function parseReference(value: Buffer): Reference {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new MessageRefused('invalid_reference', `${UPLOAD_REFERENCE_TYPE}: the value is not JSON`);
  }
  const parsed = referenceSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'value';
    throw new MessageRefused('invalid_reference', `${UPLOAD_REFERENCE_TYPE}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Reads one message. `maxInlineBytes` is the most a file may weigh in the message itself (the upload
 * limit, or the topic's message limit if smaller); a larger file goes by reference.
 */
export function parseUploadMessage(
  headerEntries: Iterable<[Buffer | string, Buffer | string | undefined | null]>,
  value: Buffer | null | undefined,
  maxInlineBytes: number,
): UploadMessage {
  const headers = readHeaders(headerEntries);
  const contentTypeHeader = headers.get(UPLOAD_HEADERS.contentType);
  const isReference = contentTypeHeader?.split(';')[0]?.trim().toLowerCase() === UPLOAD_REFERENCE_TYPE;
  const reference = isReference ? parseReference(value ?? Buffer.alloc(0)) : undefined;

  for (const name of Object.values(UPLOAD_HEADERS)) {
    const got = headers.get(name);
    if (got !== undefined && (got.length > MAX_HEADER_CHARS || /[\u0000-\u001f\u007f]/.test(got))) {
      throw new MessageRefused('invalid_header', `${name}: at most ${MAX_HEADER_CHARS} printable characters`);
    }
  }

  const tenantId = pick(headers, UPLOAD_HEADERS.tenant, reference?.tenant);
  if (tenantId === undefined || tenantId === '') {
    throw new MessageRefused('missing_header', `${UPLOAD_HEADERS.tenant}: required`);
  }
  if (!isTenantId(tenantId)) {
    throw new MessageRefused(
      'invalid_header',
      `${UPLOAD_HEADERS.tenant}: "${tenantId.slice(0, 70)}" is not a tenant id`,
    );
  }
  const filename = pick(headers, UPLOAD_HEADERS.filename, reference?.filename);
  if (filename === undefined || filename.trim() === '') {
    throw new MessageRefused('missing_header', `${UPLOAD_HEADERS.filename}: required`);
  }
  const jsonTags = reference?.tags === undefined ? undefined : [reference.tags].flat();
  const headerTags = headers.get(UPLOAD_HEADERS.tags);
  if (jsonTags && headerTags !== undefined && headerTags !== jsonTags.join(',')) {
    throw new MessageRefused('invalid_header', `${UPLOAD_HEADERS.tags}: the header and the JSON reference disagree`);
  }
  const common = {
    tenantId,
    filename,
    idempotencyKey: pick(headers, UPLOAD_HEADERS.idempotencyKey, reference?.idempotencyKey) || null,
    batchId: pick(headers, UPLOAD_HEADERS.batchId, reference?.batchId) || null,
    options: {
      callbackUrl: pick(headers, UPLOAD_HEADERS.callbackUrl, reference?.callbackUrl),
      retention: pick(headers, UPLOAD_HEADERS.retention, reference?.retention),
      tags: jsonTags ?? (headerTags === undefined ? [] : [headerTags]),
      schema: headers.get(UPLOAD_HEADERS.schema),
    },
  };

  if (reference) {
    return {
      ...common,
      declaredContentType: normaliseContentType(reference.contentType),
      body: { kind: 'reference', bucket: reference.s3.bucket, key: reference.s3.key },
    };
  }
  const bytes = value ?? Buffer.alloc(0);
  if (bytes.length === 0) throw new MessageRefused('empty_file', 'The message value is empty (0 bytes)');
  if (bytes.length > maxInlineBytes) {
    throw new MessageRefused(
      'payload_too_large',
      `The value (${bytes.length} bytes) exceeds the limit of ${maxInlineBytes} bytes; send larger files by reference (${UPLOAD_REFERENCE_TYPE})`,
    );
  }
  return { ...common, declaredContentType: normaliseContentType(contentTypeHeader), body: { kind: 'inline', bytes } };
}

/**
 * The file id of a message: from its idempotency key when it has one (scoped to its tenant, as HTTP's
 * Idempotency-Key is), otherwise from its position, which no other message shares. A redelivered
 * message so names the same file, and the same workflow, as its first delivery.
 */
export function messageFileId(
  message: Pick<UploadMessage, 'tenantId' | 'idempotencyKey'>,
  at: MessagePosition,
): string {
  return message.idempotencyKey
    ? derivedFileId(['idempotency-key', message.tenantId, message.idempotencyKey])
    : derivedFileId(['kafka-offset', at.topic, String(at.partition), at.offset.toString()]);
}

/** What a message tells its batch, read from its headers alone, whether or not it becomes a file. */
export interface BatchHeaders {
  tenantId: string;
  /** The producer's intake-batch-id. */
  batchId: string;
  /** The batch's file count, from intake-batch-end; null when this message does not end the batch. */
  end: number | null;
  /** True for a message that only ends the batch: no filename and no value, so no file and no dead letter. */
  markerOnly: boolean;
}

/**
 * The batch headers of a message, or null when it names no batch (or no tenant it could belong to). A
 * malformed intake-batch-end is refused: a batch must not end on a count nobody meant.
 */
export function readBatchHeaders(
  headerEntries: Iterable<[Buffer | string, Buffer | string | undefined | null]>,
  value: Buffer | null | undefined,
): BatchHeaders | null {
  const headers = readHeaders(headerEntries);
  const tenantId = headers.get(UPLOAD_HEADERS.tenant);
  const batchId = headers.get(UPLOAD_HEADERS.batchId);
  const endHeader = headers.get(UPLOAD_HEADERS.batchEnd);
  if (!tenantId || !isTenantId(tenantId) || !batchId) {
    if (endHeader !== undefined) {
      throw new MessageRefused(
        'missing_header',
        `${UPLOAD_HEADERS.batchEnd}: needs ${UPLOAD_HEADERS.tenant} and ${UPLOAD_HEADERS.batchId}`,
      );
    }
    return null;
  }
  if (batchId.length > 255 || /[\u0000-\u001f\u007f]/.test(batchId)) {
    throw new MessageRefused('invalid_header', `${UPLOAD_HEADERS.batchId}: at most 255 printable characters`);
  }
  let end: number | null = null;
  if (endHeader !== undefined) {
    if (!/^\d{1,9}$/.test(endHeader.trim())) {
      throw new MessageRefused(
        'invalid_header',
        `${UPLOAD_HEADERS.batchEnd}: "${endHeader.slice(0, 20)}" is not a file count`,
      );
    }
    end = Number(endHeader.trim());
  }
  const markerOnly =
    end !== null &&
    headers.get(UPLOAD_HEADERS.filename) === undefined &&
    (value === null || value === undefined || value.length === 0);
  return { tenantId, batchId, end, markerOnly };
}

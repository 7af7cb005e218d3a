import { copyObjectFrom, describeObject, putObject } from '../lib/s3-objects';
import { effectiveLimits } from '../prisma/quotas';
import { findTenantLimits } from '../prisma/tenants';
import { acceptUpload, type AcceptUploadDeps, type AcceptUploadResult, type UploadOptions } from './accept-upload';
import { normaliseContentType, parseHttpUrl, parseRetention, parseTags, sanitizeFilename } from './upload-fields';
import { parseSchemaName } from './upload-schema';
import { joinKafkaBatch, type KafkaBatchRef } from './kafka-batch';
import {
  MessageRefused,
  messageFileId,
  readHeaders,
  UPLOAD_HEADERS,
  type BatchHeaders,
  type MessagePosition,
  type UploadMessage,
} from './upload-message';

/*
 * A message from the uploads topic becomes a file through the same acceptUpload the HTTP API uses
 * (receive → insert → start, with the same compensation and idempotency), under a file id derived from
 * the message, so a redelivery answers with the first file instead of making a second.
 */

/**
 * The Kafka half of the accept-upload dependencies: the buckets references may name. The quota is each
 * message's tenant's own, looked up per message.
 */
export interface AcceptMessageDeps extends Omit<AcceptUploadDeps, 'limits'> {
  /** Unset: any bucket the S3 credentials can read, except Intake's own. */
  referenceBuckets: readonly string[] | undefined;
}

function readOptions(deps: AcceptMessageDeps, message: UploadMessage): UploadOptions {
  const { config } = deps;
  return {
    callbackUrl: parseHttpUrl(message.options.callbackUrl, 'intake-callback-url', config.webhooks),
    retentionMs: parseRetention(message.options.retention, config.retention),
    tags: parseTags(message.options.tags),
    schemaName: parseSchemaName(message.options.schema, UPLOAD_HEADERS.schema),
  };
}

function checkReferenceBucket(deps: AcceptMessageDeps, bucket: string): void {
  if (bucket === deps.config.s3.bucket) {
    // Intake's own bucket holds every tenant's files: a reference into it could copy another's.
    throw new MessageRefused('invalid_reference', `s3.bucket: "${bucket}" is Intake's own bucket`);
  }
  if (deps.referenceBuckets && !deps.referenceBuckets.includes(bucket)) {
    throw new MessageRefused('invalid_reference', `s3.bucket: "${bucket}" is not in KAFKA_REFERENCE_BUCKETS`);
  }
}

/** Accepts one message as one file; refusals (MessageRefused, UploadRefused) belong in the DLQ. */
export async function acceptMessage(
  deps: AcceptMessageDeps,
  message: UploadMessage,
  at: MessagePosition,
): Promise<AcceptUploadResult> {
  const { config, s3 } = deps;
  const tenant = await deps.withDb((db) => findTenantLimits(db, message.tenantId));
  if (!tenant) throw new MessageRefused('unknown_tenant', `intake-tenant: no tenant "${message.tenantId}"`);
  const limits = effectiveLimits(tenant, config.defaultLimits);
  const { body } = message;
  if (body.kind === 'reference') checkReferenceBucket(deps, body.bucket);
  const maxBytes = config.limits.maxUploadBytes;
  const fileId = messageFileId(message, at);
  // Joined before the file exists: its workflow's last act is to tell the batch, which must be running.
  const batchId = message.batchId
    ? await joinKafkaBatch(
        deps,
        {
          tenantId: message.tenantId,
          producerBatchId: message.batchId,
          callbackUrl: readOptions(deps, message).callbackUrl,
        },
        fileId,
      )
    : undefined;

  return acceptUpload(
    { ...deps, limits },
    {
      tenantId: message.tenantId,
      // An inline file's size is known before a byte is stored; a reference's is learnt when it is copied.
      expectedBytes: body.kind === 'inline' ? body.bytes.length : null,
      idempotencyKey: message.idempotencyKey,
      fileId,
      ...(batchId === undefined ? {} : { batchId }),
      source: {
        kafka: {
          topic: at.topic,
          partition: at.partition,
          offset: at.offset.toString(),
          ...(message.batchId ? { batchId: message.batchId } : {}),
        },
      },
      fallbackFilename: message.filename,
      checkBeforeReceiving: () => void readOptions(deps, message),
      useLog: () => undefined,
      async receive(target) {
        if (body.kind === 'inline') {
          await putObject(target.s3, target.bucket, target.key, body.bytes);
          return {
            filename: message.filename,
            declaredContentType: message.declaredContentType,
            size: body.bytes.length,
            fields: {},
          };
        }
        let source: Awaited<ReturnType<typeof describeObject>>;
        try {
          source = await describeObject(s3, body.bucket, body.key);
        } catch (error) {
          // 403: the credentials cannot read it, which for Intake is the same as not there.
          if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 403) throw error;
          source = null;
        }
        if (!source)
          throw new MessageRefused('missing_object', `s3://${body.bucket}/${body.key}: no such object Intake can read`);
        if (source.size > maxBytes) {
          throw new MessageRefused(
            'payload_too_large',
            `s3://${body.bucket}/${body.key} (${source.size} bytes) exceeds the limit of ${maxBytes} bytes`,
          );
        }
        if (source.size === 0)
          throw new MessageRefused('empty_file', `s3://${body.bucket}/${body.key} is empty (0 bytes)`);
        await copyObjectFrom(target.s3, body, target.bucket, target.key);
        return {
          filename: message.filename,
          declaredContentType: message.declaredContentType ?? normaliseContentType(source.contentType),
          size: source.size,
          fields: {},
        };
      },
      readOptions: () => readOptions(deps, message),
      sanitizeFilename,
    },
  );
}

/**
 * The batch a message belongs to, from its headers alone (it may have been refused): its callback URL
 * is the message's when valid. Null for an unknown tenant, which can own no batch.
 */
export async function messageBatchRef(
  deps: Pick<AcceptMessageDeps, 'config' | 'withDb'>,
  batch: BatchHeaders,
  headerEntries: Iterable<[Buffer | string, Buffer | string | undefined | null]>,
): Promise<KafkaBatchRef | null> {
  const tenant = await deps.withDb((db) => findTenantLimits(db, batch.tenantId));
  if (!tenant) return null;
  let callbackUrl: string | null = null;
  try {
    callbackUrl = parseHttpUrl(
      readHeaders(headerEntries).get(UPLOAD_HEADERS.callbackUrl),
      UPLOAD_HEADERS.callbackUrl,
      deps.config.webhooks,
    );
  } catch {
    // An invalid callback URL refuses its own message; the batch simply has none from it.
  }
  return { tenantId: batch.tenantId, producerBatchId: batch.batchId, callbackUrl };
}

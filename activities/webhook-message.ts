import { Webhook } from 'standardwebhooks';
import type { BatchCompletion, FileEvent, FileState } from '../common/domain';
import type { IntakeEvent } from './types';

/** The JSON body of every Intake webhook: `{ type, timestamp, data }` as Standard Webhooks recommends. */
export function buildWebhookBody(publicUrl: string, event: FileEvent, file: FileState, timestamp: Date) {
  const self = `${publicUrl}/v1/files/${file.fileId}`;
  return {
    type: event,
    timestamp: timestamp.toISOString(),
    data: {
      id: file.fileId,
      status: file.status,
      reason: file.reason,
      filename: file.filename,
      contentType: file.contentType,
      size: file.size,
      sha256: file.sha256,
      width: file.width,
      height: file.height,
      tags: file.tags,
      renditions: file.renditions.map(({ name, format, width, height, size }) => ({
        name,
        format,
        width,
        height,
        size,
      })),
      createdAt: file.createdAt,
      expiresAt: file.expiresAt,
      deletedAt: file.deletedAt,
      deletionReason: file.deletionReason,
      links: { self, content: `${self}/content` },
    },
  };
}

/** The body of batch.completed: the batch's final counts, in the same envelope as file events. */
export function buildBatchWebhookBody(publicUrl: string, batch: BatchCompletion, timestamp: Date) {
  return {
    type: 'batch.completed' as const,
    timestamp: timestamp.toISOString(),
    data: {
      id: batch.batchId,
      status: 'DONE' as const,
      fileCount: batch.fileCount,
      counts: batch.counts,
      createdAt: batch.createdAt,
      completedAt: batch.completedAt,
      links: {
        self: `${publicUrl}/v1/batches/${batch.batchId}`,
        files: `${publicUrl}/v1/files?batch=${batch.batchId}`,
      },
    },
  };
}

/** The body of whichever event a delivery carries. */
export function buildEventBody(publicUrl: string, event: IntakeEvent, timestamp: Date) {
  return event.event === 'batch.completed'
    ? buildBatchWebhookBody(publicUrl, event.batch, timestamp)
    : buildWebhookBody(publicUrl, event.event, event.file, timestamp);
}

/**
 * The `webhook-signature` header: one `v1,<base64>` per secret, space-separated, so receivers still
 * verify during a secret rotation whichever secret they hold.
 */
export function signatureHeader(secrets: readonly string[], messageId: string, timestamp: Date, body: string): string {
  if (secrets.length === 0) throw new Error('No webhook signing secret is configured for this tenant.');
  return secrets.map((secret) => new Webhook(secret).sign(messageId, timestamp, body)).join(' ');
}

/** The three Standard Webhooks headers plus the content type. */
export function webhookHeaders(secrets: readonly string[], messageId: string, timestamp: Date, body: string) {
  return {
    'content-type': 'application/json',
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signatureHeader(secrets, messageId, timestamp, body),
  };
}

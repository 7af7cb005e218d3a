import { describe, expect, it } from 'vitest';
import { derivedBatchId, FILE_ID_PATTERN } from '../../lib/ids';
import {
  MessageRefused,
  messageFileId,
  parseUploadMessage,
  readBatchHeaders,
  UPLOAD_REFERENCE_TYPE,
  type MessageRefusalReason,
} from '../../services/upload-message';

const LIMIT = 1024;
const h = (headers: Record<string, string>): [Buffer, Buffer][] =>
  Object.entries(headers).map(([name, value]) => [Buffer.from(name), Buffer.from(value)]);
const inline = (headers: Record<string, string>, value: Buffer | null = Buffer.from('hello')) =>
  parseUploadMessage(h(headers), value, LIMIT);

function refusal(run: () => unknown): { reason: MessageRefusalReason; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof MessageRefused) return { reason: error.reason, message: error.message };
    throw error;
  }
  throw new Error('the message was not refused');
}

describe('reading an upload message', () => {
  it('takes the file from the value and its options from the headers, names case-insensitive', () => {
    const message = inline({
      'Intake-Tenant': 'acme',
      'intake-filename': 'report.txt',
      'Content-Type': 'text/plain; charset=utf-8',
      'intake-callback-url': 'https://hooks.example.com/x',
      'intake-retention': '30d',
      'intake-tags': 'a,b',
      'intake-idempotency-key': 'order-17',
      'intake-batch-id': 'nightly-2026-12-03',
      'x-other': 'kept for the DLQ, ignored here',
    });
    expect(message).toEqual({
      tenantId: 'acme',
      filename: 'report.txt',
      declaredContentType: 'text/plain',
      idempotencyKey: 'order-17',
      batchId: 'nightly-2026-12-03',
      options: { callbackUrl: 'https://hooks.example.com/x', retention: '30d', tags: ['a,b'] },
      body: { kind: 'inline', bytes: Buffer.from('hello') },
    });
  });

  it('leaves the optional headers out when they are absent', () => {
    const message = inline({ 'intake-tenant': 'acme', 'intake-filename': 'a.bin' });
    expect(message.declaredContentType).toBeNull();
    expect(message.idempotencyKey).toBeNull();
    expect(message.batchId).toBeNull();
    expect(message.options).toEqual({ callbackUrl: undefined, retention: undefined, tags: [] });
  });

  it('refuses a message without its tenant or filename, or with a tenant id that cannot be one', () => {
    expect(refusal(() => inline({ 'intake-filename': 'a.txt' }))).toEqual({
      reason: 'missing_header',
      message: 'intake-tenant: required',
    });
    expect(refusal(() => inline({ 'intake-tenant': 'acme' }))).toEqual({
      reason: 'missing_header',
      message: 'intake-filename: required',
    });
    expect(refusal(() => inline({ 'intake-tenant': '../Acme', 'intake-filename': 'a' })).reason).toBe('invalid_header');
    expect(refusal(() => inline({ 'intake-tenant': 'acme', 'intake-filename': 'a\nb' })).reason).toBe('invalid_header');
  });

  it('refuses an empty value and one over the inline limit, pointing at by-reference uploads', () => {
    const headers = { 'intake-tenant': 'acme', 'intake-filename': 'a' };
    expect(refusal(() => inline(headers, null)).reason).toBe('empty_file');
    expect(refusal(() => inline(headers, Buffer.alloc(0))).reason).toBe('empty_file');
    expect(inline(headers, Buffer.alloc(LIMIT)).body).toMatchObject({ kind: 'inline' });
    const tooLarge = refusal(() => inline(headers, Buffer.alloc(LIMIT + 1)));
    expect(tooLarge.reason).toBe('payload_too_large');
    expect(tooLarge.message).toContain(UPLOAD_REFERENCE_TYPE);
  });

  it('reads a by-reference message from its JSON, headers filling in what it leaves out', () => {
    const reference = {
      tenant: 'acme',
      filename: 'scan.pdf',
      s3: { bucket: 'incoming-scans', key: 'batch 1/scan.pdf' },
      contentType: 'application/pdf',
      tags: ['x', 'y'],
      retention: '7d',
    };
    const message = parseUploadMessage(
      h({ 'content-type': UPLOAD_REFERENCE_TYPE, 'intake-idempotency-key': 'k1' }),
      Buffer.from(JSON.stringify(reference)),
      LIMIT,
    );
    expect(message).toMatchObject({
      tenantId: 'acme',
      filename: 'scan.pdf',
      declaredContentType: 'application/pdf',
      idempotencyKey: 'k1',
      options: { retention: '7d', tags: ['x', 'y'] },
      body: { kind: 'reference', bucket: 'incoming-scans', key: 'batch 1/scan.pdf' },
    });
    // A reference is small JSON whatever the size of the file it names: the inline limit does not apply.
    expect(
      parseUploadMessage(h({ 'content-type': UPLOAD_REFERENCE_TYPE }), Buffer.from(JSON.stringify(reference)), 10).body
        .kind,
    ).toBe('reference');
  });

  it('refuses a reference that is not JSON, lacks s3, has unknown fields or disagrees with a header', () => {
    const ref =
      (value: string, headers: Record<string, string> = {}) =>
      () =>
        parseUploadMessage(h({ 'content-type': UPLOAD_REFERENCE_TYPE, ...headers }), Buffer.from(value), LIMIT);
    expect(refusal(ref('{nope')).reason).toBe('invalid_reference');
    expect(refusal(ref('{"tenant":"acme","filename":"a"}')).message).toMatch(/s3/);
    expect(refusal(ref('{"tenant":"acme","filename":"a","s3":{"bucket":"bkt","key":"k"},"sneaky":1}')).reason).toBe(
      'invalid_reference',
    );
    expect(
      refusal(ref('{"tenant":"acme","filename":"a","s3":{"bucket":"bkt","key":"k"}}', { 'intake-tenant': 'other' })),
    ).toEqual({ reason: 'invalid_header', message: 'intake-tenant: the header and the JSON reference disagree' });
    expect(refusal(ref('{"filename":"a","s3":{"bucket":"bkt","key":"k"}}')).reason).toBe('missing_header');
  });
});

describe('the file id of a message', () => {
  const at = { topic: 'intake.uploads', partition: 2, offset: 41n };

  it('is the same for the same message delivered twice, and a valid file id', () => {
    const id = messageFileId({ tenantId: 'acme', idempotencyKey: null }, at);
    expect(id).toMatch(FILE_ID_PATTERN);
    expect(messageFileId({ tenantId: 'acme', idempotencyKey: null }, { ...at })).toBe(id);
  });

  it('differs for every other position', () => {
    const ids = new Set([
      messageFileId({ tenantId: 'acme', idempotencyKey: null }, at),
      messageFileId({ tenantId: 'acme', idempotencyKey: null }, { ...at, offset: 42n }),
      messageFileId({ tenantId: 'acme', idempotencyKey: null }, { ...at, partition: 3 }),
      messageFileId({ tenantId: 'acme', idempotencyKey: null }, { ...at, topic: 'other.uploads' }),
      // Parts never run together: topic "a" partition 12 is not topic "a1" partition 2.
      messageFileId({ tenantId: 'acme', idempotencyKey: null }, { topic: 'a', partition: 12, offset: 0n }),
      messageFileId({ tenantId: 'acme', idempotencyKey: null }, { topic: 'a1', partition: 2, offset: 0n }),
    ]);
    expect(ids.size).toBe(6);
  });

  it('comes from the idempotency key when there is one, wherever the message sits, per tenant', () => {
    const keyed = messageFileId({ tenantId: 'acme', idempotencyKey: 'order-17' }, at);
    expect(messageFileId({ tenantId: 'acme', idempotencyKey: 'order-17' }, { ...at, offset: 99n, partition: 0 })).toBe(
      keyed,
    );
    expect(messageFileId({ tenantId: 'other', idempotencyKey: 'order-17' }, at)).not.toBe(keyed);
    expect(messageFileId({ tenantId: 'acme', idempotencyKey: null }, at)).not.toBe(keyed);
  });
});

describe('the batch headers of a message', () => {
  const batch = (headers: Record<string, string>, value: Buffer | null = Buffer.from('x')) =>
    readBatchHeaders(h(headers), value);

  it('reads the batch, its end count, and whether the message only ends it', () => {
    expect(batch({ 'intake-tenant': 'acme', 'intake-filename': 'a.txt', 'intake-batch-id': 'n-1' })).toEqual({
      tenantId: 'acme',
      batchId: 'n-1',
      end: null,
      markerOnly: false,
    });
    expect(
      batch({ 'intake-tenant': 'acme', 'intake-filename': 'z.txt', 'intake-batch-id': 'n-1', 'intake-batch-end': '3' }),
    ).toMatchObject({ end: 3, markerOnly: false });
    expect(batch({ 'intake-tenant': 'acme', 'intake-batch-id': 'n-1', 'intake-batch-end': '3' }, null)).toMatchObject({
      end: 3,
      markerOnly: true,
    });
    expect(batch({ 'intake-tenant': 'acme', 'intake-filename': 'a.txt' })).toBeNull();
  });

  it('refuses an end count that is not a count, or an end without its batch or tenant', () => {
    for (const end of ['-1', 'three', '1.5', '']) {
      expect(
        refusal(() => batch({ 'intake-tenant': 'acme', 'intake-batch-id': 'n', 'intake-batch-end': end })).reason,
      ).toBe('invalid_header');
    }
    expect(refusal(() => batch({ 'intake-tenant': 'acme', 'intake-batch-end': '2' })).reason).toBe('missing_header');
    expect(refusal(() => batch({ 'intake-batch-id': 'n', 'intake-batch-end': '2' })).reason).toBe('missing_header');
  });

  it("names one batch per tenant and producer id: another tenant's same id is another batch", () => {
    expect(derivedBatchId('acme', 'n-1')).toBe(derivedBatchId('acme', 'n-1'));
    expect(derivedBatchId('acme', 'n-1')).not.toBe(derivedBatchId('other', 'n-1'));
    expect(derivedBatchId('acme', 'n-1')).toMatch(/^b_[a-z2-7]{24}$/);
  });
});

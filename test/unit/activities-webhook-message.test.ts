import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { buildWebhookBody, signatureHeader, webhookHeaders } from '../../activities/webhook-message';
import type { FileState } from '../../common/domain';

const secretA = `whsec_${Buffer.from('first-secret-of-32-bytes-length!').toString('base64')}`;
const secretB = `whsec_${Buffer.from('second-secret-of-32-bytes-long!!').toString('base64')}`;

const step = { state: 'done' as const, attempts: 1, startedAt: null, finishedAt: null, error: null };
const file: FileState = {
  fileId: 'f1',
  tenantId: 't1',
  filename: 'cat.jpg',
  status: 'READY',
  reason: null,
  contentType: 'image/jpeg',
  size: 1234,
  sha256: 'ab'.repeat(32),
  width: 640,
  height: 480,
  renditions: [
    { name: 'thumb', key: 'files/t1/f1/renditions/thumb.webp', format: 'webp', width: 256, height: 192, size: 999 },
  ],
  tags: ['pets'],
  steps: { scan: step, validate: step, resize: step, store: step, index: step, notify: step },
  createdAt: '2026-01-01T00:00:00.000Z',
  completedAt: '2026-01-01T00:00:05.000Z',
  expiresAt: '2026-01-08T00:00:05.000Z',
  hold: false,
  deletedAt: null,
  deletionReason: null,
};

describe('webhook messages', () => {
  it('sign once per secret so either secret verifies during a rotation', () => {
    const timestamp = new Date();
    const body = '{"hello":"world"}';
    const headers = webhookHeaders([secretA, secretB], 'msg_1', timestamp, body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(new Webhook(secretA).verify(body, headers)).toEqual({ hello: 'world' });
    expect(new Webhook(secretB).verify(body, headers)).toEqual({ hello: 'world' });
  });

  it('does not verify with a secret that did not sign', () => {
    const timestamp = new Date();
    const headers = webhookHeaders([secretA], 'msg_1', timestamp, '{}');
    expect(() => new Webhook(secretB).verify('{}', headers)).toThrow();
  });

  it('refuses to send unsigned messages', () => {
    expect(() => signatureHeader([], 'msg_1', new Date(), '{}')).toThrow(/No webhook signing secret/);
  });

  it('describe the file with links and without storage keys', () => {
    const body = buildWebhookBody('https://intake.example.com', 'file.ready', file, new Date('2026-01-01T00:00:06Z'));
    expect(body.type).toBe('file.ready');
    expect(body.timestamp).toBe('2026-01-01T00:00:06.000Z');
    expect(body.data.links).toEqual({
      self: 'https://intake.example.com/v1/files/f1',
      content: 'https://intake.example.com/v1/files/f1/content',
    });
    expect(body.data.renditions).toEqual([{ name: 'thumb', format: 'webp', width: 256, height: 192, size: 999 }]);
    expect(JSON.stringify(body)).not.toContain('files/t1/f1');
  });
});

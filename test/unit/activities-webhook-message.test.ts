import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { buildWebhookBody, signatureHeader, webhookHeaders } from '../../activities/webhook-message';
import { readyFileState } from '../support/file-state';

const secretA = `whsec_${Buffer.from('first-secret-of-32-bytes-length!').toString('base64')}`;
const secretB = `whsec_${Buffer.from('second-secret-of-32-bytes-long!!').toString('base64')}`;

const file = readyFileState({
  renditions: [
    { name: 'thumb', key: 'files/t1/f1/renditions/thumb.webp', format: 'webp', width: 256, height: 192, size: 999 },
  ],
  tags: ['pets'],
});

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

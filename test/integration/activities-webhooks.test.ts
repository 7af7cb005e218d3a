import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/create-activities';
import type { DeliverWebhookInput } from '../../activities/types';
import type { FileState, StepName, StepStatus } from '../../common/domain';
import { createTenant, newFileId, openActivityStack, runActivity, type ActivityStack } from './activities-stack';

const TENANT = 'acme-hooks';
let stack: ActivityStack;
let secret: string;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
let server: Server;
let baseUrl: string;
const received: Received[] = [];
/** What the receiver answers, by path. */
const answers: Record<string, { status: number; location?: string }> = {};

beforeAll(async () => {
  stack = await openActivityStack();
  secret = await createTenant(stack.db, TENANT);
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers[path] ?? { status: 204 };
      res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await stack?.close();
});

const step: StepStatus = { state: 'done', attempts: 1, startedAt: null, finishedAt: null, error: null };
function readyFile(fileId: string): FileState {
  return {
    fileId,
    tenantId: TENANT,
    filename: 'cat.png',
    status: 'READY',
    reason: null,
    contentType: 'image/png',
    size: 2048,
    sha256: 'cd'.repeat(32),
    width: 64,
    height: 48,
    renditions: [
      {
        name: 'thumb',
        key: `files/${TENANT}/${fileId}/renditions/thumb.webp`,
        format: 'webp',
        width: 64,
        height: 48,
        size: 300,
      },
    ],
    tags: ['pets'],
    steps: Object.fromEntries(
      ['scan', 'validate', 'resize', 'store', 'index', 'notify'].map((n) => [n, step]),
    ) as Record<StepName, StepStatus>,
    createdAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:00:02.000Z',
    expiresAt: '2026-01-08T00:00:02.000Z',
    hold: false,
    deletedAt: null,
    deletionReason: null,
  };
}

function delivery(path: string, fileId = newFileId()): DeliverWebhookInput {
  return {
    messageId: `msg_${randomUUID()}`,
    tenantId: TENANT,
    fileId,
    event: 'file.ready',
    target: { endpointId: null, url: `${baseUrl}${path}` },
    file: readyFile(fileId),
  };
}

const deliveryRow = (input: DeliverWebhookInput) =>
  stack.db.webhookDelivery.findUniqueOrThrow({
    where: { messageId_url: { messageId: input.messageId, url: input.target.url } },
    include: { attemptLog: { orderBy: { attempt: 'asc' } } },
  });

describe('deliverWebhook', () => {
  it('sends a Standard Webhooks message that verifies with the tenant secret, and records it', async () => {
    const input = delivery('/ok');
    expect(await runActivity(stack.activities.deliverWebhook, input)).toEqual({ statusCode: 204 });

    const message = received.find((r) => r.headers['webhook-id'] === input.messageId);
    expect(message).toBeDefined();
    const headers = {
      'webhook-id': String(message!.headers['webhook-id']),
      'webhook-timestamp': String(message!.headers['webhook-timestamp']),
      'webhook-signature': String(message!.headers['webhook-signature']),
    };
    const payload = new Webhook(secret).verify(message!.body, headers) as {
      type: string;
      data: Record<string, unknown>;
    };
    expect(message!.headers['content-type']).toBe('application/json');
    expect(payload.type).toBe('file.ready');
    expect(payload.data).toMatchObject({
      id: input.fileId,
      status: 'READY',
      filename: 'cat.png',
      sha256: 'cd'.repeat(32),
    });
    expect(payload.data.links).toEqual({
      self: `${stack.config.publicUrl}/v1/files/${input.fileId}`,
      content: `${stack.config.publicUrl}/v1/files/${input.fileId}/content`,
    });

    const row = await deliveryRow(input);
    expect(row).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 204, event: 'file.ready' });
    expect(row.attemptLog).toHaveLength(1);

    // A retry after a delivered attempt (its completion lost) does not send the event twice.
    await runActivity(stack.activities.deliverWebhook, input);
    expect(received.filter((r) => r.headers['webhook-id'] === input.messageId)).toHaveLength(1);
  });

  it('throws a retryable error on a 5xx answer and records each attempt under one webhook-id', async () => {
    const input = delivery('/flaky');
    answers['/flaky'] = { status: 503 };
    const error = await runActivity(stack.activities.deliverWebhook, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect(await deliveryRow(input)).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 503 });

    answers['/flaky'] = { status: 200 };
    await runActivity(stack.activities.deliverWebhook, input);
    const row = await deliveryRow(input);
    expect(row).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 });
    expect(row.attemptLog.map((a) => a.statusCode)).toEqual([503, 200]);
    const ids = received.filter((r) => r.path === '/flaky').map((r) => r.headers['webhook-id']);
    expect(ids).toEqual([input.messageId, input.messageId]);
  });

  it('does not follow redirects', async () => {
    answers['/moved'] = { status: 302, location: `${baseUrl}/ok` };
    const input = delivery('/moved');
    const before = received.length;
    await expect(runActivity(stack.activities.deliverWebhook, input)).rejects.toThrow(/HTTP 302/);
    expect(received.slice(before).map((r) => r.path)).toEqual(['/moved']);
  });

  it('refuses private targets non-retryably unless private targets are allowed', async () => {
    const strict = createActivities({
      ...stack,
      config: { ...stack.config, webhooks: { ...stack.config.webhooks, allowPrivate: false } },
    });
    const input = delivery('/ok');
    const error = await runActivity(strict.deliverWebhook, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('WebhookRefused');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).message).toMatch(/127\.0\.0\.1, a loopback address/);
    expect(received.some((r) => r.headers['webhook-id'] === input.messageId)).toBe(false);
    expect(await deliveryRow(input)).toMatchObject({ status: 'refused' });
  });
});

describe('planNotifications', () => {
  it('targets active subscribed endpoints and the callback URL, each URL once', async () => {
    const tenantId = `plan-${randomUUID().slice(0, 8)}`;
    await createTenant(stack.db, tenantId);
    const endpoint = (url: string, events: string[], deletedAt: Date | null = null) =>
      stack.db.webhookEndpoint.create({ data: { id: randomUUID(), tenantId, url, events, deletedAt } });
    const all = await endpoint('https://a.example.com/hook', []);
    const ready = await endpoint('https://b.example.com/hook', ['file.ready']);
    await endpoint('https://c.example.com/hook', ['file.deleted']);
    await endpoint('https://d.example.com/hook', [], new Date());
    // Disabled after answering 410 Gone: skipped like a deleted one.
    await stack.db.webhookEndpoint.create({
      data: {
        id: randomUUID(),
        tenantId,
        url: 'https://e.example.com/hook',
        events: [],
        disabledAt: new Date(),
        disabledReason: 'answered 410 Gone',
      },
    });

    const targets = await runActivity(stack.activities.planNotifications, {
      tenantId,
      fileId: newFileId(),
      event: 'file.ready',
      callbackUrl: 'https://a.example.com/hook',
    });
    expect(targets).toEqual([
      { endpointId: all.id, url: 'https://a.example.com/hook' },
      { endpointId: ready.id, url: 'https://b.example.com/hook' },
    ]);

    const withCallback = await runActivity(stack.activities.planNotifications, {
      tenantId,
      fileId: newFileId(),
      event: 'file.deleted',
      callbackUrl: 'https://callback.example.com/x',
    });
    expect(withCallback.map((t) => t.url)).toEqual([
      'https://a.example.com/hook',
      'https://c.example.com/hook',
      'https://callback.example.com/x',
    ]);
  });
});

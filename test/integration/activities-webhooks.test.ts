import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/create-activities';
import type { DeliverWebhookInput } from '../../activities/types';
import type { FileState, StepName, StepStatus } from '../../common/domain';
import { listTenantEvents } from '../../prisma/events';
import { disableEndpoint, enableEndpoint, markEndpointDelivered, markEndpointFailing } from '../../prisma/webhooks';
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

describe('endpoint health on Postgres', () => {
  const DAY = 86_400_000;
  async function endpoint(failingSince: Date | null = null, path = '/down?token=s3cr3t') {
    return stack.db.webhookEndpoint.create({
      data: { id: `wh_${randomUUID()}`, tenantId: TENANT, url: `${baseUrl}${path}`, failingSince },
    });
  }
  const row = (id: string) => stack.db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
  const eventsOf = async (id: string) =>
    (await stack.db.tenantEvent.findMany({ where: { tenantId: TENANT } })).filter(
      (e) => (e.data as { webhookId?: string }).webhookId === id,
    );

  it('many failures at once start one failing period, and only one of many concurrent disables wins', async () => {
    const hook = await endpoint();
    const times = Array.from({ length: 20 }, (_, i) => new Date(Date.parse('2026-12-01T00:00:00Z') + i * 1000));
    await Promise.all(times.map((now) => markEndpointFailing(stack.db, hook.id, now)));
    const started = (await row(hook.id)).failingSince;
    expect(times.map((t) => t.getTime())).toContain(started?.getTime());
    // Later failures do not move it.
    await markEndpointFailing(stack.db, hook.id, new Date());
    expect((await row(hook.id)).failingSince).toEqual(started);

    const now = new Date(started!.getTime() + 5 * DAY);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        disableEndpoint(stack.db, {
          endpointId: hook.id,
          reason: 'failed continuously for 5d',
          now,
          failingSinceAtOrBefore: now,
        }),
      ),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await row(hook.id)).toMatchObject({ disabledAt: now, disabledReason: 'failed continuously for 5d' });
    const events = await eventsOf(hook.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'webhook.disabled',
      data: { webhookId: hook.id, url: `${baseUrl}/down?[redacted]`, reason: 'failed continuously for 5d' },
    });
  });

  it('a success that commits before the disabling failure keeps the endpoint enabled', async () => {
    const hook = await endpoint(new Date(Date.now() - 6 * DAY));
    await markEndpointDelivered(stack.db, hook.id);
    const now = new Date();
    const cutoff = new Date(now.getTime() - 5 * DAY);
    expect(
      await disableEndpoint(stack.db, { endpointId: hook.id, reason: 'x', now, failingSinceAtOrBefore: cutoff }),
    ).toBe(false);
    expect(await row(hook.id)).toMatchObject({ failingSince: null, disabledAt: null });
    expect(await eventsOf(hook.id)).toEqual([]);
  });

  it('a delivery failing on day 5 disables its endpoint and ends for good; planning skips it until re-enabled', async () => {
    answers['/day5?token=s3cr3t'] = { status: 503 };
    const hook = await endpoint(new Date(Date.now() - 5 * DAY - 60_000), '/day5?token=s3cr3t');
    const input = { ...delivery('/day5?token=s3cr3t'), target: { endpointId: hook.id, url: hook.url } };

    const error = await runActivity(stack.activities.deliverWebhook, input).catch((e: unknown) => e);
    expect((error as ApplicationFailure).type).toBe('WebhookRejected');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((await row(hook.id)).disabledReason).toMatch(/^failed continuously for 5d \(until /);
    expect(await eventsOf(hook.id)).toHaveLength(1);

    // A retry of it (or of any delivery planned before) sends nothing more.
    const sent = received.length;
    const retry = await runActivity(stack.activities.deliverWebhook, input).catch((e: unknown) => e);
    expect((retry as ApplicationFailure).message).toMatch(/not sent: the endpoint is disabled/);
    expect(received.length).toBe(sent);
    expect(await deliveryRow(input)).toMatchObject({ status: 'abandoned', attempts: 1 });
    const plan = () =>
      runActivity(stack.activities.planNotifications, {
        tenantId: TENANT,
        fileId: newFileId(),
        event: 'file.ready',
        callbackUrl: null,
      });
    expect((await plan()).map((t) => t.endpointId)).not.toContain(hook.id);

    expect(await enableEndpoint(stack.db, 'someone-else', hook.id)).toBe(false);
    expect(await enableEndpoint(stack.db, TENANT, hook.id)).toBe(true);
    expect(await row(hook.id)).toMatchObject({ disabledAt: null, disabledReason: null, failingSince: null });
    expect((await plan()).map((t) => t.endpointId)).toContain(hook.id);
    await stack.db.webhookEndpoint.update({ where: { id: hook.id }, data: { deletedAt: new Date() } });
  });

  it('lists a tenant’s events newest first, a page at a time', async () => {
    const tenantId = `events-${randomUUID().slice(0, 8)}`;
    await createTenant(stack.db, tenantId);
    const at = new Date('2026-12-02T12:00:00.000Z');
    // Two share a timestamp: the id breaks the tie, so no event is skipped or repeated across pages.
    for (const [id, ms] of [
      ['evt_a', 0],
      ['evt_b', 1000],
      ['evt_c', 1000],
      ['evt_d', 2000],
    ] as const) {
      await stack.db.tenantEvent.create({
        data: { id, tenantId, type: 'webhook.disabled', createdAt: new Date(at.getTime() + ms), data: {} },
      });
    }
    const first = await listTenantEvents(stack.db, tenantId, { limit: 2 });
    expect(first.items.map((e) => e.id)).toEqual(['evt_d', 'evt_c']);
    expect(first.more).toBe(true);
    const second = await listTenantEvents(stack.db, tenantId, { limit: 2, after: first.items[1] });
    expect(second.items.map((e) => e.id)).toEqual(['evt_b', 'evt_a']);
    expect(second.more).toBe(false);
    expect((await listTenantEvents(stack.db, TENANT, { limit: 100 })).items.every((e) => e.tenantId === TENANT)).toBe(
      true,
    );
  });
});

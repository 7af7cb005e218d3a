import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActivities } from '../../activities/create-activities';
import { answerMeaning } from '../../activities/deliver-webhook';
import type { DeliverWebhookInput } from '../../activities/types';
import type { Db } from '../../prisma/db';
import { readyFileState } from '../support/file-state';
import { activityDeps, activityEnvironment, testConfig } from '../support/fake-activity-deps';

const SECRET = `whsec_${Buffer.from('a-webhook-secret-of-32-bytes-ok!').toString('base64')}`;
// A public address literal: the target check needs no DNS lookup.
const PUBLIC_URL = 'http://93.184.216.34/hooks/intake';

const file = readyFileState({
  fileId: 'f_webhookunit',
  tenantId: 'acme',
  filename: 'report.pdf',
  contentType: 'application/pdf',
  size: 10,
  width: null,
  height: null,
});

function input(
  url: string,
  endpointId: string | null = null,
  messageId = 'msg_f_webhookunit_ready',
): DeliverWebhookInput {
  return {
    messageId,
    tenantId: 'acme',
    fileId: file.fileId,
    event: 'file.ready',
    target: { endpointId, url },
    file,
  };
}

interface Endpoint {
  id: string;
  tenantId: string;
  url: string;
  disabledAt: Date | null;
  disabledReason: string | null;
  failingSince: Date | null;
  deletedAt: Date | null;
}

interface Delivery {
  id: string;
  messageId: string;
  url: string;
  attempts: number;
  status: string;
  lastStatusCode: number | null;
  lastError: string | null;
}

/** The tenant, delivery and attempt tables deliverWebhook reads and writes, in memory. */
function fakeWebhookTables() {
  const deliveries: Delivery[] = [];
  const attempts: { deliveryId: string; attempt: number; statusCode: number | null; error: string | null }[] = [];
  type Key = { messageId_url: { messageId: string; url: string } };
  const find = (where: Key) =>
    deliveries.find((d) => d.messageId === where.messageId_url.messageId && d.url === where.messageId_url.url);
  const disabled: { id: string; reason: string }[] = [];
  const endpoints = new Map<string, Endpoint>();
  const events: { tenantId: string; type: string; data: Record<string, unknown>; createdAt: Date }[] = [];
  /** The where clauses prisma/webhooks.ts writes: equality, null, { not: null } and { lte: date }. */
  const matches = (row: Endpoint, where: Record<string, unknown>) =>
    Object.entries(where).every(([field, wanted]) => {
      const value = row[field as keyof Endpoint] ?? null;
      if (wanted === null) return value === null;
      if (typeof wanted === 'object' && !(wanted instanceof Date)) {
        const condition = wanted as { not?: null; lte?: Date };
        if ('not' in condition) return value !== null;
        if (condition.lte) return value instanceof Date && value.getTime() <= condition.lte.getTime();
      }
      return value === wanted;
    });
  const endpointFor = (id: string) => {
    let row = endpoints.get(id);
    if (!row)
      endpoints.set(
        id,
        (row = {
          id,
          tenantId: 'acme',
          url: PUBLIC_URL,
          disabledAt: null,
          disabledReason: null,
          failingSince: null,
          deletedAt: null,
        }),
      );
    return row;
  };
  const db = {
    $transaction: async <T>(work: (tx: unknown) => Promise<T>) => work(db),
    webhookEndpoint: {
      findUnique: async ({ where }: { where: { id: string } }) => endpointFor(where.id),
      findUniqueOrThrow: async ({ where }: { where: { id: string } }) => endpointFor(where.id),
      updateMany: async ({
        where,
        data,
      }: {
        where: Record<string, unknown> & { id: string };
        data: Partial<Endpoint>;
      }) => {
        const row = endpointFor(where.id);
        if (!matches(row, where)) return { count: 0 };
        Object.assign(row, data);
        if (data.disabledReason) disabled.push({ id: where.id, reason: data.disabledReason });
        return { count: 1 };
      },
    },
    tenantEvent: { create: async ({ data }: { data: (typeof events)[number] }) => void events.push(data) },
    tenant: {
      findUnique: async () => ({
        id: 'acme',
        webhookSecret: SECRET,
        previousWebhookSecret: null,
        previousSecretExpiresAt: null,
      }),
    },
    webhookDelivery: {
      findUnique: async ({ where }: { where: Key }) => find(where) ?? null,
      upsert: async ({ where, create }: { where: Key; create: Delivery }) => {
        const existing = find(where);
        if (existing) {
          existing.attempts += 1;
          return existing;
        }
        const row = { ...create, status: 'pending', lastStatusCode: null, lastError: null };
        deliveries.push(row);
        return row;
      },
      updateMany: async ({ where, data }: { where: { messageId: string; url: string }; data: Partial<Delivery> }) => {
        const hit = deliveries.filter((d) => d.messageId === where.messageId && d.url === where.url);
        for (const row of hit) Object.assign(row, data);
        return { count: hit.length };
      },
      update: async ({ where, data }: { where: { id: string }; data: Partial<Delivery> }) =>
        Object.assign(
          deliveries.find((d) => d.id === where.id)!,
          data,
        ),
    },
    webhookAttempt: { create: async ({ data }: { data: (typeof attempts)[number] }) => void attempts.push(data) },
  } as unknown as Db;
  return { db, deliveries, attempts, disabled, endpoints, events, endpointFor };
}

/** A fetch that answers every request with `respond` and keeps what was requested. */
function fakeFetch(respond: () => Response) {
  const requests: { url: string; init: RequestInit }[] = [];
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(url), init: init ?? {} });
    return respond();
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('the delivery should have failed'),
    (e: unknown) => e as Error,
  );
}

describe('deliverWebhook', () => {
  it('refuses a private target without sending anything, and does not retry it', async () => {
    const tables = fakeWebhookTables();
    const http = fakeFetch(() => new Response(null, { status: 204 }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    const error = await errorOf(activityEnvironment().run(deliverWebhook, input('http://10.0.0.5/hook')));

    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('WebhookRefused');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect(http.requests).toHaveLength(0);
    expect(tables.deliveries[0]).toMatchObject({ status: 'refused', attempts: 1 });
  });

  it('fails a 5xx answer retryably, and a retry delivers the same message once the endpoint recovers', async () => {
    const tables = fakeWebhookTables();
    let status = 503;
    const http = fakeFetch(() => new Response('busy', { status }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    const error = await errorOf(activityEnvironment().run(deliverWebhook, input(PUBLIC_URL)));
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect(error.message).toMatch(/HTTP 503/);
    expect(tables.deliveries[0]).toMatchObject({ status: 'failed', lastStatusCode: 503 });

    status = 200;
    const result = await activityEnvironment({ attempt: 2 }).run(deliverWebhook, input(PUBLIC_URL));

    expect(result).toEqual({ statusCode: 200 });
    expect(tables.deliveries).toHaveLength(1);
    expect(tables.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 });
    expect(tables.attempts.map((a) => a.statusCode)).toEqual([503, 200]);
    // Receivers drop duplicates by webhook-id, so a retry must carry the same one.
    const ids = http.requests.map((r) => (r.init.headers as Record<string, string>)['webhook-id']);
    expect(ids).toEqual(['msg_f_webhookunit_ready', 'msg_f_webhookunit_ready']);
  });

  it('does not follow a redirect: the 3xx counts as a failed, retryable attempt', async () => {
    const tables = fakeWebhookTables();
    const http = fakeFetch(
      () => new Response(null, { status: 302, headers: { location: 'http://10.0.0.5/internal' } }),
    );
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    const error = await errorOf(activityEnvironment().run(deliverWebhook, input(PUBLIC_URL)));

    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect(error.message).toMatch(/HTTP 302/);
    expect(http.requests.map((r) => [r.url, r.init.redirect])).toEqual([[PUBLIC_URL, 'manual']]);
    expect(tables.deliveries[0]).toMatchObject({ status: 'failed', lastStatusCode: 302 });
  });

  it('does not send a message again once an earlier attempt delivered it', async () => {
    const tables = fakeWebhookTables();
    const http = fakeFetch(() => new Response(null, { status: 200 }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    await activityEnvironment().run(deliverWebhook, input(PUBLIC_URL));
    await activityEnvironment({ attempt: 2 }).run(deliverWebhook, input(PUBLIC_URL));

    expect(http.requests).toHaveLength(1);
  });

  it('410 Gone disables the registered endpoint, records why, and is not retried', async () => {
    const tables = fakeWebhookTables();
    const http = fakeFetch(() => new Response(null, { status: 410 }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    const error = await errorOf(activityEnvironment().run(deliverWebhook, input(PUBLIC_URL, 'wh_gone')));

    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('WebhookRejected');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect(tables.disabled).toEqual([{ id: 'wh_gone', reason: expect.stringMatching(/^answered 410 Gone on /) }]);
    expect(tables.events).toEqual([
      expect.objectContaining({
        tenantId: 'acme',
        type: 'webhook.disabled',
        data: { webhookId: 'wh_gone', url: PUBLIC_URL, reason: expect.stringMatching(/^answered 410 Gone on /) },
      }),
    ]);
    expect(tables.deliveries[0]).toMatchObject({ status: 'gone', lastStatusCode: 410 });
  });

  it("keeps the receiver's token in the URL's query out of errors (and so out of workflow histories)", async () => {
    const tables = fakeWebhookTables();
    const http = fakeFetch(() => new Response(null, { status: 500 }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    const error = await errorOf(activityEnvironment().run(deliverWebhook, input(`${PUBLIC_URL}?token=s3cr3t`)));

    expect(error.message).toContain('http://93.184.216.34/hooks/intake?[redacted]');
    expect(error.message).not.toContain('s3cr3t');
    expect(http.requests[0]?.url).toBe(`${PUBLIC_URL}?token=s3cr3t`);
  });

  it('another permanent 4xx is not retried and disables nothing', async () => {
    const tables = fakeWebhookTables();
    const http = fakeFetch(() => new Response('no such hook', { status: 404 }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    const error = await errorOf(activityEnvironment().run(deliverWebhook, input(PUBLIC_URL, 'wh_404')));

    expect((error as ApplicationFailure).type).toBe('WebhookRejected');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect(tables.disabled).toEqual([]);
    expect(tables.deliveries[0]).toMatchObject({ status: 'rejected', lastStatusCode: 404 });
  });

  it("429 and 503 are retried after the endpoint's Retry-After", async () => {
    const tables = fakeWebhookTables();
    const http = fakeFetch(() => new Response(null, { status: 429, headers: { 'retry-after': '7' } }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    const error = await errorOf(activityEnvironment().run(deliverWebhook, input(PUBLIC_URL)));

    expect((error as ApplicationFailure).type).toBe('WebhookUnavailable');
    expect((error as ApplicationFailure).nonRetryable).toBe(false);
    expect((error as ApplicationFailure).nextRetryDelay).toBe(7000);
    expect(tables.deliveries[0]).toMatchObject({ status: 'failed', lastStatusCode: 429 });
  });

  it('reads what each answer means', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(answerMeaning(204, null)).toEqual({ kind: 'delivered' });
    expect(answerMeaning(410, null)).toEqual({ kind: 'gone' });
    for (const status of [400, 401, 403, 404, 413, 422]) expect(answerMeaning(status, null).kind).toBe('rejected');
    expect(answerMeaning(408, null)).toEqual({ kind: 'retry', afterMs: null });
    expect(answerMeaning(503, 'Wed, 02 Dec 2026 10:00:30 GMT', now)).toEqual({ kind: 'retry', afterMs: 30_000 });
    // Bounded: a receiver cannot park a delivery for a day, nor ask for a busy loop.
    expect(answerMeaning(503, '86400', now)).toEqual({ kind: 'retry', afterMs: 3_600_000 });
    expect(answerMeaning(503, '0', now)).toEqual({ kind: 'retry', afterMs: 1000 });
    expect(answerMeaning(502, 'soon', now)).toEqual({ kind: 'retry', afterMs: null });
    expect(answerMeaning(302, null).kind).toBe('retry');
  });
});

describe('disabling an endpoint that keeps failing (INTAKE_WEBHOOK_DISABLE_AFTER)', () => {
  const DAY = 86_400_000;
  const T0 = Date.parse('2026-12-01T08:00:00.000Z');
  afterEach(() => {
    vi.useRealTimers();
  });
  /** Runs one delivery of a new event to the endpoint at `at`, on the fake clock; returns its failure, if any. */
  async function deliverAt(
    run: ReturnType<typeof createActivities>['deliverWebhook'],
    at: number,
    endpointId: string,
    url = PUBLIC_URL,
  ): Promise<Error | null> {
    vi.setSystemTime(at);
    return activityEnvironment()
      .run(run, input(url, endpointId, `msg_${at}`))
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
  }

  it('disables the endpoint on the first failure 5 days into its failing, records a tenant event, and stops retrying', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const tables = fakeWebhookTables();
    const url = `${PUBLIC_URL}?token=s3cr3t`;
    tables.endpointFor('wh_down').url = url;
    const http = fakeFetch(() => new Response('down', { status: 503 }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    const first = await deliverAt(deliverWebhook, T0, 'wh_down', url);
    expect(first).not.toBeInstanceOf(ApplicationFailure);
    expect(tables.endpoints.get('wh_down')?.failingSince?.getTime()).toBe(T0);

    const later = await deliverAt(deliverWebhook, T0 + 5 * DAY - 1, 'wh_down', url);
    expect(later).not.toBeInstanceOf(ApplicationFailure);
    // Still failing since the first failure; one millisecond short of the period, so still enabled.
    expect(tables.endpoints.get('wh_down')).toMatchObject({ failingSince: new Date(T0), disabledAt: null });

    const last = await deliverAt(deliverWebhook, T0 + 5 * DAY, 'wh_down', url);
    expect((last as ApplicationFailure).type).toBe('WebhookRejected');
    expect((last as ApplicationFailure).nonRetryable).toBe(true);
    expect(last?.message).toMatch(/endpoint disabled/);
    expect(tables.endpoints.get('wh_down')).toMatchObject({
      disabledAt: new Date(T0 + 5 * DAY),
      disabledReason: 'failed continuously for 5d (until 2026-12-06T08:00:00.000Z)',
    });
    expect(tables.events).toEqual([
      {
        id: expect.stringMatching(/^evt_/),
        tenantId: 'acme',
        type: 'webhook.disabled',
        createdAt: new Date(T0 + 5 * DAY),
        data: {
          webhookId: 'wh_down',
          url: `${PUBLIC_URL}?[redacted]`,
          reason: 'failed continuously for 5d (until 2026-12-06T08:00:00.000Z)',
        },
      },
    ]);
    expect(http.requests).toHaveLength(3);
  });

  it('a delivered attempt ends the failing period: only failures after it count', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const tables = fakeWebhookTables();
    let status = 500;
    const http = fakeFetch(() => new Response(null, { status }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));

    await deliverAt(deliverWebhook, T0, 'wh_flaky');
    status = 200;
    expect(await deliverAt(deliverWebhook, T0 + 3 * DAY, 'wh_flaky')).toBeNull();
    expect(tables.endpoints.get('wh_flaky')?.failingSince).toBeNull();
    status = 500;
    await deliverAt(deliverWebhook, T0 + 4 * DAY, 'wh_flaky');
    await deliverAt(deliverWebhook, T0 + 8 * DAY, 'wh_flaky');
    expect(tables.endpoints.get('wh_flaky')).toMatchObject({ failingSince: new Date(T0 + 4 * DAY), disabledAt: null });
    await deliverAt(deliverWebhook, T0 + 9 * DAY, 'wh_flaky');
    expect(tables.endpoints.get('wh_flaky')?.disabledAt).toEqual(new Date(T0 + 9 * DAY));
    expect(tables.events).toHaveLength(1);
  });

  it('follows the configured period, and counts a permanent 4xx and a refused target as failures', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const tables = fakeWebhookTables();
    const http = fakeFetch(() => new Response(null, { status: 404 }));
    const config = testConfig({ INTAKE_WEBHOOK_DISABLE_AFTER: '2h' });
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch, config }));

    await deliverAt(deliverWebhook, T0, 'wh_404');
    expect(tables.endpoints.get('wh_404')?.failingSince).toEqual(new Date(T0));
    tables.endpointFor('wh_private').url = 'http://10.0.0.5/hook';
    await deliverAt(deliverWebhook, T0, 'wh_private', 'http://10.0.0.5/hook');
    await deliverAt(deliverWebhook, T0 + 2 * 3_600_000, 'wh_private', 'http://10.0.0.5/hook');
    expect(tables.endpoints.get('wh_private')?.disabledReason).toBe(
      'failed continuously for 2h (until 2026-12-01T10:00:00.000Z)',
    );
  });

  it('ends a retrying delivery to an endpoint disabled meanwhile, for good and without sending it', async () => {
    const tables = fakeWebhookTables();
    let status = 503;
    const http = fakeFetch(() => new Response(null, { status }));
    const { deliverWebhook } = createActivities(activityDeps({ db: tables.db, fetch: http.fetch }));
    await errorOf(activityEnvironment().run(deliverWebhook, input(PUBLIC_URL, 'wh_meanwhile')));

    Object.assign(tables.endpointFor('wh_meanwhile'), { disabledAt: new Date(), disabledReason: 'answered 410 Gone' });
    status = 200;
    const error = await errorOf(
      activityEnvironment({ attempt: 2 }).run(deliverWebhook, input(PUBLIC_URL, 'wh_meanwhile')),
    );

    expect((error as ApplicationFailure).type).toBe('WebhookRejected');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect(error.message).toMatch(/not sent: the endpoint is disabled \(answered 410 Gone\)/);
    expect(http.requests).toHaveLength(1);
    expect(tables.deliveries[0]).toMatchObject({ status: 'abandoned', attempts: 1 });
  });
});

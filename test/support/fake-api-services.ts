import type { S3Client } from '@aws-sdk/client-s3';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import pino from 'pino';
import { expect } from 'vitest';
import { createApp } from '../../api/app';
import type { ApiServices } from '../../api/types';
import { loadConfig } from '../../config/env';
import { createS3Client } from '../../lib/s3-client';
import type { Db } from '../../prisma/db';
import type { FileState } from '../../common/domain';

/*
 * In-memory fakes for Postgres, S3 and Temporal, and an app built around them, for the route tests
 * (test/unit/api-*-routes.test.ts). Each test file also mocks prisma/tenants with fake-tenants.ts.
 */

export type Row = Record<string, unknown> & { id: string; tenantId: string; createdAt: Date };

export function fakeDb() {
  const files = new Map<string, Row>();
  const endpoints = new Map<string, Row>();
  const events: Row[] = [];
  const matches = (row: Row, where: Record<string, unknown>) =>
    Object.entries(where).every(([k, v]) => (row[k] ?? null) === v);
  const db = {
    files,
    endpoints,
    events,
    /** Set to make every call hang (a silent dependency) or throw. */
    hang: false,
    fail: null as Error | null,
    async guard(...values: unknown[]) {
      if (db.fail) throw db.fail;
      if (db.hang) await new Promise(() => {});
      // Like Postgres, which cannot store a NUL byte in text and fails the whole query.
      if (JSON.stringify(values).includes('\\u0000'))
        throw new Error('invalid byte sequence for encoding "UTF8": 0x00');
    },
    // Quota reservations and releases (prisma/quotas.ts) are single SQL statements; route tests see
    // every reservation fit (test/integration and test/e2e run the real ones).
    $executeRaw: async () => {
      await db.guard();
      return 1;
    },
    file: {
      findFirst: async ({ where }: { where: Record<string, unknown> }) => {
        await db.guard(where);
        return [...files.values()].find((r) => matches(r, where)) ?? null;
      },
      create: async ({ data }: { data: Row }) => {
        await db.guard();
        if (
          data.idempotencyKey &&
          [...files.values()].some((r) => r.tenantId === data.tenantId && r.idempotencyKey === data.idempotencyKey)
        ) {
          throw Object.assign(new Error('Unique constraint failed'), { code: 'P2002' });
        }
        const row: Row = {
          renditions: [],
          steps: null,
          hold: false,
          contentType: null,
          sha256: null,
          reason: null,
          width: null,
          height: null,
          completedAt: null,
          expiresAt: null,
          deletedAt: null,
          deletionReason: null,
          updatedAt: new Date(),
          ...data,
        };
        files.set(row.id, row);
        return row;
      },
      deleteMany: async ({ where }: { where: { id: string } }) => {
        files.delete(where.id);
        return { count: 1 };
      },
    },
    webhookEndpoint: {
      create: async ({ data }: { data: Record<string, unknown> & { id: string; tenantId: string } }) => {
        const row: Row = { deletedAt: null, ...data, createdAt: new Date() };
        endpoints.set(row.id, row);
        return row;
      },
      findMany: async ({ where }: { where: Record<string, unknown> }) =>
        [...endpoints.values()].filter((r) => matches(r, where)),
      findFirst: async ({ where }: { where: Record<string, unknown> }) => {
        await db.guard(where);
        return [...endpoints.values()].find((r) => matches(r, where)) ?? null;
      },
      updateMany: async ({ where, data }: { where: Record<string, unknown>; data: Record<string, unknown> }) => {
        await db.guard(where);
        const hit = [...endpoints.values()].filter((r) => matches(r, where));
        for (const row of hit) Object.assign(row, data);
        return { count: hit.length };
      },
    },
    tenantEvent: {
      /** The keyset page prisma/events.ts asks for: newest first, below (createdAt, id). */
      findMany: async ({
        where,
        take,
      }: {
        where: { tenantId: string; OR?: [{ createdAt: { lt: Date } }, { createdAt: Date; id: { lt: string } }] };
        take: number;
      }) => {
        await db.guard(where);
        const after = where.OR?.[1];
        const key = (r: Row) => `${r.createdAt.toISOString()}|${r.id}`;
        return events
          .filter((r) => r.tenantId === where.tenantId)
          .filter((r) => !after || key(r) < `${after.createdAt.toISOString()}|${after.id.lt}`)
          .sort((a, b) => (key(a) < key(b) ? 1 : -1))
          .slice(0, take);
      },
    },
    webhookDelivery: {
      findMany: async () => [
        {
          id: 'd1',
          messageId: 'msg_1',
          fileId: 'f_x',
          event: 'file.ready',
          url: 'https://example.com/hook',
          status: 'delivered',
          attempts: 2,
          lastStatusCode: 200,
          lastError: null,
          createdAt: new Date(),
          deliveredAt: new Date(),
          attemptLog: [
            { attempt: 1, statusCode: 500, error: 'HTTP 500', durationMs: 12, createdAt: new Date() },
            { attempt: 2, statusCode: 200, error: null, durationMs: 9, createdAt: new Date() },
          ],
        },
      ],
    },
    $queryRawUnsafe: async (sql: string, ...params: unknown[]) => {
      await db.guard(params);
      if (sql === 'SELECT 1') return [{ '?column?': 1 }];
      return [...files.values()]
        .filter((r) => r.tenantId === params[0])
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    },
  };
  return db;
}

export function fakeS3(config: ReturnType<typeof loadConfig>) {
  const objects = new Map<string, Buffer>();
  const client = createS3Client(config.s3);
  const state = { objects, down: false, sent: [] as string[] };
  // The real client (for presigning and lib-storage's config look-ups) with an in-memory send().
  Object.assign(client, {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (state.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const key = command.input.Key as string;
      state.sent.push(command.constructor.name);
      switch (command.constructor.name) {
        case 'PutObjectCommand': {
          const body = command.input.Body;
          objects.set(key, Buffer.isBuffer(body) ? body : Buffer.from(body as Uint8Array));
          return { ETag: '"etag"' };
        }
        case 'DeleteObjectCommand':
          objects.delete(key);
          return {};
        case 'HeadBucketCommand':
          return {};
        case 'HeadObjectCommand': {
          const data = objects.get(key);
          if (!data)
            throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
          return { ContentLength: data.length, ETag: '"etag"' };
        }
        case 'GetObjectCommand': {
          const data = objects.get(key);
          if (!data)
            throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
          return { ContentLength: data.length, Body: { transformToWebStream: () => new Response(data).body } };
        }
        default:
          throw new Error(`fake S3 does not implement ${command.constructor.name}`);
      }
    },
  });
  return { client: client as S3Client, state };
}

export function fakeTemporal() {
  const started: { workflowType: string; options: Record<string, unknown> }[] = [];
  const signals: { workflowId: string; name: string; args: unknown[] }[] = [];
  const state = {
    started,
    signals,
    startError: null as Error | null,
    /** With startError: the start did reach Temporal (as a start that timed out may have). */
    startedDespiteError: false,
    /** Set to make describe fail, as it does while Temporal is unreachable. */
    describeError: null as Error | null,
    queryResult: null as FileState | null,
    /** Set to make the status query hang, as it does while no worker answers. */
    queryHang: false,
    updateResult: { expiresAt: '2030-01-01T00:00:00.000Z', hold: false } as unknown,
    updateError: null as Error | null,
    signalError: null as Error | null,
    down: false,
  };
  const client = {
    withAbortSignal: <R>(_signal: AbortSignal, fn: () => Promise<R>) => fn(),
    workflowService: {
      describeNamespace: async () => {
        if (state.down) await new Promise(() => {});
        return {};
      },
    },
    workflow: {
      start: async (workflowType: string, options: Record<string, unknown>) => {
        if (state.startError && state.startedDespiteError) started.push({ workflowType, options });
        if (state.startError) throw state.startError;
        started.push({ workflowType, options });
        return { workflowId: options.workflowId };
      },
      getHandle: (workflowId: string) => ({
        describe: async () => {
          if (state.describeError) throw state.describeError;
          if (!started.some((s) => s.options.workflowId === workflowId)) {
            throw new WorkflowNotFoundError('workflow not found', workflowId, undefined);
          }
          return { workflowId };
        },
        query: async () => {
          if (state.queryHang) await new Promise(() => {});
          // As Temporal answers for a workflow id it never saw (an upload whose start was lost).
          if (!state.queryResult && !started.some((s) => s.options.workflowId === workflowId)) {
            throw new WorkflowNotFoundError('workflow not found', workflowId, undefined);
          }
          if (!state.queryResult) throw new Error('no worker');
          return state.queryResult;
        },
        signal: async (def: { name: string }, ...args: unknown[]) => {
          if (state.signalError) throw state.signalError;
          signals.push({ workflowId, name: def.name, args });
        },
        executeUpdate: async () => {
          if (state.updateError) throw state.updateError;
          return state.updateResult;
        },
      }),
    },
  };
  return { client: client as unknown as Client, state };
}

export type TestApi = ReturnType<typeof setupApi>;

/** An app around fresh fakes; `env` overrides configuration as INTAKE_* variables would. */
export function setupApi(env: Record<string, string> = {}, extra: Pick<ApiServices, 'fileFeed'> = {}) {
  const config = loadConfig({ INTAKE_MAX_UPLOAD_BYTES: '1024', INTAKE_PUBLIC_URL: 'http://api.test', ...env });
  const db = fakeDb();
  const s3 = fakeS3(config);
  const temporal = fakeTemporal();
  const clamd = { up: true };
  const services: ApiServices = {
    config,
    db: db as unknown as Db,
    s3: s3.client,
    temporal: temporal.client,
    log: pino({ level: 'silent' }),
    clamdPing: async () => {
      if (!clamd.up) throw new Error('clamd did not answer PING');
    },
    // Route tests are about routes: every request and upload is let through (test/e2e/quotas.test.ts
    // has the real limiter on Redis).
    limiter: {
      hit: async (_key, rps) => ({ allowed: true, limit: rps, remaining: rps - 1, resetMs: 1000 }),
      acquireUploadSlot: async () => ({ release: async () => undefined }),
      close: async () => undefined,
    },
    ...extra,
  };
  return { app: createApp(services), config, db, s3: s3.state, temporal: temporal.state, clamd };
}

export const ACME = { Authorization: 'Bearer acme-key-123' };
export const GLOBEX = { Authorization: 'Bearer globex-key-456' };
export const cursorFor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function expectError(response: Response, status: number, code?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.requestId).toBeTruthy();
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at /);
  if (code) expect(body.error.code).toBe(code);
  // Every 503 tells the client when to come back.
  if (status === 503) expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
  return body.error;
}

export function multipart(file: Buffer | string, fields: Record<string, string> = {}, filename = 'photo.jpg') {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append(
    'file',
    new Blob([typeof file === 'string' ? file : new Uint8Array(file)], { type: 'image/jpeg' }),
    filename,
  );
  return form;
}

export function seedFile(t: TestApi, fields: Partial<Row> & { id: string }) {
  const row: Row = {
    tenantId: 'acme',
    workflowId: `upload-${fields.id}`,
    filename: 'photo.jpg',
    declaredContentType: 'image/jpeg',
    contentType: 'image/jpeg',
    size: 3n,
    sha256: 'abc',
    status: 'READY',
    reason: null,
    width: 10,
    height: 10,
    tags: [],
    renditions: [{ name: 'thumb', key: 'k', format: 'webp', width: 5, height: 5, size: 2 }],
    steps: null,
    storageKey: `files/acme/${fields.id}/original`,
    idempotencyKey: null,
    createdAt: new Date(),
    completedAt: new Date(),
    expiresAt: new Date(Date.now() + 86_400_000),
    hold: false,
    deletedAt: null,
    deletionReason: null,
    ...fields,
  };
  t.db.files.set(row.id, row);
  return row;
}

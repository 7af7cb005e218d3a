import type { S3Client } from '@aws-sdk/client-s3';
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import pino from 'pino';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../api/app';
import type { ApiServices } from '../../api/context';
import { contentDisposition } from '../../api/serve-object';
import { sanitizeFilename } from '../../api/upload-fields';
import { loadConfig } from '../../config/env';
import { createS3Client } from '../../lib/s3-client';
import type { Db } from '../../prisma/db';
import type { FileState } from '../../common/domain';

/*
 * Route tests through app.request() with in-memory fakes for Postgres, S3 and Temporal: they pin down
 * the status codes and the error shape of every route. The real stack is exercised by test/e2e.
 */

const KEYS: Record<string, string> = { 'acme-key-123': 'acme', 'globex-key-456': 'globex' };
const secrets = vi.hoisted(() => ({ rotated: false }));
vi.mock('../../prisma/tenants', () => ({
  findTenantByApiKey: async (_db: unknown, key: string) => (KEYS[key] ? { tenantId: KEYS[key] } : null),
  getWebhookSecretInfo: async () =>
    secrets.rotated
      ? { current: 'whsec_next', previous: 'whsec_current', previousExpiresAt: new Date('2030-01-02T00:00:00Z') }
      : { current: 'whsec_current', previous: null, previousExpiresAt: null },
  rotateWebhookSecret: async () => {
    secrets.rotated = true;
    return 'whsec_next';
  },
}));

type Row = Record<string, unknown> & { id: string; tenantId: string; createdAt: Date };

function fakeDb() {
  const files = new Map<string, Row>();
  const endpoints = new Map<string, Row>();
  const matches = (row: Row, where: Record<string, unknown>) =>
    Object.entries(where).every(([k, v]) => (row[k] ?? null) === v);
  const db = {
    files,
    endpoints,
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

function fakeS3(config: ReturnType<typeof loadConfig>) {
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

function fakeTemporal() {
  const started: { workflowType: string; options: Record<string, unknown> }[] = [];
  const signals: { workflowId: string; name: string; args: unknown[] }[] = [];
  const state = {
    started,
    signals,
    startError: null as Error | null,
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
        if (state.startError) throw state.startError;
        started.push({ workflowType, options });
        return { workflowId: options.workflowId };
      },
      getHandle: (workflowId: string) => ({
        query: async () => {
          if (state.queryHang) await new Promise(() => {});
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

function setup(env: Record<string, string> = {}) {
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
  };
  return { app: createApp(services), config, db, s3: s3.state, temporal: temporal.state, clamd };
}

const ACME = { Authorization: 'Bearer acme-key-123' };
const GLOBEX = { Authorization: 'Bearer globex-key-456' };
const cursorFor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function expectError(response: Response, status: number, code?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.requestId).toBeTruthy();
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at /);
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}

function multipart(file: Buffer | string, fields: Record<string, string> = {}, filename = 'photo.jpg') {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append(
    'file',
    new Blob([typeof file === 'string' ? file : new Uint8Array(file)], { type: 'image/jpeg' }),
    filename,
  );
  return form;
}

function seedFile(t: ReturnType<typeof setup>, fields: Partial<Row> & { id: string }) {
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

describe('HTTP API routes', () => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    t = setup();
  });

  describe('health and docs', () => {
    it('answers /healthz without authentication', async () => {
      const res = await t.app.request('/healthz');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });

    it('reports ready when every dependency answers', async () => {
      const res = await t.app.request('/readyz');
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(body.status).toBe('ready');
      expect(Object.keys(body.checks).sort()).toEqual(['clamd', 'postgres', 's3', 'temporal']);
    });

    it('answers 503 naming the failing dependencies, within the probe budget', async () => {
      t.clamd.up = false;
      t.temporal.down = true;
      const started = Date.now();
      const res = await t.app.request('/readyz');
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { failing: string[]; error: { code: string } };
      expect(body.failing.sort()).toEqual(['clamd', 'temporal']);
      expect(body.error.code).toBe('not_ready');
    });

    it('serves the OpenAPI document with the bearer scheme and every route', async () => {
      const res = await t.app.request('/openapi.json');
      expect(res.status).toBe(200);
      const doc = (await res.json()) as {
        components: { securitySchemes: Record<string, unknown> };
        paths: Record<string, object>;
      };
      expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/v1/files',
          '/v1/files/{id}',
          '/v1/files/{id}/content',
          '/v1/files/{id}/renditions/{name}',
          '/v1/files/{id}/retention',
          '/v1/webhooks',
          '/v1/webhooks/{id}',
          '/v1/webhooks/{id}/deliveries',
          '/v1/webhook-secret',
          '/v1/webhook-secret/rotate',
          '/healthz',
          '/readyz',
        ]),
      );
    });

    it('documents /healthz and /readyz as needing no API key, unlike the /v1 routes', async () => {
      const doc = (await (await t.app.request('/openapi.json')).json()) as {
        security: unknown[];
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
      expect(doc.security).toEqual([{ bearerAuth: [] }]);
      expect(doc.paths['/healthz']!.get!.security).toEqual([]);
      expect(doc.paths['/readyz']!.get!.security).toEqual([]);
      expect(doc.paths['/v1/files']!.get!.security).toEqual([{ bearerAuth: [] }]);
    });

    it('documents the 400 of a malformed id and the 413 of an oversized JSON body', async () => {
      const doc = (await (await t.app.request('/openapi.json')).json()) as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      const statuses = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses);
      expect(statuses('/v1/files/{id}', 'delete')).toContain('400');
      expect(statuses('/v1/webhooks/{id}', 'delete')).toContain('400');
      expect(statuses('/v1/files/{id}/retention', 'patch')).toContain('413');
      expect(statuses('/v1/webhooks', 'post')).toContain('413');
      await expectError(await t.app.request('/v1/files/f_%00', { method: 'DELETE', headers: ACME }), 400);
      await expectError(
        await t.app.request('/v1/files/f_x/retention', {
          method: 'PATCH',
          headers: { ...ACME, 'Content-Type': 'application/json' },
          body: JSON.stringify({ extendBy: '1d', pad: 'x'.repeat(70_000) }),
        }),
        413,
      );
    });

    it('serves an interactive reference page at /docs', async () => {
      const res = await t.app.request('/docs');
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain('/openapi.json');
      // The page must work without internet: its script comes from this server, not a CDN.
      expect(page).toContain('/docs/scalar.js');
      expect(page).not.toMatch(/<script[^>]+src="https?:/);
      const script = await t.app.request('/docs/scalar.js');
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    });
  });

  describe('errors', () => {
    it('401 without an API key, and with an unknown one', async () => {
      const missing = await t.app.request('/v1/files');
      await expectError(missing, 401, 'unauthorized');
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectError(await t.app.request('/v1/files', { headers: { Authorization: 'Bearer nope-nope-nope' } }), 401);
      await expectError(await t.app.request('/v1/files', { headers: { Authorization: 'Basic abc' } }), 401);
    });

    it('404 JSON for unknown routes', async () => {
      await expectError(await t.app.request('/nowhere'), 404, 'not_found');
      await expectError(await t.app.request('/v1/nowhere', { headers: ACME }), 404, 'not_found');
    });

    it('405 JSON with Allow for a known path and the wrong method', async () => {
      const res = await t.app.request('/v1/files', { method: 'PUT', headers: ACME });
      await expectError(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')).toContain('POST');
      await expectError(await t.app.request('/healthz', { method: 'POST' }), 405);
      await expectError(await t.app.request('/v1/files/f_x/content', { method: 'DELETE', headers: ACME }), 405);
    });

    it('400 for invalid query parameters, naming the field', async () => {
      const error = await expectError(
        await t.app.request('/v1/files?limit=1000', { headers: ACME }),
        400,
        'invalid_request',
      );
      expect(error.message).toMatch(/limit/);
      await expectError(await t.app.request('/v1/files?cursor=garbage', { headers: ACME }), 400);
      await expectError(await t.app.request('/v1/files?status=NOPE', { headers: ACME }), 400);
    });

    it('404, not a 405 that names the method it got, for a known path with a trailing slash', async () => {
      await expectError(await t.app.request('/v1/files/', { headers: ACME }), 404, 'not_found');
      await expectError(await t.app.request('/v1/files/f_x/', { headers: ACME }), 404, 'not_found');
      await expectError(await t.app.request('/healthz/'), 404, 'not_found');
    });

    it('400, not a 500 from Postgres, for a NUL byte in an id or a search', async () => {
      for (const path of [
        '/v1/files/f_%00',
        '/v1/files/f_%00/content',
        '/v1/files?q=a%00b',
        '/v1/files?contentType=image%2F%00',
        '/v1/webhooks/wh_%00/deliveries',
      ]) {
        await expectError(await t.app.request(path, { headers: ACME }), 400, 'invalid_request');
      }
      await expectError(
        await t.app.request('/v1/webhooks/wh_%00', { method: 'DELETE', headers: ACME }),
        400,
        'invalid_request',
      );
    });

    it('400 for a forged cursor that decodes but names no row Postgres could hold', async () => {
      for (const forged of [
        ['-100000-01-01T00:00:00.000Z', 'f_x'],
        ['+275760-09-13T00:00:00.000Z', 'f_x'],
        ['0000-01-01T00:00:00.000Z', 'f_x'],
        ['2026-01-01T00:00:00.000Z', 'f_\u0000'],
        ['2026-01-01T00:00:00.000Z'],
        '20',
        { createdAt: '2026-01-01T00:00:00.000Z', id: 'f_x' },
      ]) {
        const error = await expectError(
          await t.app.request(`/v1/files?cursor=${cursorFor(forged)}`, { headers: ACME }),
          400,
          'invalid_request',
        );
        expect(error.message).toMatch(/cursor/);
      }
    });

    it('500 for an unexpected error: JSON, no stack trace, no internals', async () => {
      t.db.fail = new Error('secret internal detail');
      const error = await expectError(await t.app.request('/v1/files/f_x', { headers: ACME }), 500, 'internal_error');
      expect(error.message).not.toContain('secret');
    });

    it('503 quickly when Postgres does not answer', async () => {
      seedFile(t, { id: 'f_hang' });
      t.db.hang = true;
      const started = Date.now();
      // Auth itself needs Postgres; the mock answers auth, so the hang hits the file look-up.
      const res = await t.app.request('/v1/files/f_hang', { headers: ACME });
      expect(Date.now() - started).toBeLessThan(7_000);
      await expectError(res, 503, 'dependency_unavailable');
    });

    it('503 when a dependency refuses connections', async () => {
      t.db.fail = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      await expectError(await t.app.request('/v1/files', { headers: ACME }), 503, 'dependency_unavailable');
    });
  });

  describe('POST /v1/files', () => {
    it('accepts a multipart upload, stores it under the incoming key and starts one workflow', async () => {
      const res = await t.app.request('/v1/files', {
        method: 'POST',
        headers: ACME,
        body: multipart(
          'abc',
          { tags: 'a,b', retention: '2d', callbackUrl: 'https://example.com/cb' },
          '../../etc/pa\u202esswd',
        ),
      });
      expect(res.status).toBe(202);
      const body = (await res.json()) as {
        id: string;
        status: string;
        workflowId: string;
        links: Record<string, string>;
      };
      expect(body.id).toMatch(/^f_[a-z2-7]{24}$/);
      expect(body.status).toBe('PROCESSING');
      expect(body.workflowId).toBe(`upload-${body.id}`);
      expect(res.headers.get('location')).toBe(`/v1/files/${body.id}`);
      expect(body.links.self).toBe(`http://api.test/v1/files/${body.id}`);
      expect(body.links.temporalUi).toBe(`http://localhost:8233/namespaces/default/workflows/upload-${body.id}`);
      expect(t.s3.objects.get(`incoming/acme/${body.id}`)?.toString()).toBe('abc');

      expect(t.temporal.started).toHaveLength(1);
      const { workflowType, options } = t.temporal.started[0]!;
      expect(workflowType).toBe('uploadWorkflow');
      expect(options).toMatchObject({ workflowId: `upload-${body.id}`, taskQueue: 'intake' });
      const [input] = options.args as [Record<string, unknown>];
      expect(input).toMatchObject({
        fileId: body.id,
        tenantId: 'acme',
        // busboy keeps only the base name; the bidi override is stripped.
        filename: 'passwd',
        declaredContentType: 'image/jpeg',
        size: 3,
        incomingKey: `incoming/acme/${body.id}`,
        tags: ['a', 'b'],
        callbackUrl: 'https://example.com/cb',
        retentionMs: 2 * 86_400_000,
      });
      expect(t.db.files.get(body.id)).toMatchObject({ status: 'PROCESSING', tenantId: 'acme' });
    });

    it('accepts a raw body with ?filename= and options in the query', async () => {
      const res = await t.app.request('/v1/files?filename=notes.txt&tags=x&tags=y', {
        method: 'POST',
        headers: { ...ACME, 'Content-Type': 'text/plain' },
        body: 'hello',
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      const [input] = t.temporal.started[0]!.options.args as [Record<string, unknown>];
      expect(input).toMatchObject({
        fileId: id,
        filename: 'notes.txt',
        declaredContentType: 'text/plain',
        size: 5,
        tags: ['x', 'y'],
      });
    });

    it('400 for a raw upload without a filename, a bad callbackUrl or a retention out of bounds', async () => {
      const post = (query: string) =>
        t.app.request(`/v1/files${query}`, {
          method: 'POST',
          headers: { ...ACME, 'Content-Type': 'image/png' },
          body: 'x',
        });
      await expectError(await post(''), 400);
      expect((await expectError(await post('?filename=a&callbackUrl=ftp://x'), 400)).message).toMatch(/callbackUrl/);
      expect((await expectError(await post('?filename=a&retention=9999d'), 400)).message).toMatch(/retention/);
      await expectError(
        await t.app.request('/v1/files', {
          method: 'POST',
          headers: ACME,
          body: multipart('abc', { callbackUrl: 'javascript:alert(1)' }),
        }),
        400,
      );
      expect(t.s3.objects.size).toBe(0);
      expect(t.temporal.started).toHaveLength(0);
    });

    it('400 for a multipart body without a file field', async () => {
      const form = new FormData();
      form.append('tags', 'a');
      await expectError(await t.app.request('/v1/files', { method: 'POST', headers: ACME, body: form }), 400);
    });

    it("takes curl --data-binary's urlencoded default as raw bytes of an undeclared type", async () => {
      const res = await t.app.request('/v1/files?filename=report.pdf', {
        method: 'POST',
        headers: { ...ACME, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: '%PDF-1.4',
      });
      expect(res.status).toBe(202);
      const [input] = t.temporal.started[0]!.options.args as [Record<string, unknown>];
      expect(input).toMatchObject({ filename: 'report.pdf', declaredContentType: null, size: 8 });
    });

    it('413 from Content-Length before reading the body', async () => {
      const res = await t.app.request('/v1/files?filename=big.bin', {
        method: 'POST',
        headers: { ...ACME, 'Content-Type': 'application/octet-stream', 'Content-Length': '5000' },
        body: Buffer.alloc(5000),
      });
      await expectError(res, 413, 'payload_too_large');
      expect(t.s3.objects.size).toBe(0);
    });

    it('413 from a multipart Content-Length names the configured limit, not the limit plus framing', async () => {
      const encoded = new Response(multipart(Buffer.alloc(70_000)));
      const body = Buffer.from(await encoded.arrayBuffer());
      const error = await expectError(
        await t.app.request('/v1/files', {
          method: 'POST',
          headers: {
            ...ACME,
            'Content-Type': encoded.headers.get('content-type')!,
            'Content-Length': String(body.length),
          },
          body,
        }),
        413,
        'payload_too_large',
      );
      expect(error.message).toBe('The upload exceeds the limit of 1024 bytes');
      expect(t.s3.objects.size).toBe(0);
    });

    it('413 while streaming, leaving nothing in storage and starting nothing', async () => {
      const raw = await t.app.request('/v1/files?filename=big.bin', {
        method: 'POST',
        headers: { ...ACME, 'Content-Type': 'application/octet-stream' },
        body: new Blob([Buffer.alloc(4096)]).stream(),
        duplex: 'half',
      } as RequestInit);
      await expectError(raw, 413);
      await expectError(
        await t.app.request('/v1/files', { method: 'POST', headers: ACME, body: multipart(Buffer.alloc(4096)) }),
        413,
      );
      expect(t.s3.objects.size).toBe(0);
      expect(t.db.files.size).toBe(0);
      expect(t.temporal.started).toHaveLength(0);
    });

    it('422 for an empty file, leaving nothing in storage', async () => {
      const error = await expectError(
        await t.app.request('/v1/files', { method: 'POST', headers: ACME, body: multipart('') }),
        422,
        'empty_file',
      );
      expect(error.message).toMatch(/empty/);
      expect(t.s3.objects.size).toBe(0);
    });

    it('returns the first upload for a repeated Idempotency-Key and starts no second workflow', async () => {
      const send = () =>
        t.app.request('/v1/files', {
          method: 'POST',
          headers: { ...ACME, 'Idempotency-Key': 'k-1' },
          body: multipart('abc'),
        });
      const first = (await (await send()).json()) as { id: string };
      const again = await send();
      expect(again.status).toBe(202);
      expect(((await again.json()) as { id: string }).id).toBe(first.id);
      expect(t.temporal.started).toHaveLength(1);
      // Another tenant's identical key is a different upload.
      const other = await t.app.request('/v1/files', {
        method: 'POST',
        headers: { ...GLOBEX, 'Idempotency-Key': 'k-1' },
        body: multipart('abc'),
      });
      expect(((await other.json()) as { id: string }).id).not.toBe(first.id);
    });

    it('400 for an Idempotency-Key over 255 characters', async () => {
      await expectError(
        await t.app.request('/v1/files', {
          method: 'POST',
          headers: { ...ACME, 'Idempotency-Key': 'k'.repeat(256) },
          body: multipart('abc'),
        }),
        400,
      );
    });

    it('503 when the workflow cannot start, removing the row and the object', async () => {
      t.temporal.startError = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
      await expectError(
        await t.app.request('/v1/files', { method: 'POST', headers: ACME, body: multipart('abc') }),
        503,
      );
      expect(t.db.files.size).toBe(0);
      expect(t.s3.objects.size).toBe(0);
    });

    it('503 when storage is down', async () => {
      t.s3.down = true;
      await expectError(
        await t.app.request('/v1/files', { method: 'POST', headers: ACME, body: multipart('abc') }),
        503,
      );
      expect(t.db.files.size).toBe(0);
    });
  });

  describe('GET /v1/files/{id}', () => {
    it('describes a processing file from the workflow query', async () => {
      seedFile(t, { id: 'f_p', status: 'PROCESSING', renditions: [] });
      t.temporal.queryResult = {
        status: 'PROCESSING',
        steps: { scan: { state: 'running', attempts: 1 } },
        renditions: [],
        tags: ['q'],
      } as unknown as FileState;
      const res = await t.app.request('/v1/files/f_p', { headers: ACME });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ id: 'f_p', status: 'PROCESSING', tags: ['q'], workflowId: 'upload-f_p' });
      expect((body.steps as Record<string, { state: string }>).scan?.state).toBe('running');
    });

    it('describes a finished file from Postgres, with absolute rendition URLs', async () => {
      seedFile(t, { id: 'f_r' });
      const body = (await (await t.app.request('/v1/files/f_r', { headers: ACME })).json()) as {
        status: string;
        size: number;
        renditions: { name: string; url: string }[];
        links: Record<string, string>;
      };
      expect(body.status).toBe('READY');
      expect(body.size).toBe(3);
      expect(body.renditions[0]).toMatchObject({ name: 'thumb', url: 'http://api.test/v1/files/f_r/renditions/thumb' });
      expect(body.links.content).toBe('http://api.test/v1/files/f_r/content');
    });

    it("404 for another tenant's file, exactly as for a missing one", async () => {
      seedFile(t, { id: 'f_acme' });
      const theirs = await expectError(await t.app.request('/v1/files/f_acme', { headers: GLOBEX }), 404);
      const missing = await expectError(await t.app.request('/v1/files/f_none', { headers: GLOBEX }), 404);
      expect(theirs.code).toBe(missing.code);
      expect(theirs.message.replace('f_acme', 'ID')).toBe(missing.message.replace('f_none', 'ID'));
      await expectError(await t.app.request('/v1/files/f_acme/content', { headers: GLOBEX }), 404);
      await expectError(await t.app.request('/v1/files/f_acme', { method: 'DELETE', headers: GLOBEX }), 404);
    });

    it('long-polls with ?wait until the status leaves PROCESSING', async () => {
      const row = seedFile(t, { id: 'f_w', status: 'PROCESSING' });
      setTimeout(() => Object.assign(row, { status: 'READY' }), 700);
      const started = Date.now();
      const body = (await (await t.app.request('/v1/files/f_w?wait=10s', { headers: ACME })).json()) as {
        status: string;
      };
      expect(body.status).toBe('READY');
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      await expectError(await t.app.request('/v1/files/f_w?wait=soon', { headers: ACME }), 400);
    });

    it('reads a bare ?wait number as seconds', async () => {
      const row = seedFile(t, { id: 'f_s', status: 'PROCESSING' });
      setTimeout(() => Object.assign(row, { status: 'READY' }), 500);
      const body = (await (await t.app.request('/v1/files/f_s?wait=5', { headers: ACME })).json()) as {
        status: string;
      };
      expect(body.status).toBe('READY');
    });

    it('never long-polls past the wait, even while the status query hangs (no worker)', async () => {
      seedFile(t, { id: 'f_h', status: 'PROCESSING' });
      t.temporal.queryHang = true;
      const started = Date.now();
      const res = await t.app.request('/v1/files/f_h?wait=2s', { headers: ACME });
      const elapsed = Date.now() - started;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { status: string }).status).toBe('PROCESSING');
      expect(elapsed).toBeGreaterThanOrEqual(1_900);
      expect(elapsed).toBeLessThan(2_900);
    });

    it('says why a deleted file went, and keeps an earlier reason', async () => {
      seedFile(t, { id: 'f_del', status: 'DELETED', reason: null, deletionReason: 'requested' });
      seedFile(t, { id: 'f_rej', status: 'DELETED', reason: 'not an image', deletionReason: 'expired' });
      const reasonOf = async (id: string) =>
        ((await (await t.app.request(`/v1/files/${id}`, { headers: ACME })).json()) as { reason: string | null })
          .reason;
      expect(await reasonOf('f_del')).toBe('requested');
      expect(await reasonOf('f_rej')).toBe('not an image');
      seedFile(t, { id: 'f_ok' });
      expect(await reasonOf('f_ok')).toBeNull();
    });

    it('lists the tenant files newest first with a cursor', async () => {
      seedFile(t, { id: 'f_1', createdAt: new Date(1000) });
      seedFile(t, { id: 'f_2', createdAt: new Date(2000) });
      seedFile(t, { id: 'f_g', tenantId: 'globex' });
      const page = (await (await t.app.request('/v1/files?limit=1', { headers: ACME })).json()) as {
        items: { id: string }[];
        nextCursor: string | null;
      };
      expect(page.items.map((f) => f.id)).toEqual(['f_2']);
      expect(page.nextCursor).toEqual(expect.any(String));
      const next = await t.app.request(`/v1/files?limit=1&cursor=${page.nextCursor}`, { headers: ACME });
      expect(next.status).toBe(200);
    });
  });

  describe('downloads', () => {
    it('streams READY content with type, length and a safe Content-Disposition', async () => {
      seedFile(t, { id: 'f_d', filename: 'my "photo".jpg' });
      t.s3.objects.set('files/acme/f_d/original', Buffer.from('abc'));
      const res = await t.app.request('/v1/files/f_d/content', { headers: ACME });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('content-length')).toBe('3');
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="my _photo_.jpg"; filename*=UTF-8''my%20%22photo%22.jpg`,
      );
      expect(await res.text()).toBe('abc');
    });

    it('HEAD answers the download headers without opening the object, so no S3 socket is left unread', async () => {
      seedFile(t, { id: 'f_h', filename: 'ré "sumé".jpg' });
      t.s3.objects.set('files/acme/f_h/original', Buffer.from('abc'));
      t.s3.objects.set('files/acme/f_h/renditions/thumb.webp', Buffer.from('webp'));
      const content = await t.app.request('/v1/files/f_h/content', { method: 'HEAD', headers: ACME });
      expect(content.status).toBe(200);
      expect(content.headers.get('content-type')).toBe('image/jpeg');
      expect(content.headers.get('content-length')).toBe('3');
      expect(content.headers.get('content-disposition')).toBe(contentDisposition('ré "sumé".jpg'));
      expect(await content.text()).toBe('');
      const thumb = await t.app.request('/v1/files/f_h/renditions/thumb', { method: 'HEAD', headers: ACME });
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-length')).toBe('4');
      expect(t.s3.sent).not.toContain('GetObjectCommand');
      t.s3.objects.clear();
      expect((await t.app.request('/v1/files/f_h/content', { method: 'HEAD', headers: ACME })).status).toBe(410);
    });

    it('streams a rendition, and 404s an unknown rendition', async () => {
      seedFile(t, { id: 'f_t' });
      t.s3.objects.set('files/acme/f_t/renditions/thumb.webp', Buffer.from('webp'));
      const res = await t.app.request('/v1/files/f_t/renditions/thumb', { headers: ACME });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      expect(await res.text()).toBe('webp');
      await expectError(
        await t.app.request('/v1/files/f_t/renditions/huge', { headers: ACME }),
        404,
        'rendition_not_found',
      );
    });

    it('redirects to a short-lived presigned URL with ?redirect=1', async () => {
      seedFile(t, { id: 'f_s' });
      const res = await t.app.request('/v1/files/f_s/content?redirect=1', { headers: ACME });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location')!);
      expect(location.pathname).toBe('/intake/files/acme/f_s/original');
      expect(location.searchParams.get('X-Amz-Expires')).toBe('300');
    });

    it('409 while processing, 410 for quarantined, rejected and deleted files', async () => {
      seedFile(t, { id: 'f_p', status: 'PROCESSING' });
      seedFile(t, { id: 'f_i', status: 'INFECTED', reason: 'Eicar-Test-Signature' });
      seedFile(t, { id: 'f_x', status: 'REJECTED', reason: 'not an image' });
      seedFile(t, { id: 'f_del', status: 'DELETED', deletionReason: 'expired' });
      await expectError(await t.app.request('/v1/files/f_p/content', { headers: ACME }), 409, 'file_processing');
      const infected = await expectError(
        await t.app.request('/v1/files/f_i/content', { headers: ACME }),
        410,
        'file_infected',
      );
      expect(infected.message).toContain('Eicar');
      await expectError(await t.app.request('/v1/files/f_x/renditions/thumb', { headers: ACME }), 410, 'file_rejected');
      await expectError(
        await t.app.request('/v1/files/f_del/content?redirect=1', { headers: ACME }),
        410,
        'file_deleted',
      );
    });
  });

  describe('delete and retention', () => {
    it('DELETE signals the workflow and answers 202; a deleted file answers 410', async () => {
      seedFile(t, { id: 'f_d' });
      const res = await t.app.request('/v1/files/f_d', { method: 'DELETE', headers: ACME });
      expect(res.status).toBe(202);
      expect(t.temporal.signals).toEqual([
        { workflowId: 'upload-f_d', name: 'delete', args: [{ reason: 'requested' }] },
      ]);
      seedFile(t, { id: 'f_gone', status: 'DELETED' });
      await expectError(await t.app.request('/v1/files/f_gone', { method: 'DELETE', headers: ACME }), 410);
      seedFile(t, { id: 'f_closed' });
      t.temporal.signalError = new WorkflowNotFoundError('not found', 'upload-f_closed', undefined);
      await expectError(await t.app.request('/v1/files/f_closed', { method: 'DELETE', headers: ACME }), 410);
    });

    it('DELETE answers 409 while a legal hold is on, whether the workflow or only Postgres says so', async () => {
      seedFile(t, { id: 'f_held' });
      t.temporal.queryResult = { hold: true } as FileState;
      const held = await expectError(await t.app.request('/v1/files/f_held', { method: 'DELETE', headers: ACME }), 409);
      expect(held.code).toBe('file_on_hold');
      t.temporal.queryResult = null;
      seedFile(t, { id: 'f_held_row', hold: true });
      await expectError(await t.app.request('/v1/files/f_held_row', { method: 'DELETE', headers: ACME }), 409);
      expect(t.temporal.signals).toEqual([]);
    });

    it('PATCH retention answers the new expiry and hold', async () => {
      seedFile(t, { id: 'f_r' });
      const res = await t.app.request('/v1/files/f_r/retention', {
        method: 'PATCH',
        headers: { ...ACME, 'Content-Type': 'application/json' },
        body: JSON.stringify({ extendBy: '30d' }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ expiresAt: '2030-01-01T00:00:00.000Z', hold: false });
    });

    it('PATCH retention: 400 for a rejected update, a malformed body, or two changes at once; 415 for non-JSON', async () => {
      seedFile(t, { id: 'f_r' });
      const patch = (body: string, type = 'application/json') =>
        t.app.request('/v1/files/f_r/retention', { method: 'PATCH', headers: { ...ACME, 'Content-Type': type }, body });
      t.temporal.updateError = new WorkflowUpdateFailedError(
        'Workflow Update failed',
        new Error('expiresAt must be in the future'),
      );
      const rejected = await expectError(
        await patch(JSON.stringify({ expiresAt: '2001-01-01T00:00:00Z' })),
        400,
        'invalid_retention',
      );
      expect(rejected.message).toContain('future');
      await expectError(await patch(JSON.stringify({ hold: true, extendBy: '1d' })), 400);
      await expectError(await patch(JSON.stringify({ extendBy: '30' })), 400);
      await expectError(await patch(JSON.stringify({ extendBy: 'forever' })), 400);
      await expectError(await patch('{not json'), 400);
      await expectError(await patch('hold=true', 'text/plain'), 415);
    });
  });

  describe('retention while no worker answers', () => {
    it('PATCH retention answers 503, not 500, when Temporal refuses the update because the workflow task failed', async () => {
      seedFile(t, { id: 'f_r', status: 'PROCESSING' });
      t.temporal.updateError = new ServiceError('Workflow Update failed', {
        cause: Object.assign(
          new Error(
            '9 FAILED_PRECONDITION: Unable to perform workflow execution update due to Workflow Task in failed state.',
          ),
          { code: 9 },
        ),
      });
      const error = await expectError(
        await t.app.request('/v1/files/f_r/retention', {
          method: 'PATCH',
          headers: { ...ACME, 'Content-Type': 'application/json' },
          body: JSON.stringify({ extendBy: '30d' }),
        }),
        503,
        'dependency_unavailable',
      );
      expect(error.message).toMatch(/retry/);
    });
  });

  describe('webhooks', () => {
    it('registers, lists, shows deliveries and removes an endpoint', async () => {
      const created = await t.app.request('/v1/webhooks', {
        method: 'POST',
        headers: { ...ACME, 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/hook', events: ['file.ready'] }),
      });
      expect(created.status).toBe(201);
      const hook = (await created.json()) as { id: string; url: string; events: string[] };
      expect(hook).toMatchObject({ url: 'https://example.com/hook', events: ['file.ready'] });

      const list = (await (await t.app.request('/v1/webhooks', { headers: ACME })).json()) as {
        items: { id: string }[];
      };
      expect(list.items.map((h) => h.id)).toEqual([hook.id]);
      const theirs = (await (await t.app.request('/v1/webhooks', { headers: GLOBEX })).json()) as { items: unknown[] };
      expect(theirs.items).toEqual([]);

      const deliveries = (await (
        await t.app.request(`/v1/webhooks/${hook.id}/deliveries`, { headers: ACME })
      ).json()) as {
        items: { attempts: number; attemptLog: { statusCode: number }[] }[];
      };
      expect(deliveries.items[0]!.attemptLog.map((a) => a.statusCode)).toEqual([500, 200]);
      await expectError(await t.app.request(`/v1/webhooks/${hook.id}/deliveries`, { headers: GLOBEX }), 404);

      expect((await t.app.request(`/v1/webhooks/${hook.id}`, { method: 'DELETE', headers: GLOBEX })).status).toBe(404);
      expect((await t.app.request(`/v1/webhooks/${hook.id}`, { method: 'DELETE', headers: ACME })).status).toBe(204);
      await expectError(await t.app.request(`/v1/webhooks/${hook.id}`, { method: 'DELETE', headers: ACME }), 404);
    });

    it('400 for a non-http URL or an unknown event', async () => {
      const post = (body: unknown) =>
        t.app.request('/v1/webhooks', {
          method: 'POST',
          headers: { ...ACME, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      await expectError(await post({ url: 'file:///etc/passwd' }), 400);
      expect((await expectError(await post({ url: 'http://127.0.0.1:8080/hook' }), 400)).message).toMatch(/loopback/);
      await expectError(await post({ url: 'http://169.254.169.254/latest' }), 400);
      await expectError(await post({ url: 'https://user:pw@example.com/' }), 400);
      await expectError(await post({ url: 'https://example.com', events: ['file.exploded'] }), 400);
      await expectError(await post({}), 400);
      await expectError(await post({ url: `https://example.com/${'x'.repeat(70_000)}` }), 413);
    });

    it('returns and rotates the signing secret', async () => {
      expect(await (await t.app.request('/v1/webhook-secret', { headers: ACME })).json()).toEqual({
        secret: 'whsec_current',
      });
      const rotated = await t.app.request('/v1/webhook-secret/rotate', { method: 'POST', headers: ACME });
      expect(await rotated.json()).toEqual({ secret: 'whsec_next', previousValidUntil: '2030-01-02T00:00:00.000Z' });
    });
  });

  describe('helpers', () => {
    it('sanitises filenames: control characters out, separators neutralised, length capped', () => {
      expect(sanitizeFilename('a\u0000b\nc\u202e.jpg')).toBe('abc.jpg');
      expect(sanitizeFilename('../x')).toBe('.._x');
      expect(sanitizeFilename('')).toBe('upload');
      expect(Array.from(sanitizeFilename('é'.repeat(300)))).toHaveLength(255);
    });

    it('builds Content-Disposition that no filename can break', () => {
      expect(contentDisposition('résumé\r\n".pdf')).toBe(
        `attachment; filename="resume_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%0D%0A%22.pdf`,
      );
    });
  });
});

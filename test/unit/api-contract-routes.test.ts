import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ACME, expectError, setupApi, type TestApi } from '../support/fake-api-services';

/*
 * What `npm run fuzz` (schemathesis) found where /openapi.json and the answers disagreed: each test
 * reads the document a client reads, and checks the route answers what it says.
 */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

interface Doc {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
        responses?: Record<string, unknown>;
        requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
      }
    >
  >;
  components: { schemas: Record<string, Record<string, unknown>> };
}

describe('the API contract', () => {
  let t: TestApi;
  let doc: Doc;
  beforeEach(async () => {
    t = setupApi();
    doc = (await (await t.app.request('/openapi.json')).json()) as Doc;
  });
  const queryParam = (path: string, method: string, name: string) =>
    doc.paths[path]?.[method]?.parameters?.find((p) => p.in === 'query' && p.name === name)?.schema;

  it('a retention change documents that it takes exactly one of expiresAt, extendBy or hold', async () => {
    expect(doc.components.schemas.RetentionChange).toMatchObject({
      additionalProperties: false,
      oneOf: [{ required: ['expiresAt'] }, { required: ['extendBy'] }, { required: ['hold'] }],
    });
    // What the document now calls invalid is what the route refuses.
    const res = await t.app.request('/v1/files/f_r/retention', {
      method: 'PATCH',
      headers: { ...ACME, 'Content-Type': 'application/json' },
      body: JSON.stringify({ hold: false, extendBy: '30d' }),
    });
    await expectError(res, 400, 'invalid_request');
  });

  it('an upload filename in the query is at most 255 characters, so the query fits the header limit', async () => {
    expect(queryParam('/v1/files', 'post', 'filename')).toMatchObject({ maxLength: 255 });
    const upload = (filename: string) =>
      t.app.request(`/v1/files?filename=${encodeURIComponent(filename)}`, {
        method: 'POST',
        headers: { ...ACME, 'Content-Type': 'application/octet-stream' },
        body: 'abc',
      });
    // Characters, not UTF-16 units: 255 emoji are a valid name, 256 are not.
    expect((await upload('😀'.repeat(255))).status).toBe(202);
    const tooLong = await expectError(await upload('a'.repeat(256)), 400, 'invalid_request');
    expect(tooLong.message).toMatch(/filename/);
  });

  it('callback and webhook URLs are documented as http(s) URIs', () => {
    const http = { format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' };
    expect(queryParam('/v1/files', 'post', 'callbackUrl')).toMatchObject(http);
    expect(doc.components.schemas.WebhookCreate).toMatchObject({ properties: { url: http } });
  });

  it('the 64 KiB JSON limit answers 413 only where a JSON body is documented (and 413 is too)', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
    const send = (method: string, path: string) =>
      t.app.request(path, { method, headers: { ...ACME, 'Content-Type': 'application/json' }, body: big });
    // No body is documented for these: it is ignored, as it would be without the limit.
    expect((await send('DELETE', '/v1/webhooks/wh_missing')).status).toBe(404);
    for (const [method, path] of [
      ['POST', '/v1/webhooks'],
      ['PATCH', '/v1/files/f_r/retention'],
    ] as const) {
      expect(Object.keys(doc.paths[path.replace('f_r', '{id}')]?.[method.toLowerCase()]?.responses ?? {})).toContain(
        '413',
      );
      await expectError(await send(method, path), 413, 'payload_too_large');
    }
  });

  it('a multipart upload documents tags as one comma-separated field or the field repeated', async () => {
    const multipartSchema = doc.paths['/v1/files']?.post?.requestBody?.content['multipart/form-data']?.schema;
    expect(multipartSchema?.properties.tags).toMatchObject({
      anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    });
    const form = new FormData();
    form.append('tags', 'a');
    form.append('tags', 'b,c');
    form.append('file', new Blob(['abc'], { type: 'text/plain' }), 'notes.txt');
    const res = await t.app.request('/v1/files', { method: 'POST', headers: ACME, body: form });
    expect(res.status).toBe(202);
  });

  it('documents the rate limit on every /v1 operation, the quota on uploads, and GET /v1/tenant', () => {
    for (const [path, item] of Object.entries(doc.paths).filter(([p]) => p.startsWith('/v1/'))) {
      for (const [method, operation] of Object.entries(item)) {
        expect(operation.responses?.['429'], `${method} ${path}`).toMatchObject({
          headers: { 'Retry-After': {}, RateLimit: {}, 'RateLimit-Policy': {} },
        });
      }
    }
    for (const [path, method] of [
      ['/v1/files', 'post'],
      ['/v1/uploads', 'post'],
      ['/v1/uploads/{id}/complete', 'post'],
      ['/v1/batches', 'post'],
      ['/v1/tus/', 'post'],
      ['/v1/tus/{id}', 'patch'],
    ] as const) {
      expect(doc.paths[path]?.[method]?.responses?.['403'], `${method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/v1/tenant']?.get?.responses?.['200']).toBeDefined();
    expect(doc.components.schemas.Tenant).toBeDefined();
  });
});

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ACME, GLOBEX, expectError, multipart, setupApi, type TestApi } from '../support/fake-api-services';

/* POST /v1/files: streaming, options, limits, idempotency and what a failed start undoes. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('HTTP API routes', () => {
  let t: TestApi;
  beforeEach(() => {
    t = setupApi();
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

    it('422 idempotency_key_reused when the same key comes with a different upload', async () => {
      const send = (body: FormData) =>
        t.app.request('/v1/files', { method: 'POST', headers: { ...ACME, 'Idempotency-Key': 'k-2' }, body });
      const first = (await (await send(multipart('abc'))).json()) as { id: string };
      const error = await expectError(await send(multipart('abcdef')), 422, 'idempotency_key_reused');
      expect(error.message).toMatch(/size/);
      await expectError(await send(multipart('abc', {}, 'other.jpg')), 422, 'idempotency_key_reused');
      await expectError(await send(multipart('abc', { tags: 'x' })), 422, 'idempotency_key_reused');
      // Nothing of the refused requests stays, and the first upload is untouched.
      expect(t.temporal.started).toHaveLength(1);
      expect(t.db.files.size).toBe(1);
      expect([...t.s3.objects.keys()]).toHaveLength(1);
      const again = await send(multipart('abc'));
      expect(((await again.json()) as { id: string }).id).toBe(first.id);
    });

    it('a start that timed out but reached Temporal is an accepted upload, not undone', async () => {
      t.temporal.startError = Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 });
      t.temporal.startedDespiteError = true;
      const res = await t.app.request('/v1/files', { method: 'POST', headers: ACME, body: multipart('abc') });
      expect(res.status).toBe(202);
      expect(t.temporal.started).toHaveLength(1);
      expect(t.db.files.size).toBe(1);
      expect(t.s3.objects.size).toBe(1);
    });

    it('when Temporal cannot say whether a start happened, the retry with the same key repairs the upload', async () => {
      t.temporal.startError = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
      t.temporal.describeError = t.temporal.startError;
      const send = () =>
        t.app.request('/v1/files', {
          method: 'POST',
          headers: { ...ACME, 'Idempotency-Key': 'k-3' },
          body: multipart('abc'),
        });
      await expectError(await send(), 503, 'dependency_unavailable');
      // Kept for the retry: a running upload is never undone on a guess.
      expect(t.db.files.size).toBe(1);
      expect(t.s3.objects.size).toBe(1);
      expect(t.temporal.started).toHaveLength(0);

      t.temporal.startError = null;
      t.temporal.describeError = null;
      const retried = await send();
      expect(retried.status).toBe(202);
      const body = (await retried.json()) as { id: string };
      expect(body.id).toBe([...t.db.files.keys()][0]);
      expect(t.temporal.started).toHaveLength(1);
      expect(t.temporal.started[0]?.options.workflowId).toBe(`upload-${body.id}`);
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
});

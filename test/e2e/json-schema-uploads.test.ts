import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileView, UploadOptions } from '../../api/client';
import { startIntake, type RunningIntake } from '../support/running-intake';

/*
 * Uploads naming a tenant's JSON Schema, end to end on the real stack: the API pins the current version
 * (an unknown name is a 422 and nothing is kept), the validate step checks the JSON against exactly
 * that version, and a failure is REJECTED with its first 20 errors in the file view. The size limit is
 * lowered so a small file can exceed it.
 */

const TENANT = 'json-schema-e2e';
const API_KEY = 'json-schema-e2e-key-0001';
const MAX_JSON_BYTES = 4096;

let intake: RunningIntake<typeof TENANT>;

beforeAll(async () => {
  intake = await startIntake({
    tenants: { [TENANT]: API_KEY },
    env: { INTAKE_SCHEMA_MAX_JSON_BYTES: String(MAX_JSON_BYTES) },
  });
});
afterAll(async () => {
  await intake?.stop();
});

const putSchema = async (name: string, schema: unknown) => {
  const response = await fetch(`${intake.api.url}/v1/schemas/${name}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(schema),
  });
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as { version: number };
};

async function uploadAndSettle(document: unknown, upload: Partial<UploadOptions>): Promise<FileView> {
  const client = intake.clients[TENANT];
  const body = typeof document === 'string' ? document : JSON.stringify(document);
  const accepted = await client.uploadFile(body, { filename: 'doc.json', contentType: 'application/json', ...upload });
  const file = await client.waitForFile(accepted.id, 90_000);
  expect(file.status, `still processing: ${JSON.stringify(file.steps)}`).not.toBe('PROCESSING');
  return file;
}

const PRICED = {
  type: 'object',
  required: ['items'],
  properties: {
    items: { type: 'array', items: { type: 'object', required: ['price'], properties: { price: { type: 'number' } } } },
  },
};

describe('uploads validated against a JSON Schema', () => {
  it('accepts a valid document and rejects an invalid one with its first 20 errors', async () => {
    const { version } = await putSchema('priced', PRICED);
    const valid = await uploadAndSettle({ items: [{ price: 1 }, { price: 2.5 }] }, { schema: 'priced' });
    expect(valid).toMatchObject({ status: 'READY', schema: { name: 'priced', version }, validationErrors: null });

    const items = Array.from({ length: 30 }, (_, i) => ({ price: `${i}` }));
    const invalid = await uploadAndSettle({ items }, { schema: 'priced' });
    expect(invalid.status).toBe('REJECTED');
    expect(invalid.reason).toBe(
      `The JSON does not match the schema "priced" (version ${version}): 30 errors, the first: /items/0/price must be number.`,
    );
    expect(invalid.validationErrors).toHaveLength(20);
    expect(invalid.validationErrors?.[3]).toEqual({ path: '/items/3/price', message: 'must be number' });

    // The query parameter of a raw upload works the same way.
    const raw = await uploadAndSettle({ items: [{}] }, { schema: 'priced', mode: 'raw' });
    expect(raw).toMatchObject({
      status: 'REJECTED',
      validationErrors: [{ path: '/items/0', message: "must have required property 'price'" }],
    });
  });

  it('refuses an unknown schema with a 422 naming it, keeping nothing', async () => {
    const before = await intake.db.file.count({ where: { tenantId: TENANT } });
    for (const query of ['?filename=a.json&schema=nosuch', '']) {
      const form = new FormData();
      form.append('schema', 'nosuch');
      form.append('file', new Blob(['{}'], { type: 'application/json' }), 'a.json');
      const response = await fetch(`${intake.api.url}/v1/files${query}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${API_KEY}`, ...(query ? { 'Content-Type': 'application/json' } : {}) },
        body: query ? '{}' : form,
      });
      expect(response.status).toBe(422);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error).toMatchObject({ code: 'unknown_schema' });
      expect(error.message).toContain('"nosuch"');
    }
    expect(await intake.db.file.count({ where: { tenantId: TENANT } })).toBe(before);
  });

  it('checks the version pinned at upload even when the schema changes or goes before validation', async () => {
    const { version } = await putSchema('pinned', PRICED);
    await intake.stopWorkers();
    let id: string;
    try {
      id = (
        await intake.clients[TENANT].uploadFile(JSON.stringify({ items: [{ price: 3 }] }), {
          filename: 'pinned.json',
          contentType: 'application/json',
          schema: 'pinned',
        })
      ).id;
      // The next version would refuse the document; then the name goes altogether.
      await putSchema('pinned', { ...PRICED, required: ['items', 'currency'] });
      const deleted = await fetch(`${intake.api.url}/v1/schemas/pinned`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${API_KEY}` },
      });
      expect(deleted.status).toBe(204);
    } finally {
      await intake.startWorkers();
    }
    const file = await intake.clients[TENANT].waitForFile(id, 90_000);
    expect(file).toMatchObject({ status: 'READY', schema: { name: 'pinned', version }, validationErrors: null });
  });

  it('rejects JSON over INTAKE_SCHEMA_MAX_JSON_BYTES and a non-JSON file naming a schema, saying why', async () => {
    await putSchema('limited', PRICED);
    const big = { items: Array.from({ length: 600 }, () => ({ price: 1 })) };
    const size = Buffer.byteLength(JSON.stringify(big));
    expect(size).toBeGreaterThan(MAX_JSON_BYTES);
    const tooLarge = await uploadAndSettle(big, { schema: 'limited' });
    expect(tooLarge).toMatchObject({
      status: 'REJECTED',
      reason: `The JSON file is ${size} bytes, more than the ${MAX_JSON_BYTES} bytes (INTAKE_SCHEMA_MAX_JSON_BYTES) Intake validates against a schema.`,
    });

    const text = await uploadAndSettle('just some words\n', {
      schema: 'limited',
      filename: 'notes.txt',
      contentType: 'text/plain',
    });
    expect(text).toMatchObject({
      status: 'REJECTED',
      reason:
        'The upload names the JSON Schema "limited", but a schema applies to JSON uploads and this file is text/plain.',
    });
  });

  it('pins the schema of a direct upload when it starts, and refuses an unknown one then', async () => {
    const { version } = await putSchema('direct', PRICED);
    const start = (body: Record<string, unknown>) =>
      fetch(`${intake.api.url}/v1/uploads`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bytes = Buffer.from(JSON.stringify({ items: [{ price: true }] }));
    const unknown = await start({ filename: 'd.json', size: bytes.length, schema: 'nosuch-direct' });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_schema' } });

    const started = await start({
      filename: 'd.json',
      size: bytes.length,
      contentType: 'application/json',
      schema: 'direct',
    });
    expect(started.status).toBe(201);
    const plan = (await started.json()) as { id: string; fileId: string; url: string; headers: Record<string, string> };
    const signed = Object.fromEntries(
      Object.entries(plan.headers).filter(([name]) => name.toLowerCase() !== 'content-length'),
    );
    expect((await fetch(plan.url, { method: 'PUT', headers: signed, body: new Uint8Array(bytes) })).status).toBe(200);
    const completed = await fetch(`${intake.api.url}/v1/uploads/${plan.id}/complete`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}` },
    });
    expect(completed.status).toBe(202);
    const file = await intake.clients[TENANT].waitForFile(plan.fileId, 90_000);
    expect(file).toMatchObject({
      status: 'REJECTED',
      schema: { name: 'direct', version },
      validationErrors: [{ path: '/items/0/price', message: 'must be number' }],
    });
  });

  it('reads the schema from tus Upload-Metadata, refusing an unknown one at creation', async () => {
    const { version } = await putSchema('tus', PRICED);
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const bytes = Buffer.from(JSON.stringify({ items: [{ price: null }] }));
    const post = (schemaName: string) =>
      fetch(`${intake.api.url}/v1/tus/`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${API_KEY}`,
          'Tus-Resumable': '1.0.0',
          'Upload-Length': String(bytes.length),
          'Upload-Metadata': `filename ${b64('t.json')},filetype ${b64('application/json')},schema ${b64(schemaName)}`,
          'Content-Type': 'application/offset+octet-stream',
        },
        body: new Uint8Array(bytes),
      });
    const unknown = await post('nosuch-tus');
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_schema' } });

    const created = await post('tus');
    expect(created.status).toBe(201);
    const fileId = created.headers.get('intake-file-id')!;
    const file = await intake.clients[TENANT].waitForFile(fileId, 90_000);
    expect(file).toMatchObject({
      status: 'REJECTED',
      schema: { name: 'tus', version },
      validationErrors: [{ path: '/items/0/price', message: 'must be number' }],
    });
  });

  it('applies the schema of a batch to each of its files, and refuses a batch naming an unknown one', async () => {
    const { version } = await putSchema('batch', PRICED);
    const client = intake.clients[TENANT];
    const json = (document: unknown, filename: string) => ({
      body: JSON.stringify(document),
      filename,
      contentType: 'application/json',
    });
    const before = await intake.db.file.count({ where: { tenantId: TENANT } });
    await expect(client.createBatch([json({ items: [] }, 'x.json')], { schema: 'nosuch-batch' })).rejects.toMatchObject(
      {
        status: 422,
        code: 'unknown_schema',
      },
    );
    expect(await intake.db.file.count({ where: { tenantId: TENANT } })).toBe(before);

    const batch = await client.createBatch(
      [json({ items: [{ price: 1 }] }, 'good.json'), json({ items: [{ price: '1' }] }, 'bad.json')],
      { schema: 'batch' },
    );
    const [good, bad] = await Promise.all(batch.files.map((file) => client.waitForFile(file.id, 90_000)));
    expect(good).toMatchObject({ status: 'READY', schema: { name: 'batch', version } });
    expect(bad).toMatchObject({
      status: 'REJECTED',
      schema: { name: 'batch', version },
      validationErrors: [{ path: '/items/0/price', message: 'must be number' }],
    });
  });

  it('takes the schema of a batch from ?schema=, refusing an unknown one and a field that names another', async () => {
    const { version } = await putSchema('batch-query', PRICED);
    await putSchema('batch-other', PRICED);
    const client = intake.clients[TENANT];
    const post = (query: string, field?: string) => {
      const form = new FormData();
      if (field) form.append('schema', field);
      form.append(
        'file',
        new Blob([JSON.stringify({ items: [{ price: 'x' }] })], { type: 'application/json' }),
        'q.json',
      );
      return fetch(`${intake.api.url}/v1/batches${query}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${API_KEY}` },
        body: form,
      });
    };
    const before = await intake.db.file.count({ where: { tenantId: TENANT } });
    const batches = await intake.db.batch.count({ where: { tenantId: TENANT } });
    const unknown = await post('?schema=nosuch-batch-query');
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({
      error: { code: 'unknown_schema', message: expect.stringContaining('"nosuch-batch-query"') },
    });
    const conflicting = await post('?schema=batch-query', 'batch-other');
    expect(conflicting.status).toBe(400);
    expect(await conflicting.json()).toMatchObject({
      error: {
        code: 'invalid_request',
        message:
          'schema: the field names "batch-other" and the query parameter "batch-query"; name one schema, in either or in both',
      },
    });
    const misnamed = await post('?schema=-bad');
    expect(misnamed.status).toBe(400);
    expect(await misnamed.json()).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await intake.db.file.count({ where: { tenantId: TENANT } })).toBe(before);
    expect(await intake.db.batch.count({ where: { tenantId: TENANT } })).toBe(batches);

    // The query alone, and the query with a field naming the same schema, both pin it on every file.
    for (const accepted of [await post('?schema=batch-query'), await post('?schema=batch-query', 'batch-query')]) {
      expect(accepted.status).toBe(202);
      const { files } = (await accepted.json()) as { files: { id: string }[] };
      const file = await client.waitForFile(files[0]!.id, 90_000);
      expect(file).toMatchObject({
        status: 'REJECTED',
        schema: { name: 'batch-query', version },
        validationErrors: [{ path: '/items/0/price', message: 'must be number' }],
      });
    }
  });
});

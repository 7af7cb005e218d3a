import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntakeApiError, type BatchFile, type BatchView } from '../../api/client';
import type { BatchCounts } from '../../common/domain';
import { batchWorkflowIdFor } from '../../common/task-queues';
import { readEventsTopic } from '../support/events-topic';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * Batches end to end: real multipart HTTP into the API, the real workers, Temporal, MinIO, Postgres and
 * clamd from global-setup, and the local webhook receiver. A batch counts its files' terminal statuses,
 * ends DONE and announces batch.completed once; a broken body leaves nothing behind.
 */

const OWNER = 'batches-e2e';
const PEER = 'batches-e2e-peer';
const BROKEN = 'batches-e2e-broken';
const KEYS = {
  [OWNER]: 'batches-e2e-key-0001',
  [PEER]: 'batches-e2e-key-0002',
  [BROKEN]: 'batches-e2e-key-0003',
} as const;
/** Small, so a too-large part is cheap to send. */
const MAX_UPLOAD_BYTES = 256 * 1024;
const MAX_BATCH_FILES = 60;

let intake: RunningIntake<keyof typeof KEYS>;
let secret: string;

beforeAll(async () => {
  intake = await startIntake({
    tenants: KEYS,
    env: { INTAKE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), INTAKE_MAX_BATCH_FILES: String(MAX_BATCH_FILES) },
  });
  await intake.clients[OWNER].createWebhook({ url: intake.receiver.url('/owner') });
  secret = (await intake.clients[OWNER].getWebhookSecret()).secret;
});

afterAll(async () => {
  await intake?.stop();
});

/** `count` distinct small JPEGs (distinct colours, so distinct digests). */
async function jpegs(count: number, prefix: string): Promise<BatchFile[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      body: new Uint8Array(
        await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: i * 5, g: 80, b: 200 - i } } })
          .jpeg()
          .toBuffer(),
      ),
      filename: `${prefix}-${i}.jpg`,
      contentType: 'image/jpeg',
    })),
  );
}

const countsOf = (partial: Partial<BatchCounts>): BatchCounts => ({
  PROCESSING: 0,
  READY: 0,
  REJECTED: 0,
  INFECTED: 0,
  FAILED: 0,
  DELETED: 0,
  ...partial,
});

async function waitForDone(tenant: keyof typeof KEYS, id: string): Promise<BatchView> {
  return waitUntil(
    `batch ${id} DONE`,
    async () => {
      const batch = await intake.clients[tenant].getBatch(id);
      return batch.status === 'DONE' ? batch : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 500 },
  );
}

/** Every page of the batch's files, through GET /v1/batches/{id}. */
async function allBatchFileIds(id: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await intake.clients[OWNER].getBatch(id, { limit: 20, cursor });
    ids.push(...page.files.map((file) => file.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

describe('POST /v1/batches', () => {
  it('a 50-file batch with an empty and a too-large part ends DONE with 48 READY and 2 REJECTED, and batch.completed arrives once', async () => {
    const files = [
      ...(await jpegs(24, 'first')),
      { body: new Uint8Array(0), filename: 'empty.jpg', contentType: 'image/jpeg' },
      ...(await jpegs(24, 'second')),
      { body: new Uint8Array(MAX_UPLOAD_BYTES + 4096).fill(7), filename: 'huge.bin' },
    ];
    const accepted = await intake.clients[OWNER].createBatch(files, { tags: ['batch-e2e'], retention: '1d' });
    expect(accepted).toMatchObject({ status: 'PROCESSING', links: { self: expect.stringContaining(accepted.id) } });
    expect(accepted.id).toMatch(/^b_[a-z2-7]{24}$/);
    expect(accepted.files).toHaveLength(50);
    expect(new Set(accepted.files.map((f) => f.id)).size).toBe(50);
    expect(accepted.files.map((f) => f.filename)).toEqual(files.map((f) => f.filename));
    expect(accepted.files.every((f) => f.status === 'PROCESSING')).toBe(true);

    const done = await waitForDone(OWNER, accepted.id);
    expect(done.counts).toEqual(countsOf({ READY: 48, REJECTED: 2 }));
    expect(done.fileCount).toBe(50);
    expect(done.completedAt).not.toBeNull();

    const refused = accepted.files.filter((f) => f.filename === 'empty.jpg' || f.filename === 'huge.bin');
    for (const { id } of refused) {
      const file = await intake.clients[OWNER].getFile(id);
      expect(file).toMatchObject({ status: 'REJECTED', batchId: accepted.id, tags: ['batch-e2e'] });
    }
    expect((await intake.clients[OWNER].getFile(refused[0]!.id)).reason).toMatch(/empty/);
    expect((await intake.clients[OWNER].getFile(refused[1]!.id)).reason).toMatch(/exceeds the limit/);
    // Neither refused part left bytes behind.
    for (const { id } of refused) expect(await intake.objectsUnder(`incoming/${OWNER}/${id}`)).toEqual([]);

    // The batch workflow ends once batch.completed is delivered: then exactly one has arrived.
    await intake.temporal.workflow.getHandle(batchWorkflowIdFor(accepted.id)).result();
    const completed = intake.receiver.received.filter((r) => {
      const body = JSON.parse(r.body) as { type: string; data: { id: string } };
      return r.path === '/owner' && body.type === 'batch.completed' && body.data.id === accepted.id;
    });
    expect(completed).toHaveLength(1);
    const payload = new Webhook(secret).verify(completed[0]!.body, completed[0]!.headers) as {
      data: { status: string; fileCount: number; counts: BatchCounts };
    };
    expect(payload.data).toMatchObject({ status: 'DONE', fileCount: 50, counts: countsOf({ READY: 48, REJECTED: 2 }) });
    expect(completed[0]!.headers['webhook-id']).toBe(`msg_${accepted.id}_batch.completed`);
    // And once on intake.events, keyed by the batch, with the webhook's id.
    const onTopic = (await readEventsTopic(intake.config)).filter((event) => event.body.type === 'batch.completed');
    expect(onTopic.filter((event) => event.key === accepted.id)).toEqual([
      expect.objectContaining({
        eventId: `msg_${accepted.id}_batch.completed`,
        body: expect.objectContaining({ data: payload.data }),
      }),
    ]);

    // The files, paginated like GET /v1/files, through the batch and through ?batch=.
    const ids = accepted.files.map((f) => f.id).sort();
    expect((await allBatchFileIds(accepted.id)).sort()).toEqual(ids);
    const listed = await intake.clients[OWNER].listFiles({ batch: accepted.id, limit: 100 });
    expect(listed.items.map((f) => f.id).sort()).toEqual(ids);
    expect(listed.items.every((f) => f.batchId === accepted.id)).toBe(true);
  }, 300_000);

  it('a retry with the same Idempotency-Key answers the first batch; the key with different files is 422', async () => {
    const client = intake.clients[OWNER];
    const files: BatchFile[] = [
      { body: 'first note', filename: 'a.txt', contentType: 'text/plain' },
      { body: 'second note', filename: 'b.txt', contentType: 'text/plain' },
    ];
    const first = await client.createBatch(files, { idempotencyKey: 'batch-key-1' });
    const again = await client.createBatch(files, { idempotencyKey: 'batch-key-1' });
    expect(again).toMatchObject({ id: first.id, replayed: true });
    expect(again.files.map((f) => f.id).sort()).toEqual(first.files.map((f) => f.id).sort());
    const other = await client
      .createBatch([files[0]!], { idempotencyKey: 'batch-key-1' })
      .catch((error: unknown) => error);
    expect(other).toBeInstanceOf(IntakeApiError);
    expect(other).toMatchObject({ status: 422, code: 'idempotency_key_reused' });

    const done = await waitForDone(OWNER, first.id);
    expect(done.counts).toEqual(countsOf({ READY: 2 }));
    expect(await intake.db.file.count({ where: { batchId: first.id } })).toBe(2);
  });

  it("another tenant's batch is a 404, and its files are not listed", async () => {
    const accepted = await intake.clients[OWNER].createBatch([
      { body: '{"private": true}', filename: 'owner.json', contentType: 'application/json' },
    ]);
    const read = await intake.clients[PEER].getBatch(accepted.id).catch((error: unknown) => error);
    expect(read).toMatchObject({ status: 404, code: 'batch_not_found' });
    expect((await intake.clients[PEER].listFiles({ batch: accepted.id })).items).toEqual([]);
    await waitForDone(OWNER, accepted.id);
  });

  it('a broken multipart body is a 400 that leaves no batch, file, object or workflow behind', async () => {
    const [jpeg] = await jpegs(1, 'broken');
    const boundary = 'intake-broken-boundary';
    const part = (name: string) =>
      Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: image/jpeg\r\n\r\n`,
        ),
        Buffer.from(jpeg!.body as Uint8Array),
        Buffer.from('\r\n'),
      ]);
    // Two whole parts, then a third cut off before its end and without the closing boundary.
    const body = Buffer.concat([part('one.jpg'), part('two.jpg'), part('three.jpg').subarray(0, 200)]);
    const response = await fetch(`${intake.api.url}/v1/batches`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEYS[BROKEN]}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringMatching(/^Malformed multipart body/) },
    });
    await expectNothingOf(BROKEN);
  });

  it('more files than INTAKE_MAX_BATCH_FILES is a 413 that leaves nothing behind', async () => {
    const files: BatchFile[] = Array.from({ length: MAX_BATCH_FILES + 1 }, (_, i) => ({
      body: `note ${i}`,
      filename: `n${i}.txt`,
      contentType: 'text/plain',
    }));
    const refused = await intake.clients[BROKEN].createBatch(files).catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 413, code: 'payload_too_large' });
    await expectNothingOf(BROKEN);
  });

  it('a batch without a file part, or not multipart, is refused', async () => {
    const form = new FormData();
    form.append('tags', 'lonely');
    const empty = await fetch(`${intake.api.url}/v1/batches`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEYS[BROKEN]}` },
      body: form,
    });
    expect(empty.status).toBe(400);
    const json = await fetch(`${intake.api.url}/v1/batches`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEYS[BROKEN]}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    await expectNothingOf(BROKEN);
  });
});

/** No batch row, file row, incoming object or workflow of `tenant`. */
async function expectNothingOf(tenant: string) {
  expect(await intake.db.batch.count({ where: { tenantId: tenant } })).toBe(0);
  expect(await intake.db.file.count({ where: { tenantId: tenant } })).toBe(0);
  expect(await intake.objectsUnder(`incoming/${tenant}/`)).toEqual([]);
  const workflows = [];
  for await (const workflow of intake.temporal.workflow.list({ query: `IntakeTenant = "${tenant}"` })) {
    workflows.push(workflow.workflowId);
  }
  expect(workflows).toEqual([]);
}

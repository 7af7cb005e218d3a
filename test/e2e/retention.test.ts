import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntakeApiError, type FileView } from '../../api/client';
import { storageKeys } from '../../lib/storage-keys';
import { IntakeHold, IntakeStatus } from '../../common/search-attributes';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { eicarTestFile } from '../support/sample-files';
import { waitUntil } from '../support/wait-until';

/*
 * Retention on the real stack with periods of seconds (INTAKE_RETENTION_MIN lowered): when the timer
 * fires every byte goes, Postgres keeps only a tombstone, file.deleted is delivered signed, and a legal
 * hold keeps a file past its expiry until it is released.
 */

const TENANT = 'retention-e2e';
const API_KEY = 'retention-e2e-key-0001';

let intake: RunningIntake<typeof TENANT>;
let secret: string;
let jpeg: Buffer;

beforeAll(async () => {
  intake = await startIntake({
    tenants: { [TENANT]: API_KEY },
    // Quarantined copies are kept longer than the file's own retention, here 8 s against 5 s.
    env: { INTAKE_RETENTION_MIN: '1s', INTAKE_QUARANTINE_RETENTION: '8s' },
  });
  await intake.clients[TENANT].createWebhook({ url: intake.receiver.url('/tenant'), events: ['file.deleted'] });
  secret = (await intake.clients[TENANT].getWebhookSecret()).secret;
  jpeg = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#ff9900' } })
    .jpeg()
    .toBuffer();
});

afterAll(async () => {
  await intake?.stop();
});

async function settled(id: string): Promise<FileView> {
  const file = await intake.clients[TENANT].waitForFile(id, 90_000);
  expect(file.status).not.toBe('PROCESSING');
  return file;
}

function waitForStatus(id: string, status: FileView['status'], timeoutMs = 30_000): Promise<FileView> {
  return waitUntil(
    `${id} to become ${status}`,
    async () => {
      const file = await intake.clients[TENANT].getFile(id);
      return file.status === status ? file : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Every key the upload could have left in S3: permanent storage, the incoming area and quarantine. */
async function objectsOf(id: string): Promise<string[]> {
  const lists = await Promise.all([
    intake.objectsUnder(storageKeys.filePrefix(TENANT, id)),
    intake.objectsUnder(storageKeys.incoming(TENANT, id)),
    intake.objectsUnder(storageKeys.quarantine(TENANT, id)),
  ]);
  return lists.flat().sort();
}

async function statusOf(request: Promise<Response>): Promise<number> {
  return request.then(
    (response) => response.status,
    (error: unknown) => (error instanceof IntakeApiError ? error.status : Promise.reject(error)),
  );
}

describe('retention on the real stack', () => {
  it('when the retention expires every byte goes, Postgres keeps only a tombstone and file.deleted arrives signed', async () => {
    const client = intake.clients[TENANT];
    const [photo, infected] = await Promise.all([
      client.uploadFile(jpeg, { filename: 'sunset beach.jpg', retention: '5s', tags: ['holiday'] }),
      client.uploadFile(eicarTestFile(), { filename: 'invoice.txt', retention: '5s' }),
    ]);
    const [ready, quarantined] = await Promise.all([settled(photo.id), settled(infected.id)]);
    expect(ready.status).toBe('READY');
    expect(quarantined.status).toBe('INFECTED');
    expect(Date.parse(ready.expiresAt!) - Date.parse(ready.completedAt!)).toBe(5_000);
    expect(Date.parse(quarantined.expiresAt!) - Date.parse(quarantined.completedAt!)).toBe(8_000);

    // Before expiry: the bytes are there (so the checks below can fail) and the file is searchable.
    expect(Date.now()).toBeLessThan(Date.parse(ready.expiresAt!));
    // The original and one object per rendition (five by default).
    expect(ready.renditions).toHaveLength(5);
    expect(await objectsOf(photo.id)).toHaveLength(1 + ready.renditions.length);
    expect(await objectsOf(infected.id)).toEqual([storageKeys.quarantine(TENANT, infected.id)]);
    expect(await statusOf(client.download(photo.id))).toBe(200);
    expect((await client.listFiles({ q: 'sunset' })).items.map((f) => f.id)).toContain(photo.id);

    for (const before of [ready, quarantined]) {
      expect(before.sha256).toMatch(/^[0-9a-f]{64}$/);
      const deleted = await waitForStatus(before.id, 'DELETED');
      // Never before its expiry.
      expect(Date.parse(deleted.deletedAt!)).toBeGreaterThanOrEqual(Date.parse(before.expiresAt!));
      expect(deleted.renditions).toEqual([]);

      expect(await statusOf(client.download(before.id))).toBe(410);
      expect(await statusOf(client.download(before.id, { redirect: true }))).toBe(410);
      expect(await statusOf(client.download(before.id, { rendition: 'thumb' }))).toBe(410);
      expect(await objectsOf(before.id)).toEqual([]);

      const row = await intake.db.file.findUniqueOrThrow({ where: { id: before.id } });
      expect(row).toMatchObject({
        status: 'DELETED',
        deletionReason: 'expired',
        filename: before.filename,
        sha256: before.sha256,
        renditions: [],
        storageKey: null,
        quarantineKey: null,
      });
      const [index] = await intake.db.$queryRaw<{ indexed: boolean }[]>`
        SELECT "searchVector" IS NOT NULL AS indexed FROM "File" WHERE id = ${before.id}`;
      expect(index?.indexed).toBe(false);

      const handle = intake.temporal.workflow.getHandle(before.workflowId);
      // The workflow completes once file.deleted is delivered.
      const description = await waitUntil(`${before.workflowId} to complete`, async () => {
        const d = await handle.describe();
        return d.status.name === 'COMPLETED' ? d : undefined;
      });
      expect(description.typedSearchAttributes.get(IntakeStatus)).toBe('DELETED');

      const deliveries = intake.receiver.received.filter((r) => r.path === '/tenant' && r.body.includes(before.id));
      expect(deliveries).toHaveLength(1);
      const payload = new Webhook(secret).verify(deliveries[0]!.body, deliveries[0]!.headers) as {
        type: string;
        data: { id: string; status: string; deletionReason: string };
      };
      expect(payload).toMatchObject({
        type: 'file.deleted',
        data: { id: before.id, status: 'DELETED', deletionReason: 'expired' },
      });
    }
    expect((await client.listFiles({ q: 'sunset' })).items.map((f) => f.id)).not.toContain(photo.id);
  });

  it('a legal hold keeps the file past its expiry; releasing the hold lets it expire', async () => {
    const client = intake.clients[TENANT];
    const accepted = await client.uploadFile(jpeg, { filename: 'evidence.jpg', retention: '4s' });
    const ready = await settled(accepted.id);
    expect(ready.status).toBe('READY');
    expect(await client.updateRetention(accepted.id, { hold: true })).toMatchObject({ hold: true });
    const expiresAt = Date.parse(ready.expiresAt!);
    const handle = intake.temporal.workflow.getHandle(ready.workflowId);
    expect((await handle.describe()).typedSearchAttributes.get(IntakeHold)).toBe(true);

    // Nothing can signal "did not happen", so watch it stay READY until well past the expiry.
    while (Date.now() < expiresAt + 3_000) {
      expect((await client.getFile(accepted.id)).status).toBe('READY');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await statusOf(client.download(accepted.id))).toBe(200);
    expect(await objectsOf(accepted.id)).toHaveLength(1 + ready.renditions.length);

    const releasedAt = Date.now();
    expect(await client.updateRetention(accepted.id, { hold: false })).toMatchObject({ hold: false });
    const deleted = await waitForStatus(accepted.id, 'DELETED', 15_000);
    expect(Date.parse(deleted.deletedAt!)).toBeGreaterThanOrEqual(releasedAt - 1_000);
    expect(await objectsOf(accepted.id)).toEqual([]);
    expect(await intake.db.file.findUniqueOrThrow({ where: { id: accepted.id } })).toMatchObject({
      status: 'DELETED',
      deletionReason: 'expired',
      hold: false,
    });
    expect(await statusOf(client.download(accepted.id))).toBe(410);
  });
});

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../infra/stack';
import { readEventsTopic, type PublishedEvent } from '../support/events-topic';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { corruptJpeg, eicarTestFile } from '../support/sample-files';
import { waitUntil } from '../support/wait-until';

/*
 * Every event told to webhooks is also published to intake.events, on a real broker, at least once and
 * with the webhook's id, even across a broker outage. This file runs its own stack, because stopping the
 * shared broker would break the other test files.
 */

const TENANT = 'events-e2e';
const API_KEY = 'events-e2e-key-0001';
/** How long the broker stays down while files finish. */
const OUTAGE_MS = 20_000;

let dataDir: string;
let stack: Stack | undefined;
let intake: RunningIntake<typeof TENANT> | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'intake-events-'));
  // mkdtemp makes it 0700; PostgreSQL runs as the postgres user when we are root and must walk in.
  chmodSync(dataDir, 0o755);
  stack = await startStack({ dataDir, ephemeral: true, log: () => undefined });
  intake = await startIntake({ tenants: { [TENANT]: API_KEY }, env: { ...stack.env } });
  await intake.clients[TENANT].createWebhook({ url: intake.receiver.url('/tenant') });
});

afterAll(async () => {
  await intake?.stop();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('events on intake.events', () => {
  it('a broker stopped for 20 s while files finish: every event is still published afterwards', async () => {
    const running = intake!;
    const client = running.clients[TENANT];
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#228844' } })
      .jpeg()
      .toBuffer();

    await stack!.stopService('kafka');
    const stoppedAt = Date.now();
    const uploads = await Promise.all([
      client.uploadFile(new Uint8Array(jpeg), { filename: 'a.jpg', contentType: 'image/jpeg' }),
      client.uploadFile('a note', { filename: 'b.txt', contentType: 'text/plain' }),
      client.uploadFile('{"ok": true}', { filename: 'c.json', contentType: 'application/json' }),
      client.uploadFile(new Uint8Array(corruptJpeg()), { filename: 'bad.jpg', contentType: 'image/jpeg' }),
      client.uploadFile(new Uint8Array(eicarTestFile()), { filename: 'eicar.txt', contentType: 'text/plain' }),
    ]);
    // Outcomes are not held up by the broker.
    const files = await Promise.all(uploads.map((upload) => client.waitForFile(upload.id, 90_000)));
    expect(files.map((f) => f.status)).toEqual(['READY', 'READY', 'READY', 'REJECTED', 'INFECTED']);
    // Nor are deletions.
    await Promise.all([files[0]!, files[1]!].map((file) => client.deleteFile(file.id)));
    for (const file of [files[0]!, files[1]!]) {
      await waitUntil(`${file.id} DELETED`, async () => {
        const seen = await client.getFile(file.id);
        return seen.status === 'DELETED' ? seen : undefined;
      });
    }
    const left = OUTAGE_MS - (Date.now() - stoppedAt);
    expect(left, 'the files finished within the outage').toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, left));
    await stack!.startService('kafka');

    const expected = [
      ...files.map((file) => ({
        id: file.id,
        type: { READY: 'file.ready', REJECTED: 'file.rejected', INFECTED: 'file.infected' }[file.status as string]!,
      })),
      { id: files[0]!.id, type: 'file.deleted' },
      { id: files[1]!.id, type: 'file.deleted' },
    ].map(({ id, type }) => ({ id, type, eventId: `msg_${id}_${type}` }));
    const ours = (events: PublishedEvent[]) => events.filter((event) => files.some((file) => file.id === event.key));
    const published = await waitUntil(
      'every event on intake.events',
      async () => {
        const events = ours(await readEventsTopic(running.config));
        return expected.every((e) => events.some((event) => event.eventId === e.eventId)) ? events : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 2_000 },
    );
    // Exactly the expected events, each once, keyed by its file, with the webhook's id and body.
    expect(published.map((event) => event.eventId).sort()).toEqual(expected.map((e) => e.eventId).sort());
    for (const e of expected) {
      const event = published.find((p) => p.eventId === e.eventId)!;
      expect(event).toMatchObject({ key: e.id, body: { type: e.type, data: { id: e.id } } });
      const webhook = await running.receiver.waitFor(e.eventId, (r) => r.headers['webhook-id'] === e.eventId);
      const { timestamp: _webhookTime, ...webhookBody } = JSON.parse(webhook.body) as Record<string, unknown>;
      const { timestamp: _eventTime, ...eventBody } = event.body;
      expect(eventBody).toEqual(webhookBody);
    }
    // One file's events share a partition, so they stay in order: the outcome before the deletion.
    for (const file of [files[0]!, files[1]!]) {
      const own = published.filter((event) => event.key === file.id);
      expect(new Set(own.map((event) => event.partition)).size).toBe(1);
      expect(own.map((event) => event.body.type)).toEqual(['file.ready', 'file.deleted']);
    }
  }, 360_000);
});

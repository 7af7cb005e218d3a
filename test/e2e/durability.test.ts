import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPortFree } from '../../infra/free-port';
import { startStack, type Stack } from '../../infra/stack';
import type { FileView } from '../../api/client';
import { objectExists } from '../../lib/s3-objects';
import { storageKeys } from '../../lib/storage-keys';
import { IntakeExpiresAt, IntakeStatus } from '../../common/search-attributes';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * Durability of the retention timers: uploads wait on their timers while the worker and the Temporal
 * dev server are stopped and started again (same port, same database file). Nothing may be deleted
 * early, and each timer must still fire on time. This file runs its own stack, because stopping the
 * shared one would break the other test files.
 */

const TENANT = 'durability-e2e';
const API_KEY = 'durability-e2e-key-0001';
/** How long Temporal and the worker stay down. */
const DOWNTIME_MS = 10_000;
/** "On time": a timer that fires is followed by the delete activity and the S3 delete within this. */
const ON_TIME_MS = 6_000;

let dataDir: string;
let stack: Stack | undefined;
let intake: RunningIntake<typeof TENANT> | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'intake-durability-'));
  // mkdtemp makes it 0700; PostgreSQL runs as the postgres user when we are root and must walk in.
  chmodSync(dataDir, 0o755);
  stack = await startStack({ dataDir, ephemeral: true, log: () => undefined });
  intake = await startIntake({
    tenants: { [TENANT]: API_KEY },
    env: { ...stack.env, INTAKE_RETENTION_MIN: '1s' },
  });
});

afterAll(async () => {
  await intake?.stop();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Polls S3 for the original until it is gone and resolves with the time it was first seen missing.
 * Runs through the downtime (MinIO stays up), so an early deletion cannot slip by unseen.
 */
function watchUntilGone(file: FileView, timeoutMs: number): { goneAt: Promise<number>; stop(): void } {
  const running = intake!;
  const key = storageKeys.original(TENANT, file.id);
  let stopped = false;
  const goneAt = waitUntil(
    `${key} to be deleted`,
    async () => {
      if (stopped) return Number.NaN;
      return (await objectExists(running.s3, running.config.s3.bucket, key)) ? undefined : Date.now();
    },
    { timeoutMs, intervalMs: 100 },
  );
  // A failed test stops the watch; its rejection is then not worth an unhandled-rejection report.
  goneAt.catch(() => undefined);
  return {
    goneAt,
    stop: () => {
      stopped = true;
    },
  };
}

describe('retention timers across a restart of Temporal and the worker', () => {
  it('nothing is deleted early and every timer still fires on time', async () => {
    const running = intake!;
    const client = running.clients[TENANT];
    const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#2288aa' } })
      .jpeg()
      .toBuffer();
    const accepted = await Promise.all([
      client.uploadFile(jpeg, { filename: 'short.jpg', retention: '25s' }),
      client.uploadFile(jpeg, { filename: 'long.jpg', retention: '40s' }),
    ]);
    const files = await Promise.all(accepted.map((a) => client.waitForFile(a.id, 60_000)));
    for (const file of files) expect(file.status).toBe('READY');
    const expiries = files.map((file) => Date.parse(file.expiresAt!));
    const watches = files.map((file, i) => watchUntilGone(file, expiries[i]! - Date.now() + 60_000));

    try {
      await running.stopWorkers();
      await stack!.stopService('temporal');
      expect(await isPortFree(stack!.ports.temporal)).toBe(true);
      // Down for a fixed while on purpose: the scenario is "Temporal and the worker are gone for 10 s".
      await new Promise((resolve) => setTimeout(resolve, DOWNTIME_MS));

      for (const [i, file] of files.entries()) {
        expect(Date.now(), 'the downtime must end before the first expiry').toBeLessThan(expiries[i]!);
        expect(await running.objectsUnder(storageKeys.filePrefix(TENANT, file.id))).toHaveLength(6); // the original and five renditions
      }

      await stack!.startService('temporal');
      await running.startWorkers();

      // The restarted server still has each workflow waiting on its timer, expiry intact.
      for (const [i, file] of files.entries()) {
        const description = await running.temporal.workflow.getHandle(file.workflowId).describe();
        expect(description.status.name).toBe('RUNNING');
        expect(description.typedSearchAttributes.get(IntakeStatus)).toBe('READY');
        expect(description.typedSearchAttributes.get(IntakeExpiresAt)?.getTime()).toBe(expiries[i]);
      }

      for (const [i, file] of files.entries()) {
        const goneAt = await watches[i]!.goneAt;
        const lateBy = goneAt - expiries[i]!;
        // Logged so a slow machine's margin shows in the output before it turns into a failure.
        console.info(`[durability] ${file.filename}: deleted ${lateBy} ms after its expiry`);
        expect(lateBy, `${file.filename} was deleted ${-lateBy} ms before its expiry`).toBeGreaterThanOrEqual(0);
        expect(lateBy, `${file.filename} was deleted ${lateBy} ms after its expiry`).toBeLessThan(ON_TIME_MS);

        const deleted = await waitUntil(`${file.id} to be DELETED`, async () => {
          const view = await client.getFile(file.id);
          return view.status === 'DELETED' ? view : undefined;
        });
        expect(Date.parse(deleted.deletedAt!)).toBeGreaterThanOrEqual(expiries[i]!);
        expect(await running.db.file.findUniqueOrThrow({ where: { id: file.id } })).toMatchObject({
          status: 'DELETED',
          deletionReason: 'expired',
        });
        expect(await running.objectsUnder(storageKeys.filePrefix(TENANT, file.id))).toEqual([]);
      }
    } finally {
      for (const watch of watches) watch.stop();
    }
  });
});

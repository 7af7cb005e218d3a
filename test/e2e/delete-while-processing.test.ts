import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/free-port';
import { storageKeys } from '../../lib/storage-keys';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * DELETE while a file is processing, on the real stack with clamd out of reach (this Intake's
 * CLAMD_PORT is a port nothing listens on): the scan would retry for a day, and the delete must not
 * wait for it. The file ends DELETED within seconds, with no byte left in S3.
 */

const TENANT = 'delete-processing-e2e';
const API_KEY = 'delete-processing-e2e-key-0001';

let intake: RunningIntake<typeof TENANT>;

beforeAll(async () => {
  const closedPort = await freePort();
  intake = await startIntake({ tenants: { [TENANT]: API_KEY }, env: { CLAMD_PORT: String(closedPort) } });
});

afterAll(async () => {
  await intake?.stop();
});

describe('DELETE during processing on the real stack', () => {
  it('a file whose scan cannot reach clamd is deleted on request within seconds, leaving nothing in S3', async () => {
    const client = intake.clients[TENANT];
    const upload = await client.uploadFile(Buffer.from('quarterly numbers\n'.repeat(100)), { filename: 'numbers.txt' });
    await waitUntil(
      `${upload.id}'s scan to be retrying`,
      async () => {
        const file = await client.getFile(upload.id);
        return file.status === 'PROCESSING' && (file.steps?.scan?.attempts ?? 0) >= 2 ? file : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(await intake.objectsUnder(storageKeys.incoming(TENANT, upload.id))).toHaveLength(1);

    expect(await client.deleteFile(upload.id)).toMatchObject({ id: upload.id, deletionRequested: true });

    const deleted = await waitUntil(
      `${upload.id} to be DELETED`,
      async () => {
        const file = await client.getFile(upload.id);
        return file.status === 'DELETED' ? file : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(deleted.reason).toBe('requested');
    expect(deleted.steps?.store?.state).toBe('skipped');
    const left = await Promise.all([
      intake.objectsUnder(storageKeys.incoming(TENANT, upload.id)),
      intake.objectsUnder(storageKeys.filePrefix(TENANT, upload.id)),
      intake.objectsUnder(storageKeys.quarantine(TENANT, upload.id)),
    ]);
    expect(left.flat()).toEqual([]);
  });
});

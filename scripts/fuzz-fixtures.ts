import sharp from 'sharp';
import type { IntakeClient } from '../api/client';
import type { FuzzFixtures } from './schemathesis';

/**
 * The real resources the fuzzer's deep paths need: READY JPEGs (so content and rendition downloads
 * stream real bytes) and registered webhooks (so a deliveries list exists), one of each for the reads
 * and one for the operations that change or remove it. The read file is also on legal hold, so no
 * stray DELETE can leave every later read a 410. Webhooks point at `receiverUrl`, on 127.0.0.1.
 */
export async function createFuzzFixtures(client: IntakeClient, receiverUrl: string): Promise<FuzzFixtures> {
  const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#3366cc' } })
    .jpeg()
    .toBuffer();
  const readyFile = async (filename: string): Promise<string> => {
    const accepted = await client.uploadFile(new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), { filename });
    const file = await client.waitForFile(accepted.id);
    if (file.status !== 'READY') throw new Error(`the fuzz fixture ${accepted.id} ended ${file.status}, not READY`);
    return accepted.id;
  };
  const [fileId, mutableFileId] = await Promise.all([readyFile('fuzz-read.jpg'), readyFile('fuzz-change.jpg')]);
  await client.updateRetention(fileId, { hold: true });
  const webhook = await client.createWebhook({ url: `${receiverUrl}/webhook` });
  const deletable = await client.createWebhook({ url: `${receiverUrl}/webhook-to-delete` });
  const batch = await client.createBatch([{ body: new Uint8Array(jpeg), filename: 'fuzz-batch.jpg' }]);
  await client.waitForFile(batch.files[0]!.id);
  return {
    fileId,
    mutableFileId,
    webhookId: webhook.id,
    deletableWebhookId: deletable.id,
    batchId: batch.id,
    receiverUrl,
  };
}

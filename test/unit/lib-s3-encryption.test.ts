import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { isDependencyOutage } from '../../lib/dependency-outage';
import { createS3Client } from '../../lib/s3-client';
import { isEncryptionRefusal, S3EncryptionRefused } from '../../lib/s3-encryption';
import { isNotFound } from '../../lib/s3-objects';

/** A real client whose requests stop after the initialize step: what each command would have sent. */
function capturingClient(env: Record<string, string>, answer?: () => never) {
  const client = createS3Client(loadConfig(env).s3);
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      sent.push({ command: context.commandName ?? '', input: args.input as Record<string, unknown> });
      if (answer) answer();
      return { output: { $metadata: {} }, response: {} } as never;
    },
    // After lib/s3-encryption's middleware, before anything would go on the wire.
    { step: 'initialize', priority: 'low', name: 'capture' },
  );
  return { client, sent };
}

async function sendEveryKind(client: S3Client): Promise<void> {
  const at = { Bucket: 'intake', Key: 'k' };
  await client.send(new PutObjectCommand({ ...at, Body: 'x' }));
  await client.send(new CopyObjectCommand({ ...at, CopySource: 'intake/j' }));
  await client.send(new CreateMultipartUploadCommand(at));
  await client.send(new UploadPartCommand({ ...at, UploadId: 'u', PartNumber: 1, Body: 'x' }));
  await client.send(new GetObjectCommand(at));
  await client.send(new HeadObjectCommand(at));
}

describe('encryption at rest in the S3 client', () => {
  it('asks for SSE-S3 on every request that creates an object, and only on those', async () => {
    const { client, sent } = capturingClient({});
    await sendEveryKind(client);
    expect(sent.map(({ command, input }) => [command, input.ServerSideEncryption, input.SSEKMSKeyId])).toEqual([
      ['PutObjectCommand', 'AES256', undefined],
      ['CopyObjectCommand', 'AES256', undefined],
      ['CreateMultipartUploadCommand', 'AES256', undefined],
      ['UploadPartCommand', undefined, undefined],
      ['GetObjectCommand', undefined, undefined],
      ['HeadObjectCommand', undefined, undefined],
    ]);
  });

  it('asks for SSE-KMS with the configured key, whatever the caller passed', async () => {
    const { client, sent } = capturingClient({ S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'alias/intake' });
    await client.send(new PutObjectCommand({ Bucket: 'intake', Key: 'k', Body: 'x', ServerSideEncryption: 'AES256' }));
    expect(sent[0]?.input).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/intake' });
  });

  it('sends no encryption parameter with S3_SSE=none', async () => {
    const { client, sent } = capturingClient({ S3_SSE: 'none' });
    await sendEveryKind(client);
    for (const { input } of sent) expect(input.ServerSideEncryption).toBeUndefined();
  });

  it('turns a store that cannot encrypt into a dependency outage, never a client error or a "not found"', async () => {
    const refusals = [
      // MinIO without a KMS.
      Object.assign(new Error('Server side encryption specified but KMS is not configured'), {
        name: 'NotImplemented',
        $fault: 'server',
        $metadata: { httpStatusCode: 501 },
      }),
      // MinIO asked for a key its KMS does not have: a 404 that must not read as "no such object".
      Object.assign(new Error('key with given key ID does not exist'), {
        name: 'kms:KeyNotFound',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
      }),
      // AWS S3 with a disabled key.
      Object.assign(new Error('arn:aws:kms:… is disabled'), { name: 'KMS.DisabledException', $fault: 'client' }),
      // AWS S3 when the role may not use the key.
      Object.assign(
        new Error('User: arn:aws:iam::1:role/intake is not authorized to perform: kms:GenerateDataKey on resource: …'),
        { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } },
      ),
    ];
    // A plain AccessDenied (the bucket policy, not the key) stays what it is.
    expect(isEncryptionRefusal(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }))).toBe(false);
    for (const refusal of refusals) {
      const { client } = capturingClient({ S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'intake-key' }, () => {
        throw refusal;
      });
      const error = await client.send(new PutObjectCommand({ Bucket: 'intake', Key: 'k', Body: 'x' })).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(S3EncryptionRefused);
      expect((error as Error).message).toMatch(/server-side encryption aws:kms \(S3_SSE\) to PutObjectCommand/);
      expect(isDependencyOutage(error)).toBe(true);
      expect(isNotFound(error)).toBe(false);
    }
  });

  it('reports an object whose key the KMS lost as an outage, not as a missing object', async () => {
    const lostKey = Object.assign(new Error('failed to decrypt ciphertext'), {
      name: 'kms:InvalidCiphertextException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const { client } = capturingClient({}, () => {
      throw lostKey;
    });
    const error = await client.send(new HeadObjectCommand({ Bucket: 'intake', Key: 'k' })).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(S3EncryptionRefused);
    expect(isNotFound(error)).toBe(false);
    expect(isDependencyOutage(error)).toBe(true);
  });
});

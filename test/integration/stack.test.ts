import { createConnection } from 'node:net';
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { SEARCH_ATTRIBUTE_TYPES } from '../../common/search-attributes';

const config = loadConfig();

// The EICAR test file: every antivirus flags it, and it is harmless. Assembled at run time so this
// source file is not itself reported by scanners.
const EICAR = Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join(''));

/** clamd's INSTREAM command, spoken directly so this test checks the daemon and nothing else. */
function clamdScan(data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: config.clamd.host, port: config.clamd.port });
    const reply: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('clamd timed out')));
    socket.on('connect', () => {
      socket.write('zINSTREAM\0');
      const size = Buffer.alloc(4);
      size.writeUInt32BE(data.length);
      socket.write(size);
      socket.write(data);
      socket.end(Buffer.alloc(4));
    });
    socket.on('data', (chunk: Buffer) => reply.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(reply).toString('utf8').replace(/\0$/, '')));
  });
}

const CLI_TO_INDEXED_VALUE_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Bool: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

describe('the test stack', () => {
  let s3: S3Client;
  let connection: Connection;

  beforeAll(async () => {
    s3 = new S3Client({
      endpoint: config.s3.endpoint,
      region: config.s3.region,
      forcePathStyle: config.s3.forcePathStyle,
      credentials: { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey },
    });
    connection = await Connection.connect({ address: config.temporal.address });
  });

  afterAll(async () => {
    s3?.destroy();
    await connection?.close();
  });

  it('runs on its own free ports, not on the embedded defaults a developer stack uses', () => {
    expect(config.temporal.address).not.toBe('127.0.0.1:7233');
    expect(config.databaseUrl).not.toContain(':5433/');
    expect(config.s3.embedded).toBe(false);
    expect(config.webhooks.allowPrivate).toBe(true);
  });

  it('stores an object in the bucket and reads the same bytes back', async () => {
    const key = `test/stack/${randomUUID()}.txt`;
    const body = `hello ${randomUUID()}`;
    await s3.send(new PutObjectCommand({ Bucket: config.s3.bucket, Key: key, Body: body, ContentType: 'text/plain' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key: key }));
    expect(got.ContentType).toBe('text/plain');
    expect(await got.Body?.transformToString()).toBe(body);
    await s3.send(new DeleteObjectCommand({ Bucket: config.s3.bucket, Key: key }));
  });

  it('answers SQL on the intake database', async () => {
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    try {
      const result = await client.query<{ one: number; db: string }>('SELECT 1 AS one, current_database() AS db');
      expect(result.rows).toEqual([{ one: 1, db: 'intake' }]);
    } finally {
      await client.end();
    }
  });

  it('clamd flags EICAR as infected and passes a clean buffer', async () => {
    expect(await clamdScan(EICAR)).toMatch(/^stream: Eicar-Test-Signature(\.UNOFFICIAL)? FOUND$/);
    expect(await clamdScan(Buffer.from('just some harmless text\n'))).toBe('stream: OK');
  });

  it('Temporal serves the namespace with Intake’s search attributes registered', async () => {
    const described = await connection.workflowService.describeNamespace({ namespace: config.temporal.namespace });
    expect(described.namespaceInfo?.name).toBe(config.temporal.namespace);

    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: config.temporal.namespace,
    });
    for (const [name, cliType] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) {
      expect(customAttributes?.[name], name).toBe(CLI_TO_INDEXED_VALUE_TYPE[cliType]);
    }
  });
});

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MessagesStreamModes, type Message } from '@platformatic/kafka';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { startProcess, waitUntilReady, type ServiceProcess } from '../../infra/service-process';
import { REPO_ROOT } from '../../infra/tools';
import { readEventsTopic } from '../support/events-topic';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '../../lib/kafka-client';
import { ensureTopics, intakeTopics } from '../../lib/kafka-topics';
import type { FileRecord } from '../../prisma/file-records';
import { batchWorkflowIdFor } from '../../common/task-queues';
import { derivedBatchId } from '../../lib/ids';
import { messageFileId, UPLOAD_REFERENCE_TYPE } from '../../services/upload-message';
import { startUploadsConsumer } from '../../workers/uploads-consumer';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

const TENANT = 'kafka-e2e';
const run = randomUUID().slice(0, 8);
/** A bucket of "the producer's own", which by-reference messages name. */
const SOURCE_BUCKET = `kafka-sources-${run}`;

/** Each test gets topics and a consumer group of its own, so nothing it produces reaches another. */
function topicsFor(name: string): Record<string, string> {
  return {
    KAFKA_UPLOADS_TOPIC: `test.${name}.${run}`,
    KAFKA_UPLOADS_DLQ_TOPIC: `test.${name}.${run}.dlq`,
    KAFKA_CONSUMER_GROUP: `test-${name}-${run}`,
  };
}

let intake: RunningIntake<typeof TENANT>;
const producer = createKafkaProducer(loadConfig().kafka, 'e2e');

beforeAll(async () => {
  intake = await startIntake({ tenants: { [TENANT]: 'kafka-e2e-key-0001' } });
  await intake.s3.send(new CreateBucketCommand({ Bucket: SOURCE_BUCKET }));
  // As an operator would: the topics exist before anyone produces (the consumer would create them too).
  const admin = createKafkaAdmin(intake.config.kafka);
  try {
    for (const name of ['uploads', 'poison', 'batch', 'schema']) {
      await ensureTopics(admin, intakeTopics(loadConfig({ ...process.env, ...topicsFor(name) }).kafka));
    }
  } finally {
    await admin.close();
  }
});

afterAll(async () => {
  await producer.close();
  await intake?.stop();
});

type Headers = Record<string, string>;
const headerMap = (headers: Headers) =>
  new Map(Object.entries(headers).map(([name, value]) => [Buffer.from(name), Buffer.from(value)]));

function send(topic: string, messages: { headers: Headers; value: Buffer; partition?: number; key?: string }[]) {
  return producer.send({
    messages: messages.map((m) => ({
      topic,
      value: m.value,
      headers: headerMap(m.headers),
      ...(m.key ? { key: Buffer.from(m.key) } : {}),
      ...(m.partition === undefined ? {} : { partition: m.partition }),
    })),
  });
}

/** The tenant's files made from messages of `topic`. */
async function filesFrom(topic: string): Promise<FileRecord[]> {
  const rows = await intake.db.file.findMany({ where: { tenantId: TENANT } });
  return rows.filter((row) => (row.ingestSource as { kafka?: { topic?: string } } | null)?.kafka?.topic === topic);
}

const kafkaSource = (row: FileRecord) =>
  (row.ingestSource as { kafka: { topic: string; partition: number; offset: string; batchId?: string } }).kafka;

/** The uploads consumer as its own process (INTAKE_WORKER_KIND=ingest), as compose's ingest service runs it. */
async function startIngestProcess(env: Headers, logFile: string): Promise<ServiceProcess> {
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const already = readLog().split('uploads consumer running').length;
  const child = startProcess({
    name: 'ingest',
    command: process.execPath,
    args: ['--import', 'tsx', join(REPO_ROOT, 'workers/main.ts')],
    env: { ...process.env, ...env, INTAKE_WORKER_KIND: 'ingest', INTAKE_LOG_LEVEL: 'info' },
    cwd: REPO_ROOT,
    logFile,
  });
  await waitUntilReady({
    name: 'the ingest process',
    process: child,
    logFile,
    timeoutMs: 120_000,
    check: async () => readLog().split('uploads consumer running').length > already,
  });
  return child;
}

/**
 * The `intake.events` half of the 200-message test: one outcome event per file, keyed by its id and
 * carrying the webhook's id. Publishing is at least once, so copies of one event (the same
 * `intake-event-id`) count once, as a consumer de-duplicating on it would count them.
 */
async function expectOneOutcomeEventPerFile(fileIds: readonly string[]): Promise<void> {
  const wanted = new Set(fileIds);
  const outcomes = await waitUntil(
    'an outcome event for every file on intake.events',
    async () => {
      const events = (await readEventsTopic(intake.config)).filter(
        (event) => wanted.has(event.key) && event.body.type !== 'file.deleted',
      );
      return new Set(events.map((event) => event.key)).size >= wanted.size ? events : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 2_000 },
  );
  const distinct = new Map(outcomes.map((event) => [event.eventId, event]));
  expect(distinct.size).toBe(fileIds.length);
  for (const event of distinct.values()) {
    expect(event.body.type).toBe('file.ready');
    expect(event.eventId).toBe(`msg_${event.key}_file.ready`);
    expect(event.body.data.id).toBe(event.key);
  }
}

describe('upload by message (intake.uploads)', () => {
  it('makes exactly one file per message when the consumer is SIGKILLed partway and restarted', async () => {
    const env = topicsFor('uploads');
    const topic = env.KAFKA_UPLOADS_TOPIC!;
    const messages = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const filename = `message-${i}.txt`;
        const body = Buffer.from(`file ${i} of run ${run}\n`);
        const headers: Headers = { 'intake-tenant': TENANT, 'intake-filename': filename, 'intake-tags': 'kafka,e2e' };
        if (i % 10 === 0) headers['intake-idempotency-key'] = `key-${run}-${i}`;
        if (i % 4 === 3) {
          // By reference: the object stays in the producer's bucket and is copied, never moved.
          const key = `outbox/${i}/${filename}`;
          await intake.s3.send(new PutObjectCommand({ Bucket: SOURCE_BUCKET, Key: key, Body: body }));
          return {
            key: `m-${i}`,
            headers: { ...headers, 'content-type': UPLOAD_REFERENCE_TYPE },
            value: Buffer.from(JSON.stringify({ s3: { bucket: SOURCE_BUCKET, key }, contentType: 'text/plain' })),
            source: key,
          };
        }
        return { key: `m-${i}`, headers: { ...headers, 'content-type': 'text/plain' }, value: body, source: null };
      }),
    );
    await send(topic, messages);

    const logFile = join(mkdtempSync(join(tmpdir(), 'intake-ingest-')), 'ingest.log');
    let ingest = await startIngestProcess(env, logFile);
    // Partway: some files in, many messages still to come or in flight.
    await waitUntil(
      'the first files from the topic',
      async () => ((await filesFrom(topic)).length >= 40 ? true : undefined),
      {
        timeoutMs: 120_000,
      },
    );
    ingest.signal('SIGKILL');
    await ingest.exited;
    const beforeRestart = (await filesFrom(topic)).length;
    expect(beforeRestart).toBeLessThan(200);
    ingest = await startIngestProcess(env, logFile);

    try {
      const rows = await waitUntil(
        'a terminal file for every message',
        async () => {
          const found = await filesFrom(topic);
          return found.length >= 200 && found.every((row) => row.status !== 'PROCESSING') ? found : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 1_000 },
      );
      expect(rows).toHaveLength(200);
      expect(new Set(rows.map((row) => row.filename)).size).toBe(200);
      const positions = rows.map((row) => `${kafkaSource(row).partition}/${kafkaSource(row).offset}`);
      expect(new Set(positions).size).toBe(200);
      expect(rows.filter((row) => row.status !== 'READY')).toEqual([]);
      for (const row of rows) {
        // The id is the message's own: a redelivery could only ever have found this row.
        const at = { topic, partition: kafkaSource(row).partition, offset: BigInt(kafkaSource(row).offset) };
        expect(row.id).toBe(messageFileId({ tenantId: TENANT, idempotencyKey: row.idempotencyKey }, at));
        expect(row.tags).toEqual(['kafka', 'e2e']);
      }
      expect(rows.filter((row) => row.idempotencyKey !== null)).toHaveLength(20);
      // Every workflow ran once, under the file's id, and ended READY.
      const described = await Promise.all(
        rows.slice(0, 20).map((row) => intake.temporal.workflow.getHandle(row.workflowId).describe()),
      );
      // Each keeps its retention timer running, as an HTTP upload's does.
      expect(described.map((d) => `${d.type} ${d.status.name}`)).toEqual(Array(20).fill('uploadWorkflow RUNNING'));
      for (const message of messages.filter((m) => m.source !== null)) {
        await intake.s3.send(new HeadObjectCommand({ Bucket: SOURCE_BUCKET, Key: message.source! }));
      }
      await expectOneOutcomeEventPerFile(rows.map((row) => row.id));
    } finally {
      await ingest.stop();
    }
    // 200 files through the whole pipeline on a shared 2-core machine: minutes, not the default 2.
  }, 600_000);

  it('moves a poison message to the DLQ with intake-error and goes on with the messages behind it', async () => {
    const env = topicsFor('poison');
    const topic = env.KAFKA_UPLOADS_TOPIC!;
    // 100 kB per file in this test, so an oversize message is small enough to produce quickly.
    const config = loadConfig({
      ...process.env,
      ...env,
      INTAKE_MAX_UPLOAD_BYTES: '100000',
      INTAKE_LOG_LEVEL: 'silent',
    });
    const consumer = await startUploadsConsumer({
      config,
      s3: intake.s3,
      db: intake.db,
      temporal: intake.temporal,
      log: pino({ level: 'silent' }),
    });
    const good = (name: string): { headers: Headers; value: Buffer } => ({
      headers: { 'intake-tenant': TENANT, 'intake-filename': name, 'content-type': 'text/plain' },
      value: Buffer.from(`${name} ${run}\n`),
    });
    const poison: { headers: Headers; value: Buffer; error: RegExp }[] = [
      {
        headers: { 'intake-filename': 'no-tenant.txt' },
        value: Buffer.from('x'),
        error: /^missing_header: intake-tenant/,
      },
      {
        headers: { 'intake-tenant': 'nobody-here', 'intake-filename': 'a.txt' },
        value: Buffer.from('x'),
        error: /^unknown_tenant: /,
      },
      {
        headers: { 'intake-tenant': TENANT, 'intake-filename': 'big.bin' },
        value: Buffer.alloc(150_000, 1),
        error: /^payload_too_large: /,
      },
      {
        headers: { 'intake-tenant': TENANT, 'intake-filename': 'gone.pdf', 'content-type': UPLOAD_REFERENCE_TYPE },
        value: Buffer.from(JSON.stringify({ s3: { bucket: SOURCE_BUCKET, key: 'never/put.pdf' } })),
        error: /^missing_object: /,
      },
      {
        headers: { 'intake-tenant': TENANT, 'intake-filename': 'b.txt', 'intake-retention': 'forever' },
        value: Buffer.from('x'),
        error: /^invalid_request: retention/,
      },
    ];
    try {
      // One partition, so "behind it" means behind it.
      await send(
        topic,
        [good('before.txt'), ...poison, good('after.txt')].map((m) => ({ ...m, partition: 0 })),
      );
      const rows = await waitUntil(
        'the messages around the poison ones to become READY files',
        async () => {
          const found = await filesFrom(topic);
          return found.length === 2 && found.every((row) => row.status === 'READY') ? found : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      expect(rows.map((row) => row.filename).sort()).toEqual(['after.txt', 'before.txt']);

      const dead = await readAll(config, env.KAFKA_UPLOADS_DLQ_TOPIC!, poison.length);
      expect(dead).toHaveLength(poison.length);
      // Messages are worked on side by side, so dead letters arrive in any order: intake-source says whose.
      const bySource = new Map(
        dead.map((message) => {
          const headers = Object.fromEntries(message.headerEntries.map(([k, v]) => [k.toString(), v.toString()]));
          return [headers['intake-source'], { value: message.value, headers }];
        }),
      );
      poison.forEach((sent, i) => {
        const letter = bySource.get(`${topic}/0/${i + 1}`);
        expect(letter, `the dead letter of message ${i + 1}`).toBeDefined();
        expect(letter!.value.equals(sent.value)).toBe(true);
        for (const [name, value] of Object.entries(sent.headers)) expect(letter!.headers[name]).toBe(value);
        expect(letter!.headers['intake-error']).toMatch(sent.error);
      });
    } finally {
      await consumer.stop();
    }
  });

  it('validates a message naming intake-schema against the pinned version; an unknown schema goes to the DLQ', async () => {
    const env = topicsFor('schema');
    const topic = env.KAFKA_UPLOADS_TOPIC!;
    const schema = { type: 'object', required: ['price'], properties: { price: { type: 'number' } } };
    const registered = await fetch(`${intake.api.url}/v1/schemas/kafka-priced`, {
      method: 'PUT',
      headers: { Authorization: 'Bearer kafka-e2e-key-0001', 'Content-Type': 'application/json' },
      body: JSON.stringify(schema),
    });
    expect(registered.status).toBe(201);
    const config = loadConfig({ ...process.env, ...env, INTAKE_LOG_LEVEL: 'silent' });
    const consumer = await startUploadsConsumer({
      config,
      s3: intake.s3,
      db: intake.db,
      temporal: intake.temporal,
      log: pino({ level: 'silent' }),
    });
    const message = (filename: string, schemaName: string, document: unknown) => ({
      headers: {
        'intake-tenant': TENANT,
        'intake-filename': filename,
        'content-type': 'application/json',
        'intake-schema': schemaName,
      },
      value: Buffer.from(JSON.stringify(document)),
      partition: 0,
    });
    try {
      await send(topic, [
        message('valid.json', 'kafka-priced', { price: 2 }),
        message('invalid.json', 'kafka-priced', { price: 'two' }),
        message('unknown.json', 'kafka-nosuch', { price: 2 }),
      ]);
      const rows = await waitUntil(
        'the two messages naming a known schema to settle',
        async () => {
          const found = await filesFrom(topic);
          return found.length === 2 && found.every((row) => row.status !== 'PROCESSING') ? found : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      const byName = new Map(rows.map((row) => [row.filename, row]));
      expect(byName.get('valid.json')).toMatchObject({ status: 'READY', schemaName: 'kafka-priced', schemaVersion: 1 });
      expect(byName.get('invalid.json')).toMatchObject({
        status: 'REJECTED',
        validationErrors: [{ path: '/price', message: 'must be number' }],
      });
      // As every message Intake refuses: no file, and the dead letter says why.
      const dead = await readAll(config, env.KAFKA_UPLOADS_DLQ_TOPIC!, 1);
      const headers = Object.fromEntries(dead[0]!.headerEntries.map(([k, v]) => [k.toString(), v.toString()]));
      expect(headers['intake-error']).toBe(
        'unknown_schema: No JSON Schema named "kafka-nosuch" is registered (PUT /v1/schemas/kafka-nosuch)',
      );
    } finally {
      await consumer.stop();
    }
  });
});

describe('batches by message (intake-batch-id, intake-batch-end)', () => {
  it('ends a batch announced before its files DONE with a refused message counted, a repeat not, and batch.completed once', async () => {
    const env = topicsFor('batch');
    const topic = env.KAFKA_UPLOADS_TOPIC!;
    const config = loadConfig({ ...process.env, ...env, INTAKE_LOG_LEVEL: 'silent' });
    const consumer = await startUploadsConsumer({
      config,
      s3: intake.s3,
      db: intake.db,
      temporal: intake.temporal,
      log: pino({ level: 'silent' }),
    });
    const producerBatchId = `nightly-${run}`;
    const batchId = derivedBatchId(TENANT, producerBatchId);
    const member = (name: string, extra: Headers = {}): { headers: Headers; value: Buffer } => ({
      headers: {
        'intake-tenant': TENANT,
        'intake-filename': name,
        'content-type': 'text/plain',
        'intake-batch-id': producerBatchId,
        ...extra,
      },
      value: Buffer.from(`${name} ${run}\n`),
    });
    try {
      await send(
        topic,
        [
          // The end marker first: a batch learns its count and its members in any order.
          {
            headers: { 'intake-tenant': TENANT, 'intake-batch-id': producerBatchId, 'intake-batch-end': '5' },
            value: Buffer.alloc(0),
          },
          member('one.txt', { 'intake-idempotency-key': `one-${run}` }),
          member('two.txt'),
          member('three.txt'),
          { ...member('empty.txt'), value: Buffer.alloc(0) },
          // A producer's retry of the first: the same key, so the same file, counted once.
          member('one.txt', { 'intake-idempotency-key': `one-${run}` }),
          member('four.txt'),
        ].map((m) => ({ ...m, partition: 0 })),
      );
      const handle = intake.temporal.workflow.getHandle(batchWorkflowIdFor(batchId));
      await waitUntil(
        'the batch workflow to start',
        () =>
          handle.describe().then(
            () => true,
            () => undefined,
          ),
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );
      await handle.result();

      const rows = await filesFrom(topic);
      expect(rows.map((row) => row.filename).sort()).toEqual(['four.txt', 'one.txt', 'three.txt', 'two.txt']);
      expect(rows.every((row) => row.batchId === batchId && row.status === 'READY')).toBe(true);

      // Found by the producer's own id as well as by Intake's.
      const client = intake.clients[TENANT];
      const byProducerId = await client.getBatch(producerBatchId);
      expect(byProducerId).toMatchObject({ id: batchId, status: 'DONE', fileCount: 5 });
      expect(byProducerId.counts).toMatchObject({ READY: 4, REJECTED: 1 });
      expect((await client.getBatch(batchId)).files.map((f) => f.filename).sort()).toEqual(
        rows.map((row) => row.filename).sort(),
      );

      const completed = (await readEventsTopic(intake.config)).filter(
        (event) => event.body.type === 'batch.completed' && event.key === batchId,
      );
      expect(completed).toHaveLength(1);
      expect(completed[0]!.body).toMatchObject({ data: { status: 'DONE', fileCount: 5 } });
      const dead = await readAll(config, env.KAFKA_UPLOADS_DLQ_TOPIC!, 1);
      expect(dead[0]!.headerEntries.map(([k, v]) => `${k.toString()}=${v.toString()}`)).toContain(
        'intake-filename=empty.txt',
      );
    } finally {
      await consumer.stop();
    }
  });
});

/** Reads `count` messages of a topic from its beginning, in a consumer group of its own. */
async function readAll(config: ReturnType<typeof loadConfig>, topic: string, count: number) {
  const reader = createKafkaConsumer(config.kafka, { groupId: `test-reader-${randomUUID()}`, role: 'reader' });
  const got: Message<Buffer, Buffer, Buffer, Buffer>[] = [];
  try {
    const stream = await reader.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    for await (const message of stream) {
      got.push(message);
      if (got.length >= count) break;
    }
    await stream.close();
  } finally {
    await reader.close(true);
  }
  return got;
}

import { setTimeout as sleep } from 'node:timers/promises';
import {
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/env';
import { isDependencyOutage } from '../lib/dependency-outage';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '../lib/kafka-client';
import { ensureTopics, intakeTopics } from '../lib/kafka-topics';
import type { WorkerMetrics } from '../lib/metrics';
import type { Db } from '../prisma/db';
import { QuotaExceededError } from '../prisma/quotas';
import { acceptMessage, messageBatchRef, type AcceptMessageDeps } from '../services/accept-message';
import { countRefusedMember, endKafkaBatch } from '../services/kafka-batch';
import { UploadRefused } from '../services/accept-upload';
import {
  ERROR_HEADER,
  MessageRefused,
  messageFileId,
  parseUploadMessage,
  readBatchHeaders,
  readHeaders,
  UPLOAD_HEADERS,
  type BatchHeaders,
  type MessagePosition,
} from '../services/upload-message';
import { PartitionProgress } from './partition-progress';

/*
 * The consumer of the uploads topic: each message becomes one file through acceptMessage. Its offset is
 * committed only once the file's workflow has started (or had started: a redelivery), or once a message
 * Intake refuses sits in the dead-letter topic. Consumers of one group share the topic's partitions, so
 * ingest scales with them; each works on at most KAFKA_INGEST_CONCURRENCY messages and stops fetching
 * while that many are in flight, so a slow Temporal or S3 never makes it buffer without bound.
 */

type UploadMessageRecord = Message<Buffer, Buffer, Buffer, Buffer>;

export interface UploadsConsumerDeps {
  config: Config;
  s3: S3Client;
  db: Db;
  temporal: Client;
  log: Logger;
  /** Counts the files it accepts (intake_uploads_accepted_total{source="kafka"}). */
  metrics?: WorkerMetrics;
}

export interface UploadsConsumer {
  /** Resolves when the consumer has stopped. */
  done: Promise<void>;
  /** Stops fetching, lets the messages in flight finish (their offsets committed), then leaves the group. */
  stop(): Promise<void>;
}

/** Attempts of a message that failed for no known reason before it goes to the DLQ (~4 min of backoff). */
const MAX_UNEXPECTED_ATTEMPTS = 10;

/** A refusal is the message's fault: retrying cannot help, so it goes to the DLQ. */
function refusalOf(error: unknown): string | undefined {
  if (error instanceof MessageRefused) return `${error.reason}: ${error.message}`;
  // A full quota holds until the tenant deletes files or gets a larger one: the DLQ keeps the message
  // for a replay then, instead of blocking its partition.
  if (error instanceof QuotaExceededError) return `quota_exceeded: ${error.message}`;
  if (error instanceof UploadRefused && error.reason !== 'processing_not_started') {
    return `${error.reason}: ${error.message}`;
  }
  return undefined;
}

/** An outage of Temporal, Postgres or S3: the message waits for it, however long it lasts. */
function isOutage(error: unknown): boolean {
  return (error instanceof UploadRefused && error.reason === 'processing_not_started') || isDependencyOutage(error);
}

const backoffMs = (attempt: number) => Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 6));

class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

export async function startUploadsConsumer(deps: UploadsConsumerDeps): Promise<UploadsConsumer> {
  const { config, log } = deps;
  const kafka = config.kafka;
  const topic = kafka.topics.uploads;
  const concurrency = kafka.ingestConcurrency;
  const maxInlineBytes = Math.min(config.limits.maxUploadBytes, kafka.maxMessageBytes);
  const acceptDeps: AcceptMessageDeps = {
    config,
    s3: deps.s3,
    log,
    withDb: (fn) => fn(deps.db),
    withTemporal: (fn) => fn(deps.temporal),
    referenceBuckets: kafka.referenceBuckets,
  };

  // A production cluster may forbid creating topics (ACLs): then they must exist already, and the
  // consumer says so when it fails to subscribe.
  const admin = createKafkaAdmin(kafka);
  try {
    const created = await ensureTopics(admin, intakeTopics(kafka));
    if (created.length > 0) log.info({ topics: created }, 'created Kafka topics');
  } catch (error) {
    log.warn({ err: error }, 'could not check or create the Kafka topics; assuming they exist');
  } finally {
    await admin.close().catch(() => undefined);
  }

  const consumer = createKafkaConsumer(kafka, {
    role: 'ingest',
    // What the stream holds before it stops fetching: with the slots in use, the most messages (and so
    // file bytes) this process holds at once is twice the concurrency.
    highWaterMark: concurrency,
    // A consumer killed without leaving its group holds its partitions this long before a restarted
    // one gets them (Kafka's default session is 45 s).
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  });
  const producer = createKafkaProducer(kafka, 'ingest-dlq');
  let stopping = false;
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  const inFlight = new Set<Promise<void>>();
  const stopped = new AbortController();

  const wait = (ms: number) => sleep(ms, undefined, { signal: stopped.signal }).catch(() => undefined);

  /** Copies the message, value and headers as they came, into the DLQ with the reason it was refused. */
  async function deadLetter(message: UploadMessageRecord, why: string): Promise<void> {
    const headers = new Map<Buffer, Buffer>();
    for (const [name, value] of message.headerEntries) headers.set(name, value);
    headers.set(Buffer.from(ERROR_HEADER), Buffer.from(why.slice(0, 1000)));
    headers.set(Buffer.from('intake-source'), Buffer.from(`${message.topic}/${message.partition}/${message.offset}`));
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.send({
          messages: [
            {
              topic: kafka.topics.uploadsDlq,
              ...(message.key && message.key.length > 0 ? { key: message.key } : {}),
              value: message.value ?? Buffer.alloc(0),
              headers,
            },
          ],
        });
        return;
      } catch (error) {
        if (stopping) throw error;
        log.warn({ err: error, attempt }, 'could not write to the dead-letter topic; retrying');
        await wait(backoffMs(attempt));
      }
    }
  }

  /** Runs `work` until it succeeds, backing off between attempts; throws only when stopping. */
  async function persist(what: string, work: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await work();
        return;
      } catch (error) {
        if (stopping) throw error;
        log.warn({ err: error, attempt }, `${what} failed; retrying`);
        await wait(backoffMs(attempt));
      }
    }
  }

  /** Tells its batch (if it has one and names a tenant) what a message did: ended it, or was refused. */
  async function tellBatch(
    message: UploadMessageRecord,
    batch: BatchHeaders | null,
    at: MessagePosition,
    refused: boolean,
  ): Promise<void> {
    if (!batch || (!refused && batch.end === null)) return;
    await persist('telling the batch', async () => {
      const ref = await messageBatchRef(acceptDeps, batch, message.headerEntries);
      if (!ref) return;
      if (refused && !batch.markerOnly) {
        const idempotencyKey = readHeaders(message.headerEntries).get(UPLOAD_HEADERS.idempotencyKey) || null;
        await countRefusedMember(acceptDeps, ref, messageFileId({ tenantId: batch.tenantId, idempotencyKey }, at));
      }
      if (batch.end !== null) await endKafkaBatch(acceptDeps, ref, batch.end);
    });
  }

  /** Works on one message until it is accepted or dead-lettered; throws only when stopping. */
  async function handle(message: UploadMessageRecord): Promise<void> {
    const at: MessagePosition = { topic: message.topic, partition: message.partition, offset: message.offset };
    const where = { topic: at.topic, partition: at.partition, offset: at.offset.toString() };
    let batch: BatchHeaders | null = null;
    for (let attempt = 1; ; attempt++) {
      let refusal: string | undefined;
      try {
        batch = readBatchHeaders(message.headerEntries, message.value);
        if (batch?.markerOnly) {
          const ref = await messageBatchRef(acceptDeps, batch, message.headerEntries);
          if (!ref) throw new MessageRefused('unknown_tenant', `intake-tenant: no tenant "${batch.tenantId}"`);
          await endKafkaBatch(acceptDeps, ref, batch.end ?? 0);
          log.info({ ...where, batchId: batch.batchId, end: batch.end }, 'batch end marker accepted');
          return;
        }
        const parsed = parseUploadMessage(message.headerEntries, message.value, maxInlineBytes);
        const { row, replayed } = await acceptMessage(acceptDeps, parsed, at);
        log.info({ ...where, fileId: row.id, tenantId: row.tenantId, replayed }, 'upload message accepted');
        if (!replayed) deps.metrics?.uploadAccepted(row.tenantId, 'kafka', Number(row.size));
        await tellBatch(message, batch, at, false);
        return;
      } catch (error) {
        refusal = refusalOf(error);
        if (refusal === undefined) {
          if (stopping) throw error;
          if (!isOutage(error) && attempt >= MAX_UNEXPECTED_ATTEMPTS) {
            refusal = `internal_error: ${error instanceof Error ? error.message : String(error)}`;
            log.error({ ...where, err: error, attempt }, 'upload message failed every attempt');
          } else {
            log.warn({ ...where, err: error, attempt }, 'upload message failed; retrying');
            await wait(backoffMs(attempt));
            continue;
          }
        }
      }
      log.warn({ ...where, error: refusal }, 'upload message refused; moved to the dead-letter topic');
      await deadLetter(message, refusal);
      await tellBatch(message, batch, at, true);
      return;
    }
  }

  async function consumeOnce(): Promise<void> {
    const slots = new Slots(concurrency);
    const progress = new PartitionProgress<UploadMessageRecord>();
    stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    });
    log.info({ topic, group: kafka.consumerGroup, concurrency }, 'uploads consumer running');
    try {
      for await (const message of stream) {
        if (stopping) break;
        // Back-pressure: the next message is not taken until a slot is free, and the stream stops
        // fetching once its own small buffer is full.
        await slots.acquire();
        const partition = `${message.topic}:${message.partition}`;
        progress.received(partition, message.offset);
        const work: Promise<void> = handle(message)
          .then(async () => {
            const commit = progress.finish(partition, message.offset, message);
            if (commit) await commit.commit();
          })
          .catch((error: unknown) => {
            // Uncommitted: the message comes back after a restart or rebalance, and its id finds its file.
            if (!stopping)
              log.warn({ err: error, partition, offset: message.offset.toString() }, 'offset not committed');
          })
          .finally(() => {
            slots.release();
            inFlight.delete(work);
          });
        inFlight.add(work);
      }
    } finally {
      await Promise.allSettled([...inFlight]);
      await stream.close().catch(() => undefined);
    }
  }

  const done = (async () => {
    while (!stopping) {
      try {
        await consumeOnce();
      } catch (error) {
        if (stopping) break;
        // The stream failed (a broker outage outlasting the client's retries): start over from the
        // committed offsets; anything in flight was redelivered or will be.
        log.warn({ err: error }, 'the uploads stream failed; consuming again in 2 s');
        await wait(2_000);
      }
    }
    await Promise.allSettled([consumer.close(true), producer.close()]);
    log.info('uploads consumer stopped');
  })();

  return {
    done,
    async stop() {
      stopping = true;
      stopped.abort();
      // Commit what finishes before closing the stream: its commits go through the stream.
      await Promise.allSettled([...inFlight]);
      await stream?.close().catch(() => undefined);
      await done;
    },
  };
}

import type { Admin, Producer } from '@platformatic/kafka';
import type pg from 'pg';
import { messageFileId } from '../services/upload-message';
import { cpuByProcess, cpuMeter, perFile } from './cpu';
import { waitForOutcomes, type PipelineRun } from './measure-pipeline';
import { mapConcurrent } from './stats';

type BufferProducer = Producer<Buffer, Buffer, Buffer, Buffer>;

/** A position no message has: the file ids below come from idempotency keys, which ignore it. */
const NOWHERE = { topic: '', partition: 0, offset: 0n };

function uploadMessage(topic: string, tenantId: string, key: string, filename: string, bytes: Buffer, type: string) {
  return {
    topic,
    key: Buffer.from(key),
    value: bytes,
    headers: new Map([
      [Buffer.from('intake-tenant'), Buffer.from(tenantId)],
      [Buffer.from('intake-filename'), Buffer.from(filename)],
      [Buffer.from('content-type'), Buffer.from(type)],
      // The key names the file (services/upload-message.ts), so the bench knows every id it waits for.
      [Buffer.from('intake-idempotency-key'), Buffer.from(key)],
    ]),
  };
}

/**
 * measure-pipeline.ts's run, with the files produced to the uploads topic instead of POSTed: the same
 * images, `concurrency` produce requests in flight (as the HTTP run has requests), the clock from the
 * first produce until the last file is recorded READY.
 */
export async function measureKafkaPipeline(options: {
  producer: BufferProducer;
  pool: pg.Pool;
  topic: string;
  tenantId: string;
  images: readonly Buffer[];
  concurrency: number;
  label: string;
  processes: () => Record<string, number>;
}): Promise<PipelineRun> {
  const { producer, pool, topic, tenantId, images, label } = options;
  const cpu = cpuMeter();
  const perProcess = cpuByProcess(options.processes);
  const startedAt = Date.now();
  const ids = await mapConcurrent(images, options.concurrency, async (bytes, i) => {
    const key = `${label}-${i}`;
    await producer.send({ messages: [uploadMessage(topic, tenantId, key, `${key}.jpg`, bytes, 'image/jpeg')] });
    return messageFileId({ tenantId, idempotencyKey: key }, NOWHERE);
  });
  const rows = await waitForOutcomes(pool, ids);
  const cpuBusy = cpu.stop();
  const cpuSeconds = perProcess.stop();
  const elapsedMs = Math.max(...rows.map((r) => r.updatedAtMs)) - startedAt;
  return {
    files: images.length,
    elapsedMs,
    filesPerSecond: images.length / (elapsedMs / 1000),
    notReady: rows.filter((r) => r.status !== 'READY').length,
    cpuBusy,
    cpuMsPerFile: perFile(cpuSeconds, images.length),
  };
}

/** Messages of `topic` the group has not committed yet. */
async function lagOf(admin: Admin, group: string, topic: string, produced: bigint): Promise<bigint> {
  const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group] });
  let committed = 0n;
  for (const t of offsets?.topics ?? []) {
    if (t.name !== topic) continue;
    for (const p of t.partitions) if (p.committedOffset > 0n) committed += p.committedOffset;
  }
  return produced - committed;
}

export interface LagRecovery {
  messages: number;
  /** From the consumer's resumption until every message of the backlog is committed. */
  recoveryMs: number;
  messagesPerSecond: number;
}

/**
 * Consumer lag recovery: the consumer is frozen (SIGSTOP) while `count` small files are produced, then
 * let go; the clock runs until the group has committed every one, i.e. until each has its workflow
 * started. `alreadyProduced` is what the topic held before, all of it committed.
 */
export async function measureLagRecovery(options: {
  producer: BufferProducer;
  admin: Admin;
  topic: string;
  group: string;
  tenantId: string;
  count: number;
  alreadyProduced: number;
  pause: () => void;
  resume: () => void;
}): Promise<LagRecovery> {
  const { producer, admin, topic, group, tenantId, count } = options;
  const total = BigInt(options.alreadyProduced + count);
  options.pause();
  try {
    for (let i = 0; i < count; i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => {
        const key = `backlog-${i + j}`;
        return uploadMessage(topic, tenantId, key, `${key}.txt`, Buffer.from(`backlog file ${i + j}\n`), 'text/plain');
      });
      await producer.send({ messages: batch });
    }
  } finally {
    options.resume();
  }
  const startedAt = Date.now();
  const deadline = startedAt + 600_000;
  while ((await lagOf(admin, group, topic, total)) > 0n) {
    if (Date.now() > deadline) throw new Error(`the backlog of ${count} messages was not consumed within 10 min`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const recoveryMs = Date.now() - startedAt;
  return { messages: count, recoveryMs, messagesPerSecond: count / (recoveryMs / 1000) };
}

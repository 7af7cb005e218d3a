import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes, MessagesStreamModes } from '@platformatic/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { createKafkaAdmin, createKafkaConsumer, createKafkaProducer } from '../../lib/kafka-client';
import { ensureTopics } from '../../lib/kafka-topics';

const config = loadConfig();
const admin = createKafkaAdmin(config.kafka);

afterAll(async () => {
  await admin.close();
});

describe('the embedded Kafka broker', () => {
  it('runs on its own free port and has every Intake topic, taking messages up to 10 MiB', async () => {
    expect(config.kafka.brokers).not.toEqual(['127.0.0.1:9092']);
    const topics = await admin.listTopics();
    for (const topic of ['intake.uploads', 'intake.uploads.dlq', 'intake.events']) expect(topics).toContain(topic);
    const [described] = await admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: 'intake.uploads', configurationKeys: [] }],
    });
    const maxBytes = described?.configs.find((c) => c.name === 'max.message.bytes')?.value;
    expect(maxBytes).toBe(String(10 * 1024 * 1024));
  });

  it('round-trips a 9 MiB message with its headers through a topic of its own', async () => {
    const topic = `test.broker.${randomUUID()}`;
    await ensureTopics(admin, [{ name: topic, partitions: 1, configs: { 'max.message.bytes': String(10 << 20) } }]);
    const value = Buffer.alloc(9 * 1024 * 1024, 7);
    const producer = createKafkaProducer(config.kafka, 'test');
    const consumer = createKafkaConsumer(config.kafka, { groupId: `test-${randomUUID()}`, role: 'test' });
    try {
      await producer.send({
        messages: [{ topic, key: Buffer.from('k'), value, headers: new Map([[Buffer.from('h'), Buffer.from('v')]]) }],
      });
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
      let got: { value: Buffer; header: string | undefined } | undefined;
      for await (const message of stream) {
        got = {
          value: message.value,
          header: message.headerEntries.find(([k]) => k.toString() === 'h')?.[1].toString(),
        };
        break;
      }
      await stream.close();
      expect(got?.value.equals(value)).toBe(true);
      expect(got?.header).toBe('v');
    } finally {
      await producer.close();
      await consumer.close(true);
      await admin.deleteTopics({ topics: [topic] });
    }
  });
});

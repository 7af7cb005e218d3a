import { randomUUID } from 'node:crypto';
import { MessagesStreamModes } from '@platformatic/kafka';
import type { Config } from '../../config/env';
import { createKafkaConsumer, createKafkaProducer } from '../../lib/kafka-client';

/** One message of the events topic, decoded. */
export interface PublishedEvent {
  key: string;
  eventId: string | undefined;
  body: { type: string; timestamp: string; data: { id: string; status: string } & Record<string, unknown> };
  partition: number;
}

const SENTINEL = 'intake-test-sentinel';

/**
 * Everything on the events topic up to now. A sentinel is first produced to every partition; reading
 * from the earliest offset until each sentinel came back means every message before it was read, so a
 * test can say "exactly once" and not only "at least once".
 */
export async function readEventsTopic(config: Config): Promise<PublishedEvent[]> {
  const topic = config.kafka.topics.events;
  const run = randomUUID();
  const producer = createKafkaProducer(config.kafka, 'test-sentinel');
  const consumer = createKafkaConsumer(config.kafka, { groupId: `test-events-${run}`, role: 'test-events' });
  try {
    const metadata = await producer.metadata({ topics: [topic] });
    const partitions = metadata.topics.get(topic)?.partitionsCount ?? config.kafka.partitions;
    await producer.send({
      messages: Array.from({ length: partitions }, (_, partition) => ({
        topic,
        partition,
        key: Buffer.from(SENTINEL),
        value: Buffer.from(run),
        headers: new Map([[Buffer.from(SENTINEL), Buffer.from(run)]]),
      })),
    });
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    const events: PublishedEvent[] = [];
    const sentinels = new Set<number>();
    for await (const message of stream) {
      const header = (name: string) => message.headerEntries.find(([k]) => k.toString() === name)?.[1].toString();
      const sentinel = header(SENTINEL);
      if (sentinel === run) sentinels.add(message.partition);
      else if (sentinel === undefined) {
        events.push({
          key: message.key.toString(),
          eventId: header('intake-event-id'),
          body: JSON.parse(message.value.toString()) as PublishedEvent['body'],
          partition: message.partition,
        });
      }
      if (sentinels.size === partitions) break;
    }
    await stream.close();
    return events;
  } finally {
    await producer.close();
    await consumer.close(true);
  }
}

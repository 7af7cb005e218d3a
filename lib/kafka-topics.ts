import { findErrorBy, type Admin } from '@platformatic/kafka';
import type { KafkaSettings } from './kafka-client';

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Topic-level settings (max.message.bytes, retention.ms…) applied when the topic is created. */
  configs: Record<string, string>;
}

/** The topics Intake reads and writes, as it creates them when they are missing. */
export function intakeTopics(kafka: KafkaSettings): TopicSpec[] {
  const maxBytes = { 'max.message.bytes': String(kafka.maxMessageBytes) };
  return [
    { name: kafka.topics.uploads, partitions: kafka.partitions, configs: maxBytes },
    // Dead letters keep the original value, so the same size limit; kept 30 days for someone to look.
    {
      name: kafka.topics.uploadsDlq,
      partitions: 1,
      configs: { ...maxBytes, 'retention.ms': String(30 * 86_400_000) },
    },
    { name: kafka.topics.events, partitions: kafka.partitions, configs: {} },
  ];
}

/**
 * Creates whichever of `topics` do not exist yet and leaves existing ones as they are (an operator's
 * partition count or retention wins). Two processes racing to create one topic both succeed.
 */
export async function ensureTopics(admin: Admin, topics: TopicSpec[], replicas = 1): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const created: string[] = [];
  for (const topic of topics) {
    if (existing.has(topic.name)) continue;
    try {
      await admin.createTopics({
        topics: [topic.name],
        partitions: topic.partitions,
        replicas,
        configs: Object.entries(topic.configs).map(([name, value]) => ({ name, value })),
      });
      created.push(topic.name);
    } catch (error) {
      if (!isTopicExists(error)) throw error;
    }
  }
  return created;
}

/** Kafka's TOPIC_ALREADY_EXISTS, however deep in the client's aggregate errors it sits. */
function isTopicExists(error: unknown): boolean {
  return error instanceof Error && findErrorBy(error, 'apiId', 'TOPIC_ALREADY_EXISTS') !== null;
}

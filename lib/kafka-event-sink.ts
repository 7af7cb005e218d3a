import { ProduceAcks, Producer } from '@platformatic/kafka';
import { kafkaClientOptions, type KafkaSettings } from './kafka-client';

/** One message for a topic: text key and value, text headers. */
export interface EventMessage {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Where the worker's publishEvent activity sends events; tests pass their own. */
export interface EventSink {
  publish(message: EventMessage): Promise<void>;
  close(): Promise<void>;
}

/**
 * A producer for the events topic, connected on first use. Its own retries are short: the activity's
 * retry policy (workflows/activity-proxies.ts) is what waits out a broker outage, durably, so a send
 * fails after a few seconds rather than holding an activity slot for half a minute. Every message waits
 * for all in-sync replicas (acks=all), so an acknowledged event survives the loss of the leader.
 */
export function kafkaEventSink(kafka: KafkaSettings): EventSink {
  let producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  const connect = () => {
    producer ??= new Producer<Buffer, Buffer, Buffer, Buffer>({
      ...kafkaClientOptions(kafka, 'events'),
      retries: 2,
      retryDelay: 500,
    });
    return producer;
  };
  return {
    async publish(message) {
      const client = connect();
      try {
        await client.send({
          acks: ProduceAcks.ALL,
          messages: [
            {
              topic: message.topic,
              key: Buffer.from(message.key),
              value: Buffer.from(message.value),
              headers: new Map(
                Object.entries(message.headers).map(([name, value]) => [Buffer.from(name), Buffer.from(value)]),
              ),
            },
          ],
        });
      } catch (error) {
        // A broker that went away may leave the client's connections and metadata stale: the next
        // attempt starts from a fresh producer.
        if (producer === client) producer = undefined;
        await client.close().catch(() => undefined);
        throw error;
      }
    },
    async close() {
      await producer?.close();
    },
  };
}

import { readFileSync } from 'node:fs';
import { Admin, Consumer, Producer, type BaseOptions, type ConsumerOptions } from '@platformatic/kafka';
import type { Config } from '../config/env';

/*
 * Every Kafka client Intake makes comes from here, so the brokers, SASL and TLS settings are read in
 * one place. Values, keys and headers stay Buffers (the library's default): an uploaded file's bytes
 * must reach S3 untouched, and header values are decoded where they are parsed.
 */

export type KafkaSettings = Config['kafka'];

/** What every client shares: brokers, identity, security and how it retries a broker that is away. */
export function kafkaClientOptions(kafka: KafkaSettings, role: string): BaseOptions {
  return {
    clientId: `${kafka.clientId}-${role}`,
    bootstrapBrokers: kafka.brokers,
    ...(kafka.tls ? { tls: kafka.tlsCaPath ? { ca: readFileSync(kafka.tlsCaPath) } : {} } : {}),
    ...(kafka.sasl
      ? { sasl: { mechanism: kafka.sasl.mechanism, username: kafka.sasl.username, password: kafka.sasl.password } }
      : {}),
    connectTimeout: 5_000,
    // A restarting broker (a deploy, the chaos suite) must not fail every caller: retry for ~30 s.
    retries: 30,
    retryDelay: 1_000,
  };
}

export function createKafkaAdmin(kafka: KafkaSettings): Admin {
  return new Admin(kafkaClientOptions(kafka, 'admin'));
}

/** A producer of raw Buffers; callers serialise their values themselves. */
export function createKafkaProducer(kafka: KafkaSettings, role = 'producer'): Producer<Buffer, Buffer, Buffer, Buffer> {
  return new Producer<Buffer, Buffer, Buffer, Buffer>(kafkaClientOptions(kafka, role));
}

/** A consumer in `groupId` (the configured ingest group unless told otherwise), committing by hand. */
export function createKafkaConsumer(
  kafka: KafkaSettings,
  options: Partial<ConsumerOptions<Buffer, Buffer, Buffer, Buffer>> & { role?: string } = {},
): Consumer<Buffer, Buffer, Buffer, Buffer> {
  const { role = 'consumer', ...rest } = options;
  return new Consumer<Buffer, Buffer, Buffer, Buffer>({
    ...kafkaClientOptions(kafka, role),
    groupId: kafka.consumerGroup,
    autocommit: false,
    // A fetch returns up to this much per partition: one message of the largest size fits.
    maxBytes: Math.max(kafka.maxMessageBytes * 2, 10 * 1024 * 1024),
    ...rest,
  });
}

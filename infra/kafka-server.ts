import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { ensureTopics, type TopicSpec } from '../lib/kafka-topics';
import { startProcess, tailLog, waitUntilReady, type ServiceProcess } from './service-process';
import { KAFKA_LIBS_DIR, kafkaClasspath } from './tools';

export interface KafkaServerOptions {
  /** The log segments and KRaft metadata live in <dataDir>/kafka, so messages and offsets survive a restart. */
  dataDir: string;
  /** The client listener (PLAINTEXT, loopback). */
  port: number;
  /** The KRaft controller listener; only the broker itself talks to it. */
  controllerPort: number;
  /** The largest message the broker accepts (message.max.bytes). */
  maxMessageBytes: number;
  /** Created at start when missing. */
  topics: TopicSpec[];
  timeoutMs?: number;
}

export interface KafkaServer {
  /** host:port, the bootstrap address clients are given. */
  bootstrap: string;
  process: ServiceProcess;
  stop(): Promise<void>;
}

/**
 * JVM flags for a small single-node broker on a shared 2-core machine: C1 only and the serial GC start
 * the JVM in about half the time, and 512 MiB of heap is plenty for a development broker.
 */
const JVM_FLAGS = ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'];

function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  return home && existsSync(join(home, 'bin', 'java')) ? join(home, 'bin', 'java') : 'java';
}

/** One node that is broker and KRaft controller at once, listening on loopback only. */
function serverProperties(options: KafkaServerOptions, logDir: string): string {
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${options.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': logDir,
    // One node: every internal topic has one replica, or the broker waits forever for the others.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // A consumer joining an empty group is assigned its partitions at once instead of after 3 s.
    'group.initial.rebalance.delay.ms': 0,
    'message.max.bytes': options.maxMessageBytes,
    'replica.fetch.max.bytes': options.maxMessageBytes,
    // Topics exist because Intake created them, with its settings: a typo in a topic name is an error.
    'auto.create.topics.enable': 'false',
    'num.partitions': 1,
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
}

/**
 * Formats the KRaft metadata log once per data folder: a cluster id of 16 random bytes in Kafka's
 * URL-safe base64, as `kafka-storage random-uuid` makes them.
 */
async function formatStorage(propertiesFile: string, logDir: string, logFile: string): Promise<void> {
  if (existsSync(join(logDir, 'meta.properties'))) return;
  let clusterId = randomBytes(16).toString('base64url');
  // As Kafka's own Uuid.randomUuid: an id starting with "-" would be read as an option by the tool.
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const format = startProcess({
    name: 'kafka-storage',
    command: javaCommand(),
    args: [
      ...JVM_FLAGS,
      '-cp',
      kafkaClasspath(),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      propertiesFile,
    ],
    logFile,
  });
  const exit = await format.exited;
  if (exit.code !== 0) {
    throw new Error(
      `formatting Kafka's storage failed (${exit.signal ?? `exit code ${exit.code}`}); last log lines:\n${tailLog(logFile)}`,
    );
  }
}

/** Starts the broker, waits until it answers a metadata request, then creates the missing topics. */
export async function startKafkaServer(options: KafkaServerOptions): Promise<KafkaServer> {
  if (!existsSync(KAFKA_LIBS_DIR)) throw new Error(`${KAFKA_LIBS_DIR} is missing: run \`npm run setup\` first.`);
  const home = join(options.dataDir, 'kafka');
  const logDir = join(home, 'data');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(options.dataDir, 'logs', 'kafka.log');
  // Written on every start: the ports may differ from the last run, the log and metadata stay.
  const propertiesFile = join(home, 'server.properties');
  writeFileSync(propertiesFile, serverProperties(options, logDir));
  await formatStorage(propertiesFile, logDir, logFile);

  const child = startProcess({
    name: 'kafka',
    command: javaCommand(),
    args: [...JVM_FLAGS, '-cp', kafkaClasspath(), 'kafka.Kafka', propertiesFile],
    logFile,
  });
  const bootstrap = `127.0.0.1:${options.port}`;
  const admin = new Admin({
    clientId: 'intake-stack',
    bootstrapBrokers: [bootstrap],
    connectTimeout: 2_000,
    retries: 0,
  });
  try {
    await waitUntilReady({
      name: 'Kafka',
      process: child,
      logFile,
      timeoutMs: options.timeoutMs ?? 120_000,
      intervalMs: 250,
      check: async () => {
        const metadata = await admin.metadata({ topics: [], forceUpdate: true });
        return metadata.brokers.size > 0;
      },
    });
    // Creating a topic needs the controller to have a leader; right after start-up it may still be
    // electing itself, so the first attempts may fail.
    await waitUntilReady({
      name: 'Kafka topics',
      process: child,
      logFile,
      timeoutMs: 30_000,
      intervalMs: 250,
      check: async () => {
        await ensureTopics(admin, options.topics);
        return true;
      },
    });
  } catch (error) {
    await child.stop(2_000);
    throw error;
  } finally {
    await admin.close().catch(() => undefined);
  }
  return { bootstrap, process: child, stop: () => child.stop() };
}

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceProcess } from '../infra/service-process';
import { freePort } from '../infra/free-port';
import { startStack, type Stack } from '../infra/stack';
import { startWebhookReceiver, type WebhookReceiver } from '../infra/webhook-receiver';
import { createIntakeClient } from '../api/client';
import { createDb, type Db } from '../prisma/db';
import { startApiProcess, startWorkerProcess } from '../bench/processes';

/*
 * Intake as the chaos suite runs it: its own stack, the API and one worker as child processes (so
 * they can be SIGKILLed), and a real webhook receiver registered as the tenant's endpoint. A child
 * that dies on its own is started again, as any supervisor (systemd, Kubernetes) would; the suite
 * counts those restarts.
 */

export const TENANT = 'chaos';
export const API_KEY = 'chaos-key-0123456789';

export interface ChaosSystem {
  stack: Stack;
  apiUrl: string;
  receiver: WebhookReceiver;
  /** The suite's own view of Postgres, for counting rows. */
  db: Db;
  /** SIGKILLs the API; it stays down until startApi. */
  killApi(): Promise<void>;
  startApi(): Promise<void>;
  /** SIGKILLs the worker; it stays down until startWorker. */
  killWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /** How often the API logged that it started a lost workflow (services/accept-upload restartIfLost). */
  lostWorkflowsRestarted(): number;
  /** How often a child died without being told to and was started again. */
  unexpectedExits(): Record<'api' | 'worker', number>;
  stop(): Promise<void>;
}

export async function startChaosSystem(options: {
  dataDir: string;
  log: (line: string) => void;
}): Promise<ChaosSystem> {
  const { dataDir, log } = options;
  const logDir = join(dataDir, 'logs');
  const stack = await startStack({ dataDir, ephemeral: true, log });
  const receiver = await startWebhookReceiver();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...stack.env,
    NODE_ENV: 'production',
    // Production refuses to start without its own payload key and codec token; the API and worker share
    // these, as a deployment's processes share theirs.
    INTAKE_PAYLOAD_KEYS: `chaos:${randomBytes(32).toString('base64')}`,
    INTAKE_CODEC_TOKEN: randomBytes(24).toString('base64url'),
    INTAKE_CODEC_PORT: '0',
    INTAKE_LOG_LEVEL: 'warn',
    INTAKE_API_KEYS: `${TENANT}=${API_KEY}`,
    // The receiver listens on 127.0.0.1.
    INTAKE_WEBHOOK_ALLOW_PRIVATE: 'true',
  };
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const exits = { api: 0, worker: 0 };
  const children: { api?: ServiceProcess; worker?: ServiceProcess } = {};
  const killed = new Set<ServiceProcess>();
  let stopping = false;

  const supervise = (kind: 'api' | 'worker', child: ServiceProcess, restart: () => Promise<void>) => {
    void child.exited.then(async (info) => {
      if (stopping || killed.has(child) || children[kind] !== child) return;
      exits[kind]++;
      log(`the ${kind} exited on its own (${info.signal ?? `code ${info.code}`}); starting it again`);
      children[kind] = undefined;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await restart().catch((error: unknown) => log(`could not restart the ${kind}: ${String(error)}`));
    });
  };
  const startApi = async (): Promise<void> => {
    if (children.api || stopping) return;
    const api = await startApiProcess(env, port, join(logDir, 'api.log'));
    children.api = api.process;
    supervise('api', api.process, startApi);
  };
  const startWorker = async (): Promise<void> => {
    if (children.worker || stopping) return;
    const worker = await startWorkerProcess(env, 'all', logDir);
    children.worker = worker;
    supervise('worker', worker, startWorker);
  };
  const kill = async (kind: 'api' | 'worker') => {
    const child = children[kind];
    if (!child) return;
    killed.add(child);
    children[kind] = undefined;
    child.signal('SIGKILL');
    await child.exited;
  };

  await Promise.all([startApi(), startWorker()]);
  const client = createIntakeClient({ baseUrl: apiUrl, apiKey: API_KEY });
  // A signing secret first: deliveries need one, and the endpoint receives every file.ready.
  await client.getWebhookSecret();
  await client.createWebhook({ url: receiver.url('/chaos'), events: ['file.ready'] });
  const db = createDb(stack.env.DATABASE_URL, { poolSize: 2 });

  return {
    stack,
    apiUrl,
    receiver,
    db,
    killApi: () => kill('api'),
    startApi,
    killWorker: () => kill('worker'),
    startWorker,
    unexpectedExits: () => ({ ...exits }),
    lostWorkflowsRestarted: () => {
      try {
        return readFileSync(join(logDir, 'api.log'), 'utf8').split('started the lost workflow').length - 1;
      } catch {
        return 0;
      }
    },
    async stop() {
      stopping = true;
      await Promise.all([children.api?.stop(5_000), children.worker?.stop(10_000)]);
      await db.$disconnect().catch(() => undefined);
      await receiver.close();
      await stack.stop();
    },
  };
}

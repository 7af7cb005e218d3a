import type { ChaosSystem } from './system';

/*
 * The faults of issue 10, each one break-and-heal: `inject` breaks something mid-burst, waits out the
 * outage and heals it (restart, SIGCONT, 204 again) before it resolves. Outages are shorter in the
 * quick mode (`npm test`), long enough that every kind of retry and reconnect still has to happen.
 */

export interface Outages {
  workerKills: number;
  temporalMs: number;
  postgresMs: number;
  minioMs: number;
  clamdHungMs: number;
  apiMs: number;
  webhookFailMs: number;
}

export const FULL_OUTAGES: Outages = {
  workerKills: 2,
  temporalMs: 5_000,
  postgresMs: 5_000,
  minioMs: 15_000,
  clamdHungMs: 20_000,
  apiMs: 2_000,
  webhookFailMs: 120_000,
};

export const QUICK_OUTAGES: Outages = {
  workerKills: 1,
  temporalMs: 3_000,
  postgresMs: 3_000,
  minioMs: 5_000,
  clamdHungMs: 8_000,
  apiMs: 1_000,
  webhookFailMs: 20_000,
};

export interface Fault {
  id: string;
  label: string;
  inject(system: ChaosSystem, log: (line: string) => void): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${ms / 1000} s`;

export function faultsFor(outages: Outages): Fault[] {
  return [
    {
      id: 'worker',
      label: `worker SIGKILL ×${outages.workerKills}, restarted`,
      async inject(system, log) {
        for (let i = 0; i < outages.workerKills; i++) {
          if (i > 0) await sleep(2_000);
          await system.killWorker();
          log('worker SIGKILLed');
          await system.startWorker();
          log('worker started again');
        }
      },
    },
    {
      id: 'temporal',
      label: `Temporal dev server SIGKILL, restarted ${seconds(outages.temporalMs)} later`,
      async inject(system) {
        await system.stack.killService('temporal');
        await sleep(outages.temporalMs);
        await system.stack.startService('temporal');
      },
    },
    {
      id: 'postgres',
      label: `PostgreSQL postmaster SIGKILL, restarted ${seconds(outages.postgresMs)} later`,
      async inject(system) {
        await system.stack.killService('postgres');
        await sleep(outages.postgresMs);
        await system.stack.startService('postgres');
      },
    },
    {
      id: 'minio',
      label: `MinIO SIGKILL, restarted ${seconds(outages.minioMs)} later`,
      async inject(system) {
        await system.stack.killService('minio');
        await sleep(outages.minioMs);
        await system.stack.startService('minio');
      },
    },
    {
      id: 'clamd',
      label: `clamd hung (SIGSTOP) for ${seconds(outages.clamdHungMs)}`,
      async inject(system) {
        system.stack.pauseService('clamd');
        await sleep(outages.clamdHungMs);
        system.stack.resumeService('clamd');
      },
    },
    {
      id: 'api',
      label: `API SIGKILL during the burst, restarted ${seconds(outages.apiMs)} later; clients retry with their Idempotency-Key`,
      async inject(system) {
        await system.killApi();
        await sleep(outages.apiMs);
        await system.startApi();
      },
    },
    {
      id: 'webhook',
      label: `webhook receiver answers 500 for ${seconds(outages.webhookFailMs)}`,
      async inject(system) {
        system.receiver.failWith(500);
        await sleep(outages.webhookFailMs);
        system.receiver.failWith(null);
      },
    },
  ];
}

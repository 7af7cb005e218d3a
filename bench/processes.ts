import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { freePort } from '../infra/free-port';
import { startNodeEntry, waitUntilReady, type ServiceProcess } from '../infra/service-process';
import type { WorkerKind } from '../workers/create-worker';

/*
 * The API and the workers run as their own Node processes (startNodeEntry), exactly as `npm run api` /
 * `npm run worker` run them, so the API's RSS is its own and two workers really are two processes.
 */

export interface ApiProcess {
  url: string;
  process: ServiceProcess;
}

export async function startApiProcess(env: NodeJS.ProcessEnv, port: number, logFile: string): Promise<ApiProcess> {
  const child = startNodeEntry(
    'api',
    'api/server.ts',
    { ...env, INTAKE_PORT: String(port), INTAKE_HOST: '127.0.0.1' },
    logFile,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady({
    name: 'the API',
    process: child,
    logFile,
    timeoutMs: 120_000,
    intervalMs: 250,
    check: async () => (await fetch(`${url}/readyz`)).status === 200,
  });
  return { url, process: child };
}

let workerCount = 0;

/** Starts one worker process of `kind` and resolves when its workers poll (it logs "workers running"). */
export async function startWorkerProcess(
  env: NodeJS.ProcessEnv,
  kind: WorkerKind,
  logDir: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<ServiceProcess & { logFile: string }> {
  const logFile = join(logDir, `worker-${++workerCount}-${kind}.log`);
  // Several workers run side by side: each gets its own metrics port (unless the caller chose one).
  const metricsPort = String(await freePort());
  const child = startNodeEntry(
    `worker-${kind}`,
    'workers/main.ts',
    {
      ...env,
      INTAKE_LOG_LEVEL: 'info',
      INTAKE_WORKER_METRICS_PORT: metricsPort,
      ...extraEnv,
      INTAKE_WORKER_KIND: kind,
    },
    logFile,
  );
  await waitUntilReady({
    name: `the ${kind} worker`,
    process: child,
    logFile,
    timeoutMs: 180_000,
    intervalMs: 250,
    check: async () => readFileSync(logFile, 'utf8').includes('workers running'),
  });
  return Object.assign(child, { logFile });
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the peak seen. */
export function sampleRss(pid: number, intervalMs = 50): { stop(): { peak: number; samples: number } } {
  let peak = rssOf(pid);
  let samples = 1;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
      samples++;
    } catch {
      // the process went away; the peak so far stands
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        peak = Math.max(peak, rssOf(pid));
      } catch {
        // gone
      }
      return { peak, samples };
    },
  };
}

/**
 * Lowers the CPU priority of processes and all their descendants, every thread of each (Linux's nice is
 * per thread, and the SDK's core, libuv and Go servers run many). Threads made later inherit it from the
 * thread that makes them. The bench uses it to let the API have the CPU first, as on its own machine.
 */
export function lowerPriority(pids: readonly number[], nice = 19): number {
  let threads = 0;
  const seen = new Set<number>();
  const visit = (pid: number) => {
    if (seen.has(pid) || !existsSync(`/proc/${pid}/task`)) return;
    seen.add(pid);
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        os.setPriority(Number(tid), nice);
        threads += 1;
      } catch {
        // the thread ended meanwhile
      }
      let children = '';
      try {
        children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch {
        // the thread ended meanwhile
      }
      for (const child of children.split(' ').filter(Boolean)) visit(Number(child));
    }
  };
  for (const pid of pids) visit(pid);
  return threads;
}

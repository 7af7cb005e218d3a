import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';

export interface WorkerHealth {
  /** False once a worker has failed: the process is about to exit, restart it. */
  live: boolean;
  /** True while every worker polls its task queue; false while starting, draining or stopped. */
  ready: boolean;
  states: State[];
}

/**
 * A draining worker stays live, so Kubernetes lets it finish its in-flight tasks within the grace period
 * instead of killing it for a failed liveness probe.
 */
export function workerHealth(states: readonly State[]): WorkerHealth {
  return {
    live: !states.includes('FAILED'),
    ready: states.length > 0 && states.every((state) => state === 'RUNNING'),
    states: [...states],
  };
}

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

/**
 * /healthz and /readyz for a worker process, which has no other listener for Kubernetes' probes; a
 * blocked event loop fails them too. Answers with the workers' states only.
 */
export function startHealthServer(options: {
  port: number;
  host?: string;
  states: () => readonly State[];
}): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const health = workerHealth(options.states());
    const path = (req.url ?? '/').split('?')[0];
    const ok = path === '/healthz' ? health.live : path === '/readyz' ? health.ready : undefined;
    if (ok === undefined || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'GET /healthz or /readyz' } }));
      return;
    }
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok, states: health.states }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      const { port } = server.address() as AddressInfo;
      const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
      resolve({
        url: `http://${host}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // A keep-alive probe connection would otherwise hold the process open after its workers stopped.
            server.closeAllConnections();
          }),
      });
    });
  });
}

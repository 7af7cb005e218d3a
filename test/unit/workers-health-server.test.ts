import { afterEach, describe, expect, it } from 'vitest';
import type { State } from '@temporalio/worker';
import { startHealthServer, type HealthServer } from '../../workers/health-server';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(states: State[]): Promise<string> {
  server = await startHealthServer({ port: 0, host: '127.0.0.1', states: () => states });
  return server.url;
}

describe('the worker health endpoint', () => {
  it('is live and ready while every worker polls', async () => {
    const url = await serve(['RUNNING', 'RUNNING']);
    const live = await fetch(`${url}/healthz`);
    const ready = await fetch(`${url}/readyz`);
    expect([live.status, ready.status]).toEqual([200, 200]);
    expect(await ready.json()).toEqual({ ok: true, states: ['RUNNING', 'RUNNING'] });
  });

  it('stays live but turns unready while a worker drains, so Kubernetes lets the drain finish', async () => {
    const url = await serve(['RUNNING', 'DRAINING']);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });

  it('fails liveness once a worker has failed', async () => {
    const url = await serve(['FAILED', 'RUNNING']);
    const live = await fetch(`${url}/healthz`);
    expect(live.status).toBe(503);
    expect(await live.json()).toEqual({ ok: false, states: ['FAILED', 'RUNNING'] });
  });

  it('is not ready before any worker exists', async () => {
    const url = await serve([]);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });

  it('answers any other path with 404 and a JSON error', async () => {
    const url = await serve(['RUNNING']);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { homedir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/free-port';
import { REPO_ROOT } from '../../infra/tools';
import { envOf, podSpecs, renderChart, type Container } from '../support/helm-chart';
import { photoWithExif } from '../support/sample-files';
import { waitUntil } from '../support/wait-until';

/**
 * The chart runs every pod with a read-only root filesystem and one writable emptyDir at /tmp. Without a
 * cluster, this runs each rendered workload's command the same way: in its own mount namespace, with
 * the repository and the home folder remounted read-only and a fresh tmpfs on /tmp, against the real
 * test stack. A write anywhere else (a compile cache, a generated key, a temporary image) fails here.
 */

const API_KEY = 'podfs=pod-filesystem-key-0001';
const BEARER = { authorization: 'Bearer pod-filesystem-key-0001' };

const resources = renderChart([]);
const workloads = podSpecs(resources).map(({ resource, pod }) => ({ name: resource.metadata.name, pod }));

/** Remounts, then execs the command: the shell and the mounts last only as long as the process. */
const READ_ONLY_POD = [
  'set -e',
  'mount --bind "$REPO" "$REPO" && mount -o remount,bind,ro "$REPO"',
  'mount --bind "$HOME_DIR" "$HOME_DIR" && mount -o remount,bind,ro "$HOME_DIR"',
  'mount -t tmpfs -o size=1g tmpfs /tmp',
  'exec "$@"',
].join('\n');

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}
const running: Started[] = [];

afterAll(async () => {
  for (const process of running) {
    if (process.child.exitCode === null) process.child.kill('SIGKILL');
    await process.exited;
  }
});

/** The pod's own variables (the rendered env), its ConfigMap's role played by the test stack's. */
function podEnv(container: Container, overrides: Record<string, string>): NodeJS.ProcessEnv {
  const literal = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
  return {
    PATH: process.env.PATH,
    HOME: homedir(),
    REPO: REPO_ROOT,
    HOME_DIR: homedir(),
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => /^(TEMPORAL|DATABASE|S3|CLAMD|REDIS|KAFKA)_/.test(key) || key === 'INTAKE_WEBHOOK_ALLOW_PRIVATE',
      ),
    ),
    NODE_ENV: 'production',
    INTAKE_PAYLOAD_KEYS: `podfs:${Buffer.alloc(32, 9).toString('base64')}`,
    INTAKE_CODEC_TOKEN: 'pod-filesystem-codec-token-012345',
    INTAKE_CODEC_PORT: '0',
    INTAKE_API_KEYS: API_KEY,
    ...literal,
    // Loopback only, on free ports, instead of the pod's 0.0.0.0:3000 and :8080.
    INTAKE_HOST: '127.0.0.1',
    ...overrides,
  };
}

function startReadOnly(name: string, overrides: Record<string, string> = {}): Started {
  const workload = workloads.find((w) => w.name === name);
  if (!workload) throw new Error(`the chart renders no ${name}`);
  const container = workload.pod.containers[0]!;
  // The premise: the chart mounts exactly one writable folder, /tmp.
  expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
  expect(container.volumeMounts?.map((m) => m.mountPath)).toEqual(['/tmp']);
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', READ_ONLY_POD, 'sh', ...container.command!],
    { cwd: REPO_ROOT, env: podEnv(container, overrides), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = { child, output: () => output, exited };
  running.push(started);
  return started;
}

async function waitForHttp(what: string, process: Started, url: string): Promise<void> {
  await waitUntil(
    what,
    async () => {
      if (process.child.exitCode !== null) throw new Error(`exited: ${process.output()}`);
      return (await fetch(url)).status === 200 ? true : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
}

describe("the chart's pods on a read-only root filesystem with a writable /tmp", () => {
  it('migrate, serve, resize and stop cleanly with nothing but /tmp to write to', async () => {
    const migrate = startReadOnly('intake-migrate');
    expect(await migrate.exited, migrate.output()).toBe(0);

    const apiPort = await freePort();
    const api = startReadOnly('intake-api', { INTAKE_PORT: String(apiPort) });
    await waitForHttp('the API to be ready', api, `http://127.0.0.1:${apiPort}/readyz`);

    const workers: Started[] = [];
    for (const name of ['intake-general-worker', 'intake-media-worker']) {
      const healthPort = await freePort();
      const worker = startReadOnly(name, { INTAKE_WORKER_HEALTH_PORT: String(healthPort) });
      workers.push(worker);
      // The chart's readiness probe: every worker of the process polls.
      await waitForHttp(`${name} to be ready`, worker, `http://127.0.0.1:${healthPort}/readyz`);
    }
    const media = workloads.find((w) => w.name === 'intake-media-worker')!.pod.containers[0]!;
    expect(envOf(media, 'INTAKE_WORKER_KIND')).toBe('media');

    const photo = await photoWithExif({ width: 1600, height: 1200, orientation: 1 });
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'read-only.jpg');
    const accepted = await fetch(`http://127.0.0.1:${apiPort}/v1/files`, {
      method: 'POST',
      headers: BEARER,
      body: form,
    });
    expect(accepted.status, await accepted.clone().text()).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    const file = await waitUntil(
      'the upload to settle',
      async () => {
        const response = await fetch(`http://127.0.0.1:${apiPort}/v1/files/${id}?wait=30s`, { headers: BEARER });
        const body = (await response.json()) as { status: string; renditions?: { name: string }[] };
        return body.status === 'PROCESSING' ? undefined : body;
      },
      { timeoutMs: 120_000 },
    );
    expect(file.status).toBe('READY');
    expect(file.renditions?.map((r) => r.name).sort()).toEqual([
      'large',
      'large-avif',
      'medium',
      'medium-avif',
      'thumb',
    ]);

    for (const process of [api, ...workers]) {
      process.child.kill('SIGTERM');
      expect(await process.exited, process.output()).toBe(0);
    }
  });
});

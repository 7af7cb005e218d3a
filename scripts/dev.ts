// `npm run dev`: the embedded stack, the worker and the API in one command. The servers run in this
// process (startStack); the worker and API run as their own processes, exactly as in production.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { loadConfig } from '../config/env';
import { devSecretsFile } from '../lib/codec-secrets';
import { observabilityLines } from './dev-observability';
import { trackChild } from '../infra/service-process';
import {
  describeExit,
  printStack,
  stackOptionsFromConfig,
  StackAlreadyRunningError,
  startStack,
  type Stack,
} from '../infra/stack';

const say = (line: string): void => console.log(`dev: ${line}`);
const warn = (line: string): void => console.error(`dev: ${line}`);

interface AppProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/** Runs an npm script in its own process group, its output prefixed so the two apps can be told apart. */
function runApp(name: string, script: string, env: NodeJS.ProcessEnv, isStopping: () => boolean): AppProcess {
  const child = spawn('npm', ['run', '--silent', script], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own group: Ctrl-C reaches dev only, which then stops the apps before the servers they use.
    detached: true,
  });
  const untrack = child.pid !== undefined ? trackChild(child.pid, 'SIGTERM') : () => undefined;
  for (const [stream, write] of [
    [child.stdout, (l: string) => console.log(l)],
    [child.stderr, (l: string) => console.error(l)],
  ] as const) {
    createInterface({ input: stream }).on('line', (line) => write(`[${name}] ${line}`));
  }
  const exited = new Promise<void>((resolve) => {
    child.on('error', (error) => {
      warn(`${name} could not start: ${error.message}`);
      untrack();
      resolve();
    });
    child.on('exit', (code, signal) => {
      untrack();
      if (!isStopping()) warn(`${name} stopped (${describeExit({ code, signal })})`);
      resolve();
    });
  });
  return { name, child, exited };
}

async function stopApp(app: AppProcess): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null || app.child.pid === undefined) return;
  const pid = app.child.pid;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), 15_000);
  await app.exited;
  clearTimeout(timer);
}

async function main(): Promise<void> {
  const config = loadConfig();
  say(`starting Temporal, MinIO, PostgreSQL, clamd, Kafka and Redis under ${config.dataDir} …`);
  let stack: Stack;
  try {
    stack = await startStack({
      dataDir: config.dataDir,
      ...stackOptionsFromConfig(config),
      log: (line) => say(line),
    });
  } catch (error) {
    warn(error instanceof Error ? error.message : String(error));
    if (error instanceof StackAlreadyRunningError) {
      warn('stop that `npm run infra` / `npm run dev` first (Ctrl-C in its terminal), or set INTAKE_DATA_DIR.');
    }
    process.exit(1);
  }

  let stopping = false;
  const isStopping = (): boolean => stopping;
  for (const service of stack.services) {
    void service.exited.then((info) => {
      if (!stopping) {
        warn(`${service.label} stopped (${describeExit(info)}); see ${stack.dataDir}/logs/${service.name}.log`);
        warn('the API answers /readyz with 503 until it is back: restart `npm run dev`.');
      }
    });
  }

  const apiKeys =
    config.apiKeys.length > 0
      ? config.apiKeys
      : [{ tenant: 'dev', key: `dev_${randomBytes(18).toString('base64url')}` }];
  const generatedKey = config.apiKeys.length === 0;
  const appEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...stack.env,
    INTAKE_API_KEYS: apiKeys.map(({ tenant, key }) => `${tenant}=${key}`).join(','),
    // Local webhook receivers (a `nc -l` or a test server on localhost) must be reachable in dev.
    INTAKE_WEBHOOK_ALLOW_PRIVATE: 'true',
  };
  warn(
    'INTAKE_WEBHOOK_ALLOW_PRIVATE=true: webhooks may target private and loopback addresses (dev only; never in production).',
  );

  const apps = [runApp('worker', 'worker', appEnv, isStopping), runApp('api', 'api', appEnv, isStopping)];

  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    say(`${signal}: stopping the API and worker, then the stack …`);
    void (async () => {
      await Promise.all(apps.map(stopApp));
      await stack.stop();
      say('stopped');
      process.exit(0);
    })().catch((error: unknown) => {
      warn(`stop failed: ${String(error)}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);

  const key = apiKeys[0]!;
  const api = config.publicUrl;
  console.log('');
  say('stack ready');
  printStack(stack);
  console.log('');
  // The three lines a developer needs, last so they are on screen.
  console.log(`  Web console    ${api}/   (sign in with the API key below)`);
  console.log(`  API            ${api}   (ready check: ${api}/readyz, docs: ${api}/docs)`);
  console.log(`  Temporal UI    ${stack.urls.temporalUi}   (every upload is a workflow named upload-<id>)`);
  // The UI's codec endpoint carries the token in its path; print where it is kept, not the token.
  const codecUrl = `http://${config.codec.host === '0.0.0.0' ? '127.0.0.1' : config.codec.host}:${config.codec.port}`;
  const tokenSource = config.codec.token ? 'INTAKE_CODEC_TOKEN' : `"token" in ${devSecretsFile(config.dataDir)}`;
  console.log(`  Codec endpoint ${codecUrl}   (the UI decrypts payloads through it; token: ${tokenSource})`);
  for (const line of observabilityLines(config, api, ['worker'])) console.log(line);
  console.log(
    `  Kafka          ${stack.urls.kafka}   (bootstrap; upload by message to ${config.kafka.topics.uploads}, events on ${config.kafka.topics.events})`,
  );
  console.log(
    `  API key        ${key.key}   (tenant ${key.tenant}${generatedKey ? ', generated for this run; set INTAKE_API_KEYS=tenant=key to choose one' : ''})`,
  );
  console.log('');
  console.log('  Upload a file:');
  console.log(`    curl -H "Authorization: Bearer ${key.key}" -F file=@photo.jpg ${api}/v1/files`);
  console.log('  Then follow it (use the id from the answer):');
  console.log(`    curl -H "Authorization: Bearer ${key.key}" ${api}/v1/files/<id>`);
  console.log('  Or watch every change live (Server-Sent Events):');
  console.log(`    curl -N -H "Authorization: Bearer ${key.key}" ${api}/v1/events/stream`);
  console.log('');
  say('starting the worker and the API; Ctrl-C stops everything');
}

void main();

// `npm run fuzz`: schemathesis over the API's own /openapi.json, against a real Intake (API and workers
// in this process, on a throw-away stack) with a real API key, and real fixtures for the deep paths.
// Exits non-zero on any 5xx, schema violation or undocumented status, and prints where the report is.
//
//   npm run fuzz [-- --max-examples N] [--seed N]
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { createIntakeClient } from '../api/client';
import { startApi } from '../api/server';
import { loadConfig } from '../config/env';
import { startStack } from '../infra/stack';
import { startWorkers } from '../workers/main';
import { createFuzzFixtures } from './fuzz-fixtures';
import { loopbackOnlyNetwork } from './loopback-only-network';
import { DEFAULT_REPORT_DIR, runSchemathesis } from './schemathesis';

const say = (line: string): void => console.log(`fuzz: ${line}`);

/** Where every generated webhook and callback URL points: answers 204, keeps nothing. */
async function startDiscardReceiver(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'max-examples': { type: 'string', default: '50' },
      seed: { type: 'string' },
      'report-dir': { type: 'string', default: DEFAULT_REPORT_DIR },
    },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'intake-fuzz-'));
  // mkdtemp makes it 0700; PostgreSQL runs as the postgres user when we are root and must walk in.
  chmodSync(dataDir, 0o755);
  say(`starting Temporal, MinIO, PostgreSQL and clamd under ${dataDir} …`);
  const stack = await startStack({ dataDir, ephemeral: true, log: (line) => say(line) });
  const apiKey = `fuzz_${randomBytes(18).toString('base64url')}`;
  const peerApiKey = `peer_${randomBytes(18).toString('base64url')}`;
  const config = loadConfig({
    ...process.env,
    ...stack.env,
    INTAKE_PORT: '0',
    INTAKE_HOST: '127.0.0.1',
    INTAKE_LOG_LEVEL: process.env.INTAKE_LOG_LEVEL ?? 'warn',
    INTAKE_API_KEYS: `fuzz=${apiKey},peer=${peerApiKey}`,
    // Webhooks go to the local receiver only (and loopbackOnlyNetwork refuses every other host).
    INTAKE_WEBHOOK_ALLOW_PRIVATE: 'true',
  });
  loopbackOnlyNetwork();
  // Generated uploads fail validation by the hundred, each an SDK warning: only errors are news here.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const receiver = await startDiscardReceiver();
  const log = pino({ level: config.logLevel, base: { service: 'intake-fuzz' } });
  const workers = await startWorkers(config, log, 'all');
  const api = await startApi(config, { log });
  try {
    say(`API on ${api.url}; creating fixtures …`);
    const fixtures = await createFuzzFixtures(createIntakeClient({ baseUrl: api.url, apiKey }), receiver.url);
    say(`fixtures: file ${fixtures.fileId}, webhook ${fixtures.webhookId}`);
    const result = await runSchemathesis({
      url: api.url,
      apiKey,
      peerApiKey,
      fixtures,
      maxExamples: Number(values['max-examples']),
      reportDir: values['report-dir'],
      ...(values.seed ? { seed: Number(values.seed) } : {}),
    });
    say(
      result.exitCode === 0
        ? `no failures; reports in ${result.reports.join(', ')}`
        : `FAILED (exit ${result.exitCode}); reports (JUnit XML and a HAR of every request) in ${result.reports.join(', ')}`,
    );
    return result.exitCode;
  } finally {
    await Promise.allSettled([api.close(), workers.stop()]);
    receiver.close();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('fuzz: failed:', error);
    process.exit(1);
  },
);

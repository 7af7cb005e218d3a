import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../common/search-attributes';
import { startProcess, waitUntilReady, type ServiceProcess } from './service-process';
import { toolPath } from './tools';

export interface TemporalDevServerOptions {
  /** temporal.db and the log live here, so workflows survive a restart. */
  dataDir: string;
  port: number;
  uiPort: number;
  namespace?: string;
  timeoutMs?: number;
  /**
   * The codec endpoint the Web UI calls to show decrypted payloads (`--ui-codec-endpoint`), token
   * included (api/codec-endpoint.ts); without it the UI shows the encrypted bytes.
   */
  uiCodecEndpoint?: string;
}

export interface TemporalDevServer {
  address: string;
  namespace: string;
  uiUrl: string;
  process: ServiceProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` with Intake's search attributes and waits until it serves. */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const namespace = options.namespace ?? 'default';
  mkdirSync(options.dataDir, { recursive: true });
  const logFile = join(options.dataDir, 'logs', 'temporal.log');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    join(options.dataDir, 'temporal.db'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    '--color',
    'never',
    // Measured by `npm run bench` (orchestration overhead p50 269 → 106 ms per upload): with a
    // write-ahead log and fsync at checkpoints only, every history write stops waiting on the disk
    // (a crashed dev server still keeps its state; only a power cut may lose the last moments), and
    // eager activity dispatch hands an activity scheduled by a workflow task straight back to the
    // worker that completed it instead of a round trip through matching.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    ...Object.entries(SEARCH_ATTRIBUTE_TYPES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
  ];
  const child = startProcess({ name: 'temporal', command: toolPath('temporal'), args, logFile });
  const address = `127.0.0.1:${options.port}`;
  try {
    await waitUntilReady({
      name: 'Temporal dev server',
      process: child,
      logFile,
      timeoutMs: options.timeoutMs ?? 90_000,
      intervalMs: 300,
      check: async () => {
        const connection = await Connection.connect({ address, connectTimeout: 2_000 });
        try {
          await connection.workflowService.describeNamespace({ namespace });
          return true;
        } finally {
          await connection.close();
        }
      },
    });
  } catch (error) {
    await child.stop(2_000);
    throw error;
  }
  return {
    address,
    namespace,
    uiUrl: `http://127.0.0.1:${options.uiPort}`,
    process: child,
    stop: () => child.stop(),
  };
}

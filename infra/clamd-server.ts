import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { startProcess, waitUntilReady, type ServiceProcess } from './service-process';
import { REPO_ROOT, systemCommand } from './tools';

export interface ClamdServerOptions {
  dataDir: string;
  port: number;
  /**
   * Also load the machine's freshclam databases (/var/lib/clamav *.cvd, *.cld) when present. They
   * take tens of seconds and a gigabyte of memory to load, so the test stack leaves them out.
   */
  systemSignatures?: boolean;
  timeoutMs?: number;
}

export interface ClamdServer {
  host: string;
  port: number;
  process: ServiceProcess;
  stop(): Promise<void>;
}

/** The small signature set shipped in infra/clamav (EICAR), so scanning works offline. */
export const SHIPPED_SIGNATURES_DIR = join(REPO_ROOT, 'infra', 'clamav');
const SYSTEM_SIGNATURES_DIR = '/var/lib/clamav';

/** Sends one clamd command (z-framed) and returns the reply without its NUL terminator. */
export function clamdCommand(host: string, port: number, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`clamd did not answer ${command} in time`)));
    socket.on('connect', () => socket.end(`z${command}\0`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8').replace(/\0$/, '').trim()));
  });
}

function prepareDatabase(dbDir: string, systemSignatures: boolean): void {
  // Rebuilt on every start so a changed infra/clamav or a freshclam update is picked up.
  rmSync(dbDir, { recursive: true, force: true });
  mkdirSync(dbDir, { recursive: true });
  for (const file of readdirSync(SHIPPED_SIGNATURES_DIR)) {
    copyFileSync(join(SHIPPED_SIGNATURES_DIR, file), join(dbDir, file));
  }
  if (systemSignatures && existsSync(SYSTEM_SIGNATURES_DIR)) {
    for (const file of readdirSync(SYSTEM_SIGNATURES_DIR)) {
      // Linked, not copied: the official databases are hundreds of megabytes.
      if (/\.(cvd|cld)$/.test(file)) symlinkSync(join(SYSTEM_SIGNATURES_DIR, file), join(dbDir, file));
    }
  }
}

/** Starts clamd in the foreground on 127.0.0.1 with a config of its own, and waits for PONG. */
export async function startClamdServer(options: ClamdServerOptions): Promise<ClamdServer> {
  const clamd = systemCommand('clamd', process.env.PATH);
  if (!clamd) throw new Error('clamd is not installed: run `npm run setup` (it installs clamav-daemon).');
  const home = join(options.dataDir, 'clamd');
  const dbDir = join(home, 'db');
  const tmpDir = join(home, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  prepareDatabase(dbDir, options.systemSignatures ?? true);
  const config = join(home, 'clamd.conf');
  writeFileSync(
    config,
    [
      '# Written by infra/clamd-server.ts at every start; edit that file instead.',
      `TCPSocket ${options.port}`,
      'TCPAddr 127.0.0.1',
      'Foreground yes',
      `DatabaseDirectory ${dbDir}`,
      `TemporaryDirectory ${tmpDir}`,
      `PidFile ${join(home, 'clamd.pid')}`,
      // No `User` line: clamd keeps the identity it was started with, which owns the data folder.
      // Uploads may be large (INTAKE_MAX_UPLOAD_BYTES, 512 MB by default): clamd must read them whole
      // rather than answer "size limit exceeded".
      'StreamMaxLength 1000M',
      'MaxFileSize 1000M',
      'MaxScanSize 2000M',
      'MaxThreads 8',
      'ReadTimeout 120',
      'CommandReadTimeout 30',
      'SelfCheck 3600',
      'LogTime yes',
      '',
    ].join('\n'),
  );
  const logFile = join(options.dataDir, 'logs', 'clamd.log');
  const child = startProcess({ name: 'clamd', command: clamd, args: ['--config-file', config], logFile });
  try {
    await waitUntilReady({
      name: 'clamd',
      process: child,
      logFile,
      timeoutMs: options.timeoutMs ?? 180_000,
      intervalMs: 250,
      check: async () => (await clamdCommand('127.0.0.1', options.port, 'PING')) === 'PONG',
    });
  } catch (error) {
    await child.stop(2_000);
    throw error;
  }
  return { host: '127.0.0.1', port: options.port, process: child, stop: () => child.stop() };
}

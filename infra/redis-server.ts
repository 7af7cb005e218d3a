import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { startProcess, waitUntilReady, type ServiceProcess } from './service-process';
import { systemCommand } from './tools';

export interface RedisServerOptions {
  dataDir: string;
  port: number;
  timeoutMs?: number;
}

export interface RedisServer {
  url: string;
  port: number;
  process: ServiceProcess;
  stop(): Promise<void>;
}

/** Sends one inline command and returns the first reply line (e.g. +PONG). */
export function redisCommand(port: number, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`redis did not answer ${command} in time`)));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(reply.split('\r\n')[0] ?? ''));
  });
}

/**
 * Starts Debian's redis-server in the foreground on loopback with a folder of its own. Nothing is saved
 * (`--save ''`, no AOF): what Intake keeps there (rate-limit windows, upload slots) is meant to be
 * short-lived, and Postgres holds the usage that must survive.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const redis = systemCommand('redis-server', process.env.PATH);
  if (!redis) throw new Error('redis-server is not installed: run `npm run setup` (it installs redis-server).');
  const home = join(options.dataDir, 'redis');
  mkdirSync(home, { recursive: true });
  const logFile = join(options.dataDir, 'logs', 'redis.log');
  const child = startProcess({
    name: 'redis',
    command: redis,
    args: [
      '--port',
      String(options.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      home,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ],
    logFile,
  });
  try {
    await waitUntilReady({
      name: 'redis',
      process: child,
      logFile,
      timeoutMs: options.timeoutMs ?? 30_000,
      intervalMs: 100,
      check: async () => (await redisCommand(options.port, 'PING')) === '+PONG',
    });
  } catch (error) {
    await child.stop(2_000);
    throw error;
  }
  return { url: `redis://127.0.0.1:${options.port}`, port: options.port, process: child, stop: () => child.stop() };
}

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../infra/stack';

/**
 * Starts the real stack (Temporal dev server, MinIO, PostgreSQL, clamd, Redis) on free ports in a fresh temp
 * folder, so tests never touch a running `npm run dev`. The variables are set on process.env before
 * vitest forks its test workers, which inherit them: tests just call loadConfig().
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'intake-test-'));
  // mkdtemp makes it 0700; PostgreSQL runs as the postgres user when we are root and must walk in.
  chmodSync(dataDir, 0o755);
  const t0 = Date.now();
  let stack: Stack;
  try {
    stack = await startStack({
      dataDir,
      ephemeral: true,
      log: (line) => console.log(`[test stack] ${line}`),
    });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  console.log(`[test stack] up in ${((Date.now() - t0) / 1000).toFixed(1)}s under ${dataDir}`);
  Object.assign(process.env, stack.env, {
    // Tests deliver webhooks to receivers on 127.0.0.1.
    INTAKE_WEBHOOK_ALLOW_PRIVATE: 'true',
  });
  return async () => {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

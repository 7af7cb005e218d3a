#!/usr/bin/env node
// Generates the Prisma client into generated/prisma when it is missing or older than the schema (or the
// installed Prisma). Plain Node with built-ins only: scripts/setup.mjs runs it before anything is built.
// The schema uses engineType "client" and prisma.config.ts the Wasm schema engine, so nothing here
// downloads a native engine: it works offline.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schema = path.join(root, 'prisma', 'schema.prisma');
const marker = path.join(root, 'generated', 'prisma', 'client.ts');
const prismaPackage = path.join(root, 'node_modules', 'prisma', 'package.json');
const prismaCli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
const quiet = process.argv.includes('--quiet');
const force = process.argv.includes('--force');

function log(message) {
  if (!quiet) console.log(`[prisma] ${message}`);
}

function mtime(file) {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

if (!existsSync(prismaCli)) {
  console.error('[prisma] node_modules/prisma is missing: run `npm install` first.');
  process.exit(1);
}

const generatedAt = mtime(marker);
const stale = force || generatedAt === 0 || generatedAt < mtime(schema) || generatedAt < mtime(prismaPackage);
if (!stale) {
  log('client in generated/prisma is up to date');
  process.exit(0);
}

log(generatedAt === 0 ? 'generating the client into generated/prisma…' : 'schema changed: regenerating the client…');
const started = Date.now();
const result = spawnSync(process.execPath, [prismaCli, 'generate'], {
  cwd: root,
  // Quiet runs keep Prisma's output and show it only if generation fails.
  stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  env: {
    ...process.env,
    // The schema's datasource reads env("DATABASE_URL"). generate never connects, but if the variable
    // cannot be resolved the CLI falls back to its defaults and tries to download a native engine.
    DATABASE_URL: process.env.DATABASE_URL || 'postgresql://intake:intake@127.0.0.1:5433/intake',
    // No update check or telemetry ping: this machine (and many CI runners) have no internet.
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
});
if (result.status !== 0) {
  if (quiet) process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
  console.error(`[prisma] prisma generate failed (exit ${result.status ?? result.signal})`);
  process.exit(result.status || 1);
}
log(`client generated in ${((Date.now() - started) / 1000).toFixed(1)}s`);

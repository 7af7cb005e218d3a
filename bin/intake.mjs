#!/usr/bin/env node
// The `intake` command (package.json "bin" and `npm run intake`): runs cli/main.ts with tsx, so a fresh
// clone needs no build step. Plain Node with built-ins only, so it starts on whatever `node` the machine
// has: on another version than .node-version it re-runs itself on the pinned one in .tools/node, as
// scripts/on-node.mjs does for the API and the workers.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const version = readFileSync(join(ROOT, '.node-version'), 'utf8').trim();

if (process.version === `v${version}`) {
  // tsx's loader in this process: one Node, not the three of `tsx cli/main.ts` through on-node.mjs.
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(ROOT, 'cli', 'main.ts')).href);
} else {
  const pinned = join(ROOT, '.tools', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    console.error(
      `intake runs on Node ${version} and this is ${process.version}: run \`npm run setup\` once to fetch it.`,
    );
    process.exit(1);
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child too (same process group); wait for it to finish rather than orphan it.
  process.on('SIGINT', () => undefined);
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (error) => {
    console.error(`intake: could not run ${pinned}: ${error.message}`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 1)));
}

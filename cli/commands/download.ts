import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { formatByteSize } from '../../common/tenant-limits';
import { downloaded } from '../api-client';
import type { CliContext } from '../context';
import { CliError } from '../errors';
import { pathExists } from '../path-exists';
import { note } from '../output/terminal';

interface GetOptions {
  rendition?: string;
  output?: string;
  force?: boolean;
}

/** The filename of Content-Disposition (RFC 6266, filename* first), made safe as a local name. */
export function filenameOf(disposition: string | null, fallback: string): string {
  const star = disposition && /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  const plain = disposition && /filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;]+)/.exec(disposition);
  let name = fallback;
  try {
    if (star?.[1]) name = decodeURIComponent(star[1].trim());
    else if (plain) name = (plain[1] ?? plain[2] ?? fallback).trim();
  } catch {
    name = fallback;
  }
  // Never a path: a served name like "../../.bashrc" lands in the current folder as ".bashrc".
  const base = name.split(/[/\\]/).pop()?.replace(/^\.+$/, '') ?? '';
  return base || fallback;
}

/** `intake get <id>`: streams the original (or a rendition) to a file, or to stdout with `-o -`. */
export function registerDownload(program: Command, context: CliContext): void {
  program
    .command('get')
    .description("download a READY file's original bytes, or one of its renditions, streamed to disk")
    .argument('<id>', 'the file id (f_…)')
    .option('--rendition <name>', 'a rendition instead of the original, e.g. thumb, medium, large')
    .option('-o, --output <path>', 'where to write ("-" for stdout; default: the served filename here)')
    .option('-f, --force', 'overwrite the output file if it exists')
    .action(async (id: string, options: GetOptions) => {
      const { api } = context.connection();
      const response = await downloaded(
        options.rendition
          ? api.v1.files[':id'].renditions[':name'].$get({
              param: { id, name: options.rendition },
              query: {},
              header: {},
            })
          : api.v1.files[':id'].content.$get({ param: { id }, query: {}, header: {} }),
      );
      if (!response.body) throw new CliError('the API answered without a body');
      const body = () => Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      if (options.output === '-') {
        await pipeline(body(), stdoutOf(context));
        return;
      }
      const fallback = options.rendition ? `${id}-${options.rendition}.webp` : id;
      const path = options.output ?? filenameOf(response.headers.get('content-disposition'), fallback);
      if (!options.force && (await pathExists(path))) {
        await response.body.cancel();
        throw new CliError(`${path} exists; pass --force to overwrite it or -o to choose another path`);
      }
      // Written beside the target and renamed at the end: an interrupted download leaves no half file under its name.
      const partial = `${path}.intake-part`;
      try {
        await pipeline(body(), createWriteStream(partial));
        await rename(partial, path);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      const size = Number(response.headers.get('content-length') ?? Number.NaN);
      note(context.terminal, `Saved ${path}${Number.isFinite(size) ? ` (${formatByteSize(size)})` : ''}`);
    });
}

function stdoutOf(context: CliContext): Writable {
  const out = context.terminal.stdout;
  if (out instanceof Writable) return out;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.write(chunk);
      done();
    },
  });
}

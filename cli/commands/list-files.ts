import type { Command } from 'commander';
import type { FileView } from '../../api/file-view';
import type { FileStatus } from '../../common/domain';
import { jsonOf, type Connection } from '../api-client';
import type { CliContext } from '../context';
import { fileStatus, pointInTime, wholeNumber } from '../options';
import { renderFileRows } from '../output/file-views';
import { note, say, sayJson } from '../output/terminal';

export interface ListOptions {
  status?: FileStatus;
  type?: string;
  batch?: string;
  tag?: string[];
  since?: Date;
  until?: Date;
  limit: number;
  all?: boolean;
  cursor?: string;
  json?: boolean;
}

export interface FileListing {
  items: FileView[];
  /** Where the next page starts, for --cursor; null at the end. */
  nextCursor: string | null;
}

/**
 * Pages through GET /v1/files (newest first) with the API's own filters (status, type, text, batch);
 * tag and date are checked here on each file, since the API has no parameter for them, and the walk
 * stops at the first file older than --since.
 */
export async function listFiles(connection: Connection, options: ListOptions, q?: string): Promise<FileListing> {
  const items: FileView[] = [];
  let cursor = options.cursor;
  const wanted = options.all ? Number.POSITIVE_INFINITY : options.limit;
  const filtered = Boolean(options.tag?.length || options.since || options.until);
  for (;;) {
    const page = await jsonOf(
      connection.api.v1.files.$get({
        query: {
          ...(options.status ? { status: options.status } : {}),
          ...(options.type ? { contentType: options.type } : {}),
          ...(options.batch ? { batch: options.batch } : {}),
          ...(q ? { q } : {}),
          ...(cursor ? { cursor } : {}),
          // With client-side filters a page of 100 wastes fewer round trips.
          limit: String(filtered || wanted > 100 ? 100 : wanted),
        },
      }),
    );
    for (const file of page.items) {
      if (options.since && new Date(file.createdAt) < options.since) return { items, nextCursor: null };
      if (options.until && new Date(file.createdAt) > options.until) continue;
      if (options.tag?.length && !options.tag.every((tag) => file.tags.includes(tag))) continue;
      items.push(file);
      if (items.length >= wanted) {
        // A cut inside the page: the next page would skip the rest of it, so only a whole page has one.
        const lastOfPage = file === page.items[page.items.length - 1];
        return { items, nextCursor: lastOfPage ? page.nextCursor : null };
      }
    }
    if (!page.nextCursor) return { items, nextCursor: null };
    cursor = page.nextCursor;
  }
}

function addFilters(command: Command): Command {
  return command
    .option(
      '--status <status>',
      'only files with this status (PROCESSING, READY, REJECTED, INFECTED, FAILED, DELETED)',
      fileStatus,
    )
    .option('--type <type>', 'only this detected type, or a prefix such as image/*')
    .option('--batch <id>', 'only the files of this batch (b_…)')
    .option('--tag <tag>', 'only files with this tag (repeat for several; all must match)', (v, p: string[] = []) => [
      ...p,
      v,
    ])
    .option('--since <when>', 'only files created since a date (2026-12-01), a date-time, or a span back (7d)', (v) =>
      pointInTime(v),
    )
    .option('--until <when>', 'only files created before this date, date-time or span back', (v) => pointInTime(v))
    .option('--limit <n>', 'at most this many files', wholeNumber(1, 100_000), 20)
    .option('--all', 'every matching file (pages until the end)')
    .option('--cursor <cursor>', 'start at this page (nextCursor of an earlier listing)')
    .option('--json', 'print { items, nextCursor } as JSON');
}

function printListing(context: CliContext, listing: FileListing, options: ListOptions): void {
  if (options.json) {
    sayJson(context.terminal, listing);
    return;
  }
  if (listing.items.length === 0) {
    note(context.terminal, 'No files match. Upload some with `intake upload <paths…>`.');
    return;
  }
  say(context.terminal, renderFileRows(listing.items));
  if (listing.nextCursor) note(context.terminal, `More: --cursor ${listing.nextCursor}`);
}

/** `intake ls` and `intake search <words…>`: the tenant's files, filtered, newest first. */
export function registerListFiles(program: Command, context: CliContext): void {
  addFilters(program.command('ls').description("list the tenant's files, newest first")).action(
    async (options: ListOptions) => {
      printListing(context, await listFiles(context.connection(), options), options);
    },
  );
  addFilters(
    program
      .command('search')
      .description('full-text search over filenames, tags and text content, newest first')
      .argument('<words...>', 'what to look for'),
  ).action(async (words: string[], options: ListOptions) => {
    printListing(context, await listFiles(context.connection(), options, words.join(' ')), options);
  });
}

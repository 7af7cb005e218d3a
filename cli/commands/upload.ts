import { Option, type Command } from 'commander';
import pLimit from 'p-limit';
import { formatByteSize } from '../../common/tenant-limits';
import type { FileView } from '../../api/file-view';
import type { CliContext } from '../context';
import { CliError, describeFailure } from '../errors';
import { followFile } from '../follow-file';
import { byteSize, duration, durationWithUnit, httpUrl, tagList, wholeNumber } from '../options';
import { renderTable } from '../output/table';
import { note, say, sayJson } from '../output/terminal';
import { formatSpan } from '../output/when';
import { collectFiles, type LocalFile } from '../upload/collect-files';
import { sendFile } from '../upload/send-file';
import { createUploadProgress } from '../upload/upload-progress';

interface UploadOptions {
  concurrency: number;
  tags?: string[];
  retention?: string;
  callbackUrl?: string;
  wait?: boolean;
  timeout: number;
  resumableFrom: number;
  json?: boolean;
}

/** One file's end: the id it got (or why it got none) and, with --wait, its outcome. */
export interface UploadResult {
  path: string;
  filename: string;
  size: number;
  id: string | null;
  status: string;
  reason: string | null;
}

/** Long-polls at once at most: each holds a request the API answers within 30 s. */
const FOLLOWERS = 8;

/** The summary table: one row per file, so a bad file is named beside its outcome. */
export function renderSummary(results: readonly UploadResult[]): string {
  return renderTable(
    ['file', 'id', 'status', 'size', 'reason'],
    results.map((r) => [r.path, r.id ?? '', r.status, formatByteSize(r.size), r.reason ?? '']),
  );
}

/** "3 READY, 1 REJECTED": the counts of each status, in order of first appearance. */
export function countStatuses(results: readonly UploadResult[]): string {
  const counts = new Map<string, number>();
  for (const result of results) counts.set(result.status, (counts.get(result.status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
}

export function registerUpload(program: Command, context: CliContext): void {
  program
    .command('upload')
    .description('upload files and folders (recursively), streamed from disk, several at once')
    .argument('<paths...>', 'files and folders to upload')
    .option('-c, --concurrency <n>', 'files in flight at once', wholeNumber(1, 64), 4)
    .option('--tags <tags>', 'tags for every file, comma-separated (or the flag repeated)', tagList)
    .option('--retention <duration>', 'how long to keep the files once processed, e.g. 7d or 12h', durationWithUnit)
    .option('--callback-url <url>', 'an http(s) URL told of each outcome (signed like webhooks)', httpUrl)
    .option('-w, --wait', 'follow every file to its outcome; exit 0 only if all are READY')
    .addOption(
      new Option('--timeout <duration>', 'with --wait: how long to wait for the outcomes')
        .argParser(duration)
        .default(10 * 60_000, '10m'),
    )
    .addOption(
      new Option(
        '--resumable-from <size>',
        'files at least this large go through the resumable tus endpoint (/v1/tus/)',
      )
        .argParser(byteSize)
        .default(64 * 2 ** 20, '64MiB'),
    )
    .option('--json', 'print the results as JSON (progress stays on stderr)')
    .addHelpText(
      'after',
      '\nExamples:\n  intake upload photo.jpg\n  intake upload ./scans --tags invoices,2026 --retention 30d --wait\n',
    )
    .action(async (paths: string[], options: UploadOptions) => {
      const connection = context.connection();
      const files = await collectFiles(paths);
      const progress = createUploadProgress(context.terminal.stderr, files, Boolean(options.wait));
      const stopOnInterrupt = () => {
        progress.stop();
        process.exit(130);
      };
      process.once('SIGINT', stopOnInterrupt);
      const uploads = pLimit(options.concurrency);
      const followers = pLimit(FOLLOWERS);
      const started = performance.now();
      let uploadedAt = started;
      let uploadedBytes = 0;

      const handle = async (file: LocalFile): Promise<UploadResult> => {
        const base = { path: file.display, filename: file.filename, size: file.size };
        let id: string;
        try {
          ({ id } = await uploads(() =>
            sendFile(connection, file, { ...options, tags: options.tags ?? [] }, (bytes) => progress.sent(file, bytes)),
          ));
        } catch (error) {
          const message = describeFailure(error).message ?? 'upload failed';
          progress.failed(file, message);
          return { ...base, id: null, status: 'NOT UPLOADED', reason: message };
        }
        uploadedAt = performance.now();
        uploadedBytes += file.size;
        progress.uploaded(file, id);
        if (!options.wait) return { ...base, id, status: 'PROCESSING', reason: null };
        let view: FileView;
        try {
          view = await followers(() => followFile(connection, id, { timeoutMs: options.timeout }));
        } catch (error) {
          const message = describeFailure(error).message ?? 'could not follow it';
          progress.settled(file, 'UNKNOWN', message);
          return { ...base, id, status: 'UNKNOWN', reason: message };
        }
        const reason =
          view.status === 'PROCESSING' ? `still processing after ${formatSpan(options.timeout)}` : view.reason;
        progress.settled(file, view.status, reason);
        return { ...base, id, status: view.status, reason };
      };

      const results = await Promise.all(files.map(handle));
      progress.stop();
      process.off('SIGINT', stopOnInterrupt);

      if (options.json) sayJson(context.terminal, results);
      else say(context.terminal, renderSummary(results));
      const seconds = Math.max(0.001, (uploadedAt - started) / 1000);
      const uploaded = results.filter((r) => r.id !== null).length;
      note(
        context.terminal,
        `${uploaded} of ${files.length} file${files.length === 1 ? '' : 's'} uploaded, ${formatByteSize(uploadedBytes)} in ${formatSpan(
          uploadedAt - started,
        )} (${formatByteSize(Math.round(uploadedBytes / seconds))}/s)${
          options.wait ? `; all settled in ${formatSpan(performance.now() - started)}` : ''
        }: ${countStatuses(results)}`,
      );
      const expected = options.wait ? 'READY' : 'PROCESSING';
      const bad = results.filter((r) => r.status !== expected);
      if (bad.length > 0) {
        throw new CliError(
          `${bad.length} of ${results.length} file${results.length === 1 ? '' : 's'} ${
            options.wait ? 'did not end READY' : 'could not be uploaded'
          }: ${bad.map((r) => r.path).join(', ')}`,
        );
      }
    });
}

import type { Command } from 'commander';
import { FILE_STATUSES } from '../../common/domain';
import { jsonOf } from '../api-client';
import type { CliContext } from '../context';
import { wholeNumber } from '../options';
import { renderFileRows } from '../output/file-views';
import { renderFields } from '../output/table';
import { note, say, sayJson } from '../output/terminal';
import { formatTime } from '../output/when';

/** `intake batch <id>`: a batch's status, its counts per status and a page of its files. */
export function registerBatch(program: Command, context: CliContext): void {
  program
    .command('batch')
    .description('show a batch (POST /v1/batches): status, counts per status and its files')
    .argument('<id>', 'the batch id (b_…)')
    .option('--limit <n>', 'files per page', wholeNumber(1, 100), 20)
    .option('--cursor <cursor>', 'start at this page of its files (nextCursor of an earlier call)')
    .option('--json', "print the API's batch view as JSON")
    .action(async (id: string, options: { limit: number; cursor?: string; json?: boolean }) => {
      const { api } = context.connection();
      const batch = await jsonOf(
        api.v1.batches[':id'].$get({
          param: { id },
          query: { limit: String(options.limit), ...(options.cursor ? { cursor: options.cursor } : {}) },
        }),
      );
      if (options.json) {
        sayJson(context.terminal, batch);
        return;
      }
      const counts = FILE_STATUSES.filter((status) => batch.counts[status] > 0)
        .map((status) => `${batch.counts[status]} ${status}`)
        .join(', ');
      say(
        context.terminal,
        renderFields([
          ['id', batch.id],
          ['status', batch.status],
          ['files', batch.fileCount ?? 'not known yet'],
          ['counts', counts],
          ['created', formatTime(batch.createdAt)],
          ['completed', formatTime(batch.completedAt)],
        ]),
      );
      if (batch.files.length > 0) say(context.terminal, `\n${renderFileRows(batch.files)}`);
      if (batch.nextCursor) note(context.terminal, `More files: --cursor ${batch.nextCursor}`);
    });
}

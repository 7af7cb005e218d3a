import type { Command } from 'commander';
import { jsonOf } from '../api-client';
import type { CliContext } from '../context';
import { followFile } from '../follow-file';
import { duration } from '../options';
import { renderFile } from '../output/file-views';
import { say, sayJson } from '../output/terminal';

const DEFAULT_WAIT_MS = 10 * 60_000;

/** `intake status <id>`: the file's record and its step timeline, as GET /v1/files/{id} returns them. */
export function registerStatus(program: Command, context: CliContext): void {
  program
    .command('status')
    .description("show a file's status, reason and step timeline (scan → validate → resize → store → index → notify)")
    .argument('<id>', 'the file id (f_…)')
    .option('--wait [duration]', 'first wait until it leaves PROCESSING (at most this long; default 10m)', duration)
    .option('--json', "print the API's file view as JSON")
    .action(async (id: string, options: { wait?: number | true; json?: boolean }) => {
      const connection = context.connection();
      const file =
        options.wait === undefined
          ? await jsonOf(connection.api.v1.files[':id'].$get({ param: { id }, query: {} }))
          : await followFile(connection, id, { timeoutMs: options.wait === true ? DEFAULT_WAIT_MS : options.wait });
      if (options.json) sayJson(context.terminal, file);
      else say(context.terminal, renderFile(file));
    });
}

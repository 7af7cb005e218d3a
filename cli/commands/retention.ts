import type { Command } from 'commander';
import { jsonOf, type Connection } from '../api-client';
import type { CliContext } from '../context';
import { durationWithUnit } from '../options';
import { formatTime } from '../output/when';
import { say, sayJson } from '../output/terminal';

type RetentionChange = { extendBy: string } | { hold: boolean };

async function changeRetention(connection: Connection, id: string, change: RetentionChange) {
  return jsonOf(connection.api.v1.files[':id'].retention.$patch({ param: { id }, json: change }));
}

function describeRetention(id: string, retention: { expiresAt: string | null; hold: boolean }): string {
  const expiry = retention.expiresAt ? `expires ${formatTime(retention.expiresAt)}` : 'no expiry';
  return `${id}: ${expiry}${retention.hold ? ', on legal hold (kept past its expiry, cannot be deleted)' : ''}`;
}

/** `intake rm | hold | release | extend`: deletion and retention, each one call of the API. */
export function registerRetention(program: Command, context: CliContext): void {
  program
    .command('rm')
    .description('delete a file and every artifact (its workflow does it; refused while on hold)')
    .argument('<id>', 'the file id (f_…)')
    .option('--json', "print the API's answer as JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const { api } = context.connection();
      const answer = await jsonOf(api.v1.files[':id'].$delete({ param: { id } }));
      if (options.json) sayJson(context.terminal, answer);
      else say(context.terminal, `${id}: deletion requested; it becomes DELETED shortly`);
    });

  const retentionCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .argument('<id>', 'the file id (f_…)')
      .option('--json', 'print the new retention ({ expiresAt, hold }) as JSON');
  const show = (id: string, retention: { expiresAt: string | null; hold: boolean }, json?: boolean) =>
    json ? sayJson(context.terminal, retention) : say(context.terminal, describeRetention(id, retention));

  retentionCommand('hold', 'put a file on legal hold: kept past its expiry, and rm is refused').action(
    async (id: string, options: { json?: boolean }) => {
      show(id, await changeRetention(context.connection(), id, { hold: true }), options.json);
    },
  );
  retentionCommand('release', 'release a legal hold (the file follows its expiry again)').action(
    async (id: string, options: { json?: boolean }) => {
      show(id, await changeRetention(context.connection(), id, { hold: false }), options.json);
    },
  );
  retentionCommand('extend', "push a file's expiry back by a duration (once it has its outcome)")
    .argument('<duration>', 'how much longer to keep it, e.g. 30d, 12h or 4w', durationWithUnit)
    .action(async (id: string, extendBy: string, options: { json?: boolean }) => {
      show(id, await changeRetention(context.connection(), id, { extendBy }), options.json);
    });
}

import { Command, Option } from 'commander';
import { connect } from './api-client';
import { registerBatch } from './commands/batch';
import { registerDownload } from './commands/download';
import { registerExport } from './commands/export';
import { registerListFiles } from './commands/list-files';
import { registerOperatorCommands } from './commands/operator';
import { registerRetention } from './commands/retention';
import { registerStatus } from './commands/status';
import { registerUpload } from './commands/upload';
import { registerWebhooks } from './commands/webhooks';
import type { CliContext } from './context';
import { processTerminal, type Terminal } from './output/terminal';

export const DEFAULT_URL = 'http://localhost:3000';

/**
 * The whole `intake` program. Errors never exit the process here: commander throws (exitOverride) and
 * cli/main.ts decides the exit code, so tests can parse arguments in-process.
 */
export function createProgram(terminal: Terminal = processTerminal()): Command {
  const program = new Command('intake')
    .description('Upload, watch, find and manage files on Intake, through its public /v1 API.')
    .addOption(new Option('--url <url>', 'the Intake API').env('INTAKE_URL').default(DEFAULT_URL))
    .addOption(new Option('--api-key <key>', 'an API key of your tenant (Authorization: Bearer)').env('INTAKE_API_KEY'))
    .configureOutput({
      writeOut: (text) => terminal.stdout.write(text),
      writeErr: (text) => terminal.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'intake: ')),
    })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `\nExamples:\n  export INTAKE_URL=${DEFAULT_URL} INTAKE_API_KEY=…\n  intake upload ./photos --wait\n  intake ls --status REJECTED\n  intake status f_…\n\nRun \`intake <command> --help\` for a command's options.`,
    );

  const context: CliContext = {
    terminal,
    connection: () => {
      const options = program.opts<{ url: string; apiKey?: string }>();
      return connect({ url: options.url, apiKey: options.apiKey });
    },
  };

  program.commandsGroup('Files (through the API, with INTAKE_URL and INTAKE_API_KEY):');
  registerUpload(program, context);
  registerStatus(program, context);
  registerListFiles(program, context);
  registerDownload(program, context);
  registerRetention(program, context);
  registerBatch(program, context);
  program.commandsGroup('Webhooks (through the API):');
  registerWebhooks(program, context);
  registerOperatorCommands(program, context);
  registerExport(program, context);
  return program;
}

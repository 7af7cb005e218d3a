import { InvalidArgumentError, Option, type Command } from 'commander';
import { isTenantId } from '../../common/tenant-id';
import type { CliContext } from '../context';
import { note, say } from '../output/terminal';
import { pointInTime } from '../options';

/** The formats, as cli/operator/export-admin.ts names them (not imported: that module loads pg and DuckDB). */
const FORMATS = ['csv', 'parquet'] as const;

interface ExportOptions {
  since: Date;
  tenant?: string;
  format: (typeof FORMATS)[number];
  out?: string;
  toS3?: boolean;
  force?: boolean;
}

function tenantId(value: string): string {
  if (!isTenantId(value)) {
    throw new InvalidArgumentError('A tenant id is lowercase letters, digits, - or _ (at most 63).');
  }
  return value;
}

function since(value: string): Date {
  const date = pointInTime(value);
  if (date.getTime() > Date.now()) throw new InvalidArgumentError('must not be in the future.');
  return date;
}

/**
 * `intake export`: the per-file facts for offline BI, from PostgreSQL directly. An operator command:
 * without --tenant it takes every tenant (the operator's BI), with --tenant one tenant's own files,
 * which can be handed to that tenant.
 */
export function registerExport(program: Command, context: CliContext): void {
  const command = program
    .command('export')
    .description('write one row per uploaded file (facts for offline BI) as CSV or Parquet')
    .addOption(
      new Option('--since <when>', 'uploads created since: a span back (30d, 12h) or a date (2026-12-01)')
        .argParser(since)
        .default(since('30d'), '30d'),
    )
    .option('--tenant <id>', "only this tenant's files (default: every tenant)", tenantId)
    .addOption(new Option('--format <format>', 'the file format').choices(FORMATS).default('csv'))
    .addOption(new Option('--out <file>', 'write this file (complete or not at all)').conflicts('toS3'))
    .addOption(new Option('--to-s3', 'upload to the bucket under exports/ and print the key').conflicts('out'))
    .option('-f, --force', 'overwrite the --out file if it exists')
    .addHelpText(
      'after',
      '\nOperator command: reads PostgreSQL (DATABASE_URL) and, for --to-s3, writes S3 (S3_*), not the API.\nWithout --out or --to-s3, CSV goes to stdout; Parquet needs one of them.',
    )
    .action(async (options: ExportOptions) => {
      if (options.format === 'parquet' && !options.out && !options.toS3) {
        command.error('intake: Parquet is binary: give --out <file> or --to-s3', { exitCode: 2 });
      }
      if (options.force && !options.out) command.error('intake: --force goes with --out', { exitCode: 2 });
      const { exportFiles } = await import('../operator/export-admin');
      const report = await exportFiles({
        since: options.since,
        tenantId: options.tenant,
        format: options.format,
        target: options.toS3
          ? { kind: 's3' }
          : options.out
            ? { kind: 'file', path: options.out, force: Boolean(options.force) }
            : { kind: 'stdout', stream: context.terminal.stdout },
      });
      // The key alone on stdout, so a script can take it: KEY=$(intake export --to-s3)
      if (report.key) say(context.terminal, report.key);
      note(
        context.terminal,
        `Exported ${report.rows} file${report.rows === 1 ? '' : 's'} created since ${options.since.toISOString()}` +
          `${options.tenant ? ` of tenant ${options.tenant}` : ''} (${report.bytes} bytes of ${options.format}) to ${report.location}.`,
      );
    });
}

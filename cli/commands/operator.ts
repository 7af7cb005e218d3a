import { InvalidArgumentError, type Command } from 'commander';
import { isTenantId } from '../../common/tenant-id';
import { LIMIT_NAMES, parseLimit, type LimitName } from '../../common/tenant-limits';
import type { CliContext } from '../context';
import { CliError } from '../errors';
import { note, say, sayJson } from '../output/terminal';

const DATABASE_NOTE =
  'Operator command: works on PostgreSQL directly (DATABASE_URL; default the one `npm run infra` starts), not on the API.';

function tenantId(value: string): string {
  if (!isTenantId(value)) {
    throw new InvalidArgumentError('A tenant id is lowercase letters, digits, - or _ (at most 63).');
  }
  return value;
}

/**
 * `--rps 20`, `--storage 10GiB`; `default` goes back to INTAKE_DEFAULT_LIMITS. Kept as the word until
 * the action: commander stores a parser's null as an empty string.
 */
const limitValue =
  (name: LimitName) =>
  (value: string): number | 'default' => {
    if (value === 'default') return 'default';
    try {
      return parseLimit(name, value);
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}.`);
    }
  };

/** The database side lives in its own module, loaded only when one of these runs (Prisma is slow to load). */
const admin = () => import('../operator/tenant-admin');
const backups = () => import('../operator/backup-admin');
const reconciling = () => import('../operator/reconcile-files');

/** `intake keys | webhook-secret | tenants`: the operator commands, on the database like before. */
export function registerOperatorCommands(program: Command, context: CliContext): void {
  program.commandsGroup('Operator commands (on the database, DATABASE_URL):');

  const keys = program
    .command('keys')
    .description('create and revoke API keys')
    .addHelpText('after', `\n${DATABASE_NOTE}`);
  keys
    .command('create')
    .description('create an API key for <tenant> (the tenant too, if new) and print it; only its sha256 is stored')
    .argument('<tenant>', 'the tenant id, e.g. acme', tenantId)
    .action(async (tenant: string) => {
      const key = await (await admin()).createKey(tenant);
      // The key alone on stdout so it can be captured: KEY=$(npm run -s intake -- keys create acme)
      say(context.terminal, key);
      note(context.terminal, `Created an API key for tenant "${tenant}". Store it now: it cannot be shown again.`);
    });
  keys
    .command('revoke')
    .description('revoke an API key')
    .argument('<key>', 'the key itself')
    .action(async (key: string) => {
      if (!(await (await admin()).revokeKey(key))) {
        throw new CliError('No active API key matches that key (unknown or already revoked).');
      }
      note(context.terminal, 'API key revoked.');
    });

  program
    .command('webhook-secret')
    .description("rotate a tenant's webhook signing secret")
    .addHelpText('after', `\n${DATABASE_NOTE}`)
    .command('rotate')
    .description('replace the secret and print the new one; deliveries carry the old signature for 24 hours too')
    .argument('<tenant>', 'the tenant id', tenantId)
    .action(async (tenant: string) => {
      say(context.terminal, await (await admin()).rotateSecret(tenant));
      note(context.terminal, `Rotated the webhook secret of "${tenant}"; the previous one stays valid for 24 hours.`);
    });

  const limits = program
    .command('tenants')
    .description("a tenant's limits and usage")
    .addHelpText('after', `\n${DATABASE_NOTE}`)
    .command('limits')
    .description('show or set the limits: rps (per API key), uploads (at once), storage, files');
  const set = limits
    .command('set')
    .description('set the tenant its own limits; `default` as a value goes back to INTAKE_DEFAULT_LIMITS')
    .argument('<tenant>', 'the tenant id', tenantId)
    .option('--rps <n>', 'requests per second per API key', limitValue('rps'))
    .option('--uploads <n>', 'uploads in flight at once', limitValue('uploads'))
    .option('--storage <size>', 'stored bytes, e.g. 10GiB or 500MB', limitValue('storage'))
    .option('--files <n>', 'stored files', limitValue('files'))
    .action(async (tenant: string, options: Partial<Record<LimitName, number | 'default'>>) => {
      if (LIMIT_NAMES.every((name) => options[name] === undefined)) {
        set.error('give at least one of --rps, --uploads, --storage, --files');
      }
      const value = (name: LimitName) => (options[name] === 'default' ? null : options[name]);
      const tenantAdmin = await admin();
      const text = await tenantAdmin.setLimits(tenant, {
        rps: value('rps'),
        uploads: value('uploads'),
        storageBytes: value('storage'),
        files: value('files'),
      });
      say(context.terminal, text);
    });
  limits
    .command('show')
    .description("print the tenant's limits and usage")
    .argument('<tenant>', 'the tenant id', tenantId)
    .action(async (tenant: string) => {
      say(context.terminal, await (await admin()).showLimits(tenant));
    });

  const backup = program
    .command('backup')
    .description('back up PostgreSQL to S3, list backups, restore one')
    .addHelpText('after', '\nOperator command: on Temporal (the workers run the backup), PostgreSQL and S3 directly.');
  backup
    .command('now')
    .description('run a backup now (the workflow the intake-backup Schedule runs) and wait for it')
    .option('--keep <n>', 'completed backups to keep (default INTAKE_BACKUP_KEEP)', positiveInteger)
    .action(async (options: { keep?: number }) => {
      sayJson(context.terminal, await (await backups()).backupNow(options.keep));
    });
  backup
    .command('list')
    .description('the newest 50 backups, newest first')
    .action(async () => {
      const rows = await (await backups()).listBackups();
      sayJson(
        context.terminal,
        rows.map((row) => ({ ...row, sizeBytes: row.sizeBytes === null ? null : Number(row.sizeBytes) })),
      );
    });
  backup
    .command('restore')
    .description('restore a backup, migrate it to the current schema and print its row counts')
    .argument('<id>', 'the backup id (intake backup list)')
    .option('--into <DATABASE_URL>', 'the database to restore into (default DATABASE_URL)')
    .option('--force', 'replace the tables of a non-empty target')
    .action(async (id: string, options: { into?: string; force?: boolean }) => {
      const report = await (await backups()).restoreBackup(id, options);
      sayJson(context.terminal, { backup: report.backup.id, target: report.target, rowCounts: report.rowCounts });
    });

  program
    .command('reconcile')
    .description("after a restore: rebuild the File rows the backup lacks from the upload workflows' state and S3")
    .option('--tenant <id...>', 'only these tenants (default every tenant)')
    .option(
      '--since <time>',
      "only workflows running, or closed at or after this ISO time (e.g. the backup's start)",
      isoTime,
    )
    .option('--concurrency <n>', 'workflows read at once (default 16)', positiveInteger)
    .addHelpText(
      'after',
      '\nOperator command: on Temporal (list and query), PostgreSQL and S3 directly. Safe to run again.',
    )
    .action(async (options: { tenant?: string[]; since?: Date; concurrency?: number }) => {
      for (const id of options.tenant ?? []) tenantId(id);
      const report = await (
        await reconciling()
      ).reconcile({
        ...(options.tenant ? { tenants: options.tenant } : {}),
        ...(options.since ? { since: options.since } : {}),
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      });
      sayJson(context.terminal, report);
    });
}

function isoTime(value: string): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new InvalidArgumentError('An ISO 8601 time, e.g. 2026-12-04T03:00:00Z.');
  return time;
}

function positiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('A whole number of at least 1.');
  return Number(value);
}

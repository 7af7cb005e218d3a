// Operator commands: `npm run intake -- <command>`. Reads DATABASE_URL through loadConfig() and applies
// pending migrations first, so it works against a fresh database.
import { parseArgs } from 'node:util';
import { isTenantId } from '../common/tenant-id';
import { formatByteSize, parseLimit, type LimitName, type TenantLimits } from '../common/tenant-limits';
import { ConfigError, loadConfig } from '../config/env';
import { createDb, isRetryableDbError, type Db } from '../prisma/db';
import { applyMigrations } from '../prisma/migrate';
import { effectiveLimits, setTenantLimits, tenantUsage } from '../prisma/quotas';
import { createApiKey, revokeApiKey, rotateWebhookSecret, TenantNotFoundError } from '../prisma/tenants';

const USAGE = `Usage: npm run intake -- <command>

Commands:
  keys create <tenant>    Create an API key for <tenant> (created if new) and print it.
                          The key is shown only this once; only its sha256 is stored.
  keys revoke <key>       Revoke an API key.
  webhook-secret rotate <tenant>
                          Replace the tenant's webhook signing secret and print the new one;
                          deliveries are also signed with the old one for 24 hours.
  tenants limits set <tenant> [--rps N] [--uploads N] [--storage SIZE] [--files N]
                          Set the tenant's own limits (SIZE like 10GiB or 500MB); \`default\` as a value
                          goes back to INTAKE_DEFAULT_LIMITS. Takes effect on the next request.
  tenants limits show <tenant>
                          Print the tenant's limits and usage.
  help                    Show this text.

Uses DATABASE_URL (default postgresql://intake:intake@127.0.0.1:5433/intake, the one \`npm run infra\` starts).`;

class UsageError extends Error {
  override name = 'UsageError';
}

function tenantArgument(value: string | undefined): string {
  if (!value) throw new UsageError('missing <tenant>');
  if (!isTenantId(value)) {
    throw new UsageError(`"${value}" is not a tenant id: use lowercase letters, digits, - or _ (at most 63)`);
  }
  return value;
}

async function withDb<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const { databaseUrl } = loadConfig();
  await applyMigrations(databaseUrl);
  const db = createDb(databaseUrl, { poolSize: 1 });
  try {
    return await work(db);
  } finally {
    await db.$disconnect();
  }
}

/** --rps 20 --storage 10GiB … → the limits to write; `default` clears one. */
function limitOptions(args: string[]): Partial<Record<keyof TenantLimits, number | null>> {
  let values: Partial<Record<LimitName, string>>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        rps: { type: 'string' },
        uploads: { type: 'string' },
        storage: { type: 'string' },
        files: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const read = (name: LimitName) => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (value === 'default') return null;
    try {
      return parseLimit(name, value);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  };
  const limits = { rps: read('rps'), uploads: read('uploads'), storageBytes: read('storage'), files: read('files') };
  if (Object.values(limits).every((v) => v === undefined)) {
    throw new UsageError('give at least one of --rps, --uploads, --storage, --files');
  }
  return limits;
}

async function printLimits(db: Db, tenant: string): Promise<void> {
  const { defaultLimits } = loadConfig();
  const usage = await tenantUsage(db, tenant);
  const limits = effectiveLimits(usage.tenant, defaultLimits);
  const own = (value: unknown) => (value === null ? ' (default)' : '');
  console.log(`tenant   ${tenant}`);
  console.log(`rps      ${limits.rps} per API key${own(usage.tenant.rpsLimit)}`);
  console.log(`uploads  ${limits.uploads} at once${own(usage.tenant.uploadsLimit)}`);
  console.log(
    `storage  ${formatByteSize(usage.storedBytes)} of ${formatByteSize(limits.storageBytes)}${own(usage.tenant.storageLimitBytes)}`,
  );
  console.log(`files    ${usage.files} of ${limits.files}${own(usage.tenant.fileLimit)}`);
}

async function main(args: string[]): Promise<void> {
  if (args[0] === 'tenants' && args[1] === 'limits') {
    const [, , action, argument, ...rest] = args;
    const tenant = tenantArgument(argument);
    if (action === 'set') {
      const limits = limitOptions(rest);
      await withDb(async (db) => {
        await setTenantLimits(db, tenant, limits);
        await printLimits(db, tenant);
      });
      return;
    }
    if (action === 'show' && rest.length === 0) {
      await withDb((db) => printLimits(db, tenant));
      return;
    }
    throw new UsageError(`unknown command: tenants limits ${action ?? ''}`.trim());
  }
  const [group, action, argument, ...extra] = args;
  if (!group || group === 'help' || group === '--help' || group === '-h') {
    console.log(USAGE);
    return;
  }
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);

  if (group === 'keys' && action === 'create') {
    const tenant = tenantArgument(argument);
    const key = await withDb((db) => createApiKey(db, tenant));
    // The key alone on stdout so it can be captured: KEY=$(npm run -s intake -- keys create acme)
    console.log(key);
    console.error(`Created an API key for tenant "${tenant}". Store it now: it cannot be shown again.`);
    return;
  }
  if (group === 'keys' && action === 'revoke') {
    if (!argument) throw new UsageError('missing <key>');
    const revoked = await withDb((db) => revokeApiKey(db, argument));
    if (!revoked) throw new Error('No active API key matches that key (unknown or already revoked).');
    console.error('API key revoked.');
    return;
  }
  if (group === 'webhook-secret' && action === 'rotate') {
    const tenant = tenantArgument(argument);
    const secret = await withDb((db) => rotateWebhookSecret(db, tenant));
    console.log(secret);
    console.error(`Rotated the webhook secret of "${tenant}"; the previous one stays valid for 24 hours.`);
    return;
  }
  throw new UsageError(`unknown command: ${[group, action].filter(Boolean).join(' ')}`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`intake: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (error instanceof ConfigError || error instanceof TenantNotFoundError) {
      console.error(`intake: ${error.message}`);
      process.exit(1);
    }
    const message = error instanceof Error ? error.message : String(error);
    if (isRetryableDbError(error)) {
      const { host, port } = new URL(loadConfig().databaseUrl);
      console.error(
        `intake: cannot reach PostgreSQL at ${host}${port ? '' : ':5432'} (DATABASE_URL); is it running? ${message}`,
      );
    } else {
      console.error(`intake: ${message}`);
    }
    process.exit(1);
  },
);

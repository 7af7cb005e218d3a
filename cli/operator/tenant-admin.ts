import { formatByteSize, type TenantLimits } from '../../common/tenant-limits';
import { createDb, isRetryableDbError, type Db } from '../../prisma/db';
import { applyMigrations } from '../../prisma/migrate';
import { effectiveLimits, setTenantLimits, tenantUsage } from '../../prisma/quotas';
import { createApiKey, revokeApiKey, rotateWebhookSecret, TenantNotFoundError } from '../../prisma/tenants';
import { CliError } from '../errors';
import { operatorConfig } from './operator-config';

/*
 * The operator commands' work on PostgreSQL: the one part of the CLI that does not go through the API,
 * since it makes the keys the API asks for. Reads DATABASE_URL through operatorConfig() and applies pending
 * migrations first, so it works against a fresh database. Loaded only when an operator command runs.
 */

async function withDb<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const { databaseUrl } = operatorConfig();
  try {
    await applyMigrations(databaseUrl);
    const db = createDb(databaseUrl, { poolSize: 1 });
    try {
      return await work(db);
    } finally {
      await db.$disconnect();
    }
  } catch (error) {
    if (error instanceof TenantNotFoundError) throw new CliError(error.message);
    if (isRetryableDbError(error)) {
      const { host, port } = new URL(databaseUrl);
      throw new CliError(
        `cannot reach PostgreSQL at ${host}${port ? '' : ':5432'} (DATABASE_URL); is it running? ${(error as Error).message}`,
      );
    }
    throw error;
  }
}

export const createKey = (tenant: string) => withDb((db) => createApiKey(db, tenant));

export const revokeKey = (key: string) => withDb((db) => revokeApiKey(db, key));

export const rotateSecret = (tenant: string) => withDb((db) => rotateWebhookSecret(db, tenant));

/** The tenant's limits and usage, as `tenants limits show` prints them. */
async function limitsText(db: Db, tenant: string): Promise<string> {
  const { defaultLimits } = operatorConfig();
  const usage = await tenantUsage(db, tenant);
  const limits = effectiveLimits(usage.tenant, defaultLimits);
  const own = (value: unknown) => (value === null ? ' (default)' : '');
  return [
    `tenant   ${tenant}`,
    `rps      ${limits.rps} per API key${own(usage.tenant.rpsLimit)}`,
    `uploads  ${limits.uploads} at once${own(usage.tenant.uploadsLimit)}`,
    `storage  ${formatByteSize(usage.storedBytes)} of ${formatByteSize(limits.storageBytes)}${own(usage.tenant.storageLimitBytes)}`,
    `files    ${usage.files} of ${limits.files}${own(usage.tenant.fileLimit)}`,
  ].join('\n');
}

export const showLimits = (tenant: string) => withDb((db) => limitsText(db, tenant));

/** Writes the limits given (null: back to INTAKE_DEFAULT_LIMITS) and returns what is now in force. */
export const setLimits = (tenant: string, limits: Partial<Record<keyof TenantLimits, number | null>>) =>
  withDb(async (db) => {
    await setTenantLimits(db, tenant, limits);
    return limitsText(db, tenant);
  });

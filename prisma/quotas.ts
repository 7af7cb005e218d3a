import type { FileStatus } from '../common/domain';
import type { TenantLimits } from '../common/tenant-limits';
import { TenantNotFoundError } from './tenants';
import type { DbClient, Tenant } from './db';

/*
 * Storage and file-count usage per tenant. Every change is one conditional SQL statement, so concurrent
 * uploads in any number of API processes can never together pass the limit: a reservation is taken
 * before the bytes are stored (or right after, when their size was unknown), carried by the File row
 * once it exists (File.chargedBytes), and released exactly once when the file stops holding bytes.
 */

/** Outcomes that hold no bytes for the tenant any more. INFECTED still holds its quarantined copy. */
export const RELEASED_STATUSES = ['DELETED', 'REJECTED', 'FAILED'] as const satisfies readonly FileStatus[];

export interface TenantUsage {
  storedBytes: number;
  files: number;
}

/** The tenant's limits: its own where set, else the configured defaults. */
export function effectiveLimits(
  tenant: Pick<Tenant, 'rpsLimit' | 'uploadsLimit' | 'storageLimitBytes' | 'fileLimit'>,
  defaults: TenantLimits,
): TenantLimits {
  return {
    rps: tenant.rpsLimit ?? defaults.rps,
    uploads: tenant.uploadsLimit ?? defaults.uploads,
    storageBytes: tenant.storageLimitBytes === null ? defaults.storageBytes : Number(tenant.storageLimitBytes),
    files: tenant.fileLimit ?? defaults.files,
  };
}

export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';
  constructor(
    readonly quota: 'storage' | 'files',
    readonly used: number,
    readonly limit: number,
    message: string,
  ) {
    super(message);
  }
}

export async function tenantUsage(db: DbClient, tenantId: string): Promise<TenantUsage & { tenant: Tenant }> {
  const tenant = await db.tenant.findUnique({ where: { id: tenantId } });
  if (!tenant) throw new TenantNotFoundError(tenantId);
  return { tenant, storedBytes: Number(tenant.storedBytes), files: tenant.fileCount };
}

/**
 * Reserves `bytes` and one file for an upload, or throws QuotaExceededError naming what is full with
 * its use and limit. The WHERE clause is the check, so two racing reservations cannot both fit.
 */
export async function reserveUpload(
  db: DbClient,
  tenantId: string,
  limits: Pick<TenantLimits, 'storageBytes' | 'files'>,
  bytes: number,
  files = 1,
): Promise<void> {
  const changed = await db.$executeRaw`
    UPDATE "Tenant" SET "storedBytes" = "storedBytes" + ${bytes}, "fileCount" = "fileCount" + ${files}
    WHERE id = ${tenantId} AND "storedBytes" + ${bytes} <= ${limits.storageBytes} AND "fileCount" + ${files} <= ${limits.files}`;
  if (changed === 1) return;
  const usage = await tenantUsage(db, tenantId);
  throw quotaError(usage, limits, bytes, files);
}

/** Whether an upload of `bytes` would fit now (a direct upload's start, before it has any bytes). */
export async function checkUploadFits(
  db: DbClient,
  tenantId: string,
  limits: Pick<TenantLimits, 'storageBytes' | 'files'>,
  bytes: number,
): Promise<void> {
  const usage = await tenantUsage(db, tenantId);
  if (usage.files + 1 > limits.files || usage.storedBytes + bytes > limits.storageBytes) {
    throw quotaError(usage, limits, bytes);
  }
}

function quotaError(
  usage: TenantUsage,
  limits: Pick<TenantLimits, 'storageBytes' | 'files'>,
  bytes: number,
  files = 1,
) {
  if (usage.files + files > limits.files) {
    return new QuotaExceededError(
      'files',
      usage.files,
      limits.files,
      `File quota exceeded: ${usage.files} of ${limits.files} files used` +
        (files > 1 ? `; this upload adds ${files}` : ''),
    );
  }
  return new QuotaExceededError(
    'storage',
    usage.storedBytes,
    limits.storageBytes,
    `Storage quota exceeded: ${usage.storedBytes} of ${limits.storageBytes} bytes used; this upload needs ${bytes}`,
  );
}

/**
 * Adds an accepted file's bytes and the file itself to its tenant's usage, with no limit check: the
 * upload was accepted (and reserved) before a restore lost its row, and `intake reconcile` puts the
 * row back with its charge.
 */
export async function chargeAcceptedFile(db: DbClient, tenantId: string, bytes: bigint): Promise<void> {
  await db.$executeRaw`
    UPDATE "Tenant" SET "storedBytes" = "storedBytes" + ${bytes}, "fileCount" = "fileCount" + 1 WHERE id = ${tenantId}`;
}

/**
 * Gives back a reservation no File row carries (the upload failed before its row was written), or
 * shrinks one to the size that arrived (`files` 0). Only ever lowers usage, so it needs no condition.
 */
export async function releaseReservation(db: DbClient, tenantId: string, bytes: number, files = 1): Promise<void> {
  await db.$executeRaw`
    UPDATE "Tenant" SET "storedBytes" = GREATEST("storedBytes" - ${bytes}, 0), "fileCount" = GREATEST("fileCount" - ${files}, 0)
    WHERE id = ${tenantId}`;
}

/**
 * Releases what a file's row carries, once: the row's chargedBytes goes to null in the same statement
 * that lowers the tenant's usage, so a retried activity or a racing sweeper cannot release it twice.
 * `onlyIfReleased` limits it to rows whose status no longer holds bytes.
 */
export async function releaseFileCharge(db: DbClient, fileId: string, onlyIfReleased = true): Promise<void> {
  const statuses = onlyIfReleased ? [...RELEASED_STATUSES] : ['PROCESSING', 'READY', 'INFECTED', ...RELEASED_STATUSES];
  await db.$executeRaw`
    WITH released AS (
      UPDATE "File" f SET "chargedBytes" = NULL
      FROM (SELECT id, "chargedBytes" AS bytes FROM "File" WHERE id = ${fileId} FOR UPDATE) old
      WHERE f.id = old.id AND old.bytes IS NOT NULL AND f.status = ANY(${statuses}::text[])
      RETURNING f."tenantId", old.bytes
    )
    UPDATE "Tenant" t
    SET "storedBytes" = GREATEST(t."storedBytes" - r.bytes, 0), "fileCount" = GREATEST(t."fileCount" - 1, 0)
    FROM released r WHERE t.id = r."tenantId"`;
}

/** Sets the tenant's own limits; a field left out keeps its value, null goes back to the default. */
export async function setTenantLimits(
  db: DbClient,
  tenantId: string,
  limits: Partial<Record<keyof TenantLimits, number | null>>,
): Promise<Tenant> {
  const found = await db.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
  if (!found) throw new TenantNotFoundError(tenantId);
  return db.tenant.update({
    where: { id: tenantId },
    data: {
      ...(limits.rps !== undefined ? { rpsLimit: limits.rps } : {}),
      ...(limits.uploads !== undefined ? { uploadsLimit: limits.uploads } : {}),
      ...(limits.storageBytes !== undefined
        ? { storageLimitBytes: limits.storageBytes === null ? null : BigInt(limits.storageBytes) }
        : {}),
      ...(limits.files !== undefined ? { fileLimit: limits.files } : {}),
    },
  });
}

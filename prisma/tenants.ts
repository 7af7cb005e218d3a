import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DbClient, Tenant } from './db';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const API_KEY_PREFIX = 'ik_';
const API_KEY_RANDOM_CHARS = 32;
/** How long deliveries keep signing with the old secret after a rotation, so receivers can switch over. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;

export class TenantNotFoundError extends Error {
  override name = 'TenantNotFoundError';
  constructor(readonly tenantId: string) {
    super(`Tenant "${tenantId}" does not exist`);
  }
}

/** sha256 (hex) of an API key: the only form a key is stored in, so a database leak reveals no keys. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `ik_` + 32 base62 characters (~190 bits), drawn without modulo bias. */
export function generateApiKey(): string {
  let out = API_KEY_PREFIX;
  while (out.length < API_KEY_PREFIX.length + API_KEY_RANDOM_CHARS) {
    for (const byte of randomBytes(48)) {
      // 248 = 4 * 62: bytes at or above it would favour the first characters, so they are skipped.
      if (byte < 248 && out.length < API_KEY_PREFIX.length + API_KEY_RANDOM_CHARS) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** What is shown of a key in listings: enough to tell keys apart, too little to use. */
function keyPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 4);
}

/** The tenant's own limit columns (null where it has the defaults), or null when there is no such tenant. */
export async function findTenantLimits(db: DbClient, tenantId: string): Promise<TenantLimitColumns | null> {
  return db.tenant.findUnique({
    where: { id: tenantId },
    select: { rpsLimit: true, uploadsLimit: true, storageLimitBytes: true, fileLimit: true },
  });
}

/** Returns the tenant, creating it with a fresh webhook secret if needed. Safe to call concurrently. */
export async function ensureTenant(db: DbClient, tenantId: string): Promise<Tenant> {
  const existing = await db.tenant.findUnique({ where: { id: tenantId } });
  if (existing) return existing;
  // ON CONFLICT DO NOTHING: when two callers race, one insert wins and both read the same row.
  await db.tenant.createMany({
    data: [{ id: tenantId, webhookSecret: generateWebhookSecret() }],
    skipDuplicates: true,
  });
  return db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
}

/**
 * Makes each configured key (INTAKE_API_KEYS) valid for its tenant; creates missing tenants. Idempotent:
 * re-seeding the same keys changes nothing, and a key listed again is un-revoked (the config says it is valid).
 */
export async function seedApiKeys(db: DbClient, keys: readonly { tenant: string; key: string }[]): Promise<void> {
  for (const { tenant, key } of keys) {
    await ensureTenant(db, tenant);
    const keyHash = hashApiKey(key);
    await db.apiKey.createMany({
      data: [{ id: randomUUID(), tenantId: tenant, keyHash, prefix: keyPrefix(key) }],
      skipDuplicates: true,
    });
    await db.apiKey.updateMany({
      where: { keyHash, OR: [{ tenantId: { not: tenant } }, { revokedAt: { not: null } }] },
      data: { tenantId: tenant, revokedAt: null },
    });
  }
}

/** Creates a new key for the tenant (creating the tenant if needed) and returns it: the only time it is visible. */
export async function createApiKey(db: DbClient, tenantId: string): Promise<string> {
  await ensureTenant(db, tenantId);
  const key = generateApiKey();
  await db.apiKey.create({ data: { id: randomUUID(), tenantId, keyHash: hashApiKey(key), prefix: keyPrefix(key) } });
  return key;
}

/** Revokes a key; returns false when no active key matches. */
export async function revokeApiKey(db: DbClient, key: string): Promise<boolean> {
  const result = await db.apiKey.updateMany({
    where: { keyHash: hashApiKey(key), revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return result.count > 0;
}

/** The tenant an active API key belongs to, or null for unknown and revoked keys. */
export async function findTenantByApiKey(
  db: DbClient,
  key: string,
): Promise<{ tenantId: string; keyId: string; limits: TenantLimitColumns } | null> {
  // The tenant's limits ride along: every request needs them, and this is the query it makes anyway.
  const found = await db.apiKey.findUnique({
    where: { keyHash: hashApiKey(key) },
    select: {
      id: true,
      tenantId: true,
      revokedAt: true,
      tenant: { select: { rpsLimit: true, uploadsLimit: true, storageLimitBytes: true, fileLimit: true } },
    },
  });
  return found && found.revokedAt === null ? { tenantId: found.tenantId, keyId: found.id, limits: found.tenant } : null;
}

/** The limit columns of a tenant row; null takes the configured default. */
export type TenantLimitColumns = Pick<Tenant, 'rpsLimit' | 'uploadsLimit' | 'storageLimitBytes' | 'fileLimit'>;

export interface WebhookSecretInfo {
  current: string;
  /** The secret before the last rotation while it is still honoured, else null. */
  previous: string | null;
  previousExpiresAt: Date | null;
}

/** The tenant's current secret and, during the grace period after a rotation, the previous one. */
export async function getWebhookSecretInfo(
  db: DbClient,
  tenantId: string,
  now = new Date(),
): Promise<WebhookSecretInfo> {
  const tenant = await db.tenant.findUnique({ where: { id: tenantId } });
  if (!tenant) throw new TenantNotFoundError(tenantId);
  const previousValid =
    tenant.previousWebhookSecret !== null &&
    tenant.previousSecretExpiresAt !== null &&
    tenant.previousSecretExpiresAt.getTime() > now.getTime();
  return {
    current: tenant.webhookSecret,
    previous: previousValid ? tenant.previousWebhookSecret : null,
    previousExpiresAt: previousValid ? tenant.previousSecretExpiresAt : null,
  };
}

/**
 * Every secret a delivery must be signed with, current first. During the grace period after a rotation
 * the previous one is included, so the webhook-signature header carries both and receivers still on the
 * old secret keep verifying.
 */
export async function getWebhookSecrets(db: DbClient, tenantId: string, now = new Date()): Promise<string[]> {
  const info = await getWebhookSecretInfo(db, tenantId, now);
  return info.previous ? [info.current, info.previous] : [info.current];
}

/** Replaces the tenant's signing secret, keeping the old one valid for 24 hours; returns the new secret. */
export async function rotateWebhookSecret(db: DbClient, tenantId: string): Promise<string> {
  // Compare-and-set on the current secret: two concurrent rotations cannot both demote the same secret,
  // and the loser retries against the winner's result.
  for (let attempt = 0; attempt < 5; attempt++) {
    const tenant = await db.tenant.findUnique({ where: { id: tenantId } });
    if (!tenant) throw new TenantNotFoundError(tenantId);
    const next = generateWebhookSecret();
    const updated = await db.tenant.updateMany({
      where: { id: tenantId, webhookSecret: tenant.webhookSecret },
      data: {
        webhookSecret: next,
        previousWebhookSecret: tenant.webhookSecret,
        previousSecretExpiresAt: new Date(Date.now() + PREVIOUS_SECRET_GRACE_MS),
      },
    });
    if (updated.count === 1) return next;
  }
  throw new Error(`Could not rotate the webhook secret of tenant "${tenantId}": it kept changing concurrently`);
}

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { createDb, type Db } from '../../prisma/db';
import { applyMigrations, migrationNames } from '../../prisma/migrate';
import {
  createApiKey,
  ensureTenant,
  findTenantByApiKey,
  getWebhookSecrets,
  hashApiKey,
  revokeApiKey,
  rotateWebhookSecret,
  seedApiKeys,
} from '../../prisma/tenants';

const config = loadConfig();
/** Unique per run: the stack's database is shared with other test files. */
const tenant = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

/** The same database under another URL, on the same server (a fresh database for the migration tests). */
function databaseUrl(database: string, params = ''): string {
  const url = new URL(config.databaseUrl);
  url.pathname = `/${database}`;
  url.search = params;
  return url.toString();
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  const database = `intake_migrate_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

  beforeAll(async () => {
    await sql(config.databaseUrl, `CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await sql(config.databaseUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('apply to a fresh database from concurrent callers, then again without error or change', async () => {
    // Two URLs for one database: separate runs in this process that must serialise on the advisory lock.
    await Promise.all([
      applyMigrations(databaseUrl(database, '?application_name=first')),
      applyMigrations(databaseUrl(database, '?application_name=second')),
    ]);
    await applyMigrations(databaseUrl(database));

    const applied = await sql<{ migration_name: string; finished_at: Date | null }>(
      databaseUrl(database),
      'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(applied.map((row) => row.migration_name)).toEqual(migrationNames());
    expect(applied.every((row) => row.finished_at !== null)).toBe(true);
    const tables = await sql<{ table_name: string }>(
      databaseUrl(database),
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(tables.map((row) => row.table_name)).toEqual(
      expect.arrayContaining(['Tenant', 'ApiKey', 'File', 'WebhookEndpoint', 'WebhookDelivery', 'WebhookAttempt']),
    );
  });

  it('leave the stack database up to date when applied again', async () => {
    await applyMigrations(config.databaseUrl);
    const applied = await sql<{ migration_name: string }>(
      config.databaseUrl,
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL',
    );
    expect(applied.map((row) => row.migration_name).sort()).toEqual(migrationNames());
  });
});

describe('tenants and API keys', () => {
  let db: Db;

  beforeAll(async () => {
    await applyMigrations(config.databaseUrl);
    db = createDb(config.databaseUrl, { poolSize: 4 });
  });
  afterAll(async () => {
    await db.$disconnect();
  });

  it('a seeded key finds its tenant, is stored only as its sha256, and re-seeding changes nothing', async () => {
    const acme = tenant('acme');
    const key = `seeded-${randomUUID()}`;
    await seedApiKeys(db, [{ tenant: acme, key }]);
    await seedApiKeys(db, [{ tenant: acme, key }]);

    expect(await findTenantByApiKey(db, key)).toMatchObject({ tenantId: acme });
    expect(await findTenantByApiKey(db, `${key}x`)).toBeNull();

    const rows = await db.apiKey.findMany({ where: { tenantId: acme } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.keyHash).toBe(hashApiKey(key));
    expect(rows[0]!.keyHash).toMatch(/^[0-9a-f]{64}$/);
    // Nowhere in the key's row or its tenant's row does the key itself appear.
    const stored = await sql<Record<string, unknown>>(
      config.databaseUrl,
      `SELECT k.*, t.* FROM "ApiKey" k JOIN "Tenant" t ON t.id = k."tenantId" WHERE k."tenantId" = '${acme}'`,
    );
    expect(JSON.stringify(stored)).not.toContain(key);

    const tenantRow = await db.tenant.findUniqueOrThrow({ where: { id: acme } });
    expect(tenantRow.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(tenantRow.webhookSecret.slice('whsec_'.length), 'base64')).toHaveLength(24);
  });

  it('a created key works until it is revoked; re-seeding a revoked configured key restores it', async () => {
    const globex = tenant('globex');
    const key = await createApiKey(db, globex);
    expect(key).toMatch(/^ik_[0-9A-Za-z]{32}$/);
    expect(await findTenantByApiKey(db, key)).toMatchObject({ tenantId: globex });

    expect(await revokeApiKey(db, key)).toBe(true);
    expect(await findTenantByApiKey(db, key)).toBeNull();
    expect(await revokeApiKey(db, key)).toBe(false);

    await seedApiKeys(db, [{ tenant: globex, key }]);
    expect(await findTenantByApiKey(db, key)).toMatchObject({ tenantId: globex });
  });

  it('concurrent ensureTenant calls create one tenant with one secret', async () => {
    const initech = tenant('initech');
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureTenant(db, initech)));
    expect(new Set(results.map((t) => t.webhookSecret)).size).toBe(1);
    expect(await db.tenant.count({ where: { id: initech } })).toBe(1);
  });

  it('rotation signs with the new and the old secret for 24 hours, then with the new one only', async () => {
    const umbrella = tenant('umbrella');
    const before = (await ensureTenant(db, umbrella)).webhookSecret;
    expect(await getWebhookSecrets(db, umbrella)).toEqual([before]);

    const rotated = await rotateWebhookSecret(db, umbrella);
    expect(rotated).not.toBe(before);
    expect(rotated).toMatch(/^whsec_/);
    expect(await getWebhookSecrets(db, umbrella)).toEqual([rotated, before]);

    const row = await db.tenant.findUniqueOrThrow({ where: { id: umbrella } });
    const grace = row.previousSecretExpiresAt!.getTime() - Date.now();
    expect(grace).toBeGreaterThan(23.9 * 3_600_000);
    expect(grace).toBeLessThanOrEqual(24 * 3_600_000);

    // A day later the old secret is no longer used.
    expect(await getWebhookSecrets(db, umbrella, new Date(Date.now() + 24 * 3_600_000 + 1_000))).toEqual([rotated]);

    // Concurrent rotations each demote a distinct secret: none is lost mid-way.
    const [a, b] = await Promise.all([rotateWebhookSecret(db, umbrella), rotateWebhookSecret(db, umbrella)]);
    const secrets = await getWebhookSecrets(db, umbrella);
    expect(secrets).toHaveLength(2);
    expect([a, b]).toContain(secrets[0]);
    expect([a, b, rotated]).toContain(secrets[1]);
  });

  it('asking for the secrets of an unknown tenant fails with a clear error', async () => {
    await expect(getWebhookSecrets(db, tenant('nobody'))).rejects.toThrow(/does not exist/);
  });
});

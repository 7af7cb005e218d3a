import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { applyMigrations } from '../../prisma/migrate';

const config = loadConfig();
const database = `intake_analytics_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const analystPassword = `analyst-${randomUUID()}`;

const ANALYTICS_VIEWS = [
  'bytes_stored',
  'files',
  'retention_deletions',
  'scan_verdicts',
  'step_durations',
  'step_events',
  'time_to_ready',
  'uploads_daily',
  'webhook_attempts',
  'webhook_deliveries',
];

function databaseUrl(user?: { name: string; password: string }): string {
  const url = new URL(config.databaseUrl);
  url.pathname = `/${database}`;
  if (user) {
    url.username = user.name;
    url.password = user.password;
  }
  return url.toString();
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const asOwner = <T>(run: (client: pg.Client) => Promise<T>) => withClient(databaseUrl(), run);
const asAnalyst = <T>(run: (client: pg.Client) => Promise<T>) =>
  withClient(databaseUrl({ name: 'intake_analyst', password: analystPassword }), run);

const steps = {
  scan: {
    state: 'done',
    attempts: 1,
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:00:00.250Z',
    error: null,
  },
  validate: {
    state: 'done',
    attempts: 2,
    startedAt: '2026-12-01T10:00:00.300Z',
    finishedAt: '2026-12-01T10:00:01.300Z',
    error: null,
  },
  resize: { state: 'skipped', attempts: 0, startedAt: null, finishedAt: '2026-12-01T10:00:01.300Z', error: null },
  store: { state: 'pending', attempts: 0, startedAt: null, finishedAt: null, error: null },
  index: { state: 'pending', attempts: 0, startedAt: null, finishedAt: null, error: null },
  notify: { state: 'pending', attempts: 0, startedAt: null, finishedAt: null, error: null },
};

describe('the analytics schema and the intake_analyst role', () => {
  beforeAll(async () => {
    await withClient(config.databaseUrl, (c) => c.query(`CREATE DATABASE ${database}`));
    await applyMigrations(databaseUrl());
    // Roles are cluster-wide: this gives the migration's NOLOGIN role a password, as an operator would.
    await asOwner((c) => c.query(`ALTER ROLE intake_analyst LOGIN PASSWORD '${analystPassword}'`));
    await asOwner(async (c) => {
      await c.query(`INSERT INTO "Tenant" ("id", "webhookSecret") VALUES ('acme', 'whsec_secret')`);
      await c.query(
        `INSERT INTO "ApiKey" ("id", "tenantId", "keyHash", "prefix") VALUES ('k1', 'acme', 'hash', 'ik_')`,
      );
      await c.query(
        `INSERT INTO "File" ("id", "tenantId", "workflowId", "filename", "contentType", "size", "status", "steps",
           "createdAt", "updatedAt", "completedAt", "callbackUrl")
         VALUES ('f1', 'acme', 'w1', 'a.jpg', 'image/jpeg', 1000, 'READY', $1, '2026-12-01T10:00:00Z', now(),
           '2026-12-01T10:00:02Z', 'https://hooks.example/cb')`,
        [JSON.stringify(steps)],
      );
      await c.query(
        `INSERT INTO "WebhookEndpoint" ("id", "tenantId", "url") VALUES ('e1', 'acme', 'https://hooks.example/x')`,
      );
      await c.query(
        `INSERT INTO "WebhookDelivery" ("id", "messageId", "tenantId", "fileId", "endpointId", "url", "event", "status",
           "attempts", "createdAt", "updatedAt", "deliveredAt")
         VALUES ('d1', 'm1', 'acme', 'f1', 'e1', 'https://hooks.example/x', 'file.ready', 'delivered', 1,
           '2026-12-01T10:00:02Z', now(), '2026-12-01T10:00:02.5Z')`,
      );
    });
  });

  afterAll(async () => {
    await withClient(config.databaseUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await c.query('ALTER ROLE intake_analyst NOLOGIN PASSWORD NULL');
    });
  });

  it('has the documented views, none of them exposing a secret or a URL', async () => {
    const columns = await asOwner(
      async (c) =>
        (
          await c.query<{ table_name: string; column_name: string }>(
            `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'analytics'`,
          )
        ).rows,
    );
    expect([...new Set(columns.map((row) => row.table_name))].sort()).toEqual(ANALYTICS_VIEWS);
    expect(columns.filter((row) => /url|secret|key|hash|filename|error/i.test(row.column_name))).toEqual([]);
  });

  it('lets the analyst read every view and nothing in the public schema', async () => {
    await asAnalyst(async (c) => {
      for (const view of ANALYTICS_VIEWS) {
        await expect(c.query(`SELECT * FROM analytics.${view}`)).resolves.toBeDefined();
      }
      for (const table of ['ApiKey', 'Tenant', 'File', 'WebhookEndpoint', 'WebhookDelivery', 'WebhookAttempt']) {
        await expect(c.query(`SELECT * FROM "${table}"`)).rejects.toThrow(/permission denied/);
      }
      await expect(c.query('CREATE TABLE analytics.mine (x int)')).rejects.toThrow(/permission denied/);
    });
  });

  it('gives the step timings as columns, one row per (file, step)', async () => {
    const rows = await asAnalyst(
      async (c) =>
        (
          await c.query<{ step: string; outcome: string; attempts: number; duration_ms: number | null }>(
            `SELECT step, outcome, attempts, duration_ms FROM analytics.step_events WHERE file_id = 'f1' ORDER BY step`,
          )
        ).rows,
    );
    expect(rows).toEqual([
      { step: 'index', outcome: 'pending', attempts: 0, duration_ms: null },
      { step: 'notify', outcome: 'pending', attempts: 0, duration_ms: null },
      { step: 'resize', outcome: 'skipped', attempts: 0, duration_ms: null },
      { step: 'scan', outcome: 'done', attempts: 1, duration_ms: 250 },
      { step: 'store', outcome: 'pending', attempts: 0, duration_ms: null },
      { step: 'validate', outcome: 'done', attempts: 2, duration_ms: 1000 },
    ]);
  });

  it('counts the uploads, time to READY, verdicts and deliveries', async () => {
    await asAnalyst(async (c) => {
      const daily = (await c.query(`SELECT * FROM analytics.uploads_daily`)).rows;
      expect(daily).toEqual([
        expect.objectContaining({
          tenant_id: 'acme',
          content_type: 'image/jpeg',
          source: 'http',
          outcome: 'READY',
          uploads: '1',
          bytes: '1000',
        }),
      ]);
      const ready = (await c.query(`SELECT ready, p50_ms, p95_ms FROM analytics.time_to_ready`)).rows;
      expect(ready).toEqual([{ ready: '1', p50_ms: 2000, p95_ms: 2000 }]);
      const verdicts = (await c.query(`SELECT verdict, files FROM analytics.scan_verdicts`)).rows;
      expect(verdicts).toEqual([{ verdict: 'clean', files: '1' }]);
      const deliveries = (
        await c.query(`SELECT deliveries, delivered, success_rate, latency_p50_ms FROM analytics.webhook_deliveries`)
      ).rows;
      expect(deliveries).toEqual([{ deliveries: '1', delivered: '1', success_rate: 1, latency_p50_ms: 500 }]);
    });
  });

  it('migrates a second database of the cluster, where the role already exists, and grants it there too', async () => {
    const second = `${database}_b`;
    await withClient(config.databaseUrl, (c) => c.query(`CREATE DATABASE ${second}`));
    try {
      const url = new URL(databaseUrl());
      url.pathname = `/${second}`;
      await applyMigrations(url.toString());
      url.username = 'intake_analyst';
      url.password = analystPassword;
      const rows = await withClient(url.toString(), async (c) => (await c.query('SELECT * FROM analytics.files')).rows);
      expect(rows).toEqual([]);
    } finally {
      await withClient(config.databaseUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${second} WITH (FORCE)`));
    }
  });
});

import pg from 'pg';
import { STEP_NAMES, type StepName } from '../common/domain';

/*
 * The per-file facts `intake export` writes for offline BI: one row per upload, read from the
 * analytics views (analytics.files for source, content type, time to READY and scan verdict,
 * analytics.step_events for the step durations) so an export and the dashboards count the same way.
 * Beyond the views it carries what the tenant owns about its file (the filename, the retention, the
 * rendition count, the image or PDF dimensions) and nothing secret: no API key, webhook secret,
 * callback URL, storage key, idempotency key or error text.
 */

export type FactType = 'varchar' | 'bigint' | 'integer' | 'double' | 'timestamp' | 'boolean';

type StepColumn = `${StepName}_ms`;

export interface FileFact {
  file_id: string;
  tenant_id: string;
  batch_id: string | null;
  filename: string;
  content_type: string;
  size_bytes: bigint;
  charged_bytes: bigint | null;
  status: string;
  source: string;
  scan_verdict: string;
  created_at: Date;
  completed_at: Date | null;
  ready_at: Date | null;
  deleted_at: Date | null;
  deletion_reason: string | null;
  expires_at: Date | null;
  hold: boolean;
  time_to_ready_ms: number | null;
  scan_ms: number | null;
  validate_ms: number | null;
  resize_ms: number | null;
  store_ms: number | null;
  index_ms: number | null;
  notify_ms: number | null;
  rendition_count: number;
  width: number | null;
  height: number | null;
  pages: number | null;
}

export type FactColumn = keyof FileFact;

/** The columns in file order, each with the type both writers give it (CSV as text, Parquet typed). */
export const FILE_FACT_COLUMNS: readonly { name: FactColumn; type: FactType }[] = [
  { name: 'file_id', type: 'varchar' },
  { name: 'tenant_id', type: 'varchar' },
  { name: 'batch_id', type: 'varchar' },
  { name: 'filename', type: 'varchar' },
  { name: 'content_type', type: 'varchar' },
  { name: 'size_bytes', type: 'bigint' },
  { name: 'charged_bytes', type: 'bigint' },
  { name: 'status', type: 'varchar' },
  { name: 'source', type: 'varchar' },
  { name: 'scan_verdict', type: 'varchar' },
  { name: 'created_at', type: 'timestamp' },
  { name: 'completed_at', type: 'timestamp' },
  { name: 'ready_at', type: 'timestamp' },
  { name: 'deleted_at', type: 'timestamp' },
  { name: 'deletion_reason', type: 'varchar' },
  { name: 'expires_at', type: 'timestamp' },
  { name: 'hold', type: 'boolean' },
  { name: 'time_to_ready_ms', type: 'double' },
  ...STEP_NAMES.map((step) => ({ name: `${step}_ms` as StepColumn, type: 'double' as const })),
  { name: 'rendition_count', type: 'integer' },
  { name: 'width', type: 'integer' },
  { name: 'height', type: 'integer' },
  { name: 'pages', type: 'integer' },
];

const BIGINT_COLUMNS = FILE_FACT_COLUMNS.filter((column) => column.type === 'bigint').map((column) => column.name);

// Prisma keeps UTC in "timestamp without time zone": AT TIME ZONE 'UTC' makes it a timestamptz, which
// pg reads as the right instant whatever the client machine's time zone.
const utc = (column: string) => `${column} AT TIME ZONE 'UTC'`;

const STEP_PIVOT = STEP_NAMES.map((step) => `max(e.duration_ms) FILTER (WHERE e.step = '${step}') AS ${step}_ms`).join(
  ',\n      ',
);

function factsQuery(byTenant: boolean): string {
  return `SELECT
    a.file_id, a.tenant_id, a.batch_id, f."filename" AS filename, a.content_type,
    a.size_bytes, a.charged_bytes, a.status, a.source, a.scan_verdict,
    ${utc('a.created_at')} AS created_at,
    ${utc('a.completed_at')} AS completed_at,
    CASE WHEN a.time_to_ready_ms IS NOT NULL THEN ${utc('a.completed_at')} END AS ready_at,
    ${utc('a.deleted_at')} AS deleted_at,
    a.deletion_reason,
    ${utc('f."expiresAt"')} AS expires_at,
    f."hold" AS hold,
    a.time_to_ready_ms,
    ${STEP_NAMES.map((step) => `s.${step}_ms`).join(', ')},
    CASE WHEN jsonb_typeof(f."renditions"::jsonb) = 'array' THEN jsonb_array_length(f."renditions"::jsonb) ELSE 0 END
      AS rendition_count,
    f."width" AS width, f."height" AS height, f."pages" AS pages
  FROM analytics.files a
  JOIN "File" f ON f."id" = a.file_id
  LEFT JOIN LATERAL (
    SELECT
      ${STEP_PIVOT}
    FROM analytics.step_events e
    WHERE e.file_id = a.file_id
  ) s ON true
  WHERE a.created_at >= $1::timestamp${byTenant ? ' AND a.tenant_id = $2' : ''}
  ORDER BY a.created_at, a.file_id`;
}

/** The selection names a tenant the database does not have: an export of it would be silently empty. */
export class UnknownTenantError extends Error {
  override name = 'UnknownTenantError';
  constructor(readonly tenantId: string) {
    super(`No tenant ${tenantId}`);
  }
}

export interface FactsSelection {
  /** Uploads created at or after this instant. */
  since: Date;
  /** One tenant's uploads; every tenant's when absent. */
  tenantId?: string;
  /** Rows fetched from the cursor at a time: what the export holds in memory at once. */
  batchSize?: number;
}

/**
 * The facts of the selected uploads, oldest first, in batches from a server-side cursor: the result is
 * never held whole on either side. It runs in one read-only REPEATABLE READ transaction, so every
 * batch comes from the same snapshot even while uploads go on.
 */
export async function* readFileFacts(databaseUrl: string, selection: FactsSelection): AsyncGenerator<FileFact[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let open = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    open = true;
    if (selection.tenantId !== undefined) {
      const tenant = await client.query('SELECT 1 FROM "Tenant" WHERE "id" = $1', [selection.tenantId]);
      if (tenant.rowCount === 0) throw new UnknownTenantError(selection.tenantId);
    }
    const params: unknown[] = [selection.since.toISOString()];
    if (selection.tenantId !== undefined) params.push(selection.tenantId);
    await client.query(
      `DECLARE file_facts NO SCROLL CURSOR FOR ${factsQuery(selection.tenantId !== undefined)}`,
      params,
    );
    const fetch = `FETCH ${Math.max(1, Math.floor(selection.batchSize ?? 2_000))} FROM file_facts`;
    for (;;) {
      const { rows } = await client.query<Record<string, unknown>>(fetch);
      if (rows.length === 0) break;
      // pg gives int8 as text (it may not fit a double): these become bigint, exactly.
      for (const row of rows) {
        for (const name of BIGINT_COLUMNS) if (row[name] !== null) row[name] = BigInt(row[name] as string);
      }
      yield rows as unknown as FileFact[];
    }
    await client.query('COMMIT');
    open = false;
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  }
}

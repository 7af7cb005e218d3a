import type { DbClient } from './db';

export const SUMMARY_GROUPS = ['day', 'contentType', 'status'] as const;
export type SummaryGroup = (typeof SUMMARY_GROUPS)[number];

/** The analytics.files column each grouping reads; a whitelist, so no request text reaches the SQL. */
const GROUP_COLUMN: Record<SummaryGroup, string> = {
  day: `to_char(day, 'YYYY-MM-DD')`,
  contentType: 'content_type',
  status: 'status',
};

export interface SummaryFigures {
  uploads: number;
  bytes: number;
  ready: number;
  timeToReadyP50Ms: number | null;
  timeToReadyP95Ms: number | null;
}

interface SummaryRow {
  key: string | null;
  uploads: bigint;
  bytes: bigint | null;
  ready: bigint;
  p50: number | null;
  p95: number | null;
}

const figures = (row: SummaryRow): SummaryFigures => ({
  uploads: Number(row.uploads),
  bytes: Number(row.bytes ?? 0),
  ready: Number(row.ready),
  timeToReadyP50Ms: row.p50,
  timeToReadyP95Ms: row.p95,
});

const FIGURES_SQL = `count(*) AS uploads, sum(size_bytes)::bigint AS bytes,
  count(time_to_ready_ms) AS ready,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY time_to_ready_ms) AS p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY time_to_ready_ms) AS p95`;

/**
 * A tenant's uploads created in [from, to), per group and in total, read from the analytics.files view
 * so the endpoint and the analysts' dashboards count the same way.
 */
export async function tenantSummary(
  db: DbClient,
  tenantId: string,
  range: { from: Date; to: Date },
  groupBy: SummaryGroup,
): Promise<{ totals: SummaryFigures; groups: (SummaryFigures & { key: string })[] }> {
  // Prisma keeps UTC in "timestamp without time zone": an ISO string cast to timestamp stays UTC.
  const where = `tenant_id = $1 AND created_at >= $2::timestamp AND created_at < $3::timestamp`;
  const params = [tenantId, range.from.toISOString(), range.to.toISOString()];
  const column = GROUP_COLUMN[groupBy];
  const [groups, totals] = await Promise.all([
    db.$queryRawUnsafe<SummaryRow[]>(
      `SELECT ${column} AS key, ${FIGURES_SQL} FROM analytics.files WHERE ${where} GROUP BY 1 ORDER BY 1`,
      ...params,
    ),
    db.$queryRawUnsafe<SummaryRow[]>(
      `SELECT NULL AS key, ${FIGURES_SQL} FROM analytics.files WHERE ${where}`,
      ...params,
    ),
  ]);
  return {
    totals: figures(totals[0]!),
    groups: groups.map((row) => ({ key: row.key ?? 'unknown', ...figures(row) })),
  };
}

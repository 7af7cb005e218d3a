import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { encodeFileCursor } from '../api/files/file-cursor';
import type { Db } from '../prisma/db';
import { listTenantFiles, type ListFilter } from '../prisma/file-records';
import { seedFiles, type SeedResult } from './seed-files';
import { percentile, round } from './stats';

/*
 * Issue 16 item 2: GET /v1/files at a million rows. seed-files.ts COPYs BENCH_SEARCH_FILES (1,000,000)
 * File rows across 100 tenants, `tenantId` holding BENCH_SEARCH_TENANT_FILES (100,000) of them. Then,
 * one request at a time through the API (never more than 50 a second, below the default per-key rps
 * limit), each query `requests` times after a warm-up: lists (first page, and a deep page from a cursor
 * of a random row), filters (status, content type, tag, date range) and q= searches (prefix, infix,
 * whole word of name, tag or text). Each figure is the time to the whole JSON body. Beside it: how
 * many of the tenant's files each query matches, and the server-side plan and execution time of the
 * very SQL the API runs (EXPLAIN ANALYZE), to see what bounds a slow one.
 */

export interface SearchQuery {
  group: 'list' | 'filter' | 'search';
  name: string;
  params: Record<string, string>;
}

export interface SearchQueryResult extends SearchQuery {
  matches: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** EXPLAIN ANALYZE of the API's SQL for this query: its execution time and the plan's top nodes. */
  explainMs: number;
  plan: string[];
}

export interface SearchResult {
  seed: SeedResult;
  tenantFiles: number;
  requests: number;
  queries: SearchQueryResult[];
  /** p95 over every request of the group. */
  groups: Record<SearchQuery['group'], { p50Ms: number; p95Ms: number }>;
  loadAverage: number[];
}

export const SEARCH_QUERIES: readonly SearchQuery[] = [
  { group: 'list', name: 'first page', params: {} },
  { group: 'list', name: 'deep page (cursor at a random row)', params: { cursor: '' } },
  { group: 'list', name: 'status=DELETED (tombstones)', params: { status: 'DELETED' } },
  { group: 'filter', name: 'status=FAILED', params: { status: 'FAILED' } },
  { group: 'filter', name: 'contentType=application/pdf', params: { contentType: 'application/pdf' } },
  { group: 'filter', name: 'contentType=image/*', params: { contentType: 'image/*' } },
  { group: 'filter', name: 'tag=invoices', params: { tag: 'invoices' } },
  { group: 'filter', name: 'tag=legal', params: { tag: 'legal' } },
  {
    group: 'filter',
    name: 'one month (createdFrom/createdBefore)',
    params: { createdFrom: '2026-03-01T00:00:00Z', createdBefore: '2026-04-01T00:00:00Z' },
  },
  { group: 'search', name: 'prefix q=holi', params: { q: 'holi' } },
  { group: 'search', name: 'infix q=iday', params: { q: 'iday' } },
  { group: 'search', name: 'whole word q=invoice', params: { q: 'invoice' } },
  { group: 'search', name: 'whole word q=lisbon', params: { q: 'lisbon' } },
  { group: 'search', name: 'word of the text q=reservation', params: { q: 'reservation' } },
  { group: 'search', name: 'two words q=wedding porto', params: { q: 'wedding porto' } },
  { group: 'search', name: 'q=holi&contentType=image/*', params: { q: 'holi', contentType: 'image/*' } },
];

/** The ListFilter the API builds from these query parameters (api/files/files.handlers.ts). */
const filterOf = (params: Record<string, string>, cursor?: ListFilter['cursor']): ListFilter => ({
  status: params.status as ListFilter['status'],
  contentType: params.contentType,
  q: params.q,
  tag: params.tag,
  createdFrom: params.createdFrom ? new Date(params.createdFrom) : undefined,
  createdBefore: params.createdBefore ? new Date(params.createdBefore) : undefined,
  limit: 21,
  cursor,
});

export async function measureSearch(options: {
  pool: pg.Pool;
  apiUrl: string;
  apiKey: string;
  tenantId: string;
  total: number;
  tenantFiles: number;
  requests: number;
  loadAverage: () => number[];
  log: (line: string) => void;
}): Promise<SearchResult> {
  const { pool, apiUrl, apiKey, tenantId, log } = options;
  const seed = await seedFiles({
    pool,
    total: options.total,
    tenants: 100,
    big: tenantId,
    bigFiles: options.tenantFiles,
    log,
  });
  log(
    `search: seeded ${seed.rows} rows in ${(seed.totalMs / 1000).toFixed(0)} s (${(seed.tableBytes / 1e9).toFixed(2)} GB)`,
  );
  const { rows: tenantRows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM "File" WHERE "tenantId" = $1`,
    [tenantId],
  );

  // Deep pages start below a random row of the tenant, as a client paging far would.
  const { rows: cursorRows } = await pool.query<{ id: string; createdAt: Date }>(
    `SELECT id, "createdAt" FROM "File" WHERE "tenantId" = $1 ORDER BY random() LIMIT $2`,
    [tenantId, options.requests + 10],
  );
  // pg reads "timestamp without time zone" as local time; Prisma's columns hold UTC.
  const utc = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000);

  // EXPLAIN ANALYZE of exactly the SQL listTenantFiles builds, through a stand-in for the Prisma client.
  const explainDb = {
    $queryRawUnsafe: async (sql: string, ...params: unknown[]) =>
      (await pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params)).rows,
  } as unknown as Db;

  const results: SearchQueryResult[] = [];
  const byGroup: Record<SearchQuery['group'], number[]> = { list: [], filter: [], search: [] };
  let lastStart = 0;
  for (const query of SEARCH_QUERIES) {
    const deep = 'cursor' in query.params;
    const cursorAt = (i: number) => {
      const row = cursorRows[i % cursorRows.length]!;
      return { id: row.id, createdAt: utc(row.createdAt) };
    };
    const get = async (i: number) => {
      const params = new URLSearchParams(query.params);
      if (deep) params.set('cursor', encodeFileCursor(cursorAt(i)));
      // At most 50 requests a second: the default per-key limit is 100.
      const wait = lastStart + 20 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      lastStart = performance.now();
      const started = performance.now();
      const response = await fetch(`${apiUrl}/v1/files?${params}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const body = (await response.json()) as { items?: unknown[] };
      const ms = performance.now() - started;
      if (response.status !== 200 || !Array.isArray(body.items)) {
        throw new Error(
          `search bench: ${query.name} answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`,
        );
      }
      return ms;
    };
    for (let i = 0; i < 5; i++) await get(i);
    const times: number[] = [];
    for (let i = 0; i < options.requests; i++) times.push(await get(i + 5));
    byGroup[query.group].push(...times);

    const filter = filterOf(query.params, deep ? cursorAt(0) : undefined);
    const [explained] = (await listTenantFiles(explainDb, tenantId, filter)) as unknown as {
      'QUERY PLAN': [{ 'Execution Time': number; Plan: PlanNode }];
    }[];
    const plan = explained!['QUERY PLAN'][0];
    const matches = await countMatches(pool, tenantId, { ...filter, cursor: undefined });
    const result: SearchQueryResult = {
      ...query,
      matches,
      p50Ms: round(percentile(times, 50), 1),
      p95Ms: round(percentile(times, 95), 1),
      maxMs: round(Math.max(...times), 1),
      explainMs: round(plan['Execution Time'], 2),
      plan: planLines(plan.Plan),
    };
    log(
      `search ${query.group} ${query.name}: p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms (${matches} matches; SQL ${result.explainMs} ms)`,
    );
    results.push(result);
  }
  const groups = Object.fromEntries(
    Object.entries(byGroup).map(([group, times]) => [
      group,
      { p50Ms: round(percentile(times, 50), 1), p95Ms: round(percentile(times, 95), 1) },
    ]),
  ) as SearchResult['groups'];
  return {
    seed,
    tenantFiles: Number(tenantRows[0]!.n),
    requests: options.requests,
    queries: results,
    groups,
    loadAverage: options.loadAverage(),
  };
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Total Time'?: number;
  Plans?: PlanNode[];
}

/** The plan as short lines, indented by depth: node, index, rows, time. */
function planLines(node: PlanNode, depth = 0): string[] {
  const line = `${'  '.repeat(depth)}${node['Node Type']}${node['Index Name'] ? ` on ${node['Index Name']}` : ''} (rows ${node['Actual Rows']}, ${round(node['Actual Total Time'] ?? 0, 2)} ms)`;
  return [line, ...(node.Plans ?? []).flatMap((child) => planLines(child, depth + 1))];
}

/** How many of the tenant's files a query matches: the listing with no page limit, counted. */
async function countMatches(pool: pg.Pool, tenantId: string, filter: ListFilter): Promise<number> {
  const countDb = {
    $queryRawUnsafe: async (sql: string, ...params: unknown[]) =>
      (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) AS matched`, params)).rows,
  } as unknown as Db;
  const [row] = (await listTenantFiles(countDb, tenantId, { ...filter, limit: 100_000_000 })) as unknown as {
    n: string;
  }[];
  return Number(row!.n);
}

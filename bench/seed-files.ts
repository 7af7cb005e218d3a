import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { searchVectorSql } from '../prisma/files';
import { generateWebhookSecret } from '../prisma/tenants';
import { seededRandom } from './images';
import { rowMaker, copyLine, SEED_COLUMNS } from './seed-rows';

/*
 * Seeds `total` File rows across `tenants` tenants with COPY, the way a deployment that has run for two
 * years looks: one tenant (`big`) holds `bigFiles` of them, the others share the rest unevenly (a few
 * large, many small), uploads of all tenants interleaved in time as they arrive. Rows stream into an
 * UNLOGGED seed table, then one INSERT … SELECT writes them into "File" with the search vector the
 * index step would write (prisma/files.ts searchVectorSql), so the search index is the real one.
 * The File table's non-unique indexes are dropped for the load and rebuilt from their own definitions
 * after it (faster than a million index inserts each), and the row triggers are off for this session
 * only (session_replication_role): a million File_notify_change NOTIFYs would wake no one.
 */

export interface SeedResult {
  rows: number;
  tenants: number;
  copyMs: number;
  insertMs: number;
  indexMs: number;
  totalMs: number;
  tableBytes: number;
}

/** Tenant sizes: `big` gets bigFiles, the others a Zipf-like share of the rest that sums exactly. */
export function tenantSizes(total: number, tenants: number, bigFiles: number): number[] {
  const rest = total - bigFiles;
  const weights = Array.from({ length: tenants - 1 }, (_, i) => 1 / (i + 2) ** 0.8);
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor((rest * w) / sum));
  sizes[0]! += rest - sizes.reduce((a, b) => a + b, 0);
  return [bigFiles, ...sizes];
}

export async function seedFiles(options: {
  pool: pg.Pool;
  total: number;
  tenants: number;
  big: string;
  bigFiles: number;
  seed?: number;
  /** The other tenants' ids are `<prefix>-001`…; a second seeding in the same database takes its own. */
  tenantPrefix?: string;
  log: (line: string) => void;
}): Promise<SeedResult & { tenantIds: string[]; sizes: number[] }> {
  const { pool, total, tenants, big, bigFiles, log } = options;
  const seed = options.seed ?? 16;
  const started = Date.now();
  const sizes = tenantSizes(total, tenants, bigFiles);
  const tenantIds = [
    big,
    ...Array.from(
      { length: tenants - 1 },
      (_, i) => `${options.tenantPrefix ?? 'seed'}-${String(i + 1).padStart(3, '0')}`,
    ),
  ];
  // Which tenant each upload is, in upload order: exact counts, shuffled (Fisher–Yates, seeded).
  const owner = new Uint8Array(total);
  let at = 0;
  sizes.forEach((size, t) => owner.fill(t, at, (at += size)));
  const random = seededRandom(seed);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [owner[i], owner[j]] = [owner[j]!, owner[i]!];
  }
  const span = 730 * 86_400_000;
  const first = Date.UTC(2025, 0, 1);

  const client = await pool.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    await client.query(`SET maintenance_work_mem = '256MB'`);
    for (const id of tenantIds) {
      await client.query(`INSERT INTO "Tenant" (id, "webhookSecret") VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [
        id,
        generateWebhookSecret(),
      ]);
    }
    await client.query(`DROP TABLE IF EXISTS seed_file`);
    await client.query(`
      CREATE UNLOGGED TABLE seed_file AS
        SELECT id, "tenantId", "workflowId", filename, "declaredContentType", "contentType", size, sha256, status,
               "chargedBytes", reason, width, height, tags, renditions, steps, "storageKey", "quarantineKey",
               "retentionMs", "createdAt", "updatedAt", "completedAt", "deletedAt", "deletionReason", pages,
               "bodyText", ''::text AS names, ''::text AS "tagsText", ''::text AS content
          FROM "File" WITH NO DATA`);

    const make = rowMaker(seed + 1);
    const lines = Readable.from(
      (function* () {
        let chunk = '';
        for (let i = 0; i < total; i++) {
          // Uploads spread over two years, in order, a little jitter so instants rarely repeat.
          const createdAt = new Date(first + Math.floor(((i + random()) * span) / total));
          chunk += copyLine(make(tenantIds[owner[i]!]!, createdAt));
          if (chunk.length > 1 << 20) {
            yield chunk;
            chunk = '';
          }
          if ((i + 1) % 200_000 === 0) log(`seed: ${i + 1} rows generated`);
        }
        if (chunk) yield chunk;
      })(),
    );
    await pipeline(
      lines,
      client.query(copyFrom(`COPY seed_file (${SEED_COLUMNS.map((c) => `"${c}"`).join(', ')}) FROM STDIN`)),
    );
    const copyMs = Date.now() - started;
    log(`seed: ${total} rows copied in ${(copyMs / 1000).toFixed(1)} s`);

    const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename = 'File' AND indexdef NOT LIKE 'CREATE UNIQUE%'`,
    );
    for (const index of indexes) await client.query(`DROP INDEX "${index.indexname}"`);
    const fileColumns = SEED_COLUMNS.filter((c) => c !== 'names' && c !== 'tagsText' && c !== 'content');
    const insertStarted = Date.now();
    await client.query(`
      INSERT INTO "File" (${fileColumns.map((c) => `"${c}"`).join(', ')}, "searchVector")
      SELECT ${fileColumns.map((c) => `"${c}"`).join(', ')},
             CASE WHEN names IS NULL THEN NULL ELSE ${searchVectorSql('names', `"tagsText"`, 'content')} END
        FROM seed_file`);
    const insertMs = Date.now() - insertStarted;
    log(`seed: inserted into "File" with search vectors in ${(insertMs / 1000).toFixed(1)} s`);
    await client.query(`DROP TABLE seed_file`);
    const indexStarted = Date.now();
    for (const index of indexes) await client.query(index.indexdef);
    await client.query(`ANALYZE "File"`);
    const indexMs = Date.now() - indexStarted;
    log(`seed: ${indexes.length} indexes rebuilt and analysed in ${(indexMs / 1000).toFixed(1)} s`);
    // Usage as prisma/quotas.ts keeps it: bytes and files still charged.
    await client.query(
      `
      UPDATE "Tenant" t SET "storedBytes" = u.bytes, "fileCount" = u.files
        FROM (SELECT "tenantId", sum("chargedBytes") AS bytes, count(*) AS files FROM "File"
               WHERE "chargedBytes" IS NOT NULL GROUP BY "tenantId") u
       WHERE t.id = u."tenantId" AND t.id = ANY($1)`,
      [tenantIds],
    );
    const { rows: size } = await client.query<{ bytes: string }>(`SELECT pg_total_relation_size('"File"') AS bytes`);
    return {
      rows: total,
      tenants,
      tenantIds,
      sizes,
      copyMs,
      insertMs,
      indexMs,
      totalMs: Date.now() - started,
      tableBytes: Number(size[0]!.bytes),
    };
  } finally {
    await client.query(`RESET session_replication_role`).catch(() => undefined);
    client.release();
  }
}

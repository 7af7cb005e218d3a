import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileView } from '../../api/file-view';
import { STEP_NAMES } from '../../common/domain';
import { getObjectStream, readStream } from '../../lib/s3-objects';
import { FILE_FACT_COLUMNS } from '../../prisma/file-facts';
import { readCsv, readParquet } from '../support/export-readers';
import { corruptJpeg, eicarTestFile, photoWithExif } from '../support/sample-files';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * `intake export` as an operator runs it: bin/intake.mjs as a child process against the real stack.
 * Files of known outcomes go through the real pipeline (clamd finds EICAR, sharp rejects the corrupt
 * JPEG); the Parquet file is read back with hyparquet and the CSV with csv-parse, neither of them the
 * writer's library, and every row must equal the upload as the API describes it.
 */

const KEYS = { 'export-e2e': 'export-e2e-key-0001', 'export-other': 'export-other-key-0002' } as const;
type Tenant = keyof typeof KEYS;
const BIN = join(process.cwd(), 'bin', 'intake.mjs');

let intake: RunningIntake<Tenant>;
let work: string;
/** The uploads of this file's tests, as the API shows them once settled, oldest first. */
let mine: FileView[];
let other: FileView[];

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: work,
      env: { ...process.env, DATABASE_URL: intake.config.databaseUrl, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr });
    });
  });
}

const ms = (iso: string | null) => (iso === null ? null : new Date(iso));
const duration = (view: FileView, step: string) => {
  const s = view.steps?.[step];
  return s?.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : null;
};

function scanVerdict(view: FileView): string {
  if (view.status === 'INFECTED') return 'infected';
  const state = view.steps?.scan?.state;
  return state === 'done' ? 'clean' : state === 'failed' ? 'error' : 'not_scanned';
}

/** The export's row for an upload, from the API's view of it (typed as the Parquet file holds it). */
function factOf(view: FileView, tenant: Tenant) {
  const ready = view.status === 'READY';
  return {
    file_id: view.id,
    tenant_id: tenant,
    batch_id: view.batchId,
    filename: view.filename,
    content_type: view.contentType ?? view.declaredContentType ?? 'unknown',
    size_bytes: BigInt(view.size),
    status: view.status,
    source: 'http',
    scan_verdict: scanVerdict(view),
    created_at: ms(view.createdAt),
    completed_at: ms(view.completedAt),
    ready_at: ready ? ms(view.completedAt) : null,
    deleted_at: ms(view.deletedAt),
    deletion_reason: null,
    expires_at: ms(view.expiresAt),
    hold: view.hold,
    time_to_ready_ms: ready ? Date.parse(view.completedAt!) - Date.parse(view.createdAt) : null,
    ...Object.fromEntries(STEP_NAMES.map((step) => [`${step}_ms`, duration(view, step)])),
    rendition_count: view.renditions.length,
    width: view.width,
    height: view.height,
    pages: view.pages,
  };
}

/** The same row as CSV text: ISO times, true/false, empty for null. */
function csvOf(fact: ReturnType<typeof factOf>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fact).map(([key, value]) => [
      key,
      value === null ? '' : value instanceof Date ? value.toISOString() : String(value),
    ]),
  );
}

/** Parquet rows without charged_bytes, which the API does not show (checked against Postgres apart). */
const withoutCharge = (rows: Record<string, unknown>[]) => rows.map(({ charged_bytes: _, ...rest }) => rest);

beforeAll(async () => {
  intake = await startIntake({ tenants: KEYS });
  work = mkdtempSync(join(tmpdir(), 'intake-export-e2e-'));
  const client = intake.clients['export-e2e'];
  const photo = await photoWithExif({ width: 64, height: 48, orientation: 1 });
  const accepted = [];
  // One at a time, so created_at orders them as uploaded; a filename CSV must quote.
  // The raw body keeps the quotes of a filename as they are (a multipart form encodes them as %22).
  for (const [body, filename] of [
    [photo, 'a.jpg'],
    [photo, 'holiday, "best" one.jpg'],
    [eicarTestFile(), 'eicar.txt'],
    [corruptJpeg(), 'broken.jpg'],
  ] as const) {
    accepted.push(await client.uploadFile(body, { filename, mode: 'raw' }));
  }
  const theirs = await intake.clients['export-other'].uploadFile(photo, { filename: 'other.jpg' });

  // Settled: the outcome recorded and the notify step finished, so the row changes no more.
  const settled = (tenant: Tenant, id: string) =>
    waitUntil(
      `${id} settled`,
      async () => {
        const view = await intake.clients[tenant].getFile(id);
        const notify = view.steps?.notify?.state;
        return view.status !== 'PROCESSING' && notify !== 'pending' && notify !== 'running' ? view : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  mine = await Promise.all(accepted.map((file) => settled('export-e2e', file.id)));
  other = [await settled('export-other', theirs.id)];
  expect(mine.map((view) => view.status)).toEqual(['READY', 'READY', 'INFECTED', 'REJECTED']);
}, 240_000);

afterAll(async () => {
  await intake?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('intake export', () => {
  it("writes a tenant's uploads to a Parquet file that hyparquet reads back row for row, typed", async () => {
    const out = join(work, 'mine.parquet');
    const run = await cli(['export', '--tenant', 'export-e2e', '--since', '1h', '--format', 'parquet', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^Exported 4 files created since .* of tenant export-e2e \(\d+ bytes of parquet\) to /);

    const rows = await readParquet(readFileSync(out));
    expect(rows.map((row) => Object.keys(row))).toEqual(rows.map(() => FILE_FACT_COLUMNS.map((c) => c.name)));
    expect(withoutCharge(rows)).toEqual(mine.map((view) => factOf(view, 'export-e2e')));
    // The quota charge of each, as Postgres holds it: READY files hold their bytes, the others none.
    const charged = await intake.db.file.findMany({ where: { tenantId: 'export-e2e' }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((row) => row.charged_bytes)).toEqual(charged.map((row) => row.chargedBytes));
    // Nothing left beside it: the file was written under another name and renamed.
    expect(readdirSync(work).filter((name) => name.includes('intake-part'))).toEqual([]);
  });

  it('uploads CSV to S3 under exports/, encrypted, and prints the key; csv-parse reads back every upload', async () => {
    const run = await cli(['export', '--tenant', 'export-e2e', '--since', '1h', '--to-s3']);
    expect(run.code, run.stderr).toBe(0);
    const key = run.stdout.toString().trim();
    expect(key).toMatch(/^exports\/tenant=export-e2e\/files-\d{8}T\d{6}Z-[0-9a-f]{8}\.csv$/);

    const head = await intake.s3.send(new HeadObjectCommand({ Bucket: intake.config.s3.bucket, Key: key }));
    expect(head.ServerSideEncryption).toBe('AES256');
    expect(head.ContentType).toBe('text/csv; charset=utf-8');
    const csv = (await readStream(await getObjectStream(intake.s3, intake.config.s3.bucket, key))).toString('utf8');
    const rows = readCsv(csv);
    expect(rows.map(({ charged_bytes: _, ...rest }) => rest)).toEqual(
      mine.map((view) => csvOf(factOf(view, 'export-e2e'))),
    );
    expect(rows[1]!.filename).toBe('holiday, "best" one.jpg');
    expect(csv).toContain('"holiday, ""best"" one.jpg"');
  });

  it("exports every tenant's uploads without --tenant, as Parquet in S3, and one tenant's CSV to stdout", async () => {
    const all = await cli(['export', '--since', '1h', '--format', 'parquet', '--to-s3']);
    expect(all.code, all.stderr).toBe(0);
    const key = all.stdout.toString().trim();
    expect(key).toMatch(/^exports\/all\/files-\d{8}T\d{6}Z-[0-9a-f]{8}\.parquet$/);
    const head = await intake.s3.send(new HeadObjectCommand({ Bucket: intake.config.s3.bucket, Key: key }));
    expect(head.ServerSideEncryption).toBe('AES256');
    const rows = await readParquet(await readStream(await getObjectStream(intake.s3, intake.config.s3.bucket, key)));
    // Other test files share the stack: only this file's uploads are compared.
    const ours = new Set([...mine, ...other].map((view) => view.id));
    expect(withoutCharge(rows.filter((row) => ours.has(row.file_id as string)))).toEqual(
      [...mine.map((view) => factOf(view, 'export-e2e')), ...other.map((view) => factOf(view, 'export-other'))].sort(
        (a, b) => a.created_at!.getTime() - b.created_at!.getTime(),
      ),
    );

    const stdout = await cli(['export', '--tenant', 'export-other', '--since', '1h']);
    expect(stdout.code, stdout.stderr).toBe(0);
    expect(readCsv(stdout.stdout.toString('utf8')).map(({ charged_bytes: _, ...rest }) => rest)).toEqual(
      other.map((view) => csvOf(factOf(view, 'export-other'))),
    );
  });

  it('fails with a reason and exit 1 for an unknown tenant, an existing --out, and an unreachable database', async () => {
    const unknown = await cli(['export', '--tenant', 'nobody', '--since', '1h']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('intake: No tenant nobody: nothing to export.\n');

    const existing = join(work, 'kept.csv');
    writeFileSync(existing, 'mine\n');
    const refused = await cli(['export', '--since', '1h', '--out', existing]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/kept\.csv exists; pass --force/);
    expect(readFileSync(existing, 'utf8')).toBe('mine\n');
    const forced = await cli(['export', '--tenant', 'export-other', '--since', '1h', '--out', existing, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readCsv(readFileSync(existing, 'utf8'))).toHaveLength(1);

    // A database that is not there: no file under the name, and no partial one beside it.
    const url = new URL(intake.config.databaseUrl);
    url.port = '1';
    const out = join(work, 'never.parquet');
    const down = await cli(['export', '--since', '1h', '--format', 'parquet', '--out', out], {
      DATABASE_URL: url.toString(),
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^intake: .*ECONNREFUSED/);
    expect(down.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(work).filter((name) => name.includes('never'))).toEqual([]);
  });
});

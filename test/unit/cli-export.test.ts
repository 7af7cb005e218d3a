import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../../cli/errors';
import { exportKey } from '../../cli/operator/export-admin';
import { csvOfFacts } from '../../cli/operator/facts-csv';
import { writeFactsParquet } from '../../cli/operator/facts-parquet';
import type { Terminal } from '../../cli/output/terminal';
import { createProgram } from '../../cli/program';
import { FILE_FACT_COLUMNS, type FileFact } from '../../prisma/file-facts';
import { parquetColumns, readCsv, readParquet } from '../support/export-readers';

/*
 * `intake export` without a database: its flags (every bad one a usage error before any connection),
 * and its two writers, each read back by an independent reader (csv-parse, hyparquet).
 */

const work = mkdtempSync(join(tmpdir(), 'intake-export-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(...args: string[]) {
  let out = '';
  let err = '';
  const terminal: Terminal = {
    stdout: { write: (chunk) => (out += String(chunk)) },
    stderr: { write: (chunk) => (err += String(chunk)) },
  };
  let exitCode = 0;
  try {
    await createProgram(terminal).parseAsync(args, { from: 'user' });
  } catch (error) {
    ({ exitCode } = describeFailure(error));
  }
  return { exitCode, stdout: out, stderr: err };
}

const fact = (overrides: Partial<FileFact>): FileFact => ({
  file_id: 'f_1',
  tenant_id: 'acme',
  batch_id: null,
  filename: 'a.jpg',
  content_type: 'image/jpeg',
  size_bytes: 1000n,
  charged_bytes: 1000n,
  status: 'READY',
  source: 'http',
  scan_verdict: 'clean',
  created_at: new Date('2026-12-01T10:00:00.123Z'),
  completed_at: new Date('2026-12-01T10:00:02.500Z'),
  ready_at: new Date('2026-12-01T10:00:02.500Z'),
  deleted_at: null,
  deletion_reason: null,
  expires_at: null,
  hold: false,
  time_to_ready_ms: 2377,
  scan_ms: 250.5,
  validate_ms: 1000,
  resize_ms: null,
  store_ms: 12,
  index_ms: 3,
  notify_ms: 1,
  rendition_count: 3,
  width: 640,
  height: 480,
  pages: null,
  ...overrides,
});

const FACTS: FileFact[] = [
  fact({}),
  fact({
    file_id: 'f_2',
    // Every character CSV must quote, a formula, and more than 2^53 bytes (exact only as INT64).
    filename: 'report, "final"\nv2.pdf',
    content_type: 'application/pdf',
    size_bytes: 9_007_199_254_740_993n,
    charged_bytes: null,
    status: 'DELETED',
    completed_at: new Date('2026-12-01T11:00:00Z'),
    ready_at: null,
    deleted_at: new Date('2026-12-02T00:00:00Z'),
    deletion_reason: 'expired',
    expires_at: new Date('2026-12-02T00:00:00Z'),
    hold: true,
    time_to_ready_ms: null,
    scan_ms: null,
    validate_ms: null,
    store_ms: null,
    index_ms: null,
    notify_ms: null,
    rendition_count: 0,
    width: null,
    height: null,
    pages: 12,
  }),
  fact({ file_id: 'f_3', filename: '=HYPERLINK("http://evil.example")', batch_id: 'b_1', source: 'kafka' }),
];

async function* inBatches(rows: FileFact[], size: number): AsyncGenerator<FileFact[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

describe('intake export flags', () => {
  it('refuses each bad flag as a usage error (exit 2) that says what is wrong, before any connection', async () => {
    for (const [args, message] of [
      [['--since', 'yesterday'], /'--since <when>' argument 'yesterday' is invalid/],
      [['--since', '2999-01-01'], /must not be in the future/],
      [['--format', 'xlsx'], /Allowed choices are csv, parquet/],
      [['--out', 'x.csv', '--to-s3'], /'--out <file>' cannot be used with option '--to-s3'/],
      [['--format', 'parquet'], /Parquet is binary: give --out <file> or --to-s3/],
      [['--force'], /--force goes with --out/],
      [['--tenant', 'Not A Tenant'], /A tenant id is lowercase letters/],
      [['--bogus'], /unknown option '--bogus'/],
    ] as const) {
      // Reaching the database would fail differently (exit 1): exit 2 means refused before it.
      const result = await run('export', ...args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^intake: /);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('names S3 keys under exports/, per tenant or for all of them', () => {
    const now = new Date('2026-12-04T06:30:00.123Z');
    expect(exportKey('csv', 'acme', now)).toMatch(/^exports\/tenant=acme\/files-20261204T063000Z-[0-9a-f]{8}\.csv$/);
    expect(exportKey('parquet', undefined, now)).toMatch(/^exports\/all\/files-20261204T063000Z-[0-9a-f]{8}\.parquet$/);
  });
});

describe('the CSV writer', () => {
  it('quotes what needs quoting, so a CSV parser reads back every value', async () => {
    const csv = await text(Readable.from(FACTS).pipe(csvOfFacts()));
    const rows = readCsv(csv);
    expect(Object.keys(rows[0]!)).toEqual(FILE_FACT_COLUMNS.map((column) => column.name));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      file_id: 'f_1',
      batch_id: '',
      size_bytes: '1000',
      created_at: '2026-12-01T10:00:00.123Z',
      deleted_at: '',
      hold: 'false',
      scan_ms: '250.5',
      resize_ms: '',
      rendition_count: '3',
    });
    expect(rows[1]).toMatchObject({
      filename: 'report, "final"\nv2.pdf',
      size_bytes: '9007199254740993',
      charged_bytes: '',
      deletion_reason: 'expired',
      hold: 'true',
      pages: '12',
    });
    // A spreadsheet would run this as a formula: it is written as text.
    expect(rows[2]!.filename).toBe(`'=HYPERLINK("http://evil.example")`);
  });
});

describe('the Parquet writer', () => {
  it('writes typed columns that hyparquet reads back row for row', async () => {
    const path = join(work, 'facts.parquet');
    const dir = mkdtempSync(join(work, 'duck-'));
    expect(await writeFactsParquet(inBatches(FACTS, 2), path, dir)).toBe(3);

    const bytes = readFileSync(path);
    const types = Object.fromEntries(parquetColumns(bytes).map((column) => [column.name, column]));
    expect(Object.keys(types)).toEqual(FILE_FACT_COLUMNS.map((column) => column.name));
    expect(types.size_bytes).toMatchObject({ type: 'INT64' });
    expect(types.rendition_count).toMatchObject({ type: 'INT32' });
    expect(types.scan_ms).toMatchObject({ type: 'DOUBLE' });
    expect(types.hold).toMatchObject({ type: 'BOOLEAN' });
    expect(types.filename).toMatchObject({ type: 'BYTE_ARRAY', converted: 'UTF8' });
    expect(types.created_at).toMatchObject({
      type: 'INT64',
      logical: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
    });

    // Parquet keeps the text as it is: no formula escaping there.
    expect(await readParquet(bytes)).toEqual(FACTS);
  });
});

import { join } from 'node:path';
import { DuckDBInstance, timestampTZValue, type DuckDBAppender } from '@duckdb/node-api';
import { FILE_FACT_COLUMNS, type FactType, type FileFact } from '../../prisma/file-facts';

/*
 * Parquet through DuckDB (@duckdb/node-api): the batches are appended to a table of a DuckDB database
 * file in a work folder, then one COPY writes the Parquet file. DuckDB keeps at most MEMORY_LIMIT of
 * it in memory and spills the rest to that folder, so the export never holds the whole result.
 */

const MEMORY_LIMIT = '256MB';

/** Parquet types: INT64, INT32, DOUBLE, BOOLEAN, and TIMESTAMP(MICROS, isAdjustedToUTC) for the times. */
const DUCKDB_TYPE: Record<FactType, string> = {
  varchar: 'VARCHAR',
  bigint: 'BIGINT',
  integer: 'INTEGER',
  double: 'DOUBLE',
  timestamp: 'TIMESTAMPTZ',
  boolean: 'BOOLEAN',
};

function appendValue(appender: DuckDBAppender, type: FactType, value: unknown): void {
  if (value === null || value === undefined) return appender.appendNull();
  switch (type) {
    case 'varchar':
      return appender.appendVarchar(value as string);
    case 'bigint':
      return appender.appendBigInt(value as bigint);
    case 'integer':
      return appender.appendInteger(value as number);
    case 'double':
      return appender.appendDouble(value as number);
    case 'timestamp':
      return appender.appendTimestampTZ(timestampTZValue(BigInt((value as Date).getTime()) * 1000n));
    case 'boolean':
      return appender.appendBoolean(value as boolean);
  }
}

/** A path as an SQL string literal (COPY takes no parameter for it). */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * Writes the batches to `path` as Parquet (snappy, which every reader has) and returns the row count.
 * `workDir` is an empty folder of the caller's for DuckDB's database and spill files.
 */
export async function writeFactsParquet(
  batches: AsyncIterable<FileFact[]>,
  path: string,
  workDir: string,
): Promise<number> {
  const instance = await DuckDBInstance.create(join(workDir, 'facts.duckdb'), {
    memory_limit: MEMORY_LIMIT,
    temp_directory: join(workDir, 'spill'),
  });
  const connection = await instance.connect();
  try {
    const columns = FILE_FACT_COLUMNS.map((column) => `${column.name} ${DUCKDB_TYPE[column.type]}`).join(', ');
    await connection.run(`CREATE TABLE file_facts (${columns})`);
    const appender = await connection.createAppender('file_facts');
    let rows = 0;
    try {
      for await (const batch of batches) {
        for (const row of batch) {
          for (const column of FILE_FACT_COLUMNS) appendValue(appender, column.type, row[column.name]);
          appender.endRow();
        }
        appender.flushSync();
        rows += batch.length;
      }
    } catch (error) {
      try {
        appender.closeSync();
      } catch {
        // A row left half-appended cannot be flushed: the first error is the one to report.
      }
      throw error;
    }
    appender.closeSync();
    // Insertion order is kept (DuckDB's preserve_insertion_order), so the file is oldest first too.
    await connection.run(`COPY file_facts TO ${literal(path)} (FORMAT parquet, COMPRESSION snappy)`);
    return rows;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

import { parse } from 'csv-parse/sync';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';

/*
 * Readers for `intake export` files that share no code with its writers: hyparquet (pure JavaScript,
 * not DuckDB) for Parquet and csv-parse (not csv-stringify's code) for CSV.
 */

/** Parquet bytes → rows as hyparquet gives them: INT64 as bigint, timestamps as Date, DOUBLE as number. */
export async function readParquet(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: arrayBufferOf(bytes) });
}

/** The Parquet schema's leaf columns: name, physical type, converted (legacy) and logical type. */
export function parquetColumns(
  bytes: Uint8Array,
): { name: string; type: string | undefined; converted: string | undefined; logical: unknown }[] {
  const schema = parquetSchema(parquetMetadata(arrayBufferOf(bytes)));
  return schema.children.map((child) => ({
    name: child.element.name,
    type: child.element.type,
    converted: child.element.converted_type,
    logical: child.element.logical_type,
  }));
}

/** CSV text → one object per line after the header, every value a string (empty for null). */
export function readCsv(text: string): Record<string, string>[] {
  return parse(text, { columns: true, skip_empty_lines: false }) as Record<string, string>[];
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

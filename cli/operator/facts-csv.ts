import { stringify, type Stringifier } from 'csv-stringify';
import { FILE_FACT_COLUMNS } from '../../prisma/file-facts';

/**
 * Rows of file facts in, RFC 4180 CSV text out (csv-stringify): a header line, a field quoted whenever
 * it holds a comma, a quote or a line break. Timestamps are ISO 8601 UTC, booleans true/false, empty
 * for null. A text field that starts with = + - @ or a tab gets a leading ' (csv-stringify's
 * escape_formulas), so a tenant's filename cannot run as a formula in the spreadsheet that opens it.
 */
export function csvOfFacts(): Stringifier {
  return stringify({
    header: true,
    columns: FILE_FACT_COLUMNS.map((column) => column.name),
    escape_formulas: true,
    cast: {
      date: (value) => value.toISOString(),
      boolean: (value) => (value ? 'true' : 'false'),
    },
  });
}

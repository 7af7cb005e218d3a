import Table from 'cli-table3';

/** A boxed table (cli-table3) without colours, so it reads the same in a terminal, a pipe and a test. */
export function renderTable(
  head: string[],
  rows: readonly (readonly (string | number | null | undefined)[])[],
): string {
  const table = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const row of rows) table.push(row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  return table.toString();
}

/** Two columns, label and value, for one record (a file, a batch). */
export function renderFields(fields: readonly (readonly [string, string | number | null | undefined])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields
    .filter(([, value]) => value !== undefined)
    .map(([label, value]) => `${label.padEnd(width)}  ${value === null || value === '' ? '—' : value}`)
    .join('\n');
}

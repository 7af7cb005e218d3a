import { join } from 'node:path';

/*
 * pg_dump and pg_restore are libpq programs: they refuse the query parameters Prisma adds to a
 * DATABASE_URL (schema, connection_limit, …), and a password on their command line shows in every
 * process list. This turns a DATABASE_URL into what they take.
 */

/** Prisma's own URL parameters, which libpq does not know. */
const PRISMA_ONLY = new Set([
  'schema',
  'connection_limit',
  'pool_timeout',
  'pgbouncer',
  'statement_cache_size',
  'socket_timeout',
  'sslaccept',
]);

export interface LibpqConnection {
  /** The URL without its password or Prisma-only parameters. */
  url: string;
  /** Variables to add to the tool's environment (PGPASSWORD). */
  env: Record<string, string>;
}

export function libpqConnection(databaseUrl: string): LibpqConnection {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  for (const name of [...url.searchParams.keys()]) if (PRISMA_ONLY.has(name)) url.searchParams.delete(name);
  return { url: url.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/** The path of a PostgreSQL client tool: in INTAKE_PG_BIN_DIR when set, else found on PATH. */
export function postgresTool(name: 'pg_dump' | 'pg_restore', binDir: string | undefined): string {
  return binDir ? join(binDir, name) : name;
}

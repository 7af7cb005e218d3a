import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

// Postgres type OIDs (pg_type.oid) of the system catalogs' own column types, all sent as plain text:
// `name` is the 63-byte identifier type, `"char"` the one-byte code type (e.g. pg_class.relkind).
const CATALOG_TEXT_TYPES = new Set([18 /* "char" */, 19 /* name */]);
const NAME_ARRAY = 1003;
const TEXT = 25;
const TEXT_ARRAY = 1009;

interface RowDescription {
  fields: { dataTypeID: number }[];
}

/**
 * A pg client that reports catalog `name` and `"char"` columns as `text`. Prisma Migrate's Wasm schema
 * engine reads system catalogs with such columns, and @prisma/adapter-pg 6.x rejects those types
 * ("Column type 'name' could not be deserialized", prisma/orm#27403). They arrive as UTF-8 text like
 * `text` does, so relabelling the row description before pg decodes it changes nothing else.
 */
class NameAsTextClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // Prepended so it runs before the client's own rowDescription handler, which is attached on connect.
    this.connection.prependListener('rowDescription', (message: RowDescription) => {
      for (const field of message.fields) {
        if (CATALOG_TEXT_TYPES.has(field.dataTypeID)) field.dataTypeID = TEXT;
        else if (field.dataTypeID === NAME_ARRAY) field.dataTypeID = TEXT_ARRAY;
      }
    });
  }
}

/**
 * Discrete connection settings rather than a connectionString: the adapter opens the shadow database
 * (migrate dev/diff) as `{ ...config, database }`, and pg lets a connectionString override `database`.
 */
function connectionSettings(databaseUrl: string): pg.PoolConfig {
  const url = new URL(databaseUrl);
  const sslmode = url.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(url.hostname) || 'localhost',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    database: decodeURIComponent(url.pathname.slice(1)) || undefined,
    ssl: sslmode && sslmode !== 'disable' ? { rejectUnauthorized: sslmode === 'verify-full' } : undefined,
  };
}

/** The driver adapter the Prisma CLI (migrate deploy/dev/diff) uses through prisma.config.ts. */
export function createMigrateAdapter(databaseUrl: string): PrismaPg {
  return new PrismaPg({ ...connectionSettings(databaseUrl), max: 2, Client: NameAsTextClient });
}

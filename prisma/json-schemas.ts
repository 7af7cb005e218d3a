import { newId } from '../lib/ids';
import type { DbClient, JsonSchema } from './db';

/*
 * The JsonSchema table's repository. Every PUT adds a version (never rewrites one), and a DELETE marks
 * every version deleted: an upload pins the version current when it arrived, and is checked against
 * exactly that one whatever happens to the name afterwards.
 */

/** A JSON Schema document: an object, or true/false. */
export type JsonSchemaDocument = object | boolean;

export type JsonSchemaRow = Omit<JsonSchema, 'schema'> & { schema: JsonSchemaDocument };

/*
 * The column is text holding JSON.stringify's output, not jsonb: JSON may carry \u0000 and unpaired
 * surrogates in keys and strings, which jsonb refuses, while JSON.stringify escapes both.
 */
const toRow = (row: JsonSchema): JsonSchemaRow => ({ ...row, schema: JSON.parse(row.schema) as JsonSchemaDocument });

/** The version new uploads naming `name` use: the newest one not deleted. */
export async function findCurrentSchema(db: DbClient, tenantId: string, name: string): Promise<JsonSchemaRow | null> {
  const row = await db.jsonSchema.findFirst({
    where: { tenantId, name, deletedAt: null },
    orderBy: { version: 'desc' },
  });
  return row && toRow(row);
}

/** A pinned version, deleted or not: what an upload that named it is checked against. */
export async function findSchemaVersion(
  db: DbClient,
  tenantId: string,
  name: string,
  version: number,
): Promise<JsonSchemaRow | null> {
  const row = await db.jsonSchema.findUnique({ where: { tenantId_name_version: { tenantId, name, version } } });
  return row && toRow(row);
}

/** The current version of each of the tenant's schemas, by name. */
export async function listCurrentSchemas(db: DbClient, tenantId: string, limit: number): Promise<JsonSchemaRow[]> {
  const rows = await db.jsonSchema.findMany({
    where: { tenantId, deletedAt: null },
    orderBy: [{ name: 'asc' }, { version: 'desc' }],
    distinct: ['name'],
    take: limit,
  });
  return rows.map(toRow);
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}

/**
 * Adds the next version of `name` (numbering goes on after a DELETE, so a version number never names
 * two schemas). Two PUTs racing for one number: the loser takes the next.
 */
export async function addSchemaVersion(
  db: DbClient,
  tenantId: string,
  name: string,
  schema: JsonSchemaDocument,
): Promise<{ row: JsonSchemaRow; created: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const newest = await db.jsonSchema.findFirst({
      where: { tenantId, name },
      orderBy: { version: 'desc' },
      select: { version: true, deletedAt: true },
    });
    try {
      const row = await db.jsonSchema.create({
        data: { id: newId('js'), tenantId, name, version: (newest?.version ?? 0) + 1, schema: JSON.stringify(schema) },
      });
      return { row: toRow(row), created: newest === null || newest.deletedAt !== null };
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= 4) throw error;
    }
  }
}

/** Marks every version of `name` deleted; returns how many were current (0: there was no such schema). */
export async function deleteSchema(db: DbClient, tenantId: string, name: string): Promise<number> {
  const { count } = await db.jsonSchema.updateMany({
    where: { tenantId, name, deletedAt: null },
    data: { deletedAt: new Date() },
  });
  return count;
}

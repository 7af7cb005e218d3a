import { schemaProblem } from '../../lib/json-schema';
import {
  addSchemaVersion,
  deleteSchema as removeSchema,
  findCurrentSchema,
  listCurrentSchemas,
  type JsonSchemaRow,
} from '../../prisma/json-schemas';
import { withDb } from '../dependencies';
import { ApiError } from '../errors';
import type { AppRouteHandler } from '../types';
import type * as routes from './schemas.routes';

const toView = (row: JsonSchemaRow): routes.SchemaView => ({
  name: row.name,
  version: row.version,
  schema: row.schema as routes.SchemaView['schema'],
  createdAt: row.createdAt.toISOString(),
});
const schemaNotFound = (name: string) =>
  new ApiError('schema_not_found', `No JSON Schema named ${name} for this tenant`);

export const putSchema: AppRouteHandler<routes.PutSchemaRoute> = async (c) => {
  const { name } = c.req.valid('param');
  // Without a JSON Content-Type the validator sees no body at all, and {} would register as a schema.
  if (!/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
    throw new ApiError(
      'unsupported_media_type',
      'Send the JSON Schema as the body, with Content-Type: application/json',
    );
  }
  const schema = c.req.valid('json');
  const problem = schemaProblem(schema);
  if (problem !== null)
    throw new ApiError('invalid_schema', `The schema is not a valid JSON Schema (draft 2020-12): ${problem}`);
  const { row, created } = await withDb(c, (db) => addSchemaVersion(db, c.var.tenantId, name, schema));
  c.header('Location', `/v1/schemas/${encodeURIComponent(name)}`);
  return created ? c.json(toView(row), 201) : c.json(toView(row), 200);
};

export const getSchema: AppRouteHandler<routes.GetSchemaRoute> = async (c) => {
  const { name } = c.req.valid('param');
  const row = await withDb(c, (db) => findCurrentSchema(db, c.var.tenantId, name));
  if (!row) throw schemaNotFound(name);
  return c.json(toView(row), 200);
};

export const listSchemas: AppRouteHandler<routes.ListSchemasRoute> = async (c) => {
  const rows = await withDb(c, (db) => listCurrentSchemas(db, c.var.tenantId, 1000));
  return c.json({ items: rows.map(toView) }, 200);
};

export const deleteSchema: AppRouteHandler<routes.DeleteSchemaRoute> = async (c) => {
  const { name } = c.req.valid('param');
  const count = await withDb(c, (db) => removeSchema(db, c.var.tenantId, name));
  if (count === 0) throw schemaNotFound(name);
  return c.body(null, 204);
};

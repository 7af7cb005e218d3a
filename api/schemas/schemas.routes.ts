import { createRoute, z } from '@hono/zod-openapi';
import { BEARER_SECURITY, errorResponses } from '../errors';
import { SCHEMA_NAME_PATTERN } from '../../services/upload-schema';

const security = BEARER_SECURITY;

// What a schema name may look like; uploads name it in schema=<name> and the intake-schema header.
export { SCHEMA_NAME_PATTERN };

export const SchemaNameParam = z.object({
  name: z
    .string()
    .regex(SCHEMA_NAME_PATTERN, 'a schema name is 1-64 letters, digits, . _ - (starting with a letter or digit)')
    .openapi({ param: { name: 'name', in: 'path' }, example: 'product' }),
});

const JsonSchemaBody = z.union([z.record(z.string(), z.unknown()), z.boolean()]).openapi('JsonSchemaDocument', {
  description: 'A JSON Schema, draft 2020-12 ($schema absent or https://json-schema.org/draft/2020-12/schema)',
  example: {
    type: 'object',
    required: ['items'],
    properties: { items: { type: 'array', items: { type: 'object', properties: { price: { type: 'number' } } } } },
  },
});

const SchemaViewSchema = z
  .object({
    name: z.string().openapi({ example: 'product' }),
    version: z.number().int().openapi({ description: 'Each PUT adds a version; an upload pins the current one' }),
    schema: JsonSchemaBody,
    createdAt: z.string(),
  })
  .openapi('JsonSchema');
export type SchemaView = z.infer<typeof SchemaViewSchema>;

export const putSchema = createRoute({
  method: 'put',
  path: '/{name}',
  summary: 'Register a JSON Schema (draft 2020-12), or a new version of one',
  description:
    'The schema is checked now: one that does not match the 2020-12 meta-schema, declares another draft, or has a ' +
    '$ref that does not resolve within it is a 400 saying why. Uploads naming it (schema=<name>, Kafka header ' +
    'intake-schema) are validated against the version current when they arrive.',
  security,
  request: {
    params: SchemaNameParam,
    body: { required: true, content: { 'application/json': { schema: JsonSchemaBody } } },
  },
  responses: {
    200: {
      description: 'A new version of an existing schema',
      content: { 'application/json': { schema: SchemaViewSchema } },
    },
    201: { description: 'Registered', content: { 'application/json': { schema: SchemaViewSchema } } },
    ...errorResponses(400, 401, 413, 415),
  },
});
export type PutSchemaRoute = typeof putSchema;

export const getSchema = createRoute({
  method: 'get',
  path: '/{name}',
  summary: "The schema's current version",
  security,
  request: { params: SchemaNameParam },
  responses: {
    200: { description: 'The schema', content: { 'application/json': { schema: SchemaViewSchema } } },
    ...errorResponses(400, 401, 404),
  },
});
export type GetSchemaRoute = typeof getSchema;

export const listSchemas = createRoute({
  method: 'get',
  path: '/',
  summary: "The tenant's JSON Schemas, each at its current version",
  security,
  responses: {
    200: {
      description: 'Schemas by name',
      content: { 'application/json': { schema: z.object({ items: z.array(SchemaViewSchema) }) } },
    },
    ...errorResponses(401),
  },
});
export type ListSchemasRoute = typeof listSchemas;

export const deleteSchema = createRoute({
  method: 'delete',
  path: '/{name}',
  summary: 'Remove a schema: new uploads can no longer name it',
  description: 'Uploads that named it before are still checked against the version they pinned.',
  security,
  request: { params: SchemaNameParam },
  responses: { 204: { description: 'Removed' }, ...errorResponses(400, 401, 404) },
});
export type DeleteSchemaRoute = typeof deleteSchema;

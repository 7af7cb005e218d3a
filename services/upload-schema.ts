import { UploadRefused } from './accept-upload';

/** What a schema name may look like (the same rule as PUT /v1/schemas/{name}). */
export const SCHEMA_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A schema=<name> value, or null when none was given; a name no schema could have is a 400. */
export function parseSchemaName(raw: string | undefined, field = 'schema'): string | null {
  if (raw === undefined || raw === '') return null;
  if (!SCHEMA_NAME_PATTERN.test(raw)) {
    throw new UploadRefused(
      'invalid_request',
      `${field}: a schema name is 1-64 letters, digits, . _ - (starting with a letter or digit)`,
    );
  }
  return raw;
}

/**
 * The schema a batch names with its `schema` field, its `?schema=` query parameter, or both when they
 * agree: two different names are a 400 rather than one silently winning over the other.
 */
export function batchSchemaName(field: string | undefined, query: string | undefined): string | null {
  const fromField = parseSchemaName(field);
  const fromQuery = parseSchemaName(query);
  if (fromField && fromQuery && fromField !== fromQuery) {
    throw new UploadRefused(
      'invalid_request',
      `schema: the field names "${fromField}" and the query parameter "${fromQuery}"; name one schema, in either or in both`,
    );
  }
  return fromField ?? fromQuery;
}

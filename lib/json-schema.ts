import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/*
 * Tenants' JSON Schemas (draft 2020-12) with Ajv. The API checks a schema here when it is registered;
 * the validate step checks uploads against it in a bounded thread (activities/json-schema-check-worker.ts),
 * which builds Ajv with these same options.
 */

/**
 * allErrors: the file view lists the first 20 errors, not just one. strict off: 2020-12 allows
 * keywords it does not define (annotations such as "x-unit"), which Ajv's strict mode refuses.
 */
export const AJV_OPTIONS = { allErrors: true, strict: false, logger: false } as const;

/** The first errors a rejected JSON file's view lists. */
export const MAX_VALIDATION_ERRORS = 20;

/** One reason a JSON document fails its schema: where (a JSON Pointer into the document) and why. */
export interface ValidationError {
  path: string;
  message: string;
}

export function newAjv(): Ajv2020 {
  const ajv = new Ajv2020(AJV_OPTIONS);
  addFormats.default(ajv);
  return ajv;
}

/**
 * Why `schema` is not a usable draft 2020-12 JSON Schema, or null when it is: it must match the
 * 2020-12 meta-schema and compile (every $ref resolves within it; nothing is fetched).
 */
export function schemaProblem(schema: unknown): string | null {
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    return 'a JSON Schema is an object (or true/false)';
  }
  const declared = typeof schema === 'object' ? (schema as { $schema?: unknown }).$schema : undefined;
  if (declared !== undefined && declared !== 'https://json-schema.org/draft/2020-12/schema') {
    return `$schema must be https://json-schema.org/draft/2020-12/schema (or absent), not ${JSON.stringify(declared).slice(0, 100)}`;
  }
  const ajv = newAjv();
  if (!ajv.validateSchema(schema as object)) {
    const first = ajv.errors?.[0];
    return `it does not match the draft 2020-12 meta-schema: ${first ? `${first.instancePath || '/'} ${first.message ?? ''}`.trim() : 'invalid'}`;
  }
  try {
    ajv.compile(schema as object);
  } catch (error) {
    return (error as Error).message;
  }
  return null;
}

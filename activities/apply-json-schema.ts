import type { Readable } from 'node:stream';
import { rejected } from '../common/failures';
import { readStream } from '../lib/s3-objects';
import { findSchemaVersion } from '../prisma/json-schemas';
import type { ActivityDeps } from './deps';
import { checkAgainstSchema } from './json-schema-check';
import { toJson } from './json-column';

/** A tenant's pattern can backtrack for ever: past this, the file is rejected rather than retried. */
const CHECK_TIMEOUT_MS = 30_000;
/** Parsed JSON costs several times its bytes; the thread's heap allows for the largest file admitted. */
const checkMemoryMb = (maxJsonBytes: number) => Math.max(256, Math.ceil((maxJsonBytes * 8) / 2 ** 20));

export const schemaRejections = {
  notJson: (name: string, type: string) =>
    `The upload names the JSON Schema "${name}", but a schema applies to JSON uploads and this file is ${type}.`,
  tooLarge: (size: number, limit: number) =>
    `The JSON file is ${size} bytes, more than the ${limit} bytes (INTAKE_SCHEMA_MAX_JSON_BYTES) Intake validates against a schema.`,
  missing: (name: string, version: number) => `The JSON Schema "${name}" version ${version} no longer exists.`,
  invalid: (name: string, version: number, count: number, first: string) =>
    `The JSON does not match the schema "${name}" (version ${version}): ${count} error${count === 1 ? '' : 's'}, the first: ${first}.`,
  unparsable: (detail: string) => `The file is not valid JSON: ${detail}.`,
  timedOut: (name: string, limitMs: number) =>
    `Validating against the schema "${name}" took longer than the limit of ${limitMs} ms.`,
  outOfMemory: (name: string, limitMb: number) =>
    `Validating against the schema "${name}" needed more than the limit of ${limitMb} MB of memory.`,
};

/**
 * Checks a file against the schema version its upload pinned, read from its row (the schema travels
 * through Postgres, not workflow history). A failure is a Rejected failure: retrying cannot fix the
 * file. The first errors are stored in File.validationErrors before the rejection, for the file view.
 */
export async function applyPinnedSchema(
  deps: ActivityDeps,
  file: { fileId: string; size: number; contentType: string },
  body: () => Promise<Buffer | Readable>,
): Promise<void> {
  const { db, config } = deps;
  const row = await db.file.findUnique({
    where: { id: file.fileId },
    select: { tenantId: true, schemaName: true, schemaVersion: true },
  });
  if (!row?.schemaName || row.schemaVersion === null) return;
  const { schemaName: name, schemaVersion: version } = row;
  if (file.contentType !== 'application/json') throw rejected(schemaRejections.notJson(name, file.contentType));
  const limit = config.documents.schemaMaxJsonBytes;
  if (file.size > limit) throw rejected(schemaRejections.tooLarge(file.size, limit));

  const schema = await findSchemaVersion(db, row.tenantId, name, version);
  if (!schema) throw rejected(schemaRejections.missing(name, version));
  const source = await body();
  const bytes = Buffer.isBuffer(source) ? source : await readStream(source, limit);
  const result = await checkAgainstSchema(schema.schema, bytes, {
    timeoutMs: CHECK_TIMEOUT_MS,
    memoryMb: checkMemoryMb(limit),
  });
  switch (result.kind) {
    case 'valid':
      return;
    case 'invalid': {
      await db.file.update({ where: { id: file.fileId }, data: { validationErrors: toJson(result.errors) } });
      const first = result.errors[0];
      const firstText = first ? `${first.path || '/'} ${first.message}` : 'invalid';
      throw rejected(schemaRejections.invalid(name, version, result.count, firstText));
    }
    case 'not-json':
      throw rejected(schemaRejections.unparsable(result.detail));
    case 'timed-out':
      throw rejected(schemaRejections.timedOut(name, result.limitMs));
    case 'out-of-memory':
      throw rejected(schemaRejections.outOfMemory(name, result.limitMb));
  }
}

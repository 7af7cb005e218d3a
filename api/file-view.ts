import { z } from '@hono/zod-openapi';
import { RENDITION_FORMATS, type Config, type RenditionFormat } from '../config/env';
import { FILE_STATUSES, STEP_NAMES, type FileState, type FileStatus } from '../common/domain';
import type { FileRecord } from '../prisma/file-records';
import type { ValidationError } from '../lib/json-schema';

export const StepSchema = z.object({
  state: z.enum(['pending', 'running', 'done', 'failed', 'skipped']),
  attempts: z.number().int(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
});

export const RenditionViewSchema = z
  .object({
    name: z.string().openapi({ example: 'thumb' }),
    format: z.enum(RENDITION_FORMATS).openapi({ example: 'webp' }),
    width: z.number().int(),
    height: z.number().int(),
    size: z.number().int(),
    frames: z.number().int().openapi({ description: 'Animation frames in the rendition; 1 for a still image' }),
    firstFrameOnly: z.string().nullable().openapi({
      description: 'Set when the original is animated but this rendition shows only its first frame, saying why',
      example: 'The animation has 240 frames, more than the 100 frames a rendition keeps; this is its first frame.',
    }),
    url: z.string().openapi({ example: 'http://localhost:3000/v1/files/f_…/renditions/thumb' }),
  })
  .openapi('Rendition');

export const ValidationErrorSchema = z
  .object({
    path: z.string().openapi({ description: 'A JSON Pointer into the document', example: '/items/3/price' }),
    message: z.string().openapi({ example: 'must be number' }),
  })
  .openapi('ValidationError');

export const FileLinksSchema = z
  .object({
    self: z.string(),
    content: z.string(),
    temporalUi: z.string().openapi({ description: 'The upload workflow in the Temporal Web UI' }),
  })
  .openapi('FileLinks');

export const FileSchema = z
  .object({
    id: z.string().openapi({ example: 'f_3kq7w2mz5c4xv6b7n8p2r4t5' }),
    filename: z.string(),
    contentType: z.string().nullable().openapi({ description: 'Detected from the content (null until validated)' }),
    declaredContentType: z.string().nullable(),
    size: z.number().int(),
    sha256: z.string().nullable(),
    status: z.enum(FILE_STATUSES),
    reason: z.string().nullable().openapi({ description: 'Why the file was rejected, quarantined, failed or deleted' }),
    steps: z
      .record(z.string(), StepSchema)
      .nullable()
      .openapi({ description: `Keys: ${STEP_NAMES.join(', ')}` }),
    renditions: z.array(RenditionViewSchema),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    pages: z.number().int().nullable().openapi({ description: "A PDF's page count; null for other types" }),
    encrypted: z.boolean().nullable().openapi({
      description: 'Whether a PDF is encrypted (accepted only with INTAKE_PDF_ENCRYPTED=accept); null for other types',
    }),
    tags: z.array(z.string()),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    hold: z.boolean(),
    deletedAt: z.string().nullable(),
    workflowId: z.string(),
    batchId: z.string().nullable().openapi({ description: 'The batch the file arrived in (POST /v1/batches)' }),
    traceId: z.string().nullable().openapi({
      description: "The upload's OpenTelemetry trace id (W3C): its request, workflow, steps and webhooks",
      example: '4bf92f3577b34da6a3ce929d0e0e4736',
    }),
    schema: z
      .object({ name: z.string(), version: z.number().int() })
      .nullable()
      .openapi({ description: 'The JSON Schema the upload named (schema=<name>), pinned to the version then current' }),
    validationErrors: z
      .array(ValidationErrorSchema)
      .nullable()
      .openapi({ description: 'Why the JSON failed its schema: the first 20 errors (null unless it failed)' }),
    links: FileLinksSchema,
  })
  .openapi('File');
export type FileView = z.infer<typeof FileSchema>;

export const UploadAcceptedSchema = z
  .object({
    id: z.string(),
    status: z.enum(FILE_STATUSES).openapi({ example: 'PROCESSING' }),
    workflowId: z.string(),
    links: FileLinksSchema,
  })
  .openapi('UploadAccepted');
export type UploadAccepted = z.infer<typeof UploadAcceptedSchema>;

/** A rendition as the workflow state or the row holds it; renditions made before formats and frames lack them. */
interface StoredRendition {
  name: string;
  format?: RenditionFormat;
  width: number;
  height: number;
  size: number;
  frames?: number;
  firstFrameOnly?: string;
}

function storedRenditions(value: unknown): StoredRendition[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (r): r is StoredRendition => typeof r === 'object' && r !== null && typeof (r as StoredRendition).name === 'string',
  );
}

export function fileLinks(config: Config, fileId: string, workflowId: string) {
  const self = `${config.publicUrl}/v1/files/${fileId}`;
  return {
    self,
    content: `${self}/content`,
    temporalUi: `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`,
  };
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** The public shape of a file: live from the workflow's state when given, otherwise from Postgres. */
export function toFileView(config: Config, row: FileRecord, state?: FileState | null): FileView {
  const links = fileLinks(config, row.id, row.workflowId);
  const renditions = storedRenditions(state ? state.renditions : row.renditions).map((r) => ({
    name: r.name,
    format: r.format ?? 'webp',
    width: r.width,
    height: r.height,
    size: r.size,
    frames: r.frames ?? 1,
    firstFrameOnly: r.firstFrameOnly ?? null,
    url: `${links.self}/renditions/${encodeURIComponent(r.name)}`,
  }));
  const unordered = (state?.steps ?? row.steps ?? null) as FileView['steps'];
  // Postgres' jsonb reorders keys; readers expect the pipeline's order.
  const steps =
    unordered && (Object.fromEntries(STEP_NAMES.map((name) => [name, unordered[name]])) as typeof unordered);
  const status = (state?.status ?? row.status) as FileStatus;
  // A file deleted after it was READY has no other reason; say why it went (requested or expired).
  const reason = (state ? state.reason : row.reason) ?? (status === 'DELETED' ? row.deletionReason : null);
  return {
    id: row.id,
    filename: row.filename,
    contentType: state?.contentType ?? row.contentType,
    declaredContentType: row.declaredContentType,
    size: Number(state?.size ?? row.size),
    sha256: state?.sha256 ?? row.sha256,
    status,
    reason,
    steps,
    renditions,
    width: state ? state.width : row.width,
    height: state ? state.height : row.height,
    pages: row.pages ?? null,
    encrypted: row.encrypted ?? null,
    tags: state?.tags ?? row.tags,
    createdAt: row.createdAt.toISOString(),
    completedAt: state ? state.completedAt : iso(row.completedAt),
    expiresAt: state ? state.expiresAt : iso(row.expiresAt),
    hold: state?.hold ?? row.hold,
    deletedAt: state ? state.deletedAt : iso(row.deletedAt),
    workflowId: row.workflowId,
    batchId: row.batchId ?? null,
    traceId: row.traceId ?? null,
    schema: row.schemaName && row.schemaVersion !== null ? { name: row.schemaName, version: row.schemaVersion } : null,
    // Written by the validate step itself, so the row has them as soon as the state says REJECTED.
    validationErrors: validationErrorsOf(row.validationErrors),
    links,
  };
}

function validationErrorsOf(value: unknown): ValidationError[] | null {
  if (!Array.isArray(value)) return null;
  return value.filter(
    (e): e is ValidationError => typeof e === 'object' && e !== null && typeof (e as ValidationError).path === 'string',
  );
}

import { rejected } from '../common/failures';
import type { ActivityDeps } from './deps';
import { inspectPdf } from './pdf-inspection';
import { pdfVerdict } from './pdf-verdict';
import type { ValidateResult } from './types';

/**
 * Parses a PDF within the configured bounds and rejects what Intake must not accept. The text read
 * for the search index is written to the file's row here, so it never travels through the workflow's
 * history; the index step reads it from there. A row not created yet (none is missing on any current
 * ingest path) simply leaves the PDF searchable by name only.
 */
export async function validatePdf(deps: ActivityDeps, fileId: string, bytes: Uint8Array): Promise<ValidateResult> {
  const settings = deps.config.documents.pdf;
  const verdict = pdfVerdict(await inspectPdf(bytes, settings, settings.textPages), settings);
  if (verdict.kind === 'rejected') throw rejected(verdict.reason);
  await deps.db.file.updateMany({ where: { id: fileId }, data: { bodyText: verdict.bodyText } });
  return {
    contentType: 'application/pdf',
    isImage: false,
    width: null,
    height: null,
    pages: verdict.pages,
    encrypted: verdict.encrypted,
  };
}

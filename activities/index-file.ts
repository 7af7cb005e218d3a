import { fileRowMissing } from '../common/failures';
import { readObjectPrefix } from '../lib/s3-objects';
import { updateSearchVector } from '../prisma/files';
import type { ActivityDeps } from './deps';
import type { IndexInput } from './types';

/** How much of a text or JSON file goes into the full-text index; the rest of a long file is not searchable. */
const INDEXED_CONTENT_BYTES = 1024 * 1024;
const TEXT_TYPES = new Set(['text/plain', 'application/json']);

/** "holiday_photo-2024.jpg" should match "holiday", "photo" and "2024" as well as the whole name. */
export const indexedNames = (filename: string): string => `${filename} ${filename.replace(/[^\p{L}\p{N}]+/gu, ' ')}`;

/**
 * Makes the file findable: a Postgres tsvector over its filename, tags and (for text, JSON and PDF) content.
 * Rewriting the whole vector makes a retry harmless.
 */
export async function indexFile(deps: Pick<ActivityDeps, 'config' | 's3' | 'db'>, input: IndexInput): Promise<void> {
  const { config, s3, db } = deps;
  const row = await db.file.findUnique({
    where: { id: input.fileId },
    select: { filename: true, tags: true, contentType: true, storageKey: true, status: true, bodyText: true },
  });
  if (!row) {
    throw fileRowMissing(`File ${input.fileId} has no database row to index; it must be stored first.`);
  }
  if (row.status === 'DELETED') return;

  const names = indexedNames(row.filename);
  const tags = row.tags.join(' ');
  let content = '';
  if (row.storageKey && row.contentType && TEXT_TYPES.has(row.contentType)) {
    const bytes = await readObjectPrefix(s3, config.s3.bucket, row.storageKey, INDEXED_CONTENT_BYTES);
    // A cut through a multi-byte character decodes to U+FFFD, which to_tsvector simply skips.
    content = bytes.toString('utf8');
  } else if (row.contentType === 'application/pdf') {
    // The validate step wrote the text of the PDF's first pages when it parsed it (activities/validate-pdf.ts).
    content = row.bodyText ?? '';
  }

  // A tsvector is capped at 1 MB; text with very many distinct words can exceed it, so index less of it.
  for (const share of [1, 0.25, 0]) {
    try {
      await updateSearchVector(db, input.fileId, {
        names,
        tags,
        content: content.slice(0, Math.floor(content.length * share)),
      });
      return;
    } catch (error) {
      if (!/too long for tsvector/i.test(String((error as Error).message)) || share === 0) throw error;
    }
  }
}

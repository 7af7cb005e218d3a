import { createHash, randomBytes } from 'node:crypto';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function encode(bytes: Uint8Array, length: number): string {
  let out = '';
  for (const byte of bytes.subarray(0, length)) out += ID_ALPHABET[byte & 31];
  return out;
}

/** Random ids with a type prefix: 24 base32 characters carry 120 bits of randomness. */
export function newId(prefix: string, length = 24): string {
  return `${prefix}_${encode(randomBytes(length), length)}`;
}

export const newFileId = () => newId('f');
export const FILE_ID_PATTERN = /^f_[a-z2-7]{24}$/;
export const newShareId = () => newId('s');
export const newDirectUploadId = () => newId('u');

/**
 * A file id that is a function of `parts` (120 bits of their SHA-256): the same parts always name the
 * same file, so a repeated request cannot make a second one. JSON keeps the parts apart unambiguously.
 */
export function derivedFileId(parts: readonly string[]): string {
  return `f_${encode(createHash('sha256').update(JSON.stringify(parts)).digest(), 24)}`;
}

/** The batch a producer names (a Kafka message's intake-batch-id), scoped to its tenant like a file's key. */
export function derivedBatchId(tenantId: string, producerBatchId: string): string {
  return `b_${encode(
    createHash('sha256')
      .update(JSON.stringify(['batch', tenantId, producerBatchId]))
      .digest(),
    24,
  )}`;
}

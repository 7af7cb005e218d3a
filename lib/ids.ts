import { randomBytes } from 'node:crypto';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** Random ids with a type prefix: 24 base32 characters carry 120 bits of randomness. */
export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ID_ALPHABET[byte & 31];
  return `${prefix}_${out}`;
}

export const newFileId = () => newId('f');
export const FILE_ID_PATTERN = /^f_[a-z2-7]{24}$/;
export const newShareId = () => newId('s');
export const newDirectUploadId = () => newId('u');

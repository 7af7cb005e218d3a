import { createHash, randomBytes } from 'node:crypto';

/**
 * Share-link tokens: 256 random bits (base64url, 43 characters), far past guessing. Only their sha256 is
 * stored, so a leaked database serves no file; a plain hash suffices because the token is random, not a
 * password a dictionary could find.
 */
export const SHARE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newShareToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashShareToken(token) };
}

export function hashShareToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

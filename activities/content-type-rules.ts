/**
 * Pure rules for deciding a file's type and whether to accept it. Every rejection is a sentence a
 * person can act on, because it is shown in the API and sent in the `file.rejected` webhook.
 */

const HUMAN_NAMES: Record<string, string> = {
  'image/jpeg': 'a JPEG image',
  'image/png': 'a PNG image',
  'image/webp': 'a WebP image',
  'image/gif': 'a GIF image',
  'image/avif': 'an AVIF image',
  'image/tiff': 'a TIFF image',
  'image/heic': 'a HEIC image',
  'image/heif': 'a HEIF image',
  'image/bmp': 'a BMP image',
  'image/svg+xml': 'an SVG image',
  'application/pdf': 'a PDF document',
  'text/plain': 'plain text',
  'application/json': 'JSON',
  'application/zip': 'a ZIP archive',
  'application/gzip': 'a gzip archive',
  'application/x-msdownload': 'a Windows executable',
  'application/x-elf': 'a Linux executable',
};

/** "a PNG image (image/png)"; falls back to the MIME type alone for types without a friendly name. */
export function describeType(type: string): string {
  const name = HUMAN_NAMES[type];
  return name ? `${name} (${type})` : type;
}

const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/x-png': 'image/png',
  // An animated PNG is a PNG (file-type names it apng when it sees an acTL chunk); renditions use frame one.
  'image/apng': 'image/png',
  'image/tif': 'image/tiff',
  'text/json': 'application/json',
  'application/x-json': 'application/json',
  'application/x-pdf': 'application/pdf',
};

/**
 * The declared type in canonical form, or null when the client declared nothing useful: a missing
 * header and application/octet-stream ("some bytes") both mean "no declaration".
 */
export function normalizeDeclaredType(declared: string | null | undefined): string | null {
  if (!declared) return null;
  const bare = declared.split(';')[0]!.trim().toLowerCase();
  if (bare === '' || bare === 'application/octet-stream' || bare === 'binary/octet-stream') return null;
  return ALIASES[bare] ?? bare;
}

/** A detected type in canonical form, so the allowed list and declarations need not name its aliases. */
export function canonicalType(type: string): string {
  return ALIASES[type] ?? type;
}

export function isImageType(type: string): boolean {
  return type.startsWith('image/');
}

/** Whether what the client said the file is agrees with what its content is. */
export function declarationMatches(declared: string | null, detected: string): boolean {
  if (declared === null || declared === detected) return true;
  // Any text/* declaration (text/csv, text/markdown, …) fits text content; JSON is text as well.
  if (declared.startsWith('text/') && (detected === 'text/plain' || detected === 'application/json')) return true;
  // A "+json" type (application/ld+json, …) is JSON.
  if (declared.endsWith('+json') && detected === 'application/json') return true;
  return false;
}

const MB = 1024 * 1024;
function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${(bytes / MB).toFixed(bytes % MB === 0 ? 0 : 1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KB`;
  return `${bytes} bytes`;
}

export const rejectionReasons = {
  sizeMismatch: (declared: number, actual: number) =>
    `The upload was declared as ${declared} bytes, but ${actual} bytes arrived.`,
  checksumMismatch: (declared: string, actual: string) =>
    `The upload was declared with sha256 ${declared}, but the bytes that arrived hash to ${actual}.`,
  tooLarge: (size: number, limit: number) =>
    `The file is ${formatBytes(size)}, which is more than the ${formatBytes(limit)} upload limit.`,
  mismatch: (declared: string, detected: string) =>
    `The file was uploaded as ${describeType(declared)}, but its content is ${describeType(detected)}.`,
  notAllowed: (detected: string, allowed: readonly string[]) =>
    `Files of this type are not accepted: the content is ${describeType(detected)}; accepted types are ${allowed.join(', ')}.`,
  unrecognised: (allowed: readonly string[]) =>
    `The file's content is not a recognised format (nor valid UTF-8 text); accepted types are ${allowed.join(', ')}.`,
  invalidUtf8: () => 'The file is declared as text but is not valid UTF-8 text.',
  containsNul: () => 'The file is declared as text but contains binary data (NUL bytes).',
  invalidJson: (detail: string) => `The file is not valid JSON: ${detail}.`,
  jsonTooLarge: (limitChars: number) =>
    `The file is declared as JSON but is longer than ${formatBytes(limitChars)} of text, the most Intake parses to check JSON.`,
  tooManyPixels: (width: number, height: number, limit: number) =>
    `The image is ${width} × ${height} pixels (${megapixels(width * height)}), more than the limit of ${megapixels(limit)}.`,
  unreadableImageHeader: (type: string) =>
    `The file looks like ${describeType(type)} but its header could not be read, so it is damaged or not really an image.`,
  undecodableImage: (type: string, detail: string) =>
    `The file looks like ${describeType(type)} but it does not decode (${detail}); it is damaged or incomplete.`,
};

/** How content that no magic number matched reads as text. */
export type TextVerdict =
  | { kind: 'text' }
  | { kind: 'json' }
  | { kind: 'invalid-json'; detail: string }
  | { kind: 'json-too-large'; limitChars: number }
  | { kind: 'not-utf8' }
  | { kind: 'has-nul' };

/**
 * JSON is checked by parsing it whole, which costs several times its size in memory; beyond this many
 * characters a worker could run out of memory, taking every workflow it runs with it.
 */
export const MAX_JSON_CHARS = 32 * 1024 * 1024;

/**
 * Classifies a text body fed in chunks, so large text is checked as it streams: it must be UTF-8
 * without NUL bytes. Only a body that must be JSON (declared as JSON) or looks like JSON (first
 * character { or [) is kept in memory to be parsed, up to `maxJsonChars`. Valid JSON → 'json'; JSON
 * that does not parse is 'invalid-json' when JSON was declared and plain 'text' otherwise; longer
 * text is 'json-too-large' when JSON was declared and plain 'text' otherwise.
 */
export class TextSniffer {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private verdict: TextVerdict | null = null;
  private text = '';
  private firstChar: string | null = null;
  private tooLong = false;

  constructor(
    private readonly wantJson: boolean,
    private readonly maxJsonChars = MAX_JSON_CHARS,
  ) {}

  /** True once the body is known not to be text; the rest need not be read. */
  get failed(): boolean {
    return this.verdict !== null;
  }

  push(chunk: Uint8Array): void {
    if (this.verdict) return;
    if (chunk.includes(0)) {
      this.verdict = { kind: 'has-nul' };
      return;
    }
    this.take(() => this.decoder.decode(chunk, { stream: true }));
  }

  finish(): TextVerdict {
    if (!this.verdict) this.take(() => this.decoder.decode());
    if (this.verdict) return this.verdict;
    if (this.tooLong)
      return this.wantJson ? { kind: 'json-too-large', limitChars: this.maxJsonChars } : { kind: 'text' };
    if (!this.keepsText()) return { kind: 'text' };
    try {
      JSON.parse(this.text);
      return { kind: 'json' };
    } catch (error) {
      return this.wantJson ? { kind: 'invalid-json', detail: (error as Error).message } : { kind: 'text' };
    }
  }

  private take(decode: () => string): void {
    let piece: string;
    try {
      piece = decode();
    } catch {
      this.verdict = { kind: 'not-utf8' };
      return;
    }
    if (this.firstChar === null) {
      const start = (this.text + piece).replace(/^\uFEFF/, '').trimStart();
      if (start.length > 0) this.firstChar = start[0]!;
    }
    if (!this.keepsText()) return;
    if (this.text.length + piece.length > this.maxJsonChars) {
      this.tooLong = true;
      this.text = '';
    } else this.text += piece;
  }

  private keepsText(): boolean {
    if (this.tooLong) return false;
    return this.wantJson || this.firstChar === null || this.firstChar === '{' || this.firstChar === '[';
  }
}

/** One-shot form of TextSniffer for a body already in memory. */
export function classifyText(bytes: Uint8Array, wantJson: boolean): TextVerdict {
  const sniffer = new TextSniffer(wantJson);
  sniffer.push(bytes);
  return sniffer.finish();
}

/** "52.4 megapixels", or plain pixels below a tenth of a megapixel, where one decimal would read 0.0. */
function megapixels(pixels: number): string {
  return pixels < 100_000 ? `${pixels.toLocaleString('en-US')} pixels` : `${(pixels / 1e6).toFixed(1)} megapixels`;
}

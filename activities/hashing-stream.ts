import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/**
 * A pass-through that hashes and counts the bytes flowing through it, so the scan reads the object
 * once and still yields its sha256 and size. Past `maxBytes` it fails instead of passing more on.
 */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  /**
   * Bytes through so far. Not named `size`: @aws-sdk/lib-storage reads a Body's `size` as its total
   * length, and a multipart Upload of this stream then fails once a second part is sent.
   */
  bytesSeen = 0;

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {
    super();
  }

  /** True once more than `maxBytes` came through (the stream then failed). */
  get overLimit(): boolean {
    return this.bytesSeen > this.maxBytes;
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ) {
    this.bytesSeen += chunk.length;
    if (this.overLimit) {
      callback(new Error(`more than ${this.maxBytes} bytes`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** Hex digest; call only after the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

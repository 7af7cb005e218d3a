import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/**
 * A pass-through that hashes and counts the bytes flowing through it, so the scan reads the object
 * once and still yields its sha256 and size. Past `maxBytes` it fails instead of passing more on.
 */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {
    super();
  }

  /** True once more than `maxBytes` came through (the stream then failed). */
  get overLimit(): boolean {
    return this.size > this.maxBytes;
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ) {
    this.size += chunk.length;
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

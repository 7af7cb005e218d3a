import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/**
 * A pass-through that hashes and counts the bytes flowing through it, so the scan reads the object
 * once and still yields its sha256 and size.
 */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ) {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  /** Hex digest; call only after the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

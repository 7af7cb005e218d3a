import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;

/** The metadata that marks a payload as ours; the names match Temporal's encryption samples. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export interface PayloadKey {
  id: string;
  /** 32 bytes: AES-256. */
  key: Uint8Array;
}

/** A payload names a key id this process was not given: a rotation dropped a key too early. */
export class UnknownPayloadKeyError extends Error {
  override name = 'UnknownPayloadKeyError';
}

/** The ciphertext does not authenticate: tampered with, truncated, or the key under that id changed. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/**
 * Encrypts every payload Intake sends to Temporal (workflow inputs and results, activity arguments,
 * signals, updates, queries, failure details) with AES-256-GCM, so the filenames, callback URLs and
 * tags they carry are not readable by whoever reads Temporal's database or its Web UI without the key.
 *
 * The whole protobuf Payload (metadata included, which names the JSON encoding) is the plaintext, under
 * a random 12-byte nonce per payload: data = nonce ‖ ciphertext ‖ tag. The key id travels in clear
 * metadata and is also the additional authenticated data, so a payload cannot be relabelled to another
 * key. Payloads without our encoding pass through decode untouched: histories recorded before the
 * codec existed still replay and still show in the UI.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  readonly #encryptWith: PayloadKey;
  readonly #keys: ReadonlyMap<string, Uint8Array>;

  /** `keys[0]` encrypts; all of them decrypt (rotation by key id). */
  constructor(keys: readonly PayloadKey[]) {
    const first = keys[0];
    if (!first) throw new Error('the payload codec needs at least one key');
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new Error(`payload key "${id}" must be 32 bytes, not ${key.length}`);
    }
    this.#encryptWith = first;
    this.#keys = new Map(keys.map(({ id, key }) => [id, key]));
  }

  /** The key id new payloads are encrypted under. */
  get currentKeyId(): string {
    return this.#encryptWith.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.#encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.#decrypt(payload));
  }

  #encrypt(payload: Payload): Payload {
    const { id, key } = this.#encryptWith;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(utf8.encode(id));
    const plaintext = PayloadProto.encode(payload).finish();
    const data = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) },
      data: new Uint8Array(data),
    };
  }

  #decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    const id = idBytes ? fromUtf8.decode(idBytes) : '';
    const key = this.#keys.get(id);
    if (!key) {
      throw new UnknownPayloadKeyError(
        `payload is encrypted with key id "${id}", which is not in INTAKE_PAYLOAD_KEYS (ids known here: ${[...this.#keys.keys()].join(', ')}); keep an old key listed until no history needs it`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(utf8.encode(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([
        decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new PayloadDecryptionError(
        `payload under key id "${id}" does not authenticate (tampered, or not this key)`,
      );
    }
    const decoded = PayloadProto.decode(plaintext);
    return { metadata: decoded.metadata, data: decoded.data };
  }
}

import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import type { Info as ActivityInfo } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities/deps';
import { loadConfig, type Config } from '../../config/env';
import type { Scanner, ScanVerdict } from '../../lib/clamd-scanner';
import type { Db } from '../../prisma/db';

/**
 * Fake dependencies for activity unit tests: an in-memory S3 bucket, a scripted scanner and an
 * in-memory slice of the database. No server is started; each fake keeps the state a test asserts on.
 */

/** A MockActivityEnvironment that logs only errors: the expected failures would otherwise fill the output. */
export function activityEnvironment(info?: Partial<ActivityInfo>): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ DATABASE_URL: 'postgresql://unused@127.0.0.1:1/unused', ...env });
}

interface StoredObject {
  body: Buffer;
  metadata: Record<string, string>;
  contentType?: string;
}

function notFound(): Error {
  return Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
}

async function bytesOf(body: unknown): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (typeof body === 'string') return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * One bucket's objects behind a real S3Client whose `send` is answered in memory, so lib/s3-objects
 * and @aws-sdk/lib-storage run unchanged. `failPut` makes uploads of matching keys fail.
 */
export class FakeS3 {
  readonly objects = new Map<string, StoredObject>();
  readonly client: S3Client;
  failPut: (key: string) => Error | null = () => null;
  /** Overrides the body GetObject returns for a key, e.g. a stream the test feeds by hand. */
  bodyOf: (key: string) => Readable | undefined = () => undefined;
  /** Awaited before an upload is stored: lets a test hold an upload open. */
  beforePut: (key: string) => Promise<void> = async () => undefined;

  constructor() {
    this.client = new S3Client({
      region: 'us-east-1',
      endpoint: 'http://s3.fake.invalid',
      forcePathStyle: true,
      credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
    });
    (this.client as { send: unknown }).send = (command: { constructor: { name: string }; input: never }) =>
      this.handle(command.constructor.name, command.input);
  }

  put(key: string, body: Buffer, metadata: Record<string, string> = {}): void {
    this.objects.set(key, { body, metadata });
  }

  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  private async handle(name: string, input: Record<string, unknown>): Promise<unknown> {
    const key = input.Key as string;
    switch (name) {
      case 'GetObjectCommand': {
        const body = this.bodyOf(key);
        if (body) return { Body: body, Metadata: {} };
        const object = this.objects.get(key);
        if (!object) throw notFound();
        return { Body: Readable.from([object.body]), Metadata: object.metadata };
      }
      case 'HeadObjectCommand': {
        const object = this.objects.get(key);
        if (!object) throw notFound();
        return { Metadata: object.metadata, ContentLength: object.body.length };
      }
      case 'PutObjectCommand': {
        const body = await bytesOf(input.Body);
        await this.beforePut(key);
        const failure = this.failPut(key);
        if (failure) throw failure;
        this.objects.set(key, { body, metadata: {}, contentType: input.ContentType as string });
        return { ETag: '"fake"' };
      }
      case 'CopyObjectCommand': {
        const sourceKey = (input.CopySource as string).split('/').slice(1).map(decodeURIComponent).join('/');
        const source = this.objects.get(sourceKey);
        if (!source) throw notFound();
        const metadata =
          input.MetadataDirective === 'REPLACE' ? (input.Metadata as Record<string, string>) : source.metadata;
        this.objects.set(key, { body: source.body, metadata: { ...metadata } });
        return {};
      }
      case 'DeleteObjectsCommand': {
        for (const { Key } of (input.Delete as { Objects: { Key: string }[] }).Objects) this.objects.delete(Key);
        return { Errors: [] };
      }
      case 'ListObjectsV2Command': {
        const prefix = (input.Prefix as string | undefined) ?? '';
        return {
          Contents: this.keys()
            .filter((k) => k.startsWith(prefix))
            .map((Key) => ({ Key })),
          IsTruncated: false,
        };
      }
      default:
        throw new Error(`FakeS3 does not implement ${name}`);
    }
  }
}

/** A scanner that reads the whole stream (as clamd does) and then answers with `verdict`, or fails. */
export function fakeScanner(answer: (bytes: Buffer) => ScanVerdict | Error): Scanner {
  return {
    async scanStream(stream) {
      const bytes = await bytesOf(stream);
      const result = answer(bytes);
      if (result instanceof Error) throw result;
      return result;
    },
    async ping() {
      return true;
    },
  };
}

/** A scanner that cannot be reached: the connection is refused before any byte is read. */
export function unreachableScanner(): Scanner {
  return {
    async scanStream() {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3310'), { code: 'ECONNREFUSED' });
    },
    async ping() {
      return false;
    },
  };
}

export function activityDeps(overrides: Omit<Partial<ActivityDeps>, 's3'> & { s3?: FakeS3 }): ActivityDeps {
  const { s3, ...rest } = overrides;
  return {
    config: testConfig(),
    s3: (s3 ?? new FakeS3()).client,
    db: unusedDb(),
    scanner: unreachableScanner(),
    ...rest,
  };
}

/** A database no test expects to be used: any call fails the test loudly. */
export function unusedDb(): Db {
  return new Proxy({} as Db, {
    get(_target, model) {
      if (model === 'then') return undefined;
      throw new Error(`the test did not expect a database call (db.${String(model)})`);
    },
  });
}

import type { BatchAccepted, BatchView } from './batches/batches.routes';
import type { FileView, UploadAccepted } from './file-view';
import type { Webhook, WebhookDeliveryView } from './webhooks/webhooks.routes';
import type { FileStatus, WebhookEvent } from '../common/domain';

/**
 * The Intake client used by the CLI, the bench and the tests: plain fetch, one named method per call
 * (the upload streams), and error answers turned into IntakeApiError.
 */

export type { BatchAccepted, BatchView, FileView, UploadAccepted, Webhook, WebhookDeliveryView };

/** One file of a batch upload. */
export interface BatchFile {
  body: Blob | Uint8Array | string;
  filename: string;
  contentType?: string;
}

export interface FilePage {
  items: FileView[];
  nextCursor: string | null;
}

export interface RetentionState {
  expiresAt: string | null;
  hold: boolean;
}

export class IntakeApiError extends Error {
  override name = 'IntakeApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

export interface IntakeClientOptions {
  /** e.g. http://localhost:3000 */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
}

export type UploadBody = Blob | Uint8Array | string | ReadableStream<Uint8Array>;

export interface UploadOptions {
  filename: string;
  /** The declared type (the server decides from the content anyway). */
  contentType?: string;
  callbackUrl?: string;
  /** e.g. "7d" */
  retention?: string;
  tags?: string[];
  idempotencyKey?: string;
  /** The tenant's JSON Schema a JSON upload is validated against. */
  schema?: string;
  /** multipart/form-data (default) or the raw bytes as the body. */
  mode?: 'multipart' | 'raw';
}

export function createIntakeClient(options: IntakeClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/$/, '');
  const doFetch = options.fetch ?? fetch;
  const auth = { Authorization: `Bearer ${options.apiKey}` };

  async function request(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await doFetch(`${baseUrl}${path}`, {
      ...init,
      headers: { ...auth, ...(init.headers as Record<string, string> | undefined) },
    });
    if (response.status >= 400) throw await toError(response);
    return response;
  }
  const json = async <T>(path: string, init?: RequestInit): Promise<T> =>
    (await (await request(path, init)).json()) as T;
  const sendJson = <T>(method: string, path: string, body: unknown) =>
    json<T>(path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  return {
    async uploadFile(body: UploadBody, upload: UploadOptions): Promise<UploadAccepted & { replayed: boolean }> {
      const headers: Record<string, string> = {};
      if (upload.idempotencyKey) headers['Idempotency-Key'] = upload.idempotencyKey;
      let init: RequestInit & { duplex?: 'half' };
      let path = '/v1/files';
      if ((upload.mode ?? 'multipart') === 'multipart') {
        const form = new FormData();
        if (upload.callbackUrl) form.append('callbackUrl', upload.callbackUrl);
        if (upload.retention) form.append('retention', upload.retention);
        if (upload.tags?.length) form.append('tags', upload.tags.join(','));
        if (upload.schema) form.append('schema', upload.schema);
        const blob =
          body instanceof Blob
            ? body
            : body instanceof ReadableStream
              ? await new Response(body).blob()
              : // A Uint8Array may sit on a SharedArrayBuffer, which Blob refuses: copy it into a plain one.
                new Blob([typeof body === 'string' ? body : new Uint8Array(body as Uint8Array)], {
                  type: upload.contentType ?? 'application/octet-stream',
                });
        form.append('file', blob, upload.filename);
        init = { method: 'POST', headers, body: form };
      } else {
        const query = new URLSearchParams({ filename: upload.filename });
        if (upload.callbackUrl) query.set('callbackUrl', upload.callbackUrl);
        if (upload.retention) query.set('retention', upload.retention);
        for (const tag of upload.tags ?? []) query.append('tags', tag);
        if (upload.schema) query.set('schema', upload.schema);
        path = `/v1/files?${query}`;
        headers['Content-Type'] = upload.contentType ?? 'application/octet-stream';
        // A stream body needs duplex: 'half' in Node's fetch; it then streams without buffering.
        init = {
          method: 'POST',
          headers,
          body: body as RequestInit['body'],
          ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
        };
      }
      const response = await request(path, init);
      return {
        ...((await response.json()) as UploadAccepted),
        replayed: response.headers.get('idempotent-replayed') === 'true',
      };
    },

    /** POST /v1/batches: every file as a `file` part, the options applied to each. */
    async createBatch(
      files: readonly BatchFile[],
      options: Omit<UploadOptions, 'filename' | 'contentType' | 'mode'> = {},
    ): Promise<BatchAccepted & { replayed: boolean }> {
      const form = new FormData();
      if (options.callbackUrl) form.append('callbackUrl', options.callbackUrl);
      if (options.retention) form.append('retention', options.retention);
      if (options.tags?.length) form.append('tags', options.tags.join(','));
      if (options.schema) form.append('schema', options.schema);
      for (const file of files) {
        const blob =
          file.body instanceof Blob
            ? file.body
            : new Blob([typeof file.body === 'string' ? file.body : new Uint8Array(file.body)], {
                type: file.contentType ?? 'application/octet-stream',
              });
        form.append('file', blob, file.filename);
      }
      const headers: Record<string, string> = {};
      if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
      const response = await request('/v1/batches', { method: 'POST', headers, body: form });
      return {
        ...((await response.json()) as BatchAccepted),
        replayed: response.headers.get('idempotent-replayed') === 'true',
      };
    },

    getBatch(id: string, page: { limit?: number; cursor?: string } = {}) {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(page)) if (value !== undefined) query.set(key, String(value));
      return json<BatchView>(`/v1/batches/${encodeURIComponent(id)}${query.size ? `?${query}` : ''}`);
    },

    getFile: (id: string, opts: { wait?: string } = {}) =>
      json<FileView>(`/v1/files/${encodeURIComponent(id)}${opts.wait ? `?wait=${encodeURIComponent(opts.wait)}` : ''}`),

    /** Long-polls until the file leaves PROCESSING or the timeout passes; returns the last view. */
    async waitForFile(id: string, timeoutMs = 120_000): Promise<FileView> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const remaining = Math.max(1, Math.min(60_000, deadline - Date.now()));
        const file = await json<FileView>(`/v1/files/${encodeURIComponent(id)}?wait=${remaining}ms`);
        if (file.status !== 'PROCESSING' || Date.now() >= deadline) return file;
      }
    },

    listFiles(
      filter: {
        status?: FileStatus;
        contentType?: string;
        q?: string;
        batch?: string;
        limit?: number;
        cursor?: string;
      } = {},
    ) {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
      return json<FilePage>(`/v1/files${query.size ? `?${query}` : ''}`);
    },

    /** The raw response (stream it, or read it); with `redirect`, the 302 is not followed. */
    download(id: string, opts: { rendition?: string; redirect?: boolean } = {}): Promise<Response> {
      const path = opts.rendition
        ? `/v1/files/${encodeURIComponent(id)}/renditions/${encodeURIComponent(opts.rendition)}`
        : `/v1/files/${encodeURIComponent(id)}/content`;
      return request(`${path}${opts.redirect ? '?redirect=1' : ''}`, { redirect: 'manual' });
    },

    deleteFile: (id: string) =>
      json<{ id: string; deletionRequested: true }>(`/v1/files/${encodeURIComponent(id)}`, { method: 'DELETE' }),

    updateRetention: (id: string, change: { expiresAt: string } | { extendBy: string } | { hold: boolean }) =>
      sendJson<RetentionState>('PATCH', `/v1/files/${encodeURIComponent(id)}/retention`, change),

    createWebhook: (webhook: { url: string; events?: WebhookEvent[] }) =>
      sendJson<Webhook>('POST', '/v1/webhooks', webhook),
    listWebhooks: () => json<{ items: Webhook[] }>('/v1/webhooks'),
    async deleteWebhook(id: string): Promise<void> {
      await request(`/v1/webhooks/${encodeURIComponent(id)}`, { method: 'DELETE' });
    },
    listDeliveries: (id: string) =>
      json<{ items: WebhookDeliveryView[] }>(`/v1/webhooks/${encodeURIComponent(id)}/deliveries`),
    getWebhookSecret: () => json<{ secret: string }>('/v1/webhook-secret'),
    rotateWebhookSecret: () =>
      json<{ secret: string; previousValidUntil: string | null }>('/v1/webhook-secret/rotate', { method: 'POST' }),
  };
}

export type IntakeClient = ReturnType<typeof createIntakeClient>;

async function toError(response: Response): Promise<IntakeApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; requestId?: string } };
    if (body.error) {
      return new IntakeApiError(
        response.status,
        body.error.code ?? 'error',
        body.error.message ?? text,
        body.error.requestId ?? null,
      );
    }
  } catch {
    // Not JSON (e.g. a proxy's error page): keep the text.
  }
  return new IntakeApiError(
    response.status,
    'http_error',
    text.slice(0, 500) || response.statusText,
    response.headers.get('x-request-id'),
  );
}

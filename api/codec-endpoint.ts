import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { Logger } from 'pino';
import { z } from 'zod';
import { answerError, onError, zodIssuesSentence } from './errors';
import type { AppEnv } from './types';

/**
 * The codec endpoint ("codec server") the Temporal Web UI and CLI call to show decrypted payloads:
 * POST /decode and POST /encode with `{ payloads: [{ metadata: {k: base64}, data: base64 }] }`, the
 * proto3 JSON the UI sends. It decrypts for whoever holds its token, so it is no open oracle:
 * - it listens on its own port, on loopback by default (INTAKE_CODEC_HOST), not beside the public API;
 * - every call carries the token, as `Authorization: Bearer <token>` (CLI: `--codec-auth`) or as the
 *   first path segment, `/<token>/decode` — the form for the Web UI, which cannot add a header of its
 *   own, configured with the endpoint `http://host:port/<token>`;
 * - a browser call from any origin but the Web UI's (INTAKE_CODEC_ORIGINS) is refused before the token
 *   is looked at, and gets no CORS headers, so another page a logged-in operator opens cannot use it;
 * - `X-Namespace`, which the UI sends, must be the namespace whose keys these are.
 */
export interface CodecEndpointOptions {
  codec: PayloadCodec;
  token: string;
  allowedOrigins: readonly string[];
  namespace: string;
  log: Logger;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const PayloadsBody = z.object({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
    .max(10_000),
});
type JsonPayload = z.infer<typeof PayloadsBody>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** Equal-time comparison of the presented token with ours (hashed first, so lengths never leak). */
function tokenMatches(presented: string | undefined, token: string): boolean {
  if (!presented) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

export function createCodecApp(options: CodecEndpointOptions) {
  const app = new Hono<AppEnv>();
  const allowed = new Set(options.allowedOrigins);

  app.use('*', async (c, next) => {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    c.set('log', options.log.child({ requestId, component: 'codec' }));
    await next();
    c.res.headers.set('X-Request-Id', requestId);
    // Who decoded what is worth an audit line; the payloads themselves never are.
    c.var.log.info({ method: c.req.method, status: c.res.status, origin: c.req.header('origin') }, 'codec request');
  });

  // Browsers always send Origin on cross-origin calls and preflights; the CLI sends none.
  app.use('*', async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !allowed.has(origin)) {
      return answerError(c, 'codec_forbidden', `Origin ${origin} may not call the codec endpoint`);
    }
    await next();
  });
  app.use(
    '*',
    cors({
      origin: (origin) => (allowed.has(origin) ? origin : null),
      allowMethods: ['POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'X-Namespace', 'Authorization'],
      // The UI may be set to include credentials (TEMPORAL_CODEC_INCLUDE_CREDENTIALS).
      credentials: true,
      maxAge: 600,
    }),
  );
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => answerError(c as Context<AppEnv>, 'payload_too_large', 'The payloads exceed 8 MiB'),
    }),
  );

  const codecRoute = (direction: 'encode' | 'decode', tokenFrom: (c: Context<AppEnv>) => string | undefined) => {
    const handler: MiddlewareHandler<AppEnv> = async (c) => {
      if (!tokenMatches(tokenFrom(c), options.token)) {
        return answerError(c, 'unauthorized', 'The codec endpoint needs its token (INTAKE_CODEC_TOKEN)');
      }
      // The CLI sends an empty X-Namespace unless told one (`temporal workflow show --codec-endpoint`).
      const namespace = c.req.header('x-namespace');
      if (namespace && namespace !== options.namespace) {
        return answerError(c, 'codec_forbidden', `This codec serves namespace ${options.namespace} only`);
      }
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return answerError(c, 'invalid_request', 'The body must be JSON: { "payloads": [...] }');
      }
      const parsed = PayloadsBody.safeParse(body);
      if (!parsed.success) return answerError(c, 'invalid_request', zodIssuesSentence(parsed.error));
      const payloads = parsed.data.payloads.map(fromJson);
      let out: Payload[];
      try {
        out = await (direction === 'decode' ? options.codec.decode(payloads) : options.codec.encode(payloads));
      } catch (error) {
        // An unknown key id or a tampered payload: the operator's request is wrong, not the server.
        return answerError(c, 'invalid_request', (error as Error).message);
      }
      return c.json({ payloads: out.map(toJson) });
    };
    return handler;
  };

  const bearer = (c: Context<AppEnv>) => /^Bearer (.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  app.post('/decode', codecRoute('decode', bearer));
  app.post('/encode', codecRoute('encode', bearer));
  app.post(
    '/:token/decode',
    codecRoute('decode', (c) => c.req.param('token')),
  );
  app.post(
    '/:token/encode',
    codecRoute('encode', (c) => c.req.param('token')),
  );

  app.onError(onError);
  app.notFound((c) => answerError(c, 'not_found', `No route for ${c.req.method} ${c.req.path}`));
  return app;
}

export interface RunningCodecEndpoint {
  /** e.g. http://127.0.0.1:8234 — the UI's endpoint is this plus `/<token>`. */
  url: string;
  close(): Promise<void>;
}

/** Serves createCodecApp on host:port (port 0 picks a free one). */
export async function startCodecEndpoint(
  options: CodecEndpointOptions & { host: string; port: number },
): Promise<RunningCodecEndpoint> {
  const app = createCodecApp(options);
  const server = await new Promise<ServerType>((resolve) => {
    const listening: ServerType = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () =>
      resolve(listening),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

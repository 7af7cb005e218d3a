import { hc, type ClientResponse } from 'hono/client';
import type { SuccessStatusCode } from 'hono/utils/http-status';
import type { App } from '../api/app';
import { ApiError, CliError, UnreachableError } from './errors';

/*
 * The typed client of the public /v1 API: hono's hc over the API's own route types, so a route or
 * schema change that breaks the CLI fails `tsc`, not a user. Nothing here reaches past HTTP.
 */

export interface Connection {
  /** e.g. http://localhost:3000, without a trailing slash. */
  url: string;
  apiKey: string;
  api: ReturnType<typeof hc<App>>;
  /** fetch with the key and the reachability check, for what hc does not type (tus, raw streams). */
  fetch: typeof fetch;
}

export interface ConnectionSettings {
  url: string;
  apiKey: string | undefined;
}

export function connect(settings: ConnectionSettings): Connection {
  const url = settings.url.replace(/\/+$/, '');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new CliError(`"${settings.url}" is not an http(s) URL (--url or INTAKE_URL)`, 2);
  }
  if (!settings.apiKey) {
    throw new CliError(
      'no API key: set INTAKE_API_KEY or pass --api-key (an operator makes one with `intake keys create <tenant>`)',
      2,
    );
  }
  const apiKey = settings.apiKey;
  const reachable: typeof fetch = async (input, init) => {
    try {
      return await fetch(input, init);
    } catch (error) {
      throw unreachable(url, error);
    }
  };
  return {
    url,
    apiKey,
    api: hc<App>(url, { headers: { Authorization: `Bearer ${apiKey}` }, fetch: reachable }),
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('Authorization', `Bearer ${apiKey}`);
      return reachable(input, { ...init, headers });
    },
  };
}

function unreachable(url: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  // undici's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a reset…).
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  if (error instanceof Error && error.name === 'AbortError') return new CliError('interrupted');
  return new UnreachableError(`cannot reach Intake at ${url} (${reason}); is it running? (--url or INTAKE_URL)`);
}

/** The success answers among a route's typed ones; a route typed with any status (a raw Response) keeps them all. */
type Success<R> =
  R extends ClientResponse<infer T, infer S, infer F>
    ? S extends SuccessStatusCode
      ? ClientResponse<T, S, F>
      : SuccessStatusCode extends S
        ? ClientResponse<T, SuccessStatusCode, F>
        : never
    : never;

/** The response when it is a success; the API's error message as an ApiError otherwise. */
export async function succeeded<R extends ClientResponse<unknown, number, string>>(
  pending: Promise<R> | R,
): Promise<Success<R>> {
  const response = await pending;
  if (response.status >= 400) throw await apiErrorOf(response as unknown as Response);
  return response as unknown as Success<R>;
}

/** The JSON of a successful answer, typed by the route. */
export async function jsonOf<R extends ClientResponse<unknown, number, string>>(
  pending: Promise<R> | R,
): Promise<Awaited<ReturnType<Success<R>['json']>>> {
  const response = await succeeded(pending);
  return (await response.json()) as Awaited<ReturnType<Success<R>['json']>>;
}

/**
 * A download's answer as a plain Response: the routes type only their JSON answers, so the bytes'
 * 200 and 206 are not in hc's union.
 */
export async function downloaded(pending: Promise<ClientResponse<unknown, number, string>>): Promise<Response> {
  const response = (await pending) as unknown as Response;
  if (response.status >= 400) throw await apiErrorOf(response);
  return response;
}

export async function apiErrorOf(response: Response): Promise<ApiError> {
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  const retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : null;
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; requestId?: string } };
    if (body.error?.message) {
      return new ApiError(
        response.status,
        body.error.code ?? 'error',
        body.error.message,
        body.error.requestId ?? response.headers.get('x-request-id'),
        retryAfterSeconds,
      );
    }
  } catch {
    // Not JSON (a proxy's error page): keep the start of the text.
  }
  return new ApiError(
    response.status,
    'http_error',
    text.trim().slice(0, 300) || response.statusText || 'no message',
    response.headers.get('x-request-id'),
    retryAfterSeconds,
  );
}

/* Every call the console makes goes through here: the API key travels only in the Authorization header. */

const KEY_ITEM = 'intake.apiKey';

export const readKey = (): string | null => sessionStorage.getItem(KEY_ITEM);
export const storeKey = (key: string): void => sessionStorage.setItem(KEY_ITEM, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY_ITEM);
export const authHeaders = (): Record<string, string> => ({ Authorization: `Bearer ${readKey() ?? ''}` });

/** An answer of the API's `{ error: { code, message, requestId } }` shape, or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function failure(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    return new ApiError(res.status, body.error?.code ?? 'error', body.error?.message ?? res.statusText);
  } catch {
    return new ApiError(res.status, 'error', `The API answered ${res.status} ${res.statusText}`);
  }
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string>) } });
  } catch {
    throw new ApiError(0, 'network', 'The API cannot be reached; check your connection and try again.');
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await call(path)).json()) as T;
}

export async function sendJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await call(path, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** Bytes behind the Authorization header, for previews and downloads (an <img src> cannot send it). */
export async function getBlob(path: string): Promise<Blob> {
  return (await call(path)).blob();
}

/** A readable sentence for any failure, as the console shows it. */
export const describeError = (error: unknown): string =>
  error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);

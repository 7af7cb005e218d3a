import { Agent, fetch as undiciFetch } from 'undici';
import { guardedLookup } from './webhook-guard';

/**
 * The fetch webhooks are delivered with. Unless private targets are allowed, its connections resolve
 * the host themselves and refuse a private address (guardedLookup), so what was checked is what is
 * connected to. Redirects stay the caller's choice (deliverWebhook does not follow them).
 */
export function webhookFetch(allowPrivate: boolean): typeof fetch {
  if (allowPrivate) return fetch;
  const dispatcher = new Agent({ connect: { lookup: guardedLookup() } });
  return ((input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as string, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

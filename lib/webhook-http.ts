import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { guardedLookup, type WebhookGuardPolicy } from './webhook-guard';

/**
 * The fetch webhooks are delivered with. Unless private targets are allowed, its connections resolve
 * the host themselves and refuse a private address (guardedLookup), so what was checked is what is
 * connected to. Redirects stay the caller's choice (deliverWebhook does not follow them).
 */
export function webhookFetch(policy: WebhookGuardPolicy): typeof fetch {
  if (policy.allowPrivate) return fetch;
  // A socket's lookup is not told the port, and the allow-list is per port: one connector per port,
  // each with a lookup that knows it (and its own TLS session cache, as undici keeps per connector).
  const connectors = new Map<number, buildConnector.connector>();
  const connectorFor = (port: number) => {
    let found = connectors.get(port);
    if (!found) {
      found = buildConnector({ lookup: guardedLookup(undefined, { port, allowTargets: policy.allowTargets }) });
      connectors.set(port, found);
    }
    return found;
  };
  const dispatcher = new Agent({
    connect: (options, callback) => {
      const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
      connectorFor(port)(options, callback);
    },
  });
  return ((input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as string, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

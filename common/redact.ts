/**
 * A URL as logs, errors and workflow histories may show it: no user or password, no query string (a
 * webhook URL's query often carries the receiver's token). Workflow-safe: no I/O.
 */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.username) url.username = '***';
    if (url.password) url.password = '***';
    const hadQuery = url.search !== '';
    url.search = '';
    url.hash = '';
    return `${url.toString()}${hadQuery ? '?[redacted]' : ''}`;
  } catch {
    return '[not a URL]';
  }
}

import { useEffect, useState } from 'preact/hooks';
import { describeError, getJson, sendJson } from './api-client';
import type { Delivery, Webhook } from './types';

interface TestResult {
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

const EVENTS = ['file.ready', 'file.rejected', 'file.infected', 'file.failed', 'file.deleted', 'batch.completed'];

function Deliveries({ webhook }: { webhook: Webhook }) {
  const [items, setItems] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    getJson<{ items: Delivery[] }>(`/v1/webhooks/${webhook.id}/deliveries?limit=20`).then(
      (page) => setItems(page.items),
      (failure: unknown) => setError(describeError(failure)),
    );
  useEffect(() => void load(), [webhook.id]);
  return (
    <div class="deliveries">
      <button type="button" onClick={() => void load()}>
        Refresh deliveries
      </button>
      {error && <p class="error">{error}</p>}
      {items && items.length === 0 && <p>No delivery yet: one is sent when a subscribed event happens.</p>}
      {items && items.length > 0 && (
        <table aria-label={`Deliveries to ${webhook.url}`}>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                <td>{d.event}</td>
                <td>{d.status}</td>
                <td>{d.attempts}</td>
                <td>{d.lastStatusCode ?? d.lastError ?? '–'}</td>
                <td>{new Date(d.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The tenant's webhooks: add, remove, deliveries, and the signing secret. */
export function WebhooksPage() {
  const [hooks, setHooks] = useState<Webhook[]>([]);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [tested, setTested] = useState<string | null>(null);

  const load = () =>
    getJson<{ items: Webhook[] }>('/v1/webhooks').then(
      (page) => setHooks(page.items),
      (failure: unknown) => setError(describeError(failure)),
    );
  useEffect(() => void load(), []);
  const act = async (what: string, run: () => Promise<unknown>) => {
    setError(null);
    try {
      await run();
      await load();
    } catch (failure) {
      setError(`${what} refused: ${describeError(failure)}`);
    }
  };

  return (
    <main class="webhooks">
      <h2>Webhooks</h2>
      <form
        class="add-webhook"
        onSubmit={(e) => {
          e.preventDefault();
          void act('Adding the webhook', async () => {
            await sendJson('POST', '/v1/webhooks', { url: url.trim(), ...(events.length && { events }) });
            setUrl('');
          });
        }}
      >
        <label>
          Webhook URL
          <input type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Events (none ticked: every event)</legend>
          {EVENTS.map((event) => (
            <label key={event} class="check">
              <input
                type="checkbox"
                checked={events.includes(event)}
                onChange={(e) =>
                  setEvents(e.currentTarget.checked ? [...events, event] : events.filter((x) => x !== event))
                }
              />
              {event}
            </label>
          ))}
        </fieldset>
        <button type="submit">Add webhook</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {tested && (
        <p class="notice" role="status">
          {tested}
        </p>
      )}
      {hooks.length === 0 && <p class="empty">No webhook yet. Add an https URL above to be told of every outcome.</p>}
      <ul class="webhook-list" aria-label="Webhooks">
        {hooks.map((hook) => (
          <li key={hook.id}>
            <div class="row">
              <strong>{hook.url}</strong>
              <span>{hook.events.length ? hook.events.join(', ') : 'every event'}</span>
              {hook.disabledAt && <span class="status status-failed">disabled: {hook.disabledReason}</span>}
              <button
                type="button"
                onClick={() => setOpen(open === hook.id ? null : hook.id)}
                aria-expanded={open === hook.id}
              >
                Deliveries of {hook.url}
              </button>
              <button
                type="button"
                onClick={() =>
                  void act('Sending the test event', async () => {
                    const result = await sendJson<TestResult>('POST', `/v1/webhooks/${hook.id}/test`);
                    setTested(
                      result.delivered
                        ? `Test event delivered to ${hook.url} (answered ${result.statusCode} in ${result.durationMs} ms).`
                        : `Test event not delivered to ${hook.url}: ${result.error ?? 'no answer'}.`,
                    );
                  })
                }
              >
                Send test event to {hook.url}
              </button>
              <button
                type="button"
                class="danger"
                onClick={() => {
                  if (window.confirm(`Remove the webhook to ${hook.url}?`)) {
                    void act('Removing the webhook', () => sendJson('DELETE', `/v1/webhooks/${hook.id}`));
                  }
                }}
              >
                Remove {hook.url}
              </button>
            </div>
            {open === hook.id && <Deliveries webhook={hook} />}
          </li>
        ))}
      </ul>
      <section aria-labelledby="secret-heading">
        <h3 id="secret-heading">Signing secret</h3>
        <p>Every delivery is signed (Standard Webhooks); verify it with this secret.</p>
        <button
          type="button"
          onClick={() =>
            void act('Revealing the secret', async () =>
              setSecret((await getJson<{ secret: string }>('/v1/webhook-secret')).secret),
            )
          }
        >
          Reveal signing secret
        </button>
        <button
          type="button"
          class="danger"
          onClick={() => {
            if (window.confirm('Rotate the signing secret? The old one keeps signing for a while, then stops.')) {
              void act('Rotating the secret', async () =>
                setSecret((await sendJson<{ secret: string }>('POST', '/v1/webhook-secret/rotate')).secret),
              );
            }
          }}
        >
          Rotate signing secret
        </button>
        {secret && (
          <p>
            <code class="secret">{secret}</code>
          </p>
        )}
      </section>
    </main>
  );
}

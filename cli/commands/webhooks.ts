import { InvalidArgumentError, type Command } from 'commander';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../common/domain';
import { jsonOf, succeeded } from '../api-client';
import type { CliContext } from '../context';
import { httpUrl } from '../options';
import { renderTable } from '../output/table';
import { note, say, sayJson } from '../output/terminal';
import { formatTime } from '../output/when';

export function eventList(value: string, previous: WebhookEvent[] = []): WebhookEvent[] {
  const events = value
    .split(',')
    .map((event) => event.trim())
    .filter(Boolean);
  for (const event of events) {
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) {
      throw new InvalidArgumentError(`"${event}" is not an event; use ${WEBHOOK_EVENTS.join(', ')}.`);
    }
  }
  return [...new Set([...previous, ...(events as WebhookEvent[])])];
}

/** `intake webhooks ls | add | rm | deliveries`: the tenant's webhook endpoints and what was sent to them. */
export function registerWebhooks(program: Command, context: CliContext): void {
  const webhooks = program.command('webhooks').description('manage webhook endpoints and see their deliveries');

  webhooks
    .command('ls')
    .description("list the tenant's webhook endpoints")
    .option('--json', 'print { items } as JSON')
    .action(async (options: { json?: boolean }) => {
      const { api } = context.connection();
      const listing = await jsonOf(api.v1.webhooks.$get());
      if (options.json) {
        sayJson(context.terminal, listing);
        return;
      }
      if (listing.items.length === 0) {
        note(context.terminal, 'No webhooks. Add one with `intake webhooks add <url>`.');
        return;
      }
      say(
        context.terminal,
        renderTable(
          ['id', 'url', 'events', 'created', 'state'],
          listing.items.map((hook) => [
            hook.id,
            hook.url,
            hook.events.length ? hook.events.join(', ') : 'every event',
            formatTime(hook.createdAt),
            hook.disabledAt
              ? `disabled: ${hook.disabledReason ?? ''}`
              : hook.failingSince
                ? `failing since ${formatTime(hook.failingSince)}`
                : 'ok',
          ]),
        ),
      );
    });

  webhooks
    .command('add')
    .description('register an endpoint; deliveries are signed with the tenant secret (Standard Webhooks)')
    .argument('<url>', 'the http(s) URL to POST events to', httpUrl)
    .option(
      '--events <events>',
      `only these events, comma-separated (${WEBHOOK_EVENTS.join(', ')}); default every event`,
      eventList,
    )
    .option('--json', 'print the new webhook as JSON')
    .action(async (url: string, options: { events?: WebhookEvent[]; json?: boolean }) => {
      const { api } = context.connection();
      const hook = await jsonOf(
        api.v1.webhooks.$post({ json: { url, ...(options.events ? { events: options.events } : {}) } }),
      );
      if (options.json) sayJson(context.terminal, hook);
      else
        say(
          context.terminal,
          `${hook.id}  ${hook.url}  ${hook.events.length ? hook.events.join(', ') : 'every event'}`,
        );
    });

  webhooks
    .command('rm')
    .description('remove an endpoint (its delivery log is kept)')
    .argument('<id>', 'the webhook id (wh_…)')
    .action(async (id: string) => {
      const { api } = context.connection();
      await succeeded(api.v1.webhooks[':id'].$delete({ param: { id } }));
      note(context.terminal, `Removed webhook ${id}.`);
    });

  webhooks
    .command('deliveries')
    .description("an endpoint's recent deliveries, with attempts and status codes")
    .argument('<id>', 'the webhook id (wh_…)')
    .option('--json', 'print { items } as JSON, with every attempt')
    .action(async (id: string, options: { json?: boolean }) => {
      const { api } = context.connection();
      const listing = await jsonOf(api.v1.webhooks[':id'].deliveries.$get({ param: { id }, query: {} }));
      if (options.json) {
        sayJson(context.terminal, listing);
        return;
      }
      if (listing.items.length === 0) {
        note(context.terminal, 'No deliveries yet.');
        return;
      }
      say(
        context.terminal,
        renderTable(
          ['event', 'file', 'status', 'attempts', 'last code', 'created', 'delivered', 'last error'],
          listing.items.map((d) => [
            d.event,
            d.fileId,
            d.status,
            d.attempts,
            d.lastStatusCode,
            formatTime(d.createdAt),
            formatTime(d.deliveredAt),
            d.lastError,
          ]),
        ),
      );
    });
}

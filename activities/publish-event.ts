import type { ActivityDeps } from './deps';
import type { PublishEventInput } from './types';
import { buildEventBody } from './webhook-message';

/**
 * Publishes one event to the events topic (KAFKA_EVENTS_TOPIC): the webhook's JSON body as the value,
 * the file's id (the batch's for batch.completed) as the key, so one file's events stay in order on
 * one partition, and the webhook's message id as `intake-event-id`, so consumers de-duplicate the
 * redeliveries at-least-once allows. The body's timestamp is the event's, fixed by the workflow, so a
 * retried publish sends the same bytes. A broker that is away throws, and Temporal retries.
 */
export async function publishEvent(deps: ActivityDeps, input: PublishEventInput): Promise<void> {
  const { config, events } = deps;
  if (!config.kafka.publishEvents || !events) return;
  const body = buildEventBody(config.publicUrl, input.event, new Date(input.occurredAt));
  await events.publish({
    topic: config.kafka.topics.events,
    key: input.event.fileId,
    value: JSON.stringify(body),
    headers: { 'intake-event-id': input.event.messageId, 'content-type': 'application/json' },
  });
}

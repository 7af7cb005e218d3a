import { isCancellation, log } from '@temporalio/workflow';
import type { IntakeEvent } from '../activities/types';
import { publishEvent } from './activity-proxies';
import { failureMessage } from './upload-state';

/**
 * A run's events for the events topic, published one after another in the order they happened (a
 * file's outcome before its deletion), beside the run's other work: a broker that is away delays the
 * events, never the file's outcome, its retention or its deletion. `enabled` is the run's
 * `events-topic` patch: runs recorded before it publish nothing. The run awaits `settled()` before it
 * ends or continues as new, so no event is left behind.
 */
export class EventPublisher {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly enabled: boolean) {}

  publish(event: IntakeEvent): void {
    if (!this.enabled) return;
    // Fixed now, so every retry publishes the same body.
    const occurredAt = new Date().toISOString();
    this.chain = this.chain.then(() =>
      publishEvent({ event, occurredAt }).catch((error: unknown) => {
        if (!isCancellation(error))
          log.error('could not publish an event', { messageId: event.messageId, error: failureMessage(error) });
      }),
    );
  }

  settled(): Promise<void> {
    return this.chain;
  }
}

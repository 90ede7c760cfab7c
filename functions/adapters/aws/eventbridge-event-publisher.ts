// The production EventPublisher: Switchyard domain events to its EventBridge bus with PutEvents.

import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { DomainEvent, EventPublisher } from "../../core/ports.ts";
import { publishInBatches } from "../../core/publishing.ts";

/**
 * Publishes in batches of 10. PutEvents can accept some entries of a call and fail others; any failed
 * entry makes `publish` reject with `EventPublishError` naming each failure, never silently. A failed call
 * (throttling, access denied) rejects with the SDK's error.
 *
 * @example
 * const publisher = new EventBridgeEventPublisher(new EventBridgeClient({}), requireEnv(envNames.eventBusName));
 */
export class EventBridgeEventPublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  publish(events: readonly DomainEvent[]): Promise<void> {
    return publishInBatches(events, this.eventBusName, (Entries) =>
      this.client.send(new PutEventsCommand({ Entries })),
    );
  }
}

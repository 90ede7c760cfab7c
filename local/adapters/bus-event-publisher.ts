// The local EventPublisher: Switchyard domain events onto the local runtime's `switchyard` bus.

import { EventPublishError } from "../../functions/core/errors.ts";
import type { DomainEvent, EventPublisher } from "../../functions/core/ports.ts";
import { publishInBatches } from "../../functions/core/publishing.ts";
import type { LocalEventBus } from "../bus/event-bus.ts";
import { PutEventsValidationError } from "../bus/put-events.ts";

/**
 * Same batching and failure rules as the EventBridge publisher, against the durable local bus.
 *
 * @example
 * const publisher = new BusEventPublisher(bus);
 * await publisher.publish([{ detailType: "Promotion Succeeded", detail }]);
 */
export class BusEventPublisher implements EventPublisher {
  constructor(
    private readonly bus: Pick<LocalEventBus, "putEvents">,
    private readonly eventBusName = "switchyard",
  ) {}

  publish(events: readonly DomainEvent[]): Promise<void> {
    return publishInBatches(events, this.eventBusName, async (Entries) => {
      try {
        return this.bus.putEvents({ Entries });
      } catch (error) {
        // The whole request was refused (e.g. over 256 KB): same outcome as an SDK ValidationException.
        if (error instanceof PutEventsValidationError)
          throw new EventPublishError(error.message, [], { cause: error });
        throw error;
      }
    });
  }
}

// How domain events become PutEvents entries: one shape for every publisher, AWS or local.

import { EventPublishError } from "./errors.ts";
import type { DomainEvent } from "./ports.ts";

/** Every Switchyard domain event carries this source. */
export const domainEventSource = "switchyard";
/** PutEvents takes at most 10 entries per call. */
export const putEventsBatchSize = 10;

export interface DomainEventEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources: string[];
  EventBusName: string;
}

/**
 * The PutEvents entries for domain events, in batches PutEvents accepts.
 *
 * @example
 * toEntryBatches([{ detailType: "Promotion Succeeded", detail: {...} }], "switchyard") // [[{ Source: "switchyard", ... }]]
 */
export const toEntryBatches = (
  events: readonly DomainEvent[],
  eventBusName: string,
): DomainEventEntry[][] => {
  const entries = events.map((event) => ({
    Source: event.source ?? domainEventSource,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    Resources: event.resources ?? [],
    EventBusName: eventBusName,
  }));
  const batches: DomainEventEntry[][] = [];
  for (let i = 0; i < entries.length; i += putEventsBatchSize)
    batches.push(entries.slice(i, i + putEventsBatchSize));
  return batches;
};

/** What one PutEvents call answered, per entry. */
export interface PutEventsAnswer {
  Entries?: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
}

/**
 * Sends domain events in PutEvents-sized batches and fails loudly: any entry the bus did not accept makes it
 * reject with `EventPublishError` (retryable) naming each failure. Both publishers, AWS and local, use it.
 *
 * @example
 * await publishInBatches(events, "switchyard", (Entries) => client.send(new PutEventsCommand({ Entries })));
 */
export const publishInBatches = async (
  events: readonly DomainEvent[],
  eventBusName: string,
  send: (entries: DomainEventEntry[]) => Promise<PutEventsAnswer>,
): Promise<void> => {
  const failures: EventPublishError["failures"][number][] = [];
  for (const batch of toEntryBatches(events, eventBusName)) {
    const answer = await send(batch);
    (answer.Entries ?? []).forEach((entry, i) => {
      if (entry.ErrorCode) {
        failures.push({
          detailType: batch[i]?.DetailType ?? "unknown",
          errorCode: entry.ErrorCode,
          errorMessage: entry.ErrorMessage ?? "",
        });
      }
    });
  }
  if (failures.length > 0) {
    const summary = failures.map((f) => `${f.detailType}: ${f.errorCode}`).join("; ");
    throw new EventPublishError(
      `${failures.length} of ${events.length} event(s) not published: ${summary}`,
      failures,
    );
  }
};

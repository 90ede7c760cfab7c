// Lambda (rule target): one of Switchyard's own failures (or the success that ends it) as an Alert Received.

import { z } from "zod";
import {
  promotionRolledBackEventSchema,
  promotionSucceededEventSchema,
  restoreDrillFailedEventSchema,
  restoreDrillPassedEventSchema,
  secretRolloutFailedEventSchema,
  secretRotatedEventSchema,
} from "../../events/schemas/switchyard.ts";
import { alertContextOf, alertReceivedEvent, fromDomainEvent } from "../core/alerts.ts";
import type { SwitchyardConfig } from "../core/config.ts";
import type { EventPublisher, IncidentStore } from "../core/ports.ts";
import { awsConfig, eventPublisher, incidentStore } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";
import { logger } from "../wiring/observability.ts";

/**
 * The six events the rule delivers, each validated against its catalog schema: three failures that open an
 * incident and the three successes that resolve it.
 */
export const normalizeFailureEventSchema = z.discriminatedUnion("detail-type", [
  secretRolloutFailedEventSchema,
  secretRotatedEventSchema,
  restoreDrillFailedEventSchema,
  restoreDrillPassedEventSchema,
  promotionRolledBackEventSchema,
  promotionSucceededEventSchema,
]);

export interface NormalizeFailureDeps {
  config: Pick<SwitchyardConfig, "incidents" | "services" | "secrets">;
  publisher: EventPublisher;
  /** Successes resolve only what is open: every promotion succeeding must not put an alert on the bus. */
  incidents: Pick<IncidentStore, "findActive">;
}

/** What the function returns: the alert it published, or that a success had nothing to resolve. */
export interface NormalizeFailureResult {
  fingerprint: string;
  status: "firing" | "resolved" | "nothing-open";
}

/**
 * Publishes the event's `Alert Received`: firing for a failure (severity from `incidents.domainEvents`), resolved
 * for the matching success when that failure's incident is still open (otherwise nothing: a success is the common
 * case). A failed publish throws, so EventBridge retries the invocation.
 *
 * @example
 * await makeNormalizeFailure({ config, publisher })(rolledBack); // { fingerprint: "switchyard:promotion-rolled-back:checkout:production", status: "firing" }
 */
export const makeNormalizeFailure = (deps: NormalizeFailureDeps) => {
  const context = alertContextOf(deps.config);
  return async (event: z.infer<typeof normalizeFailureEventSchema>): Promise<NormalizeFailureResult> => {
    const alert = fromDomainEvent(event, deps.config.incidents.domainEvents, context);
    if (alert.status === "resolved" && (await deps.incidents.findActive(alert.fingerprint)) === undefined) {
      return { fingerprint: alert.fingerprint, status: "nothing-open" };
    }
    await deps.publisher.publish([alertReceivedEvent(alert)]);
    logger.info("Switchyard event published as an alert", {
      detailType: event["detail-type"],
      fingerprint: alert.fingerprint,
      status: alert.status,
    });
    return { fingerprint: alert.fingerprint, status: alert.status };
  };
};

export const handler = coldStart(() =>
  withHandlerStack(
    makeNormalizeFailure({ config: awsConfig(), publisher: eventPublisher(), incidents: incidentStore() }),
    normalizeFailureEventSchema,
  ),
);

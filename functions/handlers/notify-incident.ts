// Lambda: notifies one escalation level of an incident (Slack, PagerDuty, e-mail), each channel on its own.

import { z } from "zod";
import { type IncidentDeps, notifyIncident } from "../core/incidents.ts";
import { incidentDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";
import { logger } from "../wiring/observability.ts";

export const notifyIncidentInputSchema = z.object({
  incidentId: z.uuid(),
  level: z.number().int().positive(),
});

/**
 * A channel that failed is in the incident's timeline; it is also logged as a warning, so that a page that never
 * left (a routing key still unset, Slack refusing the token) shows where the operators look.
 */
export const makeNotifyIncident =
  (deps: IncidentDeps) => async (input: z.infer<typeof notifyIncidentInputSchema>) => {
    const result = await notifyIncident(deps, input);
    if (result.failed.length > 0) {
      logger.warn("incident notifications failed", { incidentId: result.incidentId, failed: result.failed });
    }
    return result;
  };

export const handler = coldStart(() =>
  withHandlerStack(makeNotifyIncident(incidentDeps()), notifyIncidentInputSchema),
);

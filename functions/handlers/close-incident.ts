// Lambda: tells PagerDuty and Slack an incident was acknowledged or resolved; a resolution lifts its freeze.

import { z } from "zod";
import { closeIncident, type IncidentDeps } from "../core/incidents.ts";
import { incidentDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const closeIncidentInputSchema = z.object({
  incidentId: z.uuid(),
  outcome: z.enum(["acknowledged", "resolved"]),
});

export const makeCloseIncident =
  (deps: IncidentDeps) => async (input: z.infer<typeof closeIncidentInputSchema>) =>
    closeIncident(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeCloseIncident(incidentDeps()), closeIncidentInputSchema),
);

// Lambda: an unacknowledged incident goes to its next escalation level, or escalation ends.

import { z } from "zod";
import { escalateIncident, type IncidentDeps } from "../core/incidents.ts";
import { incidentDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const escalateIncidentInputSchema = z.object({ incidentId: z.uuid() });

export const makeEscalateIncident =
  (deps: Pick<IncidentDeps, "config" | "incidents" | "publisher" | "clock">) =>
  async (input: z.infer<typeof escalateIncidentInputSchema>) =>
    escalateIncident(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeEscalateIncident(incidentDeps()), escalateIncidentInputSchema),
);

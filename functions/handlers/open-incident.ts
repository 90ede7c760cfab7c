// Lambda: the first step of incident-escalation — record the incident, freeze its service, Incident Opened.

import { z } from "zod";
import { alertReceivedDetailSchema } from "../../events/schemas/switchyard.ts";
import { type IncidentDeps, openIncident } from "../core/incidents.ts";
import { incidentDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const openIncidentInputSchema = z.object({
  alert: alertReceivedDetailSchema,
  executionName: z.string().min(1),
});

export const makeOpenIncident =
  (deps: Pick<IncidentDeps, "config" | "incidents" | "freezes" | "publisher" | "clock" | "ids">) =>
  async (input: z.infer<typeof openIncidentInputSchema>) =>
    openIncident(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeOpenIncident(incidentDeps()), openIncidentInputSchema),
);

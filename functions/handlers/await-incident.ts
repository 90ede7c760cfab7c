// Lambda (waitForTaskToken): parks an incident's workflow until it is acknowledged or resolved.

import { z } from "zod";
import { awaitIncident, type IncidentDeps } from "../core/incidents.ts";
import { incidentDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const awaitIncidentInputSchema = z.object({
  incidentId: z.uuid(),
  taskToken: z.string().min(1),
  phase: z.enum(["ack", "resolve"]),
});

export const makeAwaitIncident =
  (deps: Pick<IncidentDeps, "incidents" | "callbacks">) =>
  async (input: z.infer<typeof awaitIncidentInputSchema>) =>
    awaitIncident(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeAwaitIncident(incidentDeps()), awaitIncidentInputSchema),
);

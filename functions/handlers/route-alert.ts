// Lambda: an Alert Received — a firing alert starts its incident's workflow, a resolved one resolves it.

import { alertReceivedEventSchema } from "../../events/schemas/switchyard.ts";
import { type IncidentDeps, routeAlert } from "../core/incidents.ts";
import { incidentDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const routeAlertEventSchema = alertReceivedEventSchema;

export const makeRouteAlert =
  (deps: Pick<IncidentDeps, "incidents" | "callbacks" | "workflows" | "clock">) =>
  async (event: { detail: Parameters<typeof routeAlert>[1] }) =>
    routeAlert(deps, event.detail);

export const handler = coldStart(() =>
  withHandlerStack(makeRouteAlert(incidentDeps()), routeAlertEventSchema),
);

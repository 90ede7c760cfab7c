// Lambda behind /incidents: lists incidents, shows one (JSON or page with its timeline), and records acknowledgements.

import { z } from "zod";
import { identityFromArn } from "../core/approvals.ts";
import type { SwitchyardConfig } from "../core/config.ts";
import { NotFoundError, ValidationError } from "../core/errors.ts";
import { ForbiddenError, UnauthorizedError } from "../core/http-errors.ts";
import { verifyAckLink } from "../core/incident-links.ts";
import { acknowledgeIncident, type IncidentDeps } from "../core/incidents.ts";
import { maxLinkTokenLength } from "../core/link-token.ts";
import type { IncidentRecord, IncidentStatus, SecretStore } from "../core/ports.ts";
import {
  maxAckNameLength,
  pageHeaders,
  renderIncidentForbiddenPage,
  renderIncidentNotFoundPage,
  renderIncidentPage,
  renderIncidentProblemPage,
  renderIncidentResolvedPage,
} from "../web/incident-page.ts";
import {
  awsConfig,
  clock,
  eventPublisher,
  incidentStore,
  secretStore,
  workflowCallbacks,
} from "../wiring/aws.ts";
import {
  describeIssues,
  type HttpRequest,
  type HttpResult,
  userHeader,
  withHttpStack,
} from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";

export interface IncidentsApiDeps
  extends Pick<IncidentDeps, "incidents" | "callbacks" | "publisher" | "clock"> {
  /** `approvals.linkKeySecret` signs and verifies acknowledge links. */
  config: Pick<SwitchyardConfig, "approvals">;
  secrets: SecretStore;
  /**
   * Whether a caller without credentials may read incidents (list, JSON, the read-only page). True locally and
   * behind the IAM-authorized API; false on the public pages API, where only a valid acknowledge link shows anything.
   */
  anonymousCanRead: boolean;
  /** Trust `x-switchyard-user` (or a body's `by`) to name who acknowledges: only where no authorizer runs (locally). */
  trustUserHeader?: boolean;
}

/**
 * The parts of the request the stack validates before the handler runs: none. Each route reads its own query and
 * body, so that a page route can answer its problems as a page.
 */
export const incidentsRequest = {} as const;

const incidentStatuses = ["open", "acknowledged", "resolved"] as const satisfies readonly IncidentStatus[];
/** The list's default and largest page, the store's own. */
export const defaultIncidentsLimit = 100;
export const maxIncidentsLimit = 1_000;
/** Incident ids are UUIDs; anything outside these characters names no incident. */
const incidentIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Control characters, and the characters Slack's mrkdwn would read as a mention or a link (`<!channel>`). */
const unsafeNameCharacters = /[<>&\p{Cc}]/u;

/** GET /incidents?status=&limit= */
export const incidentsListQuerySchema = z.strictObject({
  status: z
    .enum(incidentStatuses, { error: () => `expected one of ${incidentStatuses.join(", ")}` })
    .optional(),
  limit: z
    .string()
    .regex(/^\d+$/, `expected a whole number from 1 to ${maxIncidentsLimit}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(maxIncidentsLimit))
    .optional(),
});

/** Who acknowledges, as a person names themselves: shown in the timeline, the event and Slack. */
const ackNameSchema = z
  .string()
  .trim()
  .max(maxAckNameLength, `expected at most ${maxAckNameLength} characters`)
  .refine(
    (name) => !unsafeNameCharacters.test(name),
    "expected a name without <, >, & or control characters",
  );

/** POST /incidents/{id}/ack, as JSON or as the page's form: the link token, and the name of who acknowledges. */
export const incidentAckBodySchema = z.strictObject({
  token: z.string().min(1).max(maxLinkTokenLength, "expected an acknowledge link token").optional(),
  by: ackNameSchema.optional(),
});

type Request = HttpRequest<undefined>;
type AckBody = z.infer<typeof incidentAckBodySchema>;

/** What the list shows of an incident: no timeline, never a wait token. */
export interface IncidentSummaryView {
  id: string;
  fingerprint: string;
  status: IncidentStatus;
  severity: IncidentRecord["severity"];
  level: number;
  service?: string;
  summary: string;
  alertSource: IncidentRecord["alertSource"];
  runbookUrl?: string;
  startsAt: string;
  openedAt: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  resolution?: IncidentRecord["resolution"];
}

/** Copies the fields the API shows, so nothing else a store may carry leaves it. */
export const incidentSummaryOf = (incident: IncidentRecord): IncidentSummaryView => ({
  id: incident.id,
  fingerprint: incident.fingerprint,
  status: incident.status,
  severity: incident.severity,
  level: incident.level,
  ...(incident.service !== undefined && { service: incident.service }),
  summary: incident.summary,
  alertSource: incident.alertSource,
  ...(incident.runbookUrl !== undefined && { runbookUrl: incident.runbookUrl }),
  startsAt: incident.startsAt,
  openedAt: incident.openedAt,
  ...(incident.acknowledgedAt !== undefined && { acknowledgedAt: incident.acknowledgedAt }),
  ...(incident.acknowledgedBy !== undefined && { acknowledgedBy: incident.acknowledgedBy }),
  ...(incident.resolvedAt !== undefined && { resolvedAt: incident.resolvedAt }),
  ...(incident.resolution !== undefined && { resolution: incident.resolution }),
});

/** The whole incident as `GET /incidents/{id}` shows it: the summary and the rest, with the timeline. */
export const incidentDetailOf = (incident: IncidentRecord) => ({
  ...incidentSummaryOf(incident),
  ...(incident.description !== undefined && { description: incident.description }),
  ...(incident.sourceUrl !== undefined && { sourceUrl: incident.sourceUrl }),
  labels: { ...incident.labels },
  ...(incident.slack !== undefined && { slack: { ...incident.slack } }),
  pagedRoutingKeys: [...incident.pagedRoutingKeys],
  froze: incident.froze,
  timeline: incident.timeline.map((entry) => ({ ...entry })),
});

const page = (statusCode: number, html: string): HttpResult<string> => ({
  statusCode,
  headers: { ...pageHeaders },
  body: html,
});

/** JSON when the client asks for JSON (the API, the CLI); the page for browsers and anything else. */
const wantsJson = (request: Request): boolean => {
  const accept = request.headers.accept ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
};

const isFormPost = (request: Request): boolean =>
  (request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");

const iamCaller = (request: Request): string | undefined => {
  const context = request.event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } };
  const arn = context.authorizer?.iam?.userArn;
  return typeof arn === "string" && arn !== "" ? arn : undefined;
};

const channelOf = (request: Request): "cli" | "api" =>
  (request.headers["user-agent"] ?? "").startsWith("switchyard-cli") ? "cli" : "api";

const incidentIdOf = (request: Request): string => {
  const id = request.path.id ?? "";
  if (!incidentIdPattern.test(id)) throw new NotFoundError(`No incident with id ${id.slice(0, 64)}`);
  return id;
};

const invalid = (where: string, error: z.ZodError): ValidationError =>
  new ValidationError(`Invalid request ${where}: ${describeIssues(where, error.issues)}`, { cause: error });

/** The body of an acknowledgement: the page's form fields, a JSON object, or nothing at all. */
const readAckBody = (request: Request): AckBody => {
  const text = request.rawBody.toString("utf8");
  let value: unknown;
  if (isFormPost(request)) {
    // An empty name field is no name.
    value = Object.fromEntries([...new URLSearchParams(text)].filter(([, field]) => field !== ""));
  } else if (text.trim() === "") {
    value = {};
  } else {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ValidationError(
        'Request body is not valid JSON; expected {"by"?: "<name>", "token"?: "<link token>"}',
      );
    }
  }
  const parsed = incidentAckBodySchema.safeParse(value);
  if (!parsed.success) throw invalid("body", parsed.error);
  return parsed.data;
};

const checkedName = (name: string, where: string): string => {
  const parsed = ackNameSchema.safeParse(name);
  if (!parsed.success) {
    throw new ValidationError(`Invalid request ${where}: ${parsed.error.issues[0]?.message ?? "not a name"}`);
  }
  return parsed.data;
};

/** Who acknowledges, and through what: the link token, the IAM caller, or (locally) the name the caller gives. */
const acknowledger = async (
  deps: IncidentsApiDeps,
  request: Request,
  incidentId: string,
  body: AckBody,
): Promise<{ by: string; via: string }> => {
  if (body.token !== undefined) {
    await verifyAckLink(deps, body.token, incidentId);
    // The link is not personal (it went to a channel and a pager): the name is what the visitor typed.
    return { by: body.by || "someone with the acknowledge link", via: "link" };
  }
  const arn = iamCaller(request);
  // A signed caller is who they are: a name in the body does not speak for them.
  if (arn) return { by: identityFromArn(arn), via: channelOf(request) };
  if (deps.trustUserHeader) {
    const named = request.headers[userHeader]?.trim() || body.by;
    if (named) return { by: checkedName(named, `header ${userHeader}`), via: channelOf(request) };
  }
  throw new UnauthorizedError(
    "No credentials: acknowledge from the link in the Slack post, page or e-mail, with `switchyard incidents ack <id>`, or in PagerDuty",
  );
};

const listIncidents = async (deps: IncidentsApiDeps, request: Request): Promise<HttpResult> => {
  if (!deps.anonymousCanRead && !iamCaller(request)) {
    throw new UnauthorizedError("Listing incidents needs a signed request");
  }
  const parsed = incidentsListQuerySchema.safeParse(request.query);
  if (!parsed.success) throw invalid("query", parsed.error);
  const { status, limit } = parsed.data;
  const incidents = await deps.incidents.list({
    ...(status !== undefined && { status }),
    limit: limit ?? defaultIncidentsLimit,
  });
  return { statusCode: 200, body: { incidents: incidents.map(incidentSummaryOf) } };
};

const getIncident = async (deps: IncidentsApiDeps, request: Request): Promise<HttpResult> => {
  const json = wantsJson(request);
  const refuse = (error: Error, statusCode: number, html: string): HttpResult => {
    if (json) throw error;
    return page(statusCode, html);
  };
  let id: string;
  try {
    id = incidentIdOf(request);
  } catch (error) {
    return refuse(error as Error, 404, renderIncidentNotFoundPage(request.path.id ?? ""));
  }
  const token = request.query.token;
  if (token !== undefined) {
    try {
      if (token.length > maxLinkTokenLength) throw new ForbiddenError("The acknowledge link is malformed");
      await verifyAckLink(deps, token, id);
    } catch (error) {
      if (!(error instanceof ForbiddenError)) throw error;
      return refuse(error, 403, renderIncidentForbiddenPage(error.message));
    }
  } else if (!deps.anonymousCanRead && !iamCaller(request)) {
    const message =
      "Open the acknowledge link from the Slack post, the page or the e-mail (it carries a token)";
    return refuse(new UnauthorizedError(message), 403, renderIncidentForbiddenPage(message));
  }
  const incident = await deps.incidents.get(id);
  if (!incident) {
    return refuse(new NotFoundError(`No incident with id ${id}`), 404, renderIncidentNotFoundPage(id));
  }
  if (json) return { statusCode: 200, body: incidentDetailOf(incident) };
  return page(
    200,
    renderIncidentPage({
      incident,
      ...(token !== undefined && { linkToken: token }),
      ackUrl: `/incidents/${encodeURIComponent(incident.id)}/ack`,
    }),
  );
};

/** A refused form post gets a page saying why, with the status the API would answer. */
const errorPage = async (deps: IncidentsApiDeps, request: Request, error: Error): Promise<HttpResult> => {
  const id = request.path.id ?? "";
  switch (error.name) {
    case "ForbiddenError":
    case "UnauthorizedError":
      return page(403, renderIncidentForbiddenPage(error.message));
    case "NotFoundError":
      return page(404, renderIncidentNotFoundPage(id));
    case "ValidationError":
      return page(400, renderIncidentProblemPage(error.message));
    case "ConflictError": {
      const incident = incidentIdPattern.test(id) ? await deps.incidents.get(id) : undefined;
      if (incident?.status === "resolved") return page(409, renderIncidentResolvedPage(incident));
      return page(409, renderIncidentProblemPage(error.message));
    }
    default:
      throw error;
  }
};

const postAck = async (deps: IncidentsApiDeps, request: Request): Promise<HttpResult> => {
  const html = isFormPost(request) && !wantsJson(request);
  try {
    const incidentId = incidentIdOf(request);
    const body = readAckBody(request);
    const { by, via } = await acknowledger(deps, request, incidentId, body);
    const { incident, changed } = await acknowledgeIncident(deps, { incidentId, by, via });
    if (!html) return { statusCode: 200, body: { ...incidentDetailOf(incident), changed } };
    return page(
      200,
      renderIncidentPage({
        incident,
        ackUrl: `/incidents/${encodeURIComponent(incident.id)}/ack`,
        notice: changed
          ? { title: "Acknowledged", detail: `Escalation stopped. Recorded for ${by}.` }
          : {
              title: "Already acknowledged",
              detail: `${incident.acknowledgedBy ?? "Someone"} acknowledged it${incident.acknowledgedAt ? ` at ${incident.acknowledgedAt}` : ""}.`,
            },
      }),
    );
  } catch (error) {
    if (!html || !(error instanceof Error)) throw error;
    return errorPage(deps, request, error);
  }
};

/**
 * GET /incidents?status=open|acknowledged|resolved&limit= → `{ incidents: [...] }`, newest first (summaries: no
 * timeline, never a wait token);
 * GET /incidents/{id} → the incident with its timeline as JSON (`Accept: application/json`) or its page, which with
 * `?token=<acknowledge link token>` carries the Acknowledge form while the incident is open (GET never changes
 * anything: chat unfurlers and mail scanners open every link); 403 for a forged or expired link, 404 for an unknown id;
 * POST /incidents/{id}/ack `{ token?, by? }` as JSON or as the page's form → the incident with `changed` (false when it
 * was already acknowledged), by the link token (`by` is the visitor's name), the IAM caller, or locally
 * `x-switchyard-user`; 409 once resolved, 401 without any credential.
 *
 * @example
 * const handler = withHttpStack(makeIncidents({ config, incidents, callbacks, publisher, clock, secrets, anonymousCanRead: false }), incidentsRequest);
 */
export const makeIncidents =
  (deps: IncidentsApiDeps) =>
  async (request: Request): Promise<HttpResult> => {
    if (request.routeKey === "GET /incidents") return listIncidents(deps, request);
    if (request.routeKey === "POST /incidents/{id}/ack") return postAck(deps, request);
    return getIncident(deps, request);
  };

export const handler = coldStart(() =>
  withHttpStack(
    makeIncidents({
      config: awsConfig(),
      incidents: incidentStore(),
      callbacks: workflowCallbacks(),
      publisher: eventPublisher(),
      clock,
      secrets: secretStore(),
      anonymousCanRead: false,
    }),
    incidentsRequest,
  ),
);

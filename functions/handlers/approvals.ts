// Lambda behind /approvals: lists requests, renders the approval page, and records decisions from every channel.

import { z } from "zod";
import { identityFromArn } from "../core/approvals.ts";
import { NotFoundError, ValidationError } from "../core/errors.ts";
import { ForbiddenError, UnauthorizedError } from "../core/http-errors.ts";
import { linkKeys, verifyLinkToken } from "../core/link-token.ts";
import type { ApprovalChannel, ApprovalRecord, ApprovalState, SecretStore } from "../core/ports.ts";
import { type ApprovalDeps, recordDecision } from "../core/request-approval.ts";
import {
  pageHeaders,
  renderApprovalPage,
  renderClosedPage,
  renderDecisionRecordedPage,
  renderExpiredPage,
  renderForbiddenPage,
  renderNotFoundPage,
} from "../web/approval-page.ts";
import { approvalDeps, secretStore } from "../wiring/aws.ts";
import { type HttpRequest, type HttpResult, withHttpStack } from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";

export interface ApprovalsApiDeps extends ApprovalDeps {
  secrets: SecretStore;
  /**
   * Whether a caller without credentials may read requests (list, JSON, the read-only page). True locally and behind
   * the IAM-authorized API; false on the public approval pages API, where only a valid link token shows anything.
   */
  anonymousCanRead: boolean;
  /** Locally: the approver a per-approver bearer token belongs to (undefined when it is nobody's). */
  approverForToken?: (token: string) => Promise<string | undefined>;
}

const approvalStates = ["pending", "approved", "rejected", "expired"] as const;
const defaultListLimit = 50;
const maxListLimit = 100;
/** A link token is far shorter; anything longer is refused before any work. */
const maxTokenLength = 1_024;
const maxCommentLength = 2_048;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const listQuerySchema = z.strictObject({
  status: z.enum(approvalStates, { error: () => `expected one of ${approvalStates.join(", ")}` }).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, `expected a whole number from 1 to ${maxListLimit}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(maxListLimit))
    .optional(),
});

const decisionSchema = z.strictObject({
  decision: z
    .enum(["approve", "reject", "approved", "rejected"], { error: () => 'expected "approve" or "reject"' })
    .transform((d) => (d === "approved" ? "approve" : d === "rejected" ? "reject" : d)),
  comment: z.string().max(maxCommentLength, `expected at most ${maxCommentLength} characters`).optional(),
  token: z.string().min(1).max(maxTokenLength).optional(),
});

type Request = HttpRequest<undefined>;

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

const channelOf = (request: Request): ApprovalChannel =>
  (request.headers["user-agent"] ?? "").startsWith("switchyard-cli") ? "cli" : "api";

const approvalIdOf = (request: Request): string => {
  const id = request.path.id ?? "";
  if (!uuidPattern.test(id)) throw new NotFoundError(`No approval with id ${id.slice(0, 64)}`);
  return id.toLowerCase();
};

/** The body of a decision: the page's form fields or a JSON object. */
const readDecision = (request: Request): z.infer<typeof decisionSchema> => {
  const text = request.rawBody.toString("utf8");
  let value: unknown;
  if (isFormPost(request)) {
    value = Object.fromEntries(new URLSearchParams(text));
  } else {
    if (text.trim() === "")
      throw new ValidationError('Request body is empty; expected {"decision": "approve"}');
    try {
      value = JSON.parse(text);
    } catch {
      throw new ValidationError("Request body is not valid JSON");
    }
  }
  const parsed = decisionSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `body.${issue.path.join(".")}` : "body";
    const what =
      issue?.code === "unrecognized_keys"
        ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(", ")}`
        : issue?.message;
    throw new ValidationError(`Invalid request ${where}: ${what}`);
  }
  return parsed.data;
};

/** Link tokens are bound to one approval and one approver; the caller's is checked against the current keys. */
const verifyToken = async (
  deps: ApprovalsApiDeps,
  token: string,
  approvalId: string,
  now: Date,
): Promise<string> => {
  const keys = await linkKeys(deps.secrets, deps.config.approvals.linkKeySecret, { clock: deps.clock });
  try {
    return verifyLinkToken(keys, token, { approvalId, now }).approver;
  } catch (error) {
    if (!(error instanceof ForbiddenError)) throw error;
    // The key may have been rotated since it was cached: read it once more before refusing.
    const fresh = await linkKeys(deps.secrets, deps.config.approvals.linkKeySecret, {
      clock: deps.clock,
      fresh: true,
    });
    return verifyLinkToken(fresh, token, { approvalId, now }).approver;
  }
};

/** Who decides, from the link token, the IAM identity, or (locally) the approver's bearer token. */
const decider = async (
  deps: ApprovalsApiDeps,
  request: Request,
  approvalId: string,
  token: string | undefined,
): Promise<{ approver: string; channel: ApprovalChannel }> => {
  if (token !== undefined) {
    return { approver: await verifyToken(deps, token, approvalId, deps.clock.now()), channel: "email" };
  }
  const arn = iamCaller(request);
  if (arn) return { approver: identityFromArn(arn), channel: channelOf(request) };
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
  if (bearer !== undefined && deps.approverForToken) {
    const approver = await deps.approverForToken(bearer);
    if (!approver) throw new UnauthorizedError("The bearer token is not an approver's token");
    return { approver, channel: channelOf(request) };
  }
  throw new UnauthorizedError(
    "No credentials: decide from the link in the approval e-mail, or with `switchyard approvals approve <id>`",
  );
};

/** The page for a request as it stands. */
const statePage = (
  deps: ApprovalsApiDeps,
  record: ApprovalRecord,
  viewer?: { approver: string; token: string },
): HttpResult<string> => {
  const now = deps.clock.now();
  if (record.state === "expired" || (record.state === "pending" && now >= new Date(record.expiresAt))) {
    return page(410, renderExpiredPage({ record, approvalId: record.id }));
  }
  if (record.state !== "pending") return page(200, renderClosedPage({ record }));
  return page(
    200,
    renderApprovalPage({
      record,
      ...(viewer ? { approver: viewer.approver, linkToken: viewer.token } : {}),
      decisionUrl: `/approvals/${record.id}/decision`,
      now,
    }),
  );
};

const getApproval = async (deps: ApprovalsApiDeps, request: Request): Promise<HttpResult> => {
  const json = wantsJson(request);
  let id: string;
  try {
    id = approvalIdOf(request);
  } catch (error) {
    if (json) throw error;
    return page(404, renderNotFoundPage(request.path.id ?? ""));
  }
  const token = request.query.token;
  const record = await deps.approvals.get(id);
  let viewer: { approver: string; token: string } | undefined;
  if (token !== undefined) {
    try {
      if (token.length > maxTokenLength) throw new ForbiddenError("The link token is too long");
      // A closed request's page only needs an authentic link: its expiry is the request's, which may have passed.
      // Tokens carry their expiry in whole seconds: check just before the second it ends in.
      const at =
        record && record.state !== "pending"
          ? new Date(Math.floor(Date.parse(record.expiresAt) / 1000) * 1000 - 1)
          : deps.clock.now();
      viewer = { approver: await verifyToken(deps, token, id, at), token };
    } catch (error) {
      if (!(error instanceof ForbiddenError) || json) throw error;
      return page(403, renderForbiddenPage(error.message));
    }
  } else if (!deps.anonymousCanRead && !iamCaller(request)) {
    if (json) throw new UnauthorizedError("Open the link from the approval e-mail (it carries your token)");
    return page(
      403,
      renderForbiddenPage("Open the link from the approval e-mail: it carries your personal token."),
    );
  }
  if (!record) {
    if (json) throw new NotFoundError(`No approval with id ${id}`);
    return page(404, renderNotFoundPage(id));
  }
  if (viewer && !record.approvers.some((a) => a.toLowerCase() === viewer.approver)) {
    const refused = new ForbiddenError(`${viewer.approver} is not an approver of approval ${id}`);
    if (json) throw refused;
    return page(403, renderForbiddenPage(refused.message));
  }
  if (json) return { statusCode: 200, body: record };
  return statePage(deps, record, viewer);
};

const postDecision = async (deps: ApprovalsApiDeps, request: Request): Promise<HttpResult> => {
  const html = isFormPost(request) && !wantsJson(request);
  try {
    const id = approvalIdOf(request);
    const body = readDecision(request);
    const { approver, channel } = await decider(deps, request, id, body.token);
    const { record } = await recordDecision(deps, {
      approvalId: id,
      approver,
      decision: body.decision,
      ...(body.comment !== undefined && body.comment.trim() !== "" ? { comment: body.comment } : {}),
      channel,
    });
    if (!html) return { statusCode: 200, body: record };
    return page(
      200,
      renderDecisionRecordedPage({
        record,
        vote: { approver, decision: body.decision, ...(body.comment ? { comment: body.comment } : {}) },
        now: deps.clock.now(),
      }),
    );
  } catch (error) {
    if (!html || !(error instanceof Error)) throw error;
    return errorPage(deps, request, error);
  }
};

/** A refused form post gets a page saying why, with the status the API would answer. */
const errorPage = async (deps: ApprovalsApiDeps, request: Request, error: Error): Promise<HttpResult> => {
  const id = request.path.id ?? "";
  switch (error.name) {
    case "ForbiddenError":
    case "UnauthorizedError":
      return page(403, renderForbiddenPage(error.message));
    case "NotFoundError":
      return page(404, renderNotFoundPage(id));
    case "GoneError": {
      const record = uuidPattern.test(id) ? await deps.approvals.get(id.toLowerCase()) : undefined;
      return page(410, renderExpiredPage({ ...(record ? { record } : {}), approvalId: id }));
    }
    case "ConflictError": {
      const record = uuidPattern.test(id) ? await deps.approvals.get(id.toLowerCase()) : undefined;
      if (record && record.state !== "pending") return { ...page(409, renderClosedPage({ record })) };
      return page(409, renderForbiddenPage(error.message));
    }
    default:
      throw error;
  }
};

/**
 * GET /approvals?status=pending → a JSON array of requests, newest first (never a task token);
 * GET /approvals/{id} → the request as JSON (`Accept: application/json`) or its page, which with `?token=<link token>`
 * carries the approver's Approve and Reject buttons (GET never changes anything: mail scanners open every link);
 * POST /approvals/{id}/decision `{ decision: "approve" | "reject", comment?, token? }` as JSON or as the page's form
 * → the recorded vote, by the link token's approver, the IAM caller, or (locally) the approver's bearer token.
 *
 * @example
 * const handler = withHttpStack(makeApprovalsApi({ ...approvalDeps(), secrets, anonymousCanRead: false }));
 */
export const makeApprovalsApi =
  (deps: ApprovalsApiDeps) =>
  async (request: Request): Promise<HttpResult> => {
    if (request.routeKey === "GET /approvals") {
      if (!deps.anonymousCanRead && !iamCaller(request)) {
        throw new UnauthorizedError("Listing approvals needs a signed request");
      }
      const parsed = listQuerySchema.safeParse(request.query);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ValidationError(`Invalid request query.${issue?.path.join(".") ?? ""}: ${issue?.message}`);
      }
      const { status, limit } = parsed.data;
      const list = await deps.approvals.list({
        ...(status ? { state: status as ApprovalState } : {}),
        limit: limit ?? defaultListLimit,
      });
      return { statusCode: 200, body: list };
    }
    if (request.routeKey === "POST /approvals/{id}/decision") return postDecision(deps, request);
    return getApproval(deps, request);
  };

export const handler = coldStart(() =>
  withHttpStack(makeApprovalsApi({ ...approvalDeps(), secrets: secretStore(), anonymousCanRead: false })),
);

// Use case rules for production approvals: who may decide, when a request closes, and how it is identified.

import { ConflictError, ValidationError } from "./errors.ts";
import { ForbiddenError, GoneError } from "./http-errors.ts";
import { nameBasedUuid } from "./ids.ts";
import type { ApprovalChannel, ApprovalDecision, ApprovalRecord } from "./ports.ts";

/** Long enough for a reason, short enough that a record stays far below DynamoDB's 400 KB item limit. */
export const maxCommentLength = 2_048;

/** One approver's vote, as a channel (the e-mail link, the API, the CLI) hands it in. */
export interface ApprovalVote {
  /** An e-mail address as switchyard.yaml lists it; compared trimmed and case-insensitively. */
  approver: string;
  decision: "approve" | "reject";
  comment?: string;
  channel: ApprovalChannel;
}

/** Where an approval stands, as pages, e-mails and events show it. */
export interface ApprovalProgress {
  /** Distinct approvers who approved. */
  approvals: number;
  needed: number;
  /** In the order they approved. */
  approvedBy: string[];
  /** The first (and deciding) rejection, when there is one. */
  rejectedBy?: { approver: string; comment?: string };
}

const iamArnPattern = /^arn:[^:]*:[^:]*:[^:]*:[^:]*:(.+)$/;

const normalise = (identity: string): string => identity.trim().toLowerCase();

/**
 * The identity of an IAM principal as approvals compare it: the session name of an assumed role
 * (`arn:aws:sts::123456789012:assumed-role/Dev/maria@example.com`), the name of a user (`arn:aws:iam::…:user/ops/
 * maria@example.com`), the last path segment of any other principal ARN; a string that is not an ARN is returned as
 * it is. Lower-cased and trimmed either way.
 *
 * A role session name is chosen by whoever assumes the role: only trust it as an identity for roles whose session
 * name is enforced (IAM Identity Center, or an `sts:RoleSessionName` condition in the trust policy).
 *
 * @example
 * identityFromArn("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_1a2b/Maria@Example.com") // "maria@example.com"
 * identityFromArn(" Ana@Example.com ") // "ana@example.com"
 */
export const identityFromArn = (arnOrName: string): string => {
  const trimmed = arnOrName.trim();
  const resource = iamArnPattern.exec(trimmed)?.[1];
  if (resource === undefined) return normalise(trimmed);
  return normalise(resource.split("/").at(-1) ?? resource);
};

/**
 * The approval id of a promotion: a name-based (version 5) UUID, so a retried request step finds the approval it
 * created before instead of asking twice.
 *
 * @example
 * approvalId("2f1c…-promotion-id") // the same UUID every time for the same promotion
 */
export const approvalId = (promotionId: string): string => {
  if (promotionId.trim() === "") throw new ValidationError("An approval needs a promotion id");
  return nameBasedUuid(`approval:${promotionId}`);
};

const timeOf = (iso: string, what: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new ValidationError(`${what} "${iso}" is not an ISO 8601 time`);
  return ms;
};

/**
 * Whether `approver` asked for the change (four eyes): the requester as given, or the identity in their IAM ARN.
 *
 * @example
 * isRequester({ ...record, requestedBy: "arn:aws:sts::1:assumed-role/Dev/maria@example.com" }, "Maria@example.com") // true
 */
export const isRequester = (record: Pick<ApprovalRecord, "requestedBy">, approver: string): boolean => {
  const identity = normalise(approver);
  return normalise(record.requestedBy) === identity || identityFromArn(record.requestedBy) === identity;
};

const approvedBy = (decisions: readonly ApprovalDecision[]): string[] => [
  ...new Set(decisions.filter((d) => d.decision === "approve").map((d) => normalise(d.approver))),
];

/** A record's `minApprovals` below one would approve on no vote at all; one approval is the least there is. */
const neededApprovals = (record: ApprovalRecord): number => Math.max(1, record.minApprovals);

const cleanComment = (comment: string | undefined): string | undefined => {
  const trimmed = comment?.trim() ?? "";
  if (trimmed === "") return undefined;
  const length = [...trimmed].length;
  if (length > maxCommentLength) {
    throw new ValidationError(
      `The comment is ${length} characters long; at most ${maxCommentLength} are kept`,
    );
  }
  return trimmed;
};

/**
 * Applies one approver's vote and returns the next record, with the same `version` (the store increments it on
 * write, and refuses the write when another came first). Pure: the caller reads the record and writes the result.
 *
 * The rules:
 * - a request already approved or rejected → `ConflictError` ("already approved");
 * - a request expired, or `now` at or after `expiresAt` → `GoneError`;
 * - an approver not listed on the request → `ForbiddenError`;
 * - the requester approving their own change → `ForbiddenError` (four eyes; they may reject it);
 * - an approver who already voted, through any channel → `ConflictError`: a decision is final and counts once;
 * - a comment longer than `maxCommentLength` characters → `ValidationError`.
 *
 * Otherwise the decision is appended; one rejection rejects the request, and `minApprovals` distinct approvals
 * approve it; both set `closedAt`.
 *
 * @example
 * const next = decide(record, { approver: "ana@example.com", decision: "approve", channel: "email" }, clock.now());
 * await approvals.update(next);
 */
export const decide = (record: ApprovalRecord, vote: ApprovalVote, now: Date): ApprovalRecord => {
  if (record.state === "approved" || record.state === "rejected") {
    throw new ConflictError(`Approval ${record.id} is already ${record.state}`);
  }
  if (
    record.state === "expired" ||
    now.getTime() >= timeOf(record.expiresAt, `Approval ${record.id} expiresAt`)
  ) {
    throw new GoneError(`Approval ${record.id} expired at ${record.expiresAt}`);
  }
  if (vote.decision !== "approve" && vote.decision !== "reject") {
    throw new ValidationError(`A decision is "approve" or "reject", not "${String(vote.decision)}"`);
  }
  const approver = normalise(vote.approver);
  if (approver === "" || !record.approvers.some((listed) => normalise(listed) === approver)) {
    throw new ForbiddenError(
      `${approver || "An unnamed caller"} is not an approver of approval ${record.id}`,
    );
  }
  if (vote.decision === "approve" && isRequester(record, approver)) {
    throw new ForbiddenError(`${approver} requested this change and cannot approve it`);
  }
  const earlier = record.decisions.find((decision) => normalise(decision.approver) === approver);
  if (earlier !== undefined) {
    throw new ConflictError(
      `${approver} already decided (${earlier.decision}) on approval ${record.id} at ${earlier.at} by ${earlier.channel}`,
    );
  }
  const comment = cleanComment(vote.comment);
  const at = now.toISOString();
  const decisions: ApprovalDecision[] = [
    ...record.decisions,
    {
      approver,
      decision: vote.decision,
      ...(comment !== undefined && { comment }),
      at,
      channel: vote.channel,
    },
  ];
  const next: ApprovalRecord = { ...record, decisions };
  if (vote.decision === "reject") return { ...next, state: "rejected", closedAt: at };
  if (approvedBy(decisions).length >= neededApprovals(record))
    return { ...next, state: "approved", closedAt: at };
  return next;
};

/**
 * Closes a pending request as expired (the workflow stopped waiting for it). A request already closed is returned
 * unchanged, so a late timeout never overturns a decision.
 *
 * @example
 * const closed = expire(record, clock.now());
 * if (closed !== record) await approvals.update(closed);
 */
export const expire = (record: ApprovalRecord, now: Date): ApprovalRecord =>
  record.state === "pending" ? { ...record, state: "expired", closedAt: now.toISOString() } : record;

/**
 * How far a request got: distinct approvals against the number needed, who approved, and who rejected it.
 *
 * @example
 * const { approvals, needed } = approvalProgress(record);
 * `${approvals} of ${needed} approvals` // "1 of 2 approvals"
 */
export const approvalProgress = (record: ApprovalRecord): ApprovalProgress => {
  const approvers = approvedBy(record.decisions);
  const rejection = record.decisions.find((decision) => decision.decision === "reject");
  return {
    approvals: approvers.length,
    needed: neededApprovals(record),
    approvedBy: approvers,
    ...(rejection !== undefined && {
      rejectedBy: {
        approver: normalise(rejection.approver),
        ...(rejection.comment !== undefined && { comment: rejection.comment }),
      },
    }),
  };
};

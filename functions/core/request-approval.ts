// Use cases of the approval gate: ask the approvers (request), record their votes (decide), close it when time runs out.

import {
  approvalDecidedDetailSchema,
  approvalRequestedDetailSchema,
} from "../../events/schemas/switchyard.ts";
import { approvalEmail } from "./approval-email.ts";
import { approvalId, approvalProgress, decide, expire } from "./approvals.ts";
import { type SwitchyardConfig, valuesFile } from "./config.ts";
import { ConflictError, NotFoundError, ValidationError } from "./errors.ts";
import { GoneError } from "./http-errors.ts";
import { linkKeys, signLinkToken } from "./link-token.ts";
import type {
  ApprovalChannel,
  ApprovalRecord,
  ApprovalStore,
  Clock,
  EventPublisher,
  GitOpsRepository,
  Mailer,
  PromotionRecord,
  PromotionStore,
  SecretStore,
  WorkflowCallbacks,
} from "./ports.ts";
import { readImage } from "./values-file.ts";

/** Who asked for a change when no person did (a push or a release promoted it through the environments). */
export const automaticRequester = "switchyard";

/** What the workflow's task token is answered with once the approval closes. */
export interface ApprovalOutcome {
  approvalId: string;
  decision: "approved" | "rejected";
  decidedBy: string[];
  /** One line: who approved, or who rejected and why. */
  reason: string;
}

export interface ApprovalDeps {
  config: Pick<SwitchyardConfig, "environments" | "services" | "approvals">;
  approvals: ApprovalStore;
  promotions: Pick<PromotionStore, "getPromotion" | "updatePromotion">;
  callbacks: WorkflowCallbacks;
  publisher: EventPublisher;
  clock: Clock;
}

export interface RequestApprovalDeps extends ApprovalDeps {
  /** Reads what the environment's values file pins when no deployment is recorded yet (the request's "from"). */
  gitops?: Pick<GitOpsRepository, "readFile">;
  mailer: Mailer;
  secrets: SecretStore;
  /** Where approval pages are served (`approvals.baseUrl`, else the API's URL), without a trailing slash. */
  baseUrl: () => string;
}

export interface RequestApprovalInput {
  /** The task token of the workflow step waiting for the decision: stored, never sent anywhere. */
  taskToken: string;
  promotionId: string;
  snapshotId: string | null;
}

const millisecondsPerHour = 3_600_000;
/** SendTask* errors saying nobody waits for the token any more. */
const goneTaskErrors = ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"];
const attemptsOnConflict = 5;

const approvalUrl = (deps: Pick<RequestApprovalDeps, "baseUrl">, id: string): string =>
  `${deps.baseUrl().replace(/\/+$/, "")}/approvals/${encodeURIComponent(id)}`;

/** A GitHub compare link between the two tags, when the service names its repository and both tags are known. */
const changelogUrl = (
  config: Pick<SwitchyardConfig, "services">,
  promotion: PromotionRecord,
): string | undefined => {
  const github = config.services.find((s) => s.name === promotion.service)?.github;
  const from = promotion.previous?.tag;
  const to = promotion.image.tag;
  if (!github || !from || !to || from === to) return undefined;
  return `https://github.com/${github}/compare/${encodeURIComponent(from)}...${encodeURIComponent(to)}`;
};

/**
 * What the environment's values file pins at the branch head, for a request whose promotion has no recorded
 * deployment to compare with (the environment was set up before Switchyard deployed to it).
 */
const pinnedImage = async (
  deps: RequestApprovalDeps,
  promotion: PromotionRecord,
): Promise<{ tag?: string; digest: string } | undefined> => {
  const service = deps.config.services.find((s) => s.name === promotion.service);
  if (!deps.gitops || !service) return undefined;
  const path = valuesFile(service, promotion.environment);
  const file = await deps.gitops.readFile(path).catch(() => undefined);
  if (!file) return undefined;
  try {
    const pinned = readImage(file.content, path);
    return pinned.digest ? { ...(pinned.tag ? { tag: pinned.tag } : {}), digest: pinned.digest } : undefined;
  } catch {
    return undefined;
  }
};

const outcomeOf = (record: ApprovalRecord): ApprovalOutcome => {
  const progress = approvalProgress(record);
  if (record.state === "rejected" && progress.rejectedBy) {
    const { approver, comment } = progress.rejectedBy;
    return {
      approvalId: record.id,
      decision: "rejected",
      decidedBy: [approver],
      reason: `rejected by ${approver}${comment ? `: ${comment}` : ""}`,
    };
  }
  return {
    approvalId: record.id,
    decision: "approved",
    decidedBy: progress.approvedBy,
    reason: `approved by ${progress.approvedBy.join(", ")}`,
  };
};

const publishDecided = async (deps: ApprovalDeps, record: ApprovalRecord): Promise<void> => {
  const progress = approvalProgress(record);
  const decidedBy =
    record.state === "rejected" && progress.rejectedBy
      ? [progress.rejectedBy.approver]
      : record.state === "approved"
        ? progress.approvedBy
        : [];
  const comment = record.state === "rejected" ? progress.rejectedBy?.comment : undefined;
  const detail = approvalDecidedDetailSchema.parse({
    approvalId: record.id,
    promotionId: record.promotionId,
    service: record.service,
    environment: record.environment,
    decision: record.state,
    decidedBy,
    ...(comment ? { comment } : {}),
    decidedAt: record.closedAt ?? deps.clock.now().toISOString(),
  });
  await deps.publisher.publish([{ detailType: "Approval Decided", detail }]);
};

/**
 * Asks for approval of a gated promotion: records the request (its id derived from the promotion, the task token
 * kept beside it in the store), e-mails each approver a personal signed link, publishes `Approval Requested`, and
 * marks the promotion WaitingForApproval. A retried step finds the request already made: it hands the store the
 * new task token (and answers it at once if the request closed meanwhile) and sends the e-mails again, so an
 * approver may get a link twice but never none.
 *
 * @example
 * await requestApproval(deps, { taskToken, promotionId, snapshotId: null });
 */
export const requestApproval = async (
  deps: RequestApprovalDeps,
  input: RequestApprovalInput,
): Promise<{ approvalId: string; expiresAt: string }> => {
  const promotion = await deps.promotions.getPromotion(input.promotionId);
  if (!promotion) throw new NotFoundError(`no promotion ${input.promotionId}`);
  const environment = deps.config.environments.find((e) => e.name === promotion.environment);
  const gate = environment?.approval;
  if (!gate || gate === "none") {
    throw new ValidationError(
      `environment "${promotion.environment}" has no approval gate in switchyard.yaml`,
    );
  }
  const id = approvalId(promotion.id);
  const now = deps.clock.now();
  const from = promotion.previous ?? (await pinnedImage(deps, promotion));
  const record: ApprovalRecord = {
    id,
    promotionId: promotion.id,
    service: promotion.service,
    environment: promotion.environment,
    ...(from ? { from: { ...(from.tag ? { tag: from.tag } : {}), digest: from.digest } } : {}),
    to: {
      repository: promotion.image.repository,
      ...(promotion.image.tag ? { tag: promotion.image.tag } : {}),
      digest: promotion.image.digest,
    },
    ...(changelogUrl(deps.config, promotion) ? { changelogUrl: changelogUrl(deps.config, promotion) } : {}),
    ...(input.snapshotId ? { snapshotId: input.snapshotId } : {}),
    requestedBy: promotion.trigger.requestedBy ?? automaticRequester,
    approvers: [...new Set(gate.approvers.map((a) => a.trim().toLowerCase()))],
    minApprovals: gate.minApprovals,
    requestedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + gate.timeoutHours * millisecondsPerHour).toISOString(),
    decisions: [],
    state: "pending",
    ...(promotion.executionArn ? { executionArn: promotion.executionArn } : {}),
    version: 1,
  };

  let request = record;
  if (!(await deps.approvals.create(record, input.taskToken))) {
    const existing = await deps.approvals.get(id);
    if (!existing) throw new ConflictError(`approval ${id} exists but cannot be read`);
    request = existing;
    await deps.approvals.replaceTaskToken(id, input.taskToken);
    if (existing.state === "approved" || existing.state === "rejected") {
      await deps.callbacks.sendTaskSuccess(input.taskToken, outcomeOf(existing));
      return { approvalId: id, expiresAt: existing.expiresAt };
    }
    if (existing.state === "expired") {
      await deps.callbacks.sendTaskFailure(input.taskToken, "ApprovalExpired", `approval ${id} expired`);
      return { approvalId: id, expiresAt: existing.expiresAt };
    }
  }

  const [signingKey] = await linkKeys(deps.secrets, deps.config.approvals.linkKeySecret, {
    clock: deps.clock,
  });
  if (!signingKey) throw new Error(`the link key ${deps.config.approvals.linkKeySecret} is empty`);
  const page = approvalUrl(deps, id);
  for (const approver of request.approvers) {
    const token = signLinkToken(signingKey, { approvalId: id, approver, expiresAt: request.expiresAt });
    await deps.mailer.send(
      approvalEmail({ record: request, approver, link: `${page}?token=${encodeURIComponent(token)}` }),
    );
  }
  const detail = approvalRequestedDetailSchema.parse({
    approvalId: id,
    promotionId: promotion.id,
    service: promotion.service,
    environment: promotion.environment,
    ...(promotion.image.tag ? { tag: promotion.image.tag } : {}),
    digest: promotion.image.digest,
    ...(from?.tag ? { previousTag: from.tag } : {}),
    approvers: request.approvers,
    requiredApprovals: request.minApprovals,
    ...(request.snapshotId ? { snapshotId: request.snapshotId } : {}),
    approvalUrl: page,
    requestedAt: request.requestedAt,
    expiresAt: request.expiresAt,
  });
  await deps.publisher.publish([{ detailType: "Approval Requested", detail }]);
  if (promotion.phase === "Pending") {
    await deps.promotions.updatePromotion(promotion.id, {
      phase: "WaitingForApproval",
      reason: `waiting for ${request.minApprovals} of ${request.approvers.join(", ")} to approve (approval ${id}, until ${request.expiresAt})`,
    });
  }
  return { approvalId: id, expiresAt: request.expiresAt };
};

export interface DecisionInput {
  approvalId: string;
  approver: string;
  decision: "approve" | "reject";
  comment?: string;
  channel: ApprovalChannel;
}

/**
 * Records one approver's vote under the rules of `decide` (listed approvers only, four eyes, distinct approvers up to
 * `minApprovals`, one rejection rejects, a vote is final and counted once whatever the channel). The write is
 * conditional on the version read, so concurrent votes are each applied to the latest state. The vote that closes the
 * request answers the waiting workflow and publishes `Approval Decided`; when the workflow no longer waits (timed
 * out, stopped), the request is closed as expired and `GoneError` says so.
 *
 * @example
 * const { record } = await recordDecision(deps, { approvalId, approver: "ana@example.com", decision: "approve", channel: "email" });
 */
export const recordDecision = async (
  deps: ApprovalDeps,
  input: DecisionInput,
): Promise<{ record: ApprovalRecord; closed: boolean }> => {
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.approvals.get(input.approvalId);
    if (!current) throw new NotFoundError(`no approval ${input.approvalId}`);
    let next: ApprovalRecord;
    try {
      next = decide(
        current,
        {
          approver: input.approver,
          decision: input.decision,
          ...(input.comment !== undefined ? { comment: input.comment } : {}),
          channel: input.channel,
        },
        deps.clock.now(),
      );
    } catch (error) {
      if (error instanceof ConflictError) await finishClosing(deps, current, input.approver);
      throw error;
    }
    let stored: ApprovalRecord;
    try {
      stored = await deps.approvals.update(next);
    } catch (error) {
      if (error instanceof ConflictError && attempt < attemptsOnConflict) continue;
      throw error;
    }
    if (stored.state === "pending") return { record: stored, closed: false };
    await deps.promotions.updatePromotion(stored.promotionId, {
      reason: `approval ${stored.id} ${outcomeOf(stored).reason}`,
    });
    await answerWorkflow(deps, stored);
    await publishDecided(deps, stored);
    return { record: stored, closed: true };
  }
};

/**
 * A decider repeating their vote on a closed request (their first attempt failed after the vote was stored, e.g. a
 * throttled SendTaskSuccess): answer the workflow and publish again, so a stored decision never strands the
 * promotion. A workflow that already took the answer refuses it as completed, which is what was wanted.
 */
const finishClosing = async (deps: ApprovalDeps, record: ApprovalRecord, voter: string): Promise<void> => {
  if (record.state !== "approved" && record.state !== "rejected") return;
  const identity = voter.trim().toLowerCase();
  if (!record.decisions.some((d) => d.approver.toLowerCase() === identity)) return;
  const token = await deps.approvals.taskToken(record.id);
  if (!token) return;
  try {
    await deps.callbacks.sendTaskSuccess(token, outcomeOf(record));
  } catch (error) {
    if (!goneTaskErrors.includes(error instanceof Error ? error.name : "")) throw error;
    return;
  }
  await publishDecided(deps, record);
};

/** Answers the waiting workflow; a workflow that stopped waiting turns the request into an expired one. */
const answerWorkflow = async (deps: ApprovalDeps, record: ApprovalRecord): Promise<void> => {
  const token = await deps.approvals.taskToken(record.id);
  try {
    if (!token) throw Object.assign(new Error("no task token"), { name: "TaskDoesNotExist" });
    await deps.callbacks.sendTaskSuccess(token, outcomeOf(record));
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (!goneTaskErrors.includes(name)) throw error;
    await closeAsExpired(deps, record.id);
    throw new GoneError(
      `Approval ${record.id} can no longer be decided: the promotion stopped waiting for it (${name})`,
      { cause: error },
    );
  }
};

/** Sets the request to expired whatever it says now (the workflow's view wins), and publishes it when it changed. */
const closeAsExpired = async (deps: ApprovalDeps, id: string): Promise<ApprovalRecord | undefined> => {
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.approvals.get(id);
    if (!current || current.state === "expired") return current;
    const next: ApprovalRecord = { ...current, state: "expired", closedAt: deps.clock.now().toISOString() };
    try {
      const stored = await deps.approvals.update(next);
      await publishDecided(deps, stored);
      return stored;
    } catch (error) {
      if (error instanceof ConflictError && attempt < attemptsOnConflict) continue;
      throw error;
    }
  }
};

/**
 * The approval step timed out (`TimeoutSeconds` from `approval.timeoutHours`): closes the request as expired and
 * publishes `Approval Decided` (expired). A request already closed is left as it is. Returns the reason the
 * promotion records.
 *
 * @example
 * const { reason } = await expireApproval(deps, { promotionId });
 */
export const expireApproval = async (
  deps: ApprovalDeps,
  input: { promotionId: string },
): Promise<{ approvalId: string | null; reason: string }> => {
  const found = await deps.approvals.findByPromotion(input.promotionId);
  if (!found) return { approvalId: null, reason: "the approval request timed out before it was recorded" };
  for (let attempt = 1; ; attempt += 1) {
    const current = (await deps.approvals.get(found.id)) ?? found;
    const next = expire(current, deps.clock.now());
    if (next === current) {
      if (current.state === "expired") await publishDecided(deps, current);
      const { approvals, needed } = approvalProgress(current);
      return {
        approvalId: current.id,
        reason: `approval ${current.id} timed out (${current.state}; ${approvals} of ${needed} approvals)`,
      };
    }
    try {
      const stored = await deps.approvals.update(next);
      await publishDecided(deps, stored);
      const { approvals, needed } = approvalProgress(stored);
      return {
        approvalId: stored.id,
        reason: `approval ${stored.id} expired at ${stored.expiresAt}: ${approvals} of ${needed} approvals, nobody decided in time`,
      };
    } catch (error) {
      if (error instanceof ConflictError && attempt < attemptsOnConflict) continue;
      throw error;
    }
  }
};

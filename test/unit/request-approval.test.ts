// The approval gate's use cases: asking the approvers, recording their votes, and expiring a request.

import { beforeEach, describe, expect, it } from "vitest";
import {
  approvalDecidedDetailSchema,
  approvalRequestedDetailSchema,
} from "../../events/schemas/switchyard.ts";
import { approvalId } from "../../functions/core/approvals.ts";
import { configSchema } from "../../functions/core/config.ts";
import { ConflictError } from "../../functions/core/errors.ts";
import { ForbiddenError, GoneError } from "../../functions/core/http-errors.ts";
import { verifyLinkToken } from "../../functions/core/link-token.ts";
import type {
  ApprovalRecord,
  Clock,
  DomainEvent,
  EmailMessage,
  Mailer,
  PromotionRecord,
  WorkflowCallbacks,
} from "../../functions/core/ports.ts";
import {
  expireApproval,
  type RequestApprovalDeps,
  recordDecision,
  requestApproval,
} from "../../functions/core/request-approval.ts";
import { SqliteApprovalStore } from "../../local/adapters/sqlite-approval-store.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase } from "../../local/db.ts";
import { digestOf } from "../support/platform.ts";

const promotionId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";
const id = approvalId(promotionId);
const taskToken = "AQCEAAAAKgAAAAMAAAAA-task-token-of-the-waiting-step-7f3a9c";
const retriedToken = "AQCEAAAAKgAAAAMAAAAA-task-token-of-the-retried-step-0b2e51";
const linkKey = "a".repeat(64);
const start = new Date("2026-11-28T08:00:00.000Z");
const expiresAt = "2026-11-29T08:00:00.000Z";
const baseUrl = "https://approvals.example.com/";
const executionArn = `arn:aws:states:eu-west-1:123456789012:execution:ProductionSync:${promotionId}`;

const configWith = (minApprovals: number, github: string | null) =>
  configSchema.parse({
    gitops: { repository: "acme-platform/gitops" },
    environments: [
      {
        name: "staging",
        approval: "none",
        argocd: { namespace: "argocd", application: "{service}-staging" },
      },
      {
        name: "production",
        approval: { approvers: ["Ana@Example.com", "bob@example.com"], minApprovals, timeoutHours: 24 },
        argocd: { namespace: "argocd", application: "{service}-production" },
      },
    ],
    services: [
      {
        name: "checkout",
        repository: "checkout",
        policy: { semver: "^1.0.0" },
        values: "envs/{environment}/checkout/values.yaml",
        ...(github ? { github } : {}),
      },
    ],
  });

const promotion = (overrides: Partial<PromotionRecord> = {}): PromotionRecord => ({
  id: promotionId,
  service: "checkout",
  environment: "production",
  image: {
    repository: "checkout",
    tag: "1.4.2",
    digest: digestOf("1.4.2"),
    pushedAt: "2026-11-28T07:00:00Z",
  },
  phase: "Pending",
  reasons: [],
  trigger: { kind: "promotion", eventId: "evt-1", requestedBy: "maria@example.com" },
  previous: { tag: "1.4.1", digest: digestOf("1.4.1") },
  executionArn,
  createdAt: "2026-11-28T07:59:00.000Z",
  updatedAt: "2026-11-28T07:59:00.000Z",
  ...overrides,
});

class RecordingMailer implements Mailer {
  readonly sent: EmailMessage[] = [];

  async send(message: EmailMessage): Promise<{ messageId: string }> {
    this.sent.push(message);
    return { messageId: `m-${this.sent.length}` };
  }
}

class FakeCallbacks implements WorkflowCallbacks {
  readonly successes: { taskToken: string; output: unknown }[] = [];
  readonly failures: { taskToken: string; error: string; cause: string }[] = [];
  /** The name of the error SendTaskSuccess fails with, as Step Functions names it. */
  failWith: string | undefined;

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    if (this.failWith) throw Object.assign(new Error(`${this.failWith}: gone`), { name: this.failWith });
    this.successes.push({ taskToken: token, output });
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    this.failures.push({ taskToken: token, error, cause });
  }
}

/** Counts the writes that lost a race, to show concurrent votes went through the retry. */
class CountingApprovalStore extends SqliteApprovalStore {
  conflicts = 0;

  override async update(record: ApprovalRecord): Promise<ApprovalRecord> {
    try {
      return await super.update(record);
    } catch (error) {
      if (error instanceof ConflictError) this.conflicts += 1;
      throw error;
    }
  }
}

const linkOf = (message: EmailMessage): URL => {
  const link = /https:\/\/approvals\.example\.com\/approvals\/\S+/.exec(message.text)?.[0];
  if (link === undefined) throw new Error(`no approval link in the e-mail to ${message.to.join(", ")}`);
  return new URL(link);
};

describe("approval use cases", () => {
  let now: Date;
  const clock: Clock = { now: () => now };
  let approvals: CountingApprovalStore;
  let promotions: SqlitePromotionStore;
  let secrets: SqliteSecretStore;
  let mailer: RecordingMailer;
  let callbacks: FakeCallbacks;
  let published: DomainEvent[];
  const publisher = {
    publish: async (events: readonly DomainEvent[]) => {
      published.push(...events);
    },
  };
  const deps = (minApprovals = 1, github: string | null = "acme-platform/checkout"): RequestApprovalDeps => ({
    config: configWith(minApprovals, github),
    approvals,
    promotions,
    callbacks,
    publisher,
    clock,
    mailer,
    secrets,
    baseUrl: () => baseUrl,
  });
  const request = (minApprovals = 1, token = taskToken) =>
    requestApproval(deps(minApprovals), { taskToken: token, promotionId, snapshotId: null });
  const vote = (approver: string, decision: "approve" | "reject" = "approve", comment?: string) => ({
    approvalId: id,
    approver,
    decision,
    ...(comment !== undefined ? { comment } : {}),
    channel: "email" as const,
  });
  const ofType = (detailType: string) => published.filter((e) => e.detailType === detailType);

  beforeEach(async () => {
    now = start;
    const db = openDatabase(":memory:");
    approvals = new CountingApprovalStore({ db });
    promotions = new SqlitePromotionStore({ db, clock });
    secrets = new SqliteSecretStore({ db, clock });
    await secrets.createSecret({ name: "switchyard/approval-link-key", secretString: linkKey });
    mailer = new RecordingMailer();
    callbacks = new FakeCallbacks();
    published = [];
  });

  describe("requestApproval", () => {
    beforeEach(async () => {
      await promotions.createPromotion(promotion());
    });

    it("records the request: the change, its changelog, who asked, who may decide and until when", async () => {
      const answer = await requestApproval(deps(), {
        taskToken,
        promotionId,
        snapshotId: "switchyard-checkout-db-20261128075500-pre-change",
      });

      expect(answer).toEqual({ approvalId: id, expiresAt });
      expect(await approvals.get(id)).toEqual({
        id,
        promotionId,
        service: "checkout",
        environment: "production",
        from: { tag: "1.4.1", digest: digestOf("1.4.1") },
        to: { repository: "checkout", tag: "1.4.2", digest: digestOf("1.4.2") },
        changelogUrl: "https://github.com/acme-platform/checkout/compare/1.4.1...1.4.2",
        snapshotId: "switchyard-checkout-db-20261128075500-pre-change",
        requestedBy: "maria@example.com",
        approvers: ["ana@example.com", "bob@example.com"],
        minApprovals: 1,
        requestedAt: start.toISOString(),
        expiresAt,
        decisions: [],
        state: "pending",
        executionArn,
        version: 1,
      });
    });

    it.each([
      ["the service names no GitHub repository", {}, null],
      ["the environment ran nothing before", { previous: undefined }, "acme-platform/checkout"],
      [
        "the new image has no tag",
        { image: { ...promotion().image, tag: undefined } },
        "acme-platform/checkout",
      ],
    ])("links no changelog when %s", async (_, overrides: Partial<PromotionRecord>, github) => {
      promotions = new SqlitePromotionStore({ db: openDatabase(":memory:"), clock });
      await promotions.createPromotion(promotion(overrides));

      await requestApproval(deps(1, github), { taskToken, promotionId, snapshotId: null });

      expect((await approvals.get(id))?.changelogUrl).toBeUndefined();
    });

    it("names switchyard as requester when no person asked for the change", async () => {
      promotions = new SqlitePromotionStore({ db: openDatabase(":memory:"), clock });
      await promotions.createPromotion(promotion({ trigger: { kind: "ecr", eventId: "evt-1" } }));

      await request();

      expect((await approvals.get(id))?.requestedBy).toBe("switchyard");
    });

    it("e-mails each approver a personal link that verifies for them and this approval only", async () => {
      await request();

      expect(mailer.sent.map((m) => m.to)).toEqual([["ana@example.com"], ["bob@example.com"]]);
      for (const message of mailer.sent) {
        const link = linkOf(message);
        expect(`${link.origin}${link.pathname}`).toBe(`https://approvals.example.com/approvals/${id}`);
        const token = link.searchParams.get("token") ?? "";
        expect(verifyLinkToken([linkKey], token, { approvalId: id, now })).toEqual({
          approver: message.to[0],
          expiresAt,
        });
        expect(() =>
          verifyLinkToken([linkKey], token, { approvalId: approvalId("another-promotion"), now }),
        ).toThrow(ForbiddenError);
      }
    });

    it("keeps the task token in the store only: not in the record, an e-mail or an event", async () => {
      await request();

      expect(await approvals.taskToken(id)).toBe(taskToken);
      const outputs = JSON.stringify({
        record: await approvals.get(id),
        listed: await approvals.list(),
        mail: mailer.sent,
        published,
        promotion: await promotions.getPromotion(promotionId),
      });
      expect(outputs).toContain(id);
      expect(outputs).not.toContain(taskToken);
      expect(outputs).not.toContain("task-token");
    });

    it("publishes a valid Approval Requested and marks the promotion WaitingForApproval", async () => {
      await request();

      expect(published.map((e) => e.detailType)).toEqual(["Approval Requested"]);
      expect(approvalRequestedDetailSchema.parse(published[0]?.detail)).toEqual({
        approvalId: id,
        promotionId,
        service: "checkout",
        environment: "production",
        tag: "1.4.2",
        digest: digestOf("1.4.2"),
        previousTag: "1.4.1",
        approvers: ["ana@example.com", "bob@example.com"],
        requiredApprovals: 1,
        approvalUrl: `https://approvals.example.com/approvals/${id}`,
        requestedAt: start.toISOString(),
        expiresAt,
      });
      const waiting = await promotions.getPromotion(promotionId);
      expect(waiting?.phase).toBe("WaitingForApproval");
      expect(waiting?.reasons.at(-1)).toContain(`approval ${id}`);
    });

    it("on a retry, waits on the new task token and sends the links again, without a second request", async () => {
      await request();
      now = new Date(start.getTime() + 60_000);

      const answer = await request(1, retriedToken);

      expect(answer).toEqual({ approvalId: id, expiresAt });
      expect(await approvals.taskToken(id)).toBe(retriedToken);
      expect(await approvals.list()).toHaveLength(1);
      expect((await approvals.get(id))?.version).toBe(1);
      expect(mailer.sent.map((m) => m.to[0])).toEqual([
        "ana@example.com",
        "bob@example.com",
        "ana@example.com",
        "bob@example.com",
      ]);
      expect(ofType("Approval Requested")).toHaveLength(2);
      expect(callbacks.successes).toEqual([]);
    });

    it.each([
      ["approved", vote("ana@example.com"), { decision: "approved", decidedBy: ["ana@example.com"] }],
      [
        "rejected",
        vote("bob@example.com", "reject", "not on a Friday"),
        {
          decision: "rejected",
          decidedBy: ["bob@example.com"],
          reason: "rejected by bob@example.com: not on a Friday",
        },
      ],
    ])("on a retry after the request was %s, answers the new token at once", async (_, decision, outcome) => {
      await request();
      await recordDecision(deps(), decision);
      mailer.sent.length = 0;

      await request(1, retriedToken);

      expect(callbacks.successes.map((s) => s.taskToken)).toEqual([taskToken, retriedToken]);
      expect(callbacks.successes[1]?.output).toMatchObject({ approvalId: id, ...outcome });
      expect(mailer.sent).toEqual([]);
    });

    it("on a retry after the request expired, fails the new token with ApprovalExpired", async () => {
      await request();
      await expireApproval(deps(), { promotionId });

      await request(1, retriedToken);

      expect(callbacks.failures).toEqual([
        { taskToken: retriedToken, error: "ApprovalExpired", cause: `approval ${id} expired` },
      ]);
      expect(callbacks.successes).toEqual([]);
    });
  });

  describe("recordDecision", () => {
    beforeEach(async () => {
      await promotions.createPromotion(promotion());
    });

    it("answers the task token and publishes Approval Decided when a vote closes the request", async () => {
      await request();

      const { record, closed } = await recordDecision(deps(), vote("Ana@Example.com"));

      expect(closed).toBe(true);
      expect(record).toMatchObject({ state: "approved", closedAt: start.toISOString(), version: 2 });
      expect(callbacks.successes).toEqual([
        {
          taskToken,
          output: {
            approvalId: id,
            decision: "approved",
            decidedBy: ["ana@example.com"],
            reason: "approved by ana@example.com",
          },
        },
      ]);
      const decided = ofType("Approval Decided");
      expect(decided).toHaveLength(1);
      expect(approvalDecidedDetailSchema.parse(decided[0]?.detail)).toEqual({
        approvalId: id,
        promotionId,
        service: "checkout",
        environment: "production",
        decision: "approved",
        decidedBy: ["ana@example.com"],
        decidedAt: start.toISOString(),
      });
      expect(JSON.stringify(published)).not.toContain(taskToken);
    });

    it("answers a rejection with who rejected and why", async () => {
      await request(2);

      await recordDecision(deps(2), vote("bob@example.com", "reject", "not on a Friday"));

      expect(callbacks.successes[0]?.output).toEqual({
        approvalId: id,
        decision: "rejected",
        decidedBy: ["bob@example.com"],
        reason: "rejected by bob@example.com: not on a Friday",
      });
      expect(approvalDecidedDetailSchema.parse(ofType("Approval Decided")[0]?.detail)).toMatchObject({
        decision: "rejected",
        decidedBy: ["bob@example.com"],
        comment: "not on a Friday",
      });
    });

    it("neither answers nor publishes on a vote that leaves the request pending", async () => {
      await request(2);

      const { record, closed } = await recordDecision(deps(2), vote("ana@example.com"));

      expect(closed).toBe(false);
      expect(record.state).toBe("pending");
      expect(record.decisions).toHaveLength(1);
      expect(callbacks.successes).toEqual([]);
      expect(ofType("Approval Decided")).toEqual([]);
    });

    it.each(["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])(
      "closes the request as expired with a GoneError when the workflow stopped waiting (%s)",
      async (name) => {
        await request();
        callbacks.failWith = name;

        const decision = recordDecision(deps(), vote("ana@example.com"));

        await expect(decision).rejects.toBeInstanceOf(GoneError);
        await expect(decision).rejects.toThrow(name);
        expect((await approvals.get(id))?.state).toBe("expired");
        const decided = ofType("Approval Decided").map((e) => approvalDecidedDetailSchema.parse(e.detail));
        expect(decided).toEqual([expect.objectContaining({ decision: "expired", decidedBy: [] })]);
      },
    );

    it("lets any other failure to answer the workflow through, for the caller to retry", async () => {
      await request();
      callbacks.failWith = "ThrottlingException";

      await expect(recordDecision(deps(), vote("ana@example.com"))).rejects.toThrow("ThrottlingException");
      expect(ofType("Approval Decided")).toEqual([]);
    });

    it("answers the workflow and publishes when the decider repeats a vote whose answer failed", async () => {
      await request();
      callbacks.failWith = "ThrottlingException";
      await expect(recordDecision(deps(), vote("ana@example.com"))).rejects.toThrow("ThrottlingException");
      callbacks.failWith = undefined;

      await expect(recordDecision(deps(), vote("ana@example.com"))).rejects.toThrow(ConflictError);
      expect(callbacks.successes).toHaveLength(1);
      expect(callbacks.successes[0]?.output).toMatchObject({
        decision: "approved",
        decidedBy: ["ana@example.com"],
      });
      expect(ofType("Approval Decided")).toHaveLength(1);
      // Someone who did not decide gets the refusal and changes nothing.
      await expect(recordDecision(deps(), vote("bob@example.com"))).rejects.toThrow(ConflictError);
      expect(callbacks.successes).toHaveLength(1);
    });

    it("counts two concurrent votes for a quorum of two, the later write re-applied after a conflict", async () => {
      await request(2);

      const results = await Promise.all([
        recordDecision(deps(2), vote("ana@example.com")),
        recordDecision(deps(2), vote("bob@example.com")),
      ]);

      expect(approvals.conflicts).toBeGreaterThan(0);
      expect(results.map((r) => r.closed).sort()).toEqual([false, true]);
      const record = await approvals.get(id);
      expect(record?.state).toBe("approved");
      expect(record?.decisions.map((d) => d.approver).sort()).toEqual(["ana@example.com", "bob@example.com"]);
      expect(callbacks.successes).toHaveLength(1);
      expect(callbacks.successes[0]?.output).toMatchObject({ decision: "approved" });
      expect(ofType("Approval Decided")).toHaveLength(1);
    });
  });

  describe("expireApproval", () => {
    beforeEach(async () => {
      await promotions.createPromotion(promotion());
    });

    it("closes a pending request as expired and publishes Approval Decided (expired)", async () => {
      await request(2);
      await recordDecision(deps(2), vote("ana@example.com"));
      now = new Date(expiresAt);

      const answer = await expireApproval(deps(2), { promotionId });

      expect(answer).toEqual({
        approvalId: id,
        reason: `approval ${id} expired at ${expiresAt}: 1 of 2 approvals, nobody decided in time`,
      });
      expect(await approvals.get(id)).toMatchObject({ state: "expired", closedAt: expiresAt });
      const decided = ofType("Approval Decided").map((e) => approvalDecidedDetailSchema.parse(e.detail));
      expect(decided).toEqual([
        expect.objectContaining({ approvalId: id, decision: "expired", decidedBy: [], decidedAt: expiresAt }),
      ]);
    });

    it("leaves an approved request as it is", async () => {
      await request();
      await recordDecision(deps(), vote("ana@example.com"));
      const approved = await approvals.get(id);
      published = [];

      const answer = await expireApproval(deps(), { promotionId });

      expect(answer.reason).toBe(`approval ${id} timed out (approved; 1 of 1 approvals)`);
      expect(await approvals.get(id)).toEqual(approved);
      expect(published).toEqual([]);
    });

    it("says so when no request was recorded for the promotion", async () => {
      expect(await expireApproval(deps(), { promotionId })).toEqual({
        approvalId: null,
        reason: "the approval request timed out before it was recorded",
      });
    });
  });
});

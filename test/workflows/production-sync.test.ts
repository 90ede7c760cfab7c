// The production-sync workflow through the local runner, with faked steps: every Choice branch and every Catch path.

import { beforeEach, describe, expect, it } from "vitest";
import { decidePromotionInputSchema } from "../../functions/handlers/decide-promotion.ts";
import { expireApprovalInputSchema } from "../../functions/handlers/expire-approval.ts";
import { finishPromotionInputSchema } from "../../functions/handlers/finish-promotion.ts";
import { gatePromotionInputSchema } from "../../functions/handlers/gate-promotion.ts";
import { requestApprovalInputSchema } from "../../functions/handlers/request-approval.ts";
import { revertPromotionInputSchema } from "../../functions/handlers/revert-promotion.ts";
import { snapshotBeforeChangeInputSchema } from "../../functions/handlers/snapshot-before-change.ts";
import { syncApplicationInputSchema } from "../../functions/handlers/sync-application.ts";
import { watchSyncInputSchema } from "../../functions/handlers/watch-sync.ts";
import type { FunctionName } from "../../functions/registry.ts";
import { TaskTimedOut } from "../../local/workflows/index.ts";
import {
  type CommitAnswer,
  commitQueueSubstitutions,
  enteredStates,
  failing,
  fakeGitOpsWriter,
  type Payload,
  type Step,
  workflowHarness,
} from "../support/workflow-harness.ts";

const promotionId = "7c0e6a52-4d1b-5e8a-9f3c-2b6d8e1f0a47";
const approvalId = "apr-7c0e6a52";
const revision = "a".repeat(40);
const revertRevision = "b".repeat(40);
const previousDigest = `sha256:${"0".repeat(64)}`;
const commitGroup = "acme/gitops@main";
const input = {
  promotionId,
  service: "checkout",
  environment: "production",
  image: {
    repository: "checkout",
    tag: "1.4.2",
    digest: `sha256:${"1".repeat(64)}`,
    pushedAt: "2026-11-27T10:00:00Z",
  },
  trigger: { kind: "promotion", eventId: "5d2e9b10-0000-4000-8000-000000000002" },
};
const gateDeadline = "2026-11-28T10:00:00.000Z";
const sync = { startedAt: "2026-11-27T11:00:02.000Z", deadline: "2026-11-27T11:15:02.000Z" };
const revertSync = { startedAt: "2026-11-27T11:05:09.000Z", deadline: "2026-11-27T11:20:09.000Z" };
const approved = {
  approvalId,
  decision: "approved",
  decidedBy: ["ana@example.com", "ben@example.com"],
  reason: "approved by ana@example.com, ben@example.com",
};
const rejected = {
  approvalId,
  decision: "rejected",
  decidedBy: ["ben@example.com"],
  reason: "rejected by ben@example.com: not during the sale",
};

type Commit = (body: Payload) => CommitAnswer;
type Approval = typeof approved | typeof rejected;

/**
 * The faked steps. sync-application and watch-sync run both for the promotion and for its revert; the revision
 * they are called with tells which, so a test fakes (and reads the calls of) each use on its own.
 */
type StepName = FunctionName | "sync-revert" | "watch-revert";

const stepFor = (name: FunctionName, payload: Payload): StepName => {
  if (payload.revision !== revertRevision) return name;
  if (name === "sync-application") return "sync-revert";
  if (name === "watch-sync") return "watch-revert";
  return name;
};

/** What each function's handler would parse: the workflow must send exactly what the schemas accept. */
const inputSchemas = {
  "decide-promotion": decidePromotionInputSchema,
  "gate-promotion": gatePromotionInputSchema,
  "snapshot-before-change": snapshotBeforeChangeInputSchema,
  "request-approval": requestApprovalInputSchema,
  "expire-approval": expireApprovalInputSchema,
  "sync-application": syncApplicationInputSchema,
  "watch-sync": watchSyncInputSchema,
  "revert-promotion": revertPromotionInputSchema,
  "finish-promotion": finishPromotionInputSchema,
};

const gate = (state: "clear" | "wait" | "frozen", overrides: Payload = {}) => ({
  state,
  reason: state === "clear" ? "checkout is not frozen" : "checkout is frozen: Black Friday (set by ops)",
  deadline: gateDeadline,
  pollIntervalSeconds: 0,
  database: null,
  approvalTimeoutSeconds: 3600,
  ...overrides,
});

const watch = (state: string, observed: string, attempt = 1) => ({
  state,
  attempt,
  observed,
  pollIntervalSeconds: 0,
});

describe("production-sync workflow", () => {
  let steps: Partial<Record<StepName, Step>>;
  let commit: Commit;
  /** How an approver answers the RequestApproval token; undefined: nobody ever does. */
  let decision: Approval | undefined;
  const tokens: string[] = [];

  const harness = workflowHarness({
    workflow: "production-sync",
    input,
    inputSchemas,
    steps: () => steps,
    stepOf: stepFor,
    substitutions: commitQueueSubstitutions,
    integrations: { commit: fakeGitOpsWriter((body) => commit(body)) },
  });
  const { run, payloads, ran } = harness;

  beforeEach(() => {
    tokens.length = 0;
    decision = approved;
    steps = {
      "decide-promotion": async () => ({
        promotionId,
        action: "promote",
        reason: "1.4.2 is newer than 1.4.1",
        commitGroup,
        image: input.image,
      }),
      "gate-promotion": async () => gate("clear"),
      "snapshot-before-change": async (payload) => ({
        state: "available",
        snapshotId: "pre-change-7c0e6a52",
        deadline: "2026-11-27T10:30:00.000Z",
        pollIntervalSeconds: 0,
        reason: `snapshot pre-change-7c0e6a52 of ${String(payload.database)} is available`,
      }),
      "request-approval": async (payload) => {
        const token = payload.taskToken as string;
        tokens.push(token);
        const answer = decision;
        if (answer) setImmediate(() => void harness.runner.sendTaskSuccess(token, answer));
        return { approvalId, expiresAt: "2026-11-28T10:00:00.000Z" };
      },
      "expire-approval": async () => ({
        approvalId,
        reason: `approval ${approvalId} expired at 2026-11-28T10:00:00.000Z: 1 of 2 approvals, nobody decided in time`,
      }),
      "sync-application": async () => sync,
      "watch-sync": async () => watch("synced", "prod/checkout sync=Synced health=Healthy"),
      "revert-promotion": async (payload) => ({
        outcome: "reverted",
        reason: payload.reason,
        revertRevision,
        digest: previousDigest,
      }),
      "sync-revert": async () => revertSync,
      "watch-revert": async () => watch("synced", "prod/checkout sync=Synced health=Healthy (reverted)"),
      "finish-promotion": async (payload) => ({
        promotionId,
        service: "checkout",
        phase: {
          succeeded: "Succeeded",
          failed: "Failed",
          errored: "Errored",
          superseded: "Skipped",
          "rolled-back": "RolledBack",
        }[payload.outcome as string],
      }),
    };
    commit = () => ({
      outcome: "committed",
      revision,
      committedAt: "2026-11-27T11:00:01Z",
      deadline: "2026-11-27T11:15:01Z",
      pollIntervalSeconds: 0,
    });
  });

  const finishes = () => payloads("finish-promotion");

  describe("Decide and ShouldPromote", () => {
    it("ShouldPromote → Skipped when the policy says no: the plan is the output and nobody is asked", async () => {
      steps["decide-promotion"] = async () => ({
        promotionId,
        action: "skip",
        reason: "sha256:1111… is quarantined for checkout",
        commitGroup,
        image: input.image,
      });
      const { done, entered } = await run();
      expect(done).toMatchObject({
        status: "SUCCEEDED",
        output: { promotionId, action: "skip", reason: "sha256:1111… is quarantined for checkout" },
      });
      expect(entered).toContain("Skipped");
      expect(payloads("decide-promotion")).toEqual([
        {
          promotionId,
          executionName: done.name,
          service: "checkout",
          environment: "production",
          image: input.image,
          trigger: input.trigger,
        },
      ]);
      expect(ran("gate-promotion")).toBe(0);
      expect(ran("request-approval")).toBe(0);
      expect(finishes()).toEqual([]);
    });

    it("Decide's Catch → DecideErrored, and the execution fails with PromotionErrored", async () => {
      steps["decide-promotion"] = failing("ValidationError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionErrored" });
      expect(entered).toContain("DecideErrored");
      expect(ran("gate-promotion")).toBe(0);
      expect(finishes()).toEqual([]);
    });
  });

  describe("the freeze gate", () => {
    it("GateState clear → NeedsSnapshot → NoSnapshot when the service has no database; the approval names no snapshot", async () => {
      decision = undefined;
      const { executionArn } = await harness.runner.startExecution({ workflow: "production-sync", input });
      await expect.poll(() => tokens.length, { timeout: 5_000 }).toBe(1);
      expect(payloads("gate-promotion")).toEqual([
        { promotionId, service: "checkout", environment: "production", deadline: null },
      ]);
      expect(ran("snapshot-before-change")).toBe(0);
      expect(payloads("request-approval")).toEqual([{ taskToken: tokens[0], promotionId, snapshotId: null }]);
      const history = await harness.runner.getExecutionHistory(executionArn);
      expect(enteredStates(history)).toContain("NoSnapshot");
      expect(
        history.find((e) => e.type === "TaskScheduled" && e.stateName === "RequestApproval"),
      ).toMatchObject({
        timeoutSeconds: 3600,
      });
      expect((await harness.runner.describeExecution(executionArn)).status).toBe("RUNNING");
      expect(ran("commit")).toBe(0);

      await harness.runner.sendTaskSuccess(tokens[0]!, approved);
      expect(await harness.runner.waitForExecution(executionArn, 10_000)).toMatchObject({
        status: "SUCCEEDED",
      });
    });

    it("GateState wait → WaitForThaw → CheckGate until the freeze lifts, keeping the first look's deadline", async () => {
      let looks = 0;
      steps["gate-promotion"] = async () => {
        looks += 1;
        return gate(looks < 3 ? "wait" : "clear");
      };
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered.filter((s) => s === "WaitForThaw")).toHaveLength(2);
      expect(payloads("gate-promotion").map((p) => p.deadline)).toEqual([null, gateDeadline, gateDeadline]);
      expect(ran("request-approval")).toBe(1);
    });

    it("GateState → Frozen → PromotionFrozen when the freeze stops the promotion; nobody is asked", async () => {
      const reason = "checkout is frozen: Black Friday (set by ops); promotion.freeze.action is fail";
      steps["gate-promotion"] = async () => gate("frozen", { reason });
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionFrozen" });
      expect(entered).toContain("Frozen");
      expect(finishes()).toEqual([{ promotionId, outcome: "failed", reason, failedStep: "freeze" }]);
      expect(ran("request-approval")).toBe(0);
    });

    it("CheckGate's Catch → GateErrored → PromotionErrored", async () => {
      steps["gate-promotion"] = failing("ValidationError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionErrored" });
      expect(entered).toContain("GateErrored");
      expect(finishes()).toEqual([
        {
          promotionId,
          outcome: "errored",
          reason: "ValidationError",
          failedStep: "freeze",
          error: { Error: "ValidationError", Cause: expect.stringContaining("ValidationError failed") },
        },
      ]);
      expect(ran("request-approval")).toBe(0);
    });
  });

  describe("the pre-change snapshot", () => {
    const database = "checkout-db";
    const withDatabase = () => {
      steps["gate-promotion"] = async () => gate("clear", { database });
    };

    it("NeedsSnapshot → Snapshot → WaitForSnapshot until available; the approval carries the snapshot", async () => {
      withDatabase();
      let looks = 0;
      steps["snapshot-before-change"] = async () => {
        looks += 1;
        return {
          state: looks < 2 ? "creating" : "available",
          snapshotId: "pre-change-7c0e6a52",
          deadline: "2026-11-27T10:30:00.000Z",
          pollIntervalSeconds: looks < 2 ? 1 : 0,
          reason: "snapshot pre-change-7c0e6a52 is creating",
        };
      };
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered).toEqual(expect.arrayContaining(["StartSnapshot", "WaitForSnapshot", "SnapshotState"]));
      expect(entered).not.toContain("NoSnapshot");
      expect(payloads("snapshot-before-change")).toEqual([
        { promotionId, database, snapshotId: null, deadline: null },
        { promotionId, database, snapshotId: "pre-change-7c0e6a52", deadline: "2026-11-27T10:30:00.000Z" },
      ]);
      expect(payloads("request-approval")).toEqual([
        { taskToken: expect.any(String), promotionId, snapshotId: "pre-change-7c0e6a52" },
      ]);
    });

    it.each(["failed", "timed-out"])(
      "SnapshotState → SnapshotFailed when the snapshot is %s: nothing changes without a way back",
      async (state) => {
        withDatabase();
        const reason = `pre-change snapshot pre-change-7c0e6a52 of checkout-db is ${state}`;
        steps["snapshot-before-change"] = async () => ({
          state,
          snapshotId: "pre-change-7c0e6a52",
          deadline: "2026-11-27T10:30:00.000Z",
          pollIntervalSeconds: 5,
          reason,
        });
        const { done, entered } = await run();
        expect(done).toMatchObject({ status: "FAILED", error: "SnapshotFailed" });
        expect(entered).toContain("PreChangeSnapshotFailed");
        expect(finishes()).toEqual([{ promotionId, outcome: "failed", reason, failedStep: "snapshot" }]);
        expect(ran("request-approval")).toBe(0);
      },
    );

    it("Snapshot's Catch → SnapshotErrored → PromotionErrored", async () => {
      withDatabase();
      steps["snapshot-before-change"] = failing("NotFoundError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionErrored" });
      expect(entered).toContain("SnapshotErrored");
      expect(finishes()).toEqual([
        expect.objectContaining({ outcome: "errored", reason: "NotFoundError", failedStep: "snapshot" }),
      ]);
      expect(ran("request-approval")).toBe(0);
    });
  });

  describe("the approval", () => {
    it("approved → Commit → StartSync → WatchSync synced → PromotionSucceeded: the steps get what the last one found", async () => {
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered).toEqual([
        "Decide",
        "ShouldPromote",
        "StartGate",
        "CheckGate",
        "GateState",
        "NeedsSnapshot",
        "NoSnapshot",
        "RequestApproval",
        "Approved",
        "Commit",
        "Committed",
        "StartSync",
        "StartWatching",
        "WatchSync",
        "SyncState",
        "PromotionSucceeded",
        "Done",
      ]);
      expect(payloads("commit")).toEqual([
        {
          taskToken: expect.any(String),
          promotionId,
          service: "checkout",
          environment: "production",
          eventId: input.trigger.eventId,
          image: input.image,
          MessageGroupId: commitGroup,
        },
      ]);
      expect(payloads("sync-application")).toEqual([
        { service: "checkout", environment: "production", revision },
      ]);
      expect(payloads("watch-sync")).toEqual([
        {
          promotionId,
          service: "checkout",
          environment: "production",
          revision,
          digest: input.image.digest,
          committedAt: sync.startedAt,
          deadline: sync.deadline,
          attempt: 0,
        },
      ]);
      expect(finishes()).toEqual([
        { promotionId, outcome: "succeeded", reason: "prod/checkout sync=Synced health=Healthy" },
      ]);
      expect(ran("revert-promotion")).toBe(0);
    });

    it("Approved → Rejected → ApprovalRejected with the approver's reason; nothing is committed", async () => {
      decision = rejected;
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "ApprovalRejected" });
      expect(entered).toContain("Rejected");
      expect(finishes()).toEqual([
        { promotionId, outcome: "failed", reason: rejected.reason, failedStep: "approval" },
      ]);
      expect(ran("commit")).toBe(0);
      expect(ran("sync-application")).toBe(0);
    });

    it("RequestApproval's timeout → ApprovalExpired → expire-approval → ApprovalTimedOut; the token is dead", async () => {
      decision = undefined;
      steps["gate-promotion"] = async () => gate("clear", { approvalTimeoutSeconds: 1 });
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "ApprovalExpired" });
      expect(entered).toEqual(
        expect.arrayContaining(["ApprovalExpired", "ApprovalExpiredFinish", "ApprovalTimedOut"]),
      );
      expect(payloads("expire-approval")).toEqual([{ promotionId }]);
      expect(finishes()).toEqual([
        {
          promotionId,
          outcome: "failed",
          reason: `approval ${approvalId} expired at 2026-11-28T10:00:00.000Z: 1 of 2 approvals, nobody decided in time`,
          failedStep: "approval",
        },
      ]);
      expect(ran("commit")).toBe(0);
      await expect(harness.runner.sendTaskSuccess(tokens[0]!, approved)).rejects.toBeInstanceOf(TaskTimedOut);
    });

    it("RequestApproval's Catch → ApprovalErrored → PromotionErrored", async () => {
      steps["request-approval"] = failing("NotFoundError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionErrored" });
      expect(entered).toContain("ApprovalErrored");
      expect(entered).not.toContain("ApprovalExpired");
      expect(finishes()).toEqual([
        {
          promotionId,
          outcome: "errored",
          reason: "NotFoundError",
          failedStep: "approval",
          error: { Error: "NotFoundError", Cause: expect.stringContaining("NotFoundError failed") },
        },
      ]);
      expect(ran("commit")).toBe(0);
    });
  });

  describe("the commit", () => {
    it("Commit's Catch → CommitErrored when the writer answers with a failure", async () => {
      commit = () => ({ error: "ValidationError", cause: "values file missing" });
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionErrored" });
      expect(entered).toContain("CommitErrored");
      expect(finishes()).toEqual([
        {
          promotionId,
          outcome: "errored",
          reason: "ValidationError",
          failedStep: "commit",
          error: { Error: "ValidationError", Cause: "values file missing" },
        },
      ]);
      expect(ran("sync-application")).toBe(0);
    });

    it("Committed → NotCommitted when production already pins the image: nothing is synced", async () => {
      commit = () => ({ outcome: "unchanged", reason: "production already pins 1.4.2", revision });
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered).toContain("NotCommitted");
      expect(ran("sync-application")).toBe(0);
      expect(ran("watch-sync")).toBe(0);
      expect(finishes()).toEqual([]);
    });
  });

  describe("the sync and its health gate", () => {
    it("SyncState → WaitForSync → WatchSync until synced, counting attempts", async () => {
      let looks = 0;
      steps["watch-sync"] = async (payload) => {
        looks += 1;
        return watch(looks < 3 ? "waiting" : "synced", "o", (payload.attempt as number) + 1);
      };
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered.filter((s) => s === "WaitForSync")).toHaveLength(2);
      expect(payloads("watch-sync").map((p) => p.attempt)).toEqual([0, 1, 2]);
      expect(ran("sync-application")).toBe(1);
    });

    it("SyncState → PromotionSuperseded when a later promotion of the service took over; the execution succeeds", async () => {
      steps["watch-sync"] = async () => watch("superseded", "superseded by promotion p2 (1.5.0)");
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered).toContain("PromotionSuperseded");
      expect(finishes()).toEqual([
        { promotionId, outcome: "superseded", reason: "superseded by promotion p2 (1.5.0)" },
      ]);
      expect(ran("revert-promotion")).toBe(0);
    });

    it.each([["StartSync", "sync-application"] as const, ["WatchSync", "watch-sync"] as const])(
      "%s's Catch → SyncErrored → PromotionErrored",
      async (_state, step) => {
        steps[step] = failing("NotFoundError");
        const { done, entered } = await run();
        expect(done).toMatchObject({ status: "FAILED", error: "PromotionErrored" });
        expect(entered).toContain("SyncErrored");
        expect(finishes()).toEqual([
          expect.objectContaining({ outcome: "errored", reason: "NotFoundError", failedStep: "sync" }),
        ]);
        expect(ran("revert-promotion")).toBe(0);
      },
    );
  });

  describe("the rollback", () => {
    const unhealthy = (state = "degraded") => {
      steps["watch-sync"] = async () => watch(state, "prod/checkout health=Degraded");
    };

    it.each(["degraded", "timed-out"])(
      "SyncState %s → RevertCommit → SyncRevert → WatchRevert synced → RolledBack → PromotionRolledBack",
      async (state) => {
        unhealthy(state);
        const { done, entered } = await run();
        expect(done).toMatchObject({ status: "FAILED", error: "PromotionRolledBack" });
        expect(entered).toEqual(
          expect.arrayContaining([
            "RevertCommit",
            "Reverted",
            "SyncRevert",
            "StartWatchingRevert",
            "WatchRevert",
          ]),
        );
        const reason = `Argo CD ${state}: prod/checkout health=Degraded`;
        expect(payloads("revert-promotion")).toEqual([{ promotionId, reason }]);
        expect(payloads("sync-revert")).toEqual([
          { service: "checkout", environment: "production", revision: revertRevision },
        ]);
        expect(payloads("watch-revert")).toEqual([
          {
            promotionId,
            service: "checkout",
            environment: "production",
            revision: revertRevision,
            digest: previousDigest,
            committedAt: revertSync.startedAt,
            deadline: revertSync.deadline,
            attempt: 0,
          },
        ]);
        expect(finishes()).toEqual([
          { promotionId, outcome: "rolled-back", reason, revertRevision, rollbackHealthy: true },
        ]);
      },
    );

    it("RevertState → WaitForRevert → WatchRevert until the revert is synced", async () => {
      unhealthy();
      let looks = 0;
      steps["watch-revert"] = async (payload) => {
        looks += 1;
        return watch(looks < 2 ? "waiting" : "synced", "o", (payload.attempt as number) + 1);
      };
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionRolledBack" });
      expect(entered.filter((s) => s === "WaitForRevert")).toHaveLength(1);
      expect(payloads("watch-revert").map((p) => p.attempt)).toEqual([0, 1]);
      expect(finishes()).toEqual([
        expect.objectContaining({ outcome: "rolled-back", rollbackHealthy: true }),
      ]);
    });

    it.each(["degraded", "timed-out"])(
      "RevertState → RollbackUnhealthy → RollbackFailed when the revert is %s too",
      async (state) => {
        unhealthy();
        steps["watch-revert"] = async () => watch(state, "prod/checkout health=Degraded (reverted)");
        const { done, entered } = await run();
        expect(done).toMatchObject({ status: "FAILED", error: "RollbackFailed" });
        expect(entered).toContain("RollbackUnhealthy");
        expect(finishes()).toEqual([
          {
            promotionId,
            outcome: "rolled-back",
            reason:
              "Argo CD degraded: prod/checkout health=Degraded; the revert did not become healthy either: " +
              "prod/checkout health=Degraded (reverted)",
            revertRevision,
            rollbackHealthy: false,
          },
        ]);
      },
    );

    it("Reverted → HealthCheckFailed → PromotionFailed when there is nothing to revert to", async () => {
      unhealthy();
      const reason =
        "Argo CD degraded: prod/checkout health=Degraded; nothing to roll back to: a first deploy";
      steps["revert-promotion"] = async () => ({
        outcome: "not-reverted",
        reason,
        revertRevision: null,
        digest: null,
      });
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionFailed" });
      expect(entered).toContain("HealthCheckFailed");
      expect(finishes()).toEqual([{ promotionId, outcome: "failed", reason, failedStep: "health-check" }]);
      expect(ran("sync-revert")).toBe(0);
    });

    it.each([
      ["RevertCommit", "revert-promotion"] as const,
      ["SyncRevert", "sync-revert"] as const,
      ["WatchRevert", "watch-revert"] as const,
    ])("%s's Catch → RollbackErrored → PromotionErrored", async (_state, step) => {
      unhealthy();
      steps[step] = failing("ValidationError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionErrored" });
      expect(entered).toContain("RollbackErrored");
      expect(finishes()).toEqual([
        {
          promotionId,
          outcome: "errored",
          reason: "ValidationError",
          failedStep: "rollback",
          error: { Error: "ValidationError", Cause: expect.stringContaining("ValidationError failed") },
        },
      ]);
    });
  });
});

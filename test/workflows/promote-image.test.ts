// The promote-image workflow through the local runner, with faked steps: every Choice branch and every Catch path.

import { beforeEach, describe, expect, it } from "vitest";
import { decidePromotionInputSchema } from "../../functions/handlers/decide-promotion.ts";
import { finishPromotionInputSchema } from "../../functions/handlers/finish-promotion.ts";
import { resolveServicesInputSchema } from "../../functions/handlers/resolve-services.ts";
import { watchSyncInputSchema } from "../../functions/handlers/watch-sync.ts";
import {
  type CommitAnswer,
  commitQueueSubstitutions,
  failing,
  fakeGitOpsWriter,
  type Payload,
  type Step,
  workflowHarness,
} from "../support/workflow-harness.ts";

const promotionId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";
const revision = "a".repeat(40);
const input = {
  promotionId: null,
  environment: null,
  services: null,
  trigger: { kind: "ecr", eventId: "3f1c1a44-0000-4000-8000-000000000001" },
  image: {
    repository: "checkout",
    tag: "1.4.2",
    digest: `sha256:${"1".repeat(64)}`,
    pushedAt: "2026-11-27T10:00:00Z",
  },
};

type Commit = (body: Payload) => CommitAnswer;

/** What each function's handler would parse: the workflow must send exactly what the schemas accept. */
const inputSchemas = {
  "resolve-services": resolveServicesInputSchema,
  "decide-promotion": decidePromotionInputSchema,
  "watch-sync": watchSyncInputSchema,
  "finish-promotion": finishPromotionInputSchema,
};
type StepName = keyof typeof inputSchemas;

describe("promote-image workflow", () => {
  let steps: Record<StepName, Step>;
  let commit: Commit;

  const { calls, run, payloads } = workflowHarness({
    workflow: "promote-image",
    input,
    inputSchemas,
    steps: () => steps,
    substitutions: commitQueueSubstitutions,
    integrations: { commit: fakeGitOpsWriter((body) => commit(body)) },
  });

  beforeEach(() => {
    steps = {
      "resolve-services": async () => ({
        services: [{ name: "checkout" }],
        environment: "staging",
        promotionId: null,
        reason: "1 service",
      }),
      "decide-promotion": async () => ({
        promotionId,
        action: "promote",
        reason: "first deploy",
        commitGroup: "acme/gitops@main",
        image: input.image,
      }),
      "watch-sync": async () => ({
        state: "synced",
        attempt: 1,
        observed: "Synced/Healthy",
        pollIntervalSeconds: 0,
      }),
      "finish-promotion": async (payload) => ({
        promotionId,
        service: "checkout",
        phase: { succeeded: "Succeeded", failed: "Failed", errored: "Errored", superseded: "Skipped" }[
          payload.outcome as string
        ],
      }),
    };
    commit = () => ({
      outcome: "committed",
      revision,
      committedAt: "2026-11-27T10:00:01Z",
      deadline: "2026-11-27T10:15:01Z",
      pollIntervalSeconds: 0,
    });
  });

  const finishes = () => payloads("finish-promotion");

  it("AnyService → NoService when nothing deploys the repository", async () => {
    steps["resolve-services"] = async () => ({
      services: [],
      environment: "staging",
      promotionId: null,
      reason: "no service",
    });
    const { done, entered } = await run();
    expect(done).toMatchObject({ status: "SUCCEEDED", output: { services: [], reason: "no service" } });
    expect(entered).toContain("NoService");
  });

  it("ShouldPromote → Skipped when the policy says no", async () => {
    steps["decide-promotion"] = async () => ({
      promotionId,
      action: "skip",
      reason: "would downgrade",
      commitGroup: "g",
      image: input.image,
    });
    const { done, entered } = await run();
    expect(done.status).toBe("SUCCEEDED");
    expect(done.output).toMatchObject({ promotions: [{ phase: "Skipped", reason: "would downgrade" }] });
    expect(entered).not.toContain("Commit");
  });

  it("the happy path: the Commit message carries the token and the image, then synced → PromotionSucceeded", async () => {
    const { done, entered } = await run();
    expect(done).toMatchObject({ status: "SUCCEEDED", output: { promotions: [{ phase: "Succeeded" }] } });
    expect(entered).toEqual(
      expect.arrayContaining([
        "Decide",
        "ShouldPromote",
        "Commit",
        "Committed",
        "StartWatching",
        "WatchSync",
        "SyncState",
        "PromotionSucceeded",
        "Done",
      ]),
    );
    const message = calls.find((c) => c.step === "commit")?.payload as Record<string, unknown>;
    expect(message).toMatchObject({
      promotionId,
      service: "checkout",
      environment: "staging",
      image: input.image,
      eventId: input.trigger.eventId,
    });
    expect(message.taskToken).toEqual(expect.any(String));
    expect(calls.find((c) => c.step === "watch-sync")?.payload).toMatchObject({
      revision,
      digest: input.image.digest,
      attempt: 0,
    });
    expect(finishes()).toEqual([{ promotionId, outcome: "succeeded", reason: "Synced/Healthy" }]);
  });

  it("Committed → NotCommitted when the writer superseded the request", async () => {
    commit = () => ({ outcome: "superseded", reason: "superseded by 1.5.0" });
    const { done, entered } = await run();
    expect(done.output).toMatchObject({ promotions: [{ phase: "Skipped", reason: "superseded by 1.5.0" }] });
    expect(entered).toContain("NotCommitted");
    expect(finishes()).toEqual([]);
  });

  it("SyncState → WaitForSync → WatchSync until synced, counting attempts", async () => {
    let looks = 0;
    steps["watch-sync"] = async (payload) => {
      looks += 1;
      return {
        state: looks < 3 ? "waiting" : "synced",
        attempt: (payload.attempt as number) + 1,
        observed: "o",
        pollIntervalSeconds: 0,
      };
    };
    const { done, entered } = await run();
    expect(done.status).toBe("SUCCEEDED");
    expect(entered.filter((s) => s === "WaitForSync")).toHaveLength(2);
    expect(
      calls.filter((c) => c.step === "watch-sync").map((c) => (c.payload as { attempt: number }).attempt),
    ).toEqual([0, 1, 2]);
  });

  it.each(["degraded", "timed-out"])(
    "SyncState → PromotionFailed when %s, and the execution fails",
    async (state) => {
      steps["watch-sync"] = async () => ({
        state,
        attempt: 1,
        observed: "health=Degraded",
        pollIntervalSeconds: 0,
      });
      const { done } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "PromotionFailed" });
      expect(finishes()).toEqual([
        { promotionId, outcome: "failed", failedStep: "sync", reason: `Argo CD ${state}: health=Degraded` },
      ]);
    },
  );

  it("SyncState → PromotionSuperseded when a later promotion of the service took over; the execution succeeds", async () => {
    steps["watch-sync"] = async () => ({
      state: "superseded",
      attempt: 1,
      observed: "superseded by promotion p2",
      pollIntervalSeconds: 0,
    });
    const { done, entered } = await run();
    expect(entered).toContain("PromotionSuperseded");
    expect(done.status).toBe("SUCCEEDED");
    expect(finishes()).toEqual([
      { promotionId, outcome: "superseded", reason: "superseded by promotion p2" },
    ]);
  });

  it("Decide's Catch → DecideErrored, and the execution fails", async () => {
    steps["decide-promotion"] = failing("ValidationError");
    const { done, entered } = await run();
    expect(done).toMatchObject({ status: "FAILED", error: "PromotionFailed" });
    expect(entered).toContain("DecideErrored");
  });

  it("Commit's Retry takes a ConflictError again; its Catch sends a terminal error to CommitErrored", async () => {
    let attempts = 0;
    commit = () => {
      attempts += 1;
      return attempts === 1
        ? { error: "ConflictError", cause: "branch moved" }
        : { error: "ValidationError", cause: "values file missing" };
    };
    const { done, entered } = await run();
    expect(attempts).toBe(2);
    expect(entered).toContain("CommitErrored");
    expect(done.status).toBe("FAILED");
    expect(finishes()).toEqual([
      expect.objectContaining({
        outcome: "errored",
        failedStep: "commit",
        reason: "ValidationError",
        error: { Error: "ValidationError", Cause: "values file missing" },
      }),
    ]);
  });

  it("WatchSync's Catch → SyncErrored", async () => {
    steps["watch-sync"] = failing("NotFoundError");
    const { done, entered } = await run();
    expect(entered).toContain("SyncErrored");
    expect(done.status).toBe("FAILED");
    expect(finishes()).toEqual([
      expect.objectContaining({ outcome: "errored", failedStep: "sync", reason: "NotFoundError" }),
    ]);
  });

  it("promotes each resolved service in its own branch", async () => {
    steps["resolve-services"] = async () => ({
      services: [{ name: "checkout" }, { name: "checkout-worker" }],
      environment: "staging",
      promotionId: null,
      reason: "2 services",
    });
    const { done } = await run();
    expect(done.status).toBe("SUCCEEDED");
    expect(
      calls
        .filter((c) => c.step === "decide-promotion")
        .map((c) => (c.payload as { service: string }).service)
        .sort(),
    ).toEqual(["checkout", "checkout-worker"]);
  });
});

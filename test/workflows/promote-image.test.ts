// The promote-image workflow through the local runner, with faked steps: every Choice branch and every Catch path.

import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FunctionName } from "../../functions/registry.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { localSubstitutions } from "../../local/integrations.ts";
import { WorkflowRunner } from "../../local/workflows/index.ts";

const rootDir = fileURLToPath(new URL("../../", import.meta.url));
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

type Step = (payload: Record<string, unknown>) => Promise<unknown>;
type Commit = (body: Record<string, unknown>) => { error: string; cause: string } | Record<string, unknown>;

const failing = (name: string) => async () => {
  throw Object.assign(new Error(`${name} failed`), { name });
};

describe("promote-image workflow", () => {
  let db: SqliteDatabase;
  let runner: WorkflowRunner;
  let steps: Record<string, Step>;
  let commit: Commit;
  const calls: { step: string; payload: unknown }[] = [];

  beforeEach(() => {
    calls.length = 0;
    db = openDatabase(":memory:");
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
    const fns = Object.fromEntries(
      (["resolve-services", "decide-promotion", "watch-sync", "finish-promotion"] as FunctionName[]).map(
        (name) => [
          name,
          async (payload: unknown) => {
            calls.push({ step: name, payload });
            return steps[name]!(payload as Record<string, unknown>);
          },
        ],
      ),
    );
    const queueUrl = "https://sqs.us-east-1.amazonaws.com/000000000000/switchyard-commits.fifo";
    runner = new WorkflowRunner({
      db,
      rootDir,
      functions: fns,
      substitutions: localSubstitutions({ commits: queueUrl }),
      integrations: {
        // The GitOps writer, answering the Commit step's task token as the real one does.
        "arn:aws:states:::sqs:sendMessage": async (parameters) => {
          const { MessageBody } = parameters as { MessageBody: Record<string, unknown> };
          calls.push({ step: "commit", payload: MessageBody });
          const answer = commit(MessageBody);
          setImmediate(() => {
            const token = MessageBody.taskToken as string;
            if ("error" in answer && typeof answer.error === "string") {
              void runner.sendTaskFailure(token, answer.error, String(answer.cause));
            } else void runner.sendTaskSuccess(token, answer);
          });
          return { MessageId: "m-1" };
        },
      },
    });
  });
  afterEach(async () => {
    await runner.close();
    db.close();
  });

  const run = async (overrides: Record<string, unknown> = {}) => {
    const { executionArn } = await runner.startExecution({
      workflow: "promote-image",
      input: { ...input, ...overrides },
    });
    const done = await runner.waitForExecution(executionArn, 10_000);
    const history = await runner.getExecutionHistory(executionArn);
    const entered = history.filter((e) => e.type.endsWith("StateEntered")).map((e) => e.stateName);
    return { done, entered };
  };
  const finishes = () => calls.filter((c) => c.step === "finish-promotion").map((c) => c.payload);

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

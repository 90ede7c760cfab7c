// The secret-rollout workflow through the local runner, with faked steps: every Choice branch and every Catch path.

import { beforeEach, describe, expect, it } from "vitest";
import type { DomainEvent } from "../../functions/core/ports.ts";
import {
  finishSecretRolloutInputSchema,
  makeFinishSecretRollout,
} from "../../functions/handlers/finish-secret-rollout.ts";
import { planSecretRolloutInputSchema } from "../../functions/handlers/plan-secret-rollout.ts";
import { restartDeploymentInputSchema } from "../../functions/handlers/restart-deployment.ts";
import { syncExternalSecretInputSchema } from "../../functions/handlers/sync-external-secret.ts";
import { watchRolloutInputSchema } from "../../functions/handlers/watch-rollout.ts";
import {
  failing,
  onlyCataloguedEvent,
  type Payload,
  type Step,
  workflowHarness,
} from "../support/workflow-harness.ts";

const secretName = "checkout/prod/postgres";
const versionId = "1eae1264-e834-4fca-95f7-927e4f3f1cf3";
const previousVersionId = "cc2387a2-62ac-4d24-8446-9a1fc2d3eb3d";
const input = {
  secretId: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${secretName}-Xa9Qz2`,
  eventId: "6e00790e-8a51-4433-8143-52fd49e283b5",
  rotatedAt: "2025-01-14T04:17:53Z",
};
const failedAt = "2025-01-14T04:40:00.000Z";

const checkout = {
  namespace: "checkout",
  externalSecret: "checkout-db",
  deployments: ["checkout", "checkout-worker"],
  service: "checkout",
};
const reporting = {
  namespace: "reporting",
  externalSecret: "reporting-db",
  deployments: ["reporting-export"],
  service: null,
};

/** What each function's handler would parse: the workflow must send exactly what the schemas accept. */
const inputSchemas = {
  "plan-secret-rollout": planSecretRolloutInputSchema,
  "sync-external-secret": syncExternalSecretInputSchema,
  "restart-deployment": restartDeploymentInputSchema,
  "watch-rollout": watchRolloutInputSchema,
  "finish-secret-rollout": finishSecretRolloutInputSchema,
};
type StepName = keyof typeof inputSchemas;

const plan = (consumers: object[]) => ({
  action: "rollout",
  reason: `version ${versionId} of ${secretName} goes to ${consumers.length} ExternalSecret(s)`,
  secretName,
  versionId,
  previousVersionId,
  strategy: "alternating-users",
  activeUser: "checkout_app_clone",
  consumers,
});

const sync = (state: string, overrides: Payload = {}) => ({
  state,
  targetSecret: "checkout-db",
  forcedAt: "2025-01-14T04:18:00.000Z",
  initialHash: "a".repeat(64),
  deadline: "2025-01-14T04:23:00.000Z",
  syncedAt: state === "synced" ? "2025-01-14T04:18:05.000Z" : null,
  pollIntervalSeconds: 0,
  reason: `ExternalSecret checkout/checkout-db is ${state}`,
  ...overrides,
});

const restart = (state: string, overrides: Payload = {}) => ({
  state,
  restartedAt: state === "restarted" ? "2025-01-14T04:18:06.000Z" : null,
  holdDeadline: state === "restarted" ? null : "2025-01-15T04:18:06.000Z",
  deadline: state === "restarted" ? "2025-01-14T04:33:06.000Z" : null,
  pollIntervalSeconds: 0,
  reason: state === "restarted" ? "restarted" : "checkout is frozen: Black Friday (set by ops)",
  ...overrides,
});

const watch = (state: string, reason = `the Deployment is ${state}`) => ({
  state,
  observed: "3/3 updated, 3 ready, 3 available, generation 7/7",
  pollIntervalSeconds: 0,
  reason,
});

describe("secret-rollout workflow", () => {
  let steps: Record<StepName, Step>;
  const published: DomainEvent[] = [];
  const { calls, run, payloads, ran } = workflowHarness({
    workflow: "secret-rollout",
    input,
    inputSchemas,
    steps: () => steps,
  });

  beforeEach(() => {
    published.length = 0;
    // The real finish step, publishing to a list: the events themselves are what a failure must get right.
    const finish = makeFinishSecretRollout({
      publisher: { publish: async (events) => void published.push(...events) },
      clock: { now: () => new Date(failedAt) },
    });
    steps = {
      "plan-secret-rollout": async () => plan([checkout]),
      "sync-external-secret": async () => sync("synced"),
      "restart-deployment": async () => restart("restarted"),
      "watch-rollout": async () => watch("ready"),
      "finish-secret-rollout": async (payload) => finish(finishSecretRolloutInputSchema.parse(payload)),
    };
  });

  const restarted = () => payloads("restart-deployment").map((p) => `${p.namespace}/${p.name}`);
  const onlyEvent = () => onlyCataloguedEvent(published, "2025-01-14T04:40:00Z");

  describe("Plan and ShouldRollOut", () => {
    it("ShouldRollOut → Skipped for a secret switchyard.yaml does not list: the plan is the output", async () => {
      const reason = `secret ${secretName} is not in switchyard.yaml's secrets: nothing to roll out`;
      steps["plan-secret-rollout"] = async () => ({
        action: "skip",
        reason,
        secretName,
        versionId: null,
        previousVersionId: null,
        strategy: null,
        activeUser: null,
        consumers: [],
      });
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "SUCCEEDED", output: { action: "skip", reason } });
      expect(entered).toEqual(["Plan", "ShouldRollOut", "Skipped"]);
      expect(payloads("plan-secret-rollout")).toEqual([{ secretId: input.secretId }]);
      expect(calls.map((c) => c.step)).toEqual(["plan-secret-rollout"]);
      expect(published).toEqual([]);
    });

    it("ShouldRollOut → Skipped for a secret without consumers", async () => {
      steps["plan-secret-rollout"] = async () => ({
        ...plan([]),
        action: "skip",
        reason: `secret ${secretName} has no consumers in switchyard.yaml`,
        versionId: null,
        previousVersionId: null,
        activeUser: null,
      });
      const { done } = await run();
      expect(done).toMatchObject({
        status: "SUCCEEDED",
        output: { reason: `secret ${secretName} has no consumers in switchyard.yaml` },
      });
      expect(ran("sync-external-secret")).toBe(0);
      expect(published).toEqual([]);
    });

    it("Plan's Catch → PlanErrored: nothing is touched and no event claims a step failed", async () => {
      steps["plan-secret-rollout"] = failing("ValidationError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SecretRolloutErrored" });
      expect(entered).toEqual(["Plan", "PlanErrored"]);
      expect(calls.map((c) => c.step)).toEqual(["plan-secret-rollout"]);
      expect(published).toEqual([]);
    });
  });

  describe("the ExternalSecret sync", () => {
    it("SyncState waiting → WaitForSync → SyncExternalSecret until synced, carrying what the first call recorded", async () => {
      let looks = 0;
      steps["sync-external-secret"] = async () => {
        looks += 1;
        return looks < 3 ? sync("waiting") : sync("synced");
      };
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered.filter((s) => s === "WaitForSync")).toHaveLength(2);
      const first = { rolloutId: done.name, namespace: "checkout", externalSecret: "checkout-db" };
      const recorded = {
        forcedAt: "2025-01-14T04:18:00.000Z",
        initialHash: "a".repeat(64),
        deadline: "2025-01-14T04:23:00.000Z",
      };
      expect(payloads("sync-external-secret")).toEqual([
        { ...first, forcedAt: null, initialHash: null, deadline: null },
        { ...first, ...recorded },
        { ...first, ...recorded },
      ]);
      // No Deployment restarts before its Secret holds the new version, and each starts from when it did.
      expect(calls.findIndex((c) => c.step === "restart-deployment")).toBeGreaterThan(
        calls.findLastIndex((c) => c.step === "sync-external-secret"),
      );
      expect(payloads("restart-deployment").map((p) => p.notBefore)).toEqual([
        "2025-01-14T04:18:05.000Z",
        "2025-01-14T04:18:05.000Z",
      ]);
    });

    it("SyncState → SyncTimedOut: Secret Rollout Failed names the ExternalSecret, nothing is restarted, the execution fails", async () => {
      steps["plan-secret-rollout"] = async () => plan([checkout, reporting]);
      const reason =
        "ExternalSecret checkout/checkout-db did not update Secret checkout-db within 5 min (rollout.syncTimeoutMinutes); it is Ready";
      steps["sync-external-secret"] = async () => sync("timed-out", { reason });
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SecretRolloutFailed" });
      expect(entered).toEqual(
        expect.arrayContaining(["SyncTimedOut", "ConsumerFailed", "SecretRolloutFailed"]),
      );
      expect(entered).not.toContain("RestartDeployments");
      expect(ran("restart-deployment")).toBe(0);
      expect(payloads("sync-external-secret").map((p) => p.externalSecret)).toEqual(["checkout-db"]);
      expect(payloads("finish-secret-rollout")).toEqual([
        {
          outcome: "failed",
          plan: expect.objectContaining({ secretName, versionId }),
          failure: { step: "sync-external-secret", consumerIndex: 0, deploymentIndex: null, reason },
        },
      ]);
      expect(onlyEvent()).toEqual({
        detailType: "Secret Rollout Failed",
        detail: {
          secretId: secretName,
          versionId,
          failedStep: "sync-external-secret",
          namespace: "checkout",
          name: "checkout-db",
          reason,
          restartedDeployments: [],
          remainingDeployments: [
            { namespace: "checkout", name: "checkout" },
            { namespace: "checkout", name: "checkout-worker" },
            { namespace: "reporting", name: "reporting-export" },
          ],
          failedAt,
        },
      });
    });

    it("SyncExternalSecret's Catch → SyncErrored: the error's message (not its stack) is the reason", async () => {
      steps["sync-external-secret"] = failing("NotFoundError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SecretRolloutFailed" });
      expect(entered).toEqual(expect.arrayContaining(["SyncErrored", "ConsumerFailed"]));
      expect(ran("restart-deployment")).toBe(0);
      expect(payloads("finish-secret-rollout")[0]).toMatchObject({
        failure: {
          step: "sync-external-secret",
          consumerIndex: 0,
          deploymentIndex: null,
          error: { Error: "NotFoundError", Cause: expect.stringContaining("NotFoundError failed") },
        },
      });
      expect(onlyEvent().detail).toMatchObject({
        failedStep: "sync-external-secret",
        name: "checkout-db",
        reason: expect.stringContaining("NotFoundError"),
      });
    });
  });

  describe("the restarts", () => {
    it("RestartState held → WaitForThaw → RestartDeployment until the freeze lifts, keeping the hold's deadline", async () => {
      let asks = 0;
      steps["restart-deployment"] = async (payload) => {
        asks += 1;
        return payload.name === "checkout" && asks < 3 ? restart("held") : restart("restarted");
      };
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered.filter((s) => s === "WaitForThaw")).toHaveLength(2);
      expect(payloads("restart-deployment")).toEqual([
        ...[null, "2025-01-15T04:18:06.000Z", "2025-01-15T04:18:06.000Z"].map((holdDeadline) => ({
          namespace: "checkout",
          name: "checkout",
          service: "checkout",
          notBefore: "2025-01-14T04:18:05.000Z",
          holdDeadline,
        })),
        {
          namespace: "checkout",
          name: "checkout-worker",
          service: "checkout",
          notBefore: "2025-01-14T04:18:05.000Z",
          holdDeadline: null,
        },
      ]);
      // Nothing is watched while the restart is held.
      expect(calls.map((c) => c.step).slice(2, 6)).toEqual([
        "restart-deployment",
        "restart-deployment",
        "restart-deployment",
        "watch-rollout",
      ]);
    });

    it("RestartState → RestartRefused when the freeze outlasts the hold: later Deployments are not restarted", async () => {
      const reason =
        "Deployment checkout/checkout not restarted: checkout is frozen: Black Friday (set by ops); still frozen after 24 h (promotion.freeze.maxWaitHours)";
      steps["restart-deployment"] = async () => restart("frozen", { reason });
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SecretRolloutFailed" });
      expect(entered).toEqual(expect.arrayContaining(["RestartRefused", "DeploymentFailed"]));
      expect(restarted()).toEqual(["checkout/checkout"]);
      expect(ran("watch-rollout")).toBe(0);
      expect(onlyEvent().detail).toEqual({
        secretId: secretName,
        versionId,
        failedStep: "restart",
        namespace: "checkout",
        name: "checkout",
        reason,
        restartedDeployments: [],
        remainingDeployments: [{ namespace: "checkout", name: "checkout-worker" }],
        failedAt,
      });
    });

    it("RestartDeployment's Catch → RestartErrored, naming the Deployment", async () => {
      steps["plan-secret-rollout"] = async () => plan([checkout, reporting]);
      steps["restart-deployment"] = async (payload) =>
        payload.name === "checkout-worker" ? failing("ValidationError")() : restart("restarted");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SecretRolloutFailed" });
      expect(entered).toContain("RestartErrored");
      expect(restarted()).toEqual(["checkout/checkout", "checkout/checkout-worker"]);
      expect(ran("sync-external-secret")).toBe(1);
      expect(onlyEvent().detail).toMatchObject({
        failedStep: "restart",
        namespace: "checkout",
        name: "checkout-worker",
        reason: expect.stringContaining("ValidationError"),
        restartedDeployments: [{ namespace: "checkout", name: "checkout" }],
        remainingDeployments: [{ namespace: "reporting", name: "reporting-export" }],
      });
    });
  });

  describe("the rollouts", () => {
    it("RolloutState waiting → WaitForRollout → WatchRollout until ready, with the restart's time and deadline", async () => {
      let looks = 0;
      steps["watch-rollout"] = async () => {
        looks += 1;
        return looks === 1 ? watch("waiting") : watch("ready");
      };
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered.filter((s) => s === "WaitForRollout")).toHaveLength(1);
      expect(payloads("watch-rollout")).toEqual([
        ...["checkout", "checkout", "checkout-worker"].map((name) => ({
          namespace: "checkout",
          name,
          restartedAt: "2025-01-14T04:18:06.000Z",
          deadline: "2025-01-14T04:33:06.000Z",
        })),
      ]);
      // The next Deployment restarts only once the one before is Ready.
      expect(calls.map((c) => c.step).slice(1)).toEqual([
        "sync-external-secret",
        "restart-deployment",
        "watch-rollout",
        "watch-rollout",
        "restart-deployment",
        "watch-rollout",
        "finish-secret-rollout",
      ]);
    });

    it.each([
      ["timed-out", "Deployment checkout/checkout was not Ready within 15 min of its restart"],
      ["failed", "Deployment checkout/checkout no longer carries the restart: something reverted it"],
    ])(
      "RolloutState %s → RolloutNotReady: the event lists what was restarted and what was not, and nothing more is touched",
      async (state, reason) => {
        steps["plan-secret-rollout"] = async () => plan([checkout, reporting]);
        steps["watch-rollout"] = async () => watch(state, reason);
        const { done, entered } = await run();
        expect(done).toMatchObject({ status: "FAILED", error: "SecretRolloutFailed" });
        expect(entered).toEqual(
          expect.arrayContaining(["RolloutNotReady", "DeploymentFailed", "SecretRolloutFailed"]),
        );
        expect(entered).not.toContain("Finish");
        expect(restarted()).toEqual(["checkout/checkout"]);
        expect(payloads("sync-external-secret").map((p) => p.externalSecret)).toEqual(["checkout-db"]);
        expect(payloads("finish-secret-rollout")).toEqual([
          {
            outcome: "failed",
            plan: expect.objectContaining({ secretName }),
            failure: { step: "rollout", consumerIndex: 0, deploymentIndex: 0, reason },
          },
        ]);
        expect(onlyEvent()).toEqual({
          detailType: "Secret Rollout Failed",
          detail: {
            secretId: secretName,
            versionId,
            failedStep: "rollout",
            namespace: "checkout",
            name: "checkout",
            reason,
            restartedDeployments: [{ namespace: "checkout", name: "checkout" }],
            remainingDeployments: [
              { namespace: "checkout", name: "checkout-worker" },
              { namespace: "reporting", name: "reporting-export" },
            ],
            failedAt,
          },
        });
      },
    );

    it("WatchRollout's Catch → RolloutErrored", async () => {
      steps["watch-rollout"] = failing("NotFoundError");
      const { done, entered } = await run();
      expect(done).toMatchObject({ status: "FAILED", error: "SecretRolloutFailed" });
      expect(entered).toContain("RolloutErrored");
      expect(restarted()).toEqual(["checkout/checkout"]);
      expect(onlyEvent().detail).toMatchObject({
        failedStep: "rollout",
        name: "checkout",
        restartedDeployments: [{ namespace: "checkout", name: "checkout" }],
        remainingDeployments: [{ namespace: "checkout", name: "checkout-worker" }],
      });
    });
  });

  describe("success", () => {
    it("two consumers, in order, one Deployment at a time → Finish publishes Secret Rotated", async () => {
      steps["plan-secret-rollout"] = async () => plan([checkout, reporting]);
      steps["sync-external-secret"] = async (payload) =>
        sync("synced", { targetSecret: payload.externalSecret });
      const { done, entered } = await run();
      expect(done.status).toBe("SUCCEEDED");
      expect(entered.slice(0, 4)).toEqual(["Plan", "ShouldRollOut", "RollOut", "StartSync"]);
      expect(entered.slice(-2)).toEqual(["Finish", "Done"]);
      expect(
        calls.map((c) => `${c.step} ${c.payload.externalSecret ?? c.payload.name ?? ""}`.trim()),
      ).toEqual([
        "plan-secret-rollout",
        "sync-external-secret checkout-db",
        "restart-deployment checkout",
        "watch-rollout checkout",
        "restart-deployment checkout-worker",
        "watch-rollout checkout-worker",
        "sync-external-secret reporting-db",
        "restart-deployment reporting-export",
        "watch-rollout reporting-export",
        "finish-secret-rollout",
      ]);
      expect(payloads("restart-deployment").at(-1)).toMatchObject({ namespace: "reporting", service: null });
      expect(payloads("finish-secret-rollout")).toEqual([
        { outcome: "succeeded", plan: plan([checkout, reporting]), rotatedAt: input.rotatedAt },
      ]);
      expect(onlyEvent()).toEqual({
        detailType: "Secret Rotated",
        detail: {
          secretId: secretName,
          versionId,
          previousVersionId,
          strategy: "alternating-users",
          activeUser: "checkout_app_clone",
          restartedDeployments: [
            { namespace: "checkout", name: "checkout" },
            { namespace: "checkout", name: "checkout-worker" },
            { namespace: "reporting", name: "reporting-export" },
          ],
          rotatedAt: "2025-01-14T04:17:53.000Z",
        },
      });
    });
  });
});

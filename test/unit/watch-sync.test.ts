// One look at Argo CD: when a promotion counts as synced, degraded, still waiting, or timed out.

import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/core/errors.ts";
import type { ApplicationStatus, DeploymentRecord, DeployTarget } from "../../functions/core/ports.ts";
import { watchSync } from "../../functions/core/watch-sync.ts";
import { loadConfig } from "../../functions/wiring/config.ts";

const config = loadConfig("switchyard.yaml");
const revision = "a".repeat(40);
const later = "b".repeat(40);
const digest = `sha256:${"1".repeat(64)}`;
const committedAt = "2026-11-27T10:00:00.400Z";
const deadline = "2026-11-27T10:15:00.000Z";

const status = (overrides: Partial<ApplicationStatus> = {}): ApplicationStatus => ({
  namespace: "argocd",
  name: "checkout-staging",
  syncStatus: "Synced",
  syncRevision: revision,
  healthStatus: "Healthy",
  reconciledAt: "2026-11-27T10:00:03Z",
  ...overrides,
});

const setup = (
  app: ApplicationStatus,
  options: { now?: string; filesAt?: Record<string, string>; deployment?: DeploymentRecord } = {},
) => {
  const calls: string[] = [];
  const deployTarget: DeployTarget = {
    getApplication: async (namespace, name) => {
      calls.push(`get ${namespace}/${name}`);
      return app;
    },
    refreshApplication: async (namespace, name) => {
      calls.push(`refresh ${namespace}/${name}`);
    },
    syncApplication: async () => {
      throw new Error("not used");
    },
  };
  const gitops = {
    readFile: async (_path: string, rev?: string) => {
      const content = options.filesAt?.[rev ?? ""];
      return content === undefined ? undefined : { content, revision: rev ?? "" };
    },
  };
  const clock = { now: () => new Date(options.now ?? "2026-11-27T10:00:05Z") };
  const store = { getDeployment: async () => options.deployment };
  return { deps: { config, deployTarget, gitops, store, clock }, calls };
};

const promotionId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";
const input = (attempt = 1) => ({
  promotionId,
  service: "checkout",
  environment: "staging",
  revision,
  digest,
  committedAt,
  deadline,
  attempt,
});

describe("watchSync", () => {
  it("asks Argo CD to refresh on the first look only", async () => {
    const first = setup(status());
    await watchSync(first.deps, input(0));
    expect(first.calls).toEqual(["refresh argocd/checkout-staging", "get argocd/checkout-staging"]);
    const second = setup(status());
    await watchSync(second.deps, input(3));
    expect(second.calls).toEqual(["get argocd/checkout-staging"]);
  });

  it.each([
    ["Synced + Healthy at the commit, reconciled after it", status(), "synced"],
    [
      "reconciled in the same second as the commit (Argo CD's precision)",
      status({ reconciledAt: "2026-11-27T10:00:00Z" }),
      "synced",
    ],
    ["a status from before the commit", status({ reconciledAt: "2026-11-27T09:59:59Z" }), "waiting"],
    ["never reconciled", status({ reconciledAt: undefined }), "waiting"],
    ["Synced at an older revision", status({ syncRevision: "c".repeat(40) }), "waiting"],
    ["OutOfSync at the commit", status({ syncStatus: "OutOfSync" }), "waiting"],
    ["Progressing at the commit", status({ healthStatus: "Progressing" }), "waiting"],
    [
      "Degraded at the commit",
      status({ healthStatus: "Degraded", healthMessage: "CrashLoopBackOff" }),
      "degraded",
    ],
    [
      "Degraded while the sync operation still runs",
      status({ healthStatus: "Degraded", operation: { phase: "Running" } }),
      "waiting",
    ],
    [
      "Degraded at an older revision",
      status({ healthStatus: "Degraded", syncRevision: "c".repeat(40) }),
      "waiting",
    ],
  ])("%s → %s", async (_name, app, expected) => {
    const { deps } = setup(app);
    expect((await watchSync(deps, input())).state).toBe(expected);
  });

  it("counts a later revision that still pins the committed digest (another service committed after us)", async () => {
    const { deps } = setup(status({ syncRevision: later }), {
      filesAt: { [later]: `image:\n  tag: "1.4.2"\n  digest: "${digest}"\n` },
    });
    expect((await watchSync(deps, input())).state).toBe("synced");
  });

  it("does not count a later revision that pins another digest", async () => {
    const { deps } = setup(status({ syncRevision: later }), {
      filesAt: { [later]: `image:\n  tag: "1.4.3"\n  digest: "sha256:${"2".repeat(64)}"\n` },
    });
    expect((await watchSync(deps, input())).state).toBe("waiting");
  });

  it("is superseded when a later promotion of the service was committed after ours", async () => {
    const deployment: DeploymentRecord = {
      service: "checkout",
      environment: "staging",
      tag: "1.5.0",
      digest: `sha256:${"3".repeat(64)}`,
      pushedAt: "2026-11-27T10:00:02Z",
      revision: later,
      promotionId: "9a3c2b1d-0000-4000-8000-000000000009",
      deployedAt: "2026-11-27T10:00:03Z",
    };
    const { deps } = setup(status({ syncRevision: later }), {
      deployment,
      filesAt: { [later]: "image:\n  tag: x\n" },
    });
    const result = await watchSync(deps, input());
    expect(result.state).toBe("superseded");
    expect(result.observed).toMatch(
      /^superseded by promotion 9a3c2b1d-0000-4000-8000-000000000009 \(1\.5\.0\); argocd/,
    );
    // Still ours: not superseded, just waiting.
    const own = setup(status({ syncRevision: later }), { deployment: { ...deployment, promotionId } });
    expect((await watchSync(own.deps, input())).state).toBe("waiting");
  });

  it("times out past the deadline, reporting what it saw last", async () => {
    const { deps } = setup(status({ healthStatus: "Progressing" }), { now: "2026-11-27T10:15:00Z" });
    const result = await watchSync(deps, input(7));
    expect(result).toEqual({
      state: "timed-out",
      attempt: 8,
      observed: `argocd/checkout-staging sync=Synced@${revision.slice(0, 12)} health=Progressing reconciledAt=2026-11-27T10:00:03Z`,
      pollIntervalSeconds: config.promotion.pollIntervalSeconds,
    });
  });

  it("still reports synced when the deadline has passed but the application is there", async () => {
    const { deps } = setup(status(), { now: "2026-11-27T11:00:00Z" });
    expect((await watchSync(deps, input())).state).toBe("synced");
  });

  it("refuses an unknown environment", async () => {
    const { deps } = setup(status());
    await expect(watchSync(deps, { ...input(), environment: "qa" })).rejects.toThrow(ValidationError);
  });
});

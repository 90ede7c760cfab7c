// The simulated cluster's strategic merge patch and Go durations, case by case.

import { describe, expect, it } from "vitest";
import { goDurationMs } from "../../local/cluster/external-secrets-simulator.ts";
import { KubernetesApiError } from "../../local/cluster/kubernetes-status.ts";
import { strategicMergePatch } from "../../local/cluster/patch.ts";
import { deploymentMergeKeys } from "../../local/cluster/served-resources.ts";

const deployment = () => ({
  metadata: { name: "checkout", finalizers: ["a"], labels: { app: "checkout" } },
  spec: {
    replicas: 2,
    template: {
      metadata: { labels: { app: "checkout" } },
      spec: {
        containers: [
          { name: "app", image: "app:1", env: [{ name: "A", value: "1" }], ports: [{ containerPort: 80 }] },
          { name: "sidecar", image: "sidecar:1" },
        ],
        tolerations: [{ key: "x" }],
      },
    },
  },
});

const containers = (patched: unknown) =>
  (patched as ReturnType<typeof deployment>).spec.template.spec.containers as unknown[];

describe("strategicMergePatch", () => {
  it("merges maps as a merge patch does: null deletes, the rest merges key by key", () => {
    const patched = strategicMergePatch(
      deployment(),
      { metadata: { labels: { app: null, team: "payments" } }, spec: { replicas: 3 } },
      deploymentMergeKeys,
    ) as ReturnType<typeof deployment>;
    expect(patched.metadata.labels).toEqual({ team: "payments" });
    expect(patched.spec.replicas).toBe(3);
    expect(patched.spec.template.spec.containers).toHaveLength(2);
  });

  it.each([
    {
      what: "merges an item with the same merge key, and nested lists by theirs",
      patch: { containers: [{ name: "app", image: "app:2", env: [{ name: "B", value: "2" }] }] },
      expected: [
        {
          name: "app",
          image: "app:2",
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
          ],
          ports: [{ containerPort: 80 }],
        },
        { name: "sidecar", image: "sidecar:1" },
      ],
    },
    {
      what: "appends an item with a new key",
      patch: { containers: [{ name: "extra", image: "extra:1" }] },
      expected: [
        expect.objectContaining({ name: "app" }),
        expect.objectContaining({ name: "sidecar" }),
        { name: "extra", image: "extra:1" },
      ],
    },
    {
      what: "removes an item marked $patch: delete",
      patch: { containers: [{ name: "sidecar", $patch: "delete" }] },
      expected: [expect.objectContaining({ name: "app" })],
    },
    {
      what: "replaces the whole list when an item says $patch: replace",
      patch: { containers: [{ $patch: "replace" }, { name: "only", image: "only:1" }] },
      expected: [{ name: "only", image: "only:1" }],
    },
    {
      what: "orders the items as $setElementOrder says",
      patch: { "$setElementOrder/containers": [{ name: "sidecar" }, { name: "app" }] },
      expected: [expect.objectContaining({ name: "sidecar" }), expect.objectContaining({ name: "app" })],
    },
  ])("$what", ({ patch, expected }) => {
    expect(
      containers(
        strategicMergePatch(deployment(), { spec: { template: { spec: patch } } }, deploymentMergeKeys),
      ),
    ).toEqual(expected);
  });

  it("replaces lists without a merge key, and merges primitive lists with a merge strategy as a set", () => {
    const patched = strategicMergePatch(
      deployment(),
      {
        metadata: { finalizers: ["a", "b"] },
        spec: { template: { spec: { tolerations: [{ key: "y" }] } } },
      },
      deploymentMergeKeys,
    ) as ReturnType<typeof deployment>;
    expect(patched.metadata.finalizers).toEqual(["a", "b"]);
    expect(patched.spec.template.spec.tolerations).toEqual([{ key: "y" }]);
    const removed = strategicMergePatch(
      patched,
      { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } },
      deploymentMergeKeys,
    ) as ReturnType<typeof deployment>;
    expect(removed.metadata.finalizers).toEqual(["b"]);
  });

  it("replaces a map marked $patch: replace, removes one marked $patch: delete, keeps only $retainKeys", () => {
    const patched = strategicMergePatch(
      deployment(),
      {
        metadata: { labels: { $patch: "replace", only: "this" } },
        spec: { template: { metadata: { $patch: "delete" } }, $retainKeys: ["template"] },
      },
      deploymentMergeKeys,
    ) as Record<string, Record<string, unknown>>;
    expect(patched.metadata?.labels).toEqual({ only: "this" });
    expect(patched.spec).not.toHaveProperty("replicas");
    expect(patched.spec?.template).not.toHaveProperty("metadata");
  });

  it.each([
    { what: "an unknown directive", patch: { spec: { $unknown: 1 } } },
    { what: "an unknown $patch", patch: { spec: { $patch: "sideways" } } },
    {
      what: "a merge-key list item without its key",
      patch: { spec: { template: { spec: { containers: [{ image: "x" }] } } } },
    },
    { what: "a body that is not an object", patch: [] },
  ])("answers 400 for $what", ({ patch }) => {
    const error = (() => {
      try {
        strategicMergePatch(deployment(), patch, deploymentMergeKeys);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect((error as KubernetesApiError).code).toBe(400);
  });
});

describe("goDurationMs", () => {
  it.each([
    ["1h", 3_600_000],
    ["1h0m0s", 3_600_000],
    ["90s", 90_000],
    ["1m30s", 90_000],
    ["250ms", 250],
    ["1.5h", 5_400_000],
    ["0s", 0],
    ["0", 0],
  ])("reads %s as %i ms", (text, expected) => {
    expect(goDurationMs(text)).toBe(expected);
  });

  it.each(["", "1", "1d", "h", "1h ", "-1s"])("refuses %j", (text) => {
    expect(goDurationMs(text)).toBeUndefined();
  });
});

// The real KubernetesWorkloadTarget against the simulated cluster: ExternalSecrets, Secrets, Deployments and rollouts.

import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kubeConfigFor } from "../../functions/adapters/kubernetes/kubernetes-client.ts";
import {
  externalSecretResource,
  forceSyncAnnotation,
  hashSecretData,
  KubernetesWorkloadTarget,
  restartedAtAnnotation,
} from "../../functions/adapters/kubernetes/kubernetes-workload-target.ts";
import { NotFoundError, ValidationError } from "../../functions/core/errors.ts";
import type { DeploymentStatus, ExternalSecretStatus } from "../../functions/core/ports.ts";
import type { SimulatedDeployment } from "../../local/cluster/deployment-simulator.ts";
import type { SimulatedExternalSecret } from "../../local/cluster/external-secrets-simulator.ts";
import type { SimulatorTimers } from "../../local/cluster/reconcile-queue.ts";
import { type SimulatedCluster, startSimulatedCluster } from "../../local/cluster/simulated-cluster.ts";

const namespace = "checkout";
const token = "workload-contract-token";
const startedAt = new Date("2025-03-01T12:00:00Z");
/** Three replicas, so each rollout step is a second. */
const rolloutDelayMs = 3_000;
const stepMs = 1_000;
const pollIntervalMs = 5;
const waitTimeoutMs = 3_000;

const dbKey = "checkout/db";
const apiKeyKey = "checkout/api-key";
const firstDb = JSON.stringify({ username: "checkout", password: "first-password" });
const firstApiKey = "api-key-one";

const externalSecrets: SimulatedExternalSecret[] = [
  {
    namespace,
    name: "checkout-db",
    targetSecret: "checkout-db",
    data: [
      { secretKey: "username", remoteRef: { key: dbKey, property: "username" } },
      { secretKey: "password", remoteRef: { key: dbKey, property: "password" } },
    ],
  },
  {
    namespace,
    name: "checkout-api",
    targetSecret: "checkout-api-key",
    data: [{ secretKey: "api-key", remoteRef: { key: apiKeyKey } }],
  },
];

const deployments: SimulatedDeployment[] = [
  { namespace, name: "checkout", replicas: 3, secretName: "checkout-db" },
  { namespace, name: "checkout-worker", replicas: 2, secretName: "checkout-api-key" },
];

/** Timers moved by hand with a clock that moves with them; zero-delay timers (controller passes) run on the next turn. */
const manualTime = (start: Date) => {
  let nowMs = start.getTime();
  const pending = new Map<symbol, { dueMs: number; callback: () => void }>();
  const timers: SimulatorTimers = {
    setTimeout: (callback, delayMs) => {
      const handle = Symbol("timer");
      if (delayMs === 0) setImmediate(callback);
      else pending.set(handle, { dueMs: nowMs + delayMs, callback });
      return handle;
    },
    clearTimeout: (handle) => {
      pending.delete(handle as symbol);
    },
  };
  return {
    timers,
    clock: { now: () => new Date(nowMs) },
    /** Moves time on by `ms`, running the timers that fall due in order, with a turn after each for what follows. */
    advance: async (ms: number) => {
      const targetMs = nowMs + ms;
      for (;;) {
        const [due] = [...pending.entries()]
          .filter(([, timer]) => timer.dueMs <= targetMs)
          .sort(([, a], [, b]) => a.dueMs - b.dueMs);
        if (due === undefined) break;
        const [handle, timer] = due;
        pending.delete(handle);
        nowMs = timer.dueMs;
        timer.callback();
        await new Promise((resolve) => setImmediate(resolve));
      }
      nowMs = targetMs;
    },
  };
};

const waitFor = async <T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> => {
  const deadline = Date.now() + waitTimeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
};

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** A provider failure whose message quotes the secret, as a careless provider's might: it must go no further. */
class ResourceNotFoundException extends Error {
  override readonly name = "ResourceNotFoundException";
}

describe("KubernetesWorkloadTarget against the simulated cluster", () => {
  let cluster: SimulatedCluster;
  let target: KubernetesWorkloadTarget;
  let time: ReturnType<typeof manualTime>;
  let remote: Map<string, string>;
  let failingProvider: Set<string>;
  let failingRollouts: Set<string>;
  let providerReads: Map<string, number>;

  const externalSecret = (name: string) => () => target.getExternalSecret(namespace, name);
  const deployment = (name: string) => () => target.getDeployment(namespace, name);
  const secretHash = (name: string) => () => target.secretDataHash(namespace, name);
  const storedDeployment = (name: string) => cluster.workloads.deployments.get(namespace, name);
  const progressingCondition = (name: string) =>
    (storedDeployment(name).status as { conditions: { type: string }[] }).conditions.find(
      (condition) => condition.type === "Progressing",
    );
  const rawConfig = () => kubeConfigFor(cluster.access);

  beforeEach(async () => {
    time = manualTime(startedAt);
    remote = new Map([
      [dbKey, firstDb],
      [apiKeyKey, firstApiKey],
    ]);
    failingProvider = new Set();
    failingRollouts = new Set();
    providerReads = new Map();
    cluster = await startSimulatedCluster({
      token,
      applications: [],
      resolveRevision: async () => "0000000000000000000000000000000000000000",
      syncDelayMs: 0,
      degraded: () => false,
      clock: time.clock,
      timers: time.timers,
      workloads: {
        externalSecrets,
        deployments,
        provider: async ({ key }) => {
          providerReads.set(key, (providerReads.get(key) ?? 0) + 1);
          const value = remote.get(key);
          if (value === undefined || failingProvider.has(key)) {
            throw new ResourceNotFoundException(`cannot serve ${key}, whose value is ${value}`);
          }
          return value;
        },
        rolloutDelayMs,
        failing: ({ name }) => failingRollouts.has(name),
      },
    });
    target = new KubernetesWorkloadTarget(rawConfig());
  });

  afterEach(async () => {
    await cluster.close();
  });

  describe("getExternalSecret", () => {
    it("reports an ExternalSecret synced at start: Ready, its target Secret, refreshTime, syncedResourceVersion", async () => {
      expect(await target.getExternalSecret(namespace, "checkout-api")).toEqual({
        namespace,
        name: "checkout-api",
        targetSecret: "checkout-api-key",
        refreshTime: "2025-03-01T12:00:00Z",
        syncedResourceVersion: expect.stringMatching(/^1-[0-9a-f]{32}$/),
        ready: true,
        message: "Secret was synced",
      } satisfies ExternalSecretStatus);
    });

    it("answers NotFoundError for an ExternalSecret that does not exist", async () => {
      const error = await target.getExternalSecret(namespace, "nothing-here").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as Error).message).toContain(`${namespace}/nothing-here`);
    });
  });

  describe("secretDataHash", () => {
    it("hashes the target Secret's data, which holds the provider's values (a JSON secret's properties) in base64", async () => {
      const stored = cluster.workloads.secrets.get(namespace, "checkout-db");
      expect(stored.data).toEqual({ username: base64("checkout"), password: base64("first-password") });
      expect(stored.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: "ExternalSecret", name: "checkout-db", controller: true }),
      ]);
      expect(await target.secretDataHash(namespace, "checkout-db")).toBe(
        hashSecretData({ password: base64("first-password"), username: base64("checkout") }),
      );
      expect(await target.secretDataHash(namespace, "checkout-api-key")).toMatch(/^[0-9a-f]{64}$/);
    });

    it("answers undefined for a Secret that does not exist", async () => {
      expect(await target.secretDataHash(namespace, "nothing-here")).toBeUndefined();
    });
  });

  describe("forceSyncExternalSecret", () => {
    it("changes the Secret's data hash only when forced after the provider's value changed, and moves refreshTime", async () => {
      const before = await target.secretDataHash(namespace, "checkout-db");
      const synced = await target.getExternalSecret(namespace, "checkout-db");
      remote.set(dbKey, JSON.stringify({ username: "checkout", password: "second-password" }));
      await time.advance(5_000);
      expect(await target.secretDataHash(namespace, "checkout-db")).toBe(before);
      expect(await target.getExternalSecret(namespace, "checkout-db")).toEqual(synced);

      await target.forceSyncExternalSecret(namespace, "checkout-db", "1740830405");
      expect(
        cluster.workloads.externalSecrets.get(namespace, "checkout-db").metadata.annotations?.[
          forceSyncAnnotation
        ],
      ).toBe("1740830405");
      const after = await waitFor(secretHash("checkout-db"), (hash) => hash !== before, "the new data");
      expect(after).toBe(
        hashSecretData({ username: base64("checkout"), password: base64("second-password") }),
      );
      const resynced = await target.getExternalSecret(namespace, "checkout-db");
      expect(resynced).toMatchObject({ ready: true, refreshTime: "2025-03-01T12:00:05Z" });
      // Same generation, new annotations: the version ESO records moves with them.
      expect(resynced.syncedResourceVersion).toMatch(/^1-/);
      expect(resynced.syncedResourceVersion).not.toBe(synced.syncedResourceVersion);
    });

    it("syncs for a new force-sync value only: the value already set is no change for the operator to see", async () => {
      await time.advance(stepMs);
      await target.forceSyncExternalSecret(namespace, "checkout-api", "1740830401");
      await waitFor(
        externalSecret("checkout-api"),
        (s) => s.refreshTime === "2025-03-01T12:00:01Z",
        "the forced sync",
      );
      const reads = providerReads.get(apiKeyKey);

      await time.advance(stepMs);
      await target.forceSyncExternalSecret(namespace, "checkout-api", "1740830401");
      // Passes run in the order they were asked for: once checkout-db has synced, checkout-api would have too.
      await target.forceSyncExternalSecret(namespace, "checkout-db", "1740830402");
      await waitFor(
        externalSecret("checkout-db"),
        (s) => s.refreshTime === "2025-03-01T12:00:02Z",
        "the sync asked after it",
      );
      expect(providerReads.get(apiKeyKey)).toBe(reads);
      expect(await target.getExternalSecret(namespace, "checkout-api")).toMatchObject({
        refreshTime: "2025-03-01T12:00:01Z",
      });
    });

    it("on a provider failure keeps the Secret and reports Ready False, naming the key but never a value", async () => {
      const before = await target.secretDataHash(namespace, "checkout-db");
      const synced = await target.getExternalSecret(namespace, "checkout-db");
      remote.set(dbKey, JSON.stringify({ username: "checkout", password: "never-shown-password" }));
      failingProvider.add(dbKey);
      await time.advance(stepMs);
      await target.forceSyncExternalSecret(namespace, "checkout-db", "1740830401");
      const failed = await waitFor(externalSecret("checkout-db"), (s) => !s.ready, "Ready False");
      expect(failed).toEqual({
        ...synced,
        ready: false,
        message: `could not get secret data from provider: key "${dbKey}": ResourceNotFoundException`,
      });
      const stored = JSON.stringify(cluster.workloads.externalSecrets.get(namespace, "checkout-db"));
      expect(stored).not.toContain("never-shown-password");
      expect(stored).not.toContain("first-password");
      expect(await target.secretDataHash(namespace, "checkout-db")).toBe(before);

      failingProvider.delete(dbKey);
      await target.forceSyncExternalSecret(namespace, "checkout-db", "1740830402");
      const recovered = await waitFor(externalSecret("checkout-db"), (s) => s.ready, "Ready True again");
      expect(recovered).toMatchObject({ refreshTime: "2025-03-01T12:00:01Z", message: "Secret was synced" });
      expect(await target.secretDataHash(namespace, "checkout-db")).not.toBe(before);
    });

    it("reports a remote secret that is not JSON, or lacks the property, without quoting it", async () => {
      remote.set(dbKey, "plain-text-secret");
      await target.forceSyncExternalSecret(namespace, "checkout-db", "1");
      const notJson = await waitFor(externalSecret("checkout-db"), (s) => !s.ready, "Ready False");
      expect(notJson.message).toBe(
        `could not get secret data from provider: key "${dbKey}" is not JSON, so it has no property "username"`,
      );
      expect(JSON.stringify(cluster.workloads.externalSecrets.list().items)).not.toContain("plain-text");

      remote.set(dbKey, JSON.stringify({ username: "checkout" }));
      await target.forceSyncExternalSecret(namespace, "checkout-db", "2");
      const missing = await waitFor(
        externalSecret("checkout-db"),
        (s) => s.message?.includes("has no property") === true && !s.message.includes("not JSON"),
        "the missing property",
      );
      expect(missing.message).toBe(
        `could not get secret data from provider: key "${dbKey}" has no property "password"`,
      );
    });

    it("answers NotFoundError for an ExternalSecret that does not exist", async () => {
      await expect(target.forceSyncExternalSecret(namespace, "nothing-here", "1")).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });
  });

  describe("restartDeployment and getDeployment", () => {
    it("reports a Deployment created at start as rolled out", async () => {
      expect(await target.getDeployment(namespace, "checkout")).toEqual({
        namespace,
        name: "checkout",
        generation: 1,
        observedGeneration: 1,
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
      } satisfies DeploymentStatus);
    });

    it("restarts as kubectl rollout restart does, then rolls out one replica per step until all are updated and ready", async () => {
      const at = "2025-03-01T12:00:00Z";
      await target.restartDeployment(namespace, "checkout", at);
      const spec = storedDeployment("checkout").spec as {
        template: { metadata: { annotations: Record<string, string> }; spec: { containers: unknown[] } };
      };
      expect(spec.template.metadata.annotations).toEqual({ [restartedAtAnnotation]: at });
      // A strategic merge patch: the rest of the template is untouched.
      expect(spec.template.spec.containers).toEqual([
        expect.objectContaining({ name: "checkout", envFrom: [{ secretRef: { name: "checkout-db" } }] }),
      ]);

      const started = await waitFor(deployment("checkout"), (d) => d.observedGeneration === 2, "the rollout");
      expect(started).toEqual({
        namespace,
        name: "checkout",
        generation: 2,
        observedGeneration: 2,
        replicas: 3,
        updatedReplicas: 1,
        readyReplicas: 2,
        availableReplicas: 2,
        restartedAt: at,
      } satisfies DeploymentStatus);
      expect(progressingCondition("checkout")).toMatchObject({ status: "True", reason: "ReplicaSetUpdated" });

      const counts = async () => {
        const { updatedReplicas, readyReplicas, availableReplicas } = await target.getDeployment(
          namespace,
          "checkout",
        );
        return [updatedReplicas, readyReplicas, availableReplicas];
      };
      await time.advance(stepMs);
      expect(await counts()).toEqual([2, 2, 2]);
      await time.advance(stepMs);
      expect(await counts()).toEqual([3, 2, 2]);
      await time.advance(stepMs);
      expect(await counts()).toEqual([3, 3, 3]);
      expect(progressingCondition("checkout")).toMatchObject({
        status: "True",
        reason: "NewReplicaSetAvailable",
      });
    });

    it("leaves a failing Deployment incomplete, Progressing False with ProgressDeadlineExceeded", async () => {
      failingRollouts.add("checkout-worker");
      await target.restartDeployment(namespace, "checkout-worker", "2025-03-01T12:00:00Z");
      await waitFor(deployment("checkout-worker"), (d) => d.observedGeneration === 2, "the rollout");
      await time.advance(rolloutDelayMs);
      const stuck = await target.getDeployment(namespace, "checkout-worker");
      expect(stuck).toMatchObject({
        replicas: 2,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      });
      expect(progressingCondition("checkout-worker")).toMatchObject({
        status: "False",
        reason: "ProgressDeadlineExceeded",
        message: expect.stringMatching(
          /^ReplicaSet "checkout-worker-[0-9a-f]{10}" has timed out progressing\.$/,
        ),
      });
      await time.advance(10 * rolloutDelayMs);
      expect(await target.getDeployment(namespace, "checkout-worker")).toEqual(stuck);
    });

    it("starts over when the template changes again during a rollout", async () => {
      await target.restartDeployment(namespace, "checkout", "2025-03-01T12:00:00Z");
      await waitFor(deployment("checkout"), (d) => d.observedGeneration === 2, "the first rollout");
      await time.advance(stepMs);
      await target.restartDeployment(namespace, "checkout", "2025-03-01T12:00:01Z");
      const restarted = await waitFor(
        deployment("checkout"),
        (d) => d.observedGeneration === 3,
        "the second",
      );
      expect(restarted).toMatchObject({
        generation: 3,
        updatedReplicas: 1,
        restartedAt: "2025-03-01T12:00:01Z",
      });
      await time.advance(rolloutDelayMs);
      expect(await target.getDeployment(namespace, "checkout")).toMatchObject({
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
      });
    });

    it("refuses to restart a paused Deployment (ValidationError), as kubectl does", async () => {
      await rawConfig()
        .makeApiClient(AppsV1Api)
        .patchNamespacedDeployment(
          { namespace, name: "checkout", body: { spec: { paused: true } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
      const error = await target
        .restartDeployment(namespace, "checkout", "2025-03-01T12:00:00Z")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain("paused");
    });

    it("answers NotFoundError for a Deployment that does not exist", async () => {
      await expect(target.getDeployment(namespace, "nothing-here")).rejects.toBeInstanceOf(NotFoundError);
      await expect(target.restartDeployment("elsewhere", "checkout", "x")).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });
  });

  describe("the Kubernetes API for workloads", () => {
    const apiError = async (promise: Promise<unknown>): Promise<ApiException<unknown>> => {
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiException);
      return error as ApiException<unknown>;
    };
    const body = (error: ApiException<unknown>) =>
      (typeof error.body === "string" ? JSON.parse(error.body) : error.body) as Record<string, unknown>;

    it("serves core Secrets under /api/v1 and announces them there, not under /apis", async () => {
      const get = async (path: string) =>
        (await fetch(`${cluster.url}${path}`, { headers: { Authorization: `Bearer ${token}` } })).json();
      expect(await get("/api/v1")).toMatchObject({
        kind: "APIResourceList",
        groupVersion: "v1",
        resources: [
          { name: "secrets", kind: "Secret", namespaced: true, verbs: ["create", "get", "list", "patch"] },
        ],
      });
      expect(await get("/apis/external-secrets.io/v1")).toMatchObject({
        resources: [{ name: "externalsecrets", kind: "ExternalSecret", shortNames: ["es"] }],
      });
      const listed = await rawConfig().makeApiClient(CoreV1Api).listNamespacedSecret({ namespace });
      expect(listed.items.map((secret) => secret.metadata?.name)).toEqual([
        "checkout-api-key",
        "checkout-db",
      ]);
    });

    it("merges a strategic merge patch's containers by name, where a merge patch replaces the list", async () => {
      const apps = rawConfig().makeApiClient(AppsV1Api);
      const strategic = await apps.patchNamespacedDeployment(
        {
          namespace,
          name: "checkout",
          body: { spec: { template: { spec: { containers: [{ name: "checkout", image: "checkout:2" }] } } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      );
      expect(strategic.spec?.template.spec?.containers).toEqual([
        expect.objectContaining({
          name: "checkout",
          image: "checkout:2",
          envFrom: [{ secretRef: { name: "checkout-db" } }],
        }),
      ]);
      const merged = await apps.patchNamespacedDeployment(
        {
          namespace,
          name: "checkout",
          body: { spec: { template: { spec: { containers: [{ name: "checkout", image: "checkout:3" }] } } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      expect(merged.spec?.template.spec?.containers).toEqual([{ name: "checkout", image: "checkout:3" }]);
      const bad = await apiError(
        apps.patchNamespacedDeployment(
          { namespace, name: "checkout", body: { spec: { $unknown: true } } },
          setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
        ),
      );
      expect(bad.code).toBe(400);
    });

    it("refuses strategic merge patch on ExternalSecrets with 415, as for every custom resource", async () => {
      const error = await apiError(
        rawConfig()
          .makeApiClient(CustomObjectsApi)
          .patchNamespacedCustomObject(
            {
              ...externalSecretResource,
              namespace,
              name: "checkout-db",
              body: { metadata: { labels: { a: "b" } } },
            },
            setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
          ),
      );
      expect(error.code).toBe(415);
    });

    it("ignores a client's write to a Deployment's status, which is a subresource, and bumps no generation", async () => {
      const before = storedDeployment("checkout");
      await rawConfig()
        .makeApiClient(AppsV1Api)
        .patchNamespacedDeployment(
          {
            namespace,
            name: "checkout",
            body: { status: { readyReplicas: 0 }, metadata: { labels: { t: "1" } } },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
      const after = storedDeployment("checkout");
      expect(after.status).toEqual(before.status);
      expect(after.metadata.generation).toBe(1);
      expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    });

    it("creates a Secret from stringData (stored as base64 data), and 409 for a second with the same name", async () => {
      const core = rawConfig().makeApiClient(CoreV1Api);
      const secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "extra" },
        stringData: { token: "t0k3n" },
      };
      const created = await core.createNamespacedSecret({ namespace, body: secret });
      expect(created.data).toEqual({ token: base64("t0k3n") });
      expect(created.stringData).toBeUndefined();
      expect(await target.secretDataHash(namespace, "extra")).toBe(
        hashSecretData({ token: base64("t0k3n") }),
      );
      const again = await apiError(core.createNamespacedSecret({ namespace, body: secret }));
      expect(again.code).toBe(409);
      expect(body(again)).toMatchObject({
        reason: "AlreadyExists",
        message: 'secrets "extra" already exists',
      });
    });

    it("answers 422 for Secret data that is not base64, without repeating the value", async () => {
      const error = await apiError(
        rawConfig()
          .makeApiClient(CoreV1Api)
          .createNamespacedSecret({
            namespace,
            body: {
              apiVersion: "v1",
              kind: "Secret",
              metadata: { name: "bad" },
              data: { key: "not base64!" },
            },
          }),
      );
      expect(error.code).toBe(422);
      expect(body(error)).toMatchObject({ reason: "Invalid", details: { causes: [{ field: "data.key" }] } });
      expect(JSON.stringify(body(error))).not.toContain("not base64!");
    });

    it("syncs an ExternalSecret created through the API into a new Secret", async () => {
      await rawConfig()
        .makeApiClient(CustomObjectsApi)
        .createNamespacedCustomObject({
          ...externalSecretResource,
          namespace,
          body: {
            apiVersion: "external-secrets.io/v1",
            kind: "ExternalSecret",
            metadata: { name: "late" },
            spec: {
              secretStoreRef: { name: "aws-secrets-manager", kind: "SecretStore" },
              target: { name: "late-secret" },
              data: [{ secretKey: "key", remoteRef: { key: apiKeyKey } }],
            },
          },
        });
      const synced = await waitFor(externalSecret("late"), (s) => s.ready, "the first sync");
      expect(synced).toMatchObject({
        targetSecret: "late-secret",
        syncedResourceVersion: expect.stringMatching(/^1-/),
      });
      expect(await target.secretDataHash(namespace, "late-secret")).toBe(
        hashSecretData({ key: base64(firstApiKey) }),
      );
    });
  });
});

// The real KubernetesDeployTarget against the simulated cluster: Kubernetes API subset, Status errors, Argo CD behaviour.

import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  argoApplicationResource,
  KubernetesDeployTarget,
  kubeConfigFor,
  refreshAnnotation,
} from "../../functions/adapters/kubernetes/kubernetes-deploy-target.ts";
import { NotFoundError, TransientError, ValidationError } from "../../functions/core/errors.ts";
import type { ApplicationStatus } from "../../functions/core/ports.ts";
import type { SimulatedApplication, SimulatorTimers } from "../../local/cluster/argo-simulator.ts";
import type { ObjectChange } from "../../local/cluster/object-store.ts";
import { type SimulatedCluster, startSimulatedCluster } from "../../local/cluster/simulated-cluster.ts";

const namespace = "argocd";
const token = "contract-test-token";
const initialHead = "1111111111111111111111111111111111111111";
const newHead = "2222222222222222222222222222222222222222";
/** Long enough that a sync is still running when the test looks; the test ends it with `timers.finishSyncs()`. */
const heldSyncDelayMs = 60_000;
const pollIntervalMs = 5;
const waitTimeoutMs = 3_000;

const applications: SimulatedApplication[] = [
  { namespace, name: "checkout-staging", service: "checkout", environment: "staging", autoSync: true },
  { namespace, name: "checkout-production", service: "checkout", environment: "production", autoSync: false },
  { namespace, name: "storefront-staging", service: "storefront", environment: "staging", autoSync: true },
];

/** Zero-delay timers run on the next turn; longer ones (syncs) wait until the test ends them. */
const heldTimers = () => {
  const held = new Map<symbol, () => void>();
  const timers: SimulatorTimers = {
    setTimeout: (callback, delayMs) => {
      const handle = Symbol("timer");
      if (delayMs === 0) setImmediate(callback);
      else held.set(handle, callback);
      return handle;
    },
    clearTimeout: (handle) => {
      held.delete(handle as symbol);
    },
  };
  return {
    timers,
    pending: () => held.size,
    finishSyncs: () => {
      const callbacks = [...held.values()];
      held.clear();
      for (const callback of callbacks) callback();
    },
  };
};

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
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

/** `reconciledAt` has whole seconds, as metav1.Time does: compare against the second the action happened in. */
const wholeSecond = (date: Date): number => Math.floor(date.getTime() / 1000) * 1000;

describe("KubernetesDeployTarget against the simulated cluster", () => {
  let cluster: SimulatedCluster;
  let target: KubernetesDeployTarget;
  let head: string;
  let headGate: Promise<void> | undefined;
  let clock: ReturnType<typeof heldTimers>;
  let tokenRequests: number;

  const start = async (options: { syncDelayMs?: number; realTimers?: boolean } = {}) => {
    clock = heldTimers();
    cluster = await startSimulatedCluster({
      token,
      applications,
      resolveRevision: async () => {
        await headGate;
        return head;
      },
      syncDelayMs: options.syncDelayMs ?? heldSyncDelayMs,
      degraded: ({ service }) => service === "storefront",
      ...(options.realTimers !== true && { timers: clock.timers }),
    });
    target = new KubernetesDeployTarget(
      kubeConfigFor({
        ...cluster.access,
        token: async () => {
          tokenRequests += 1;
          return token;
        },
      }),
    );
  };

  const read = (name: string) => () => target.getApplication(namespace, name);
  const stored = (name: string) => cluster.applications.get(namespace, name);

  beforeEach(async () => {
    head = initialHead;
    headGate = undefined;
    tokenRequests = 0;
    await start();
  });

  afterEach(async () => {
    await cluster.close();
  });

  describe("getApplication", () => {
    it("maps a freshly created Application: Synced and Healthy at the head it started from", async () => {
      const status = await target.getApplication(namespace, "checkout-staging");
      expect(status).toEqual({
        namespace,
        name: "checkout-staging",
        syncStatus: "Synced",
        syncRevision: initialHead,
        healthStatus: "Healthy",
        reconciledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      } satisfies ApplicationStatus);
    });

    it("answers NotFoundError for an Application that does not exist", async () => {
      const error = await target.getApplication(namespace, "nothing-here").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as Error).message).toContain(`${namespace}/nothing-here`);
      await expect(target.refreshApplication("elsewhere", "checkout-staging")).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it("asks the token provider on every request, so an expiring token is replaced without a new client", async () => {
      await target.getApplication(namespace, "checkout-staging");
      await target.getApplication(namespace, "checkout-staging");
      expect(tokenRequests).toBe(2);
    });
  });

  describe("refreshApplication", () => {
    it("sets the refresh annotation, which the simulator clears once it has compared with the new head", async () => {
      head = newHead;
      const gate = deferred();
      headGate = gate.promise;
      const refreshedAt = new Date();
      await target.refreshApplication(namespace, "checkout-staging", "hard");
      expect(stored("checkout-staging").metadata.annotations?.[refreshAnnotation]).toBe("hard");

      gate.resolve();
      const syncing = await waitFor(
        read("checkout-staging"),
        (s) => s.operation?.phase === "Running",
        "the auto-sync to start",
      );
      expect(stored("checkout-staging").metadata.annotations?.[refreshAnnotation]).toBeUndefined();
      expect(syncing).toMatchObject({
        syncStatus: "OutOfSync",
        syncRevision: newHead,
        healthStatus: "Progressing",
      });
      expect(syncing.operation).toMatchObject({ phase: "Running", revision: newHead });

      clock.finishSyncs();
      const synced = await waitFor(
        read("checkout-staging"),
        (s) => s.syncStatus === "Synced",
        "the sync to end",
      );
      expect(synced).toMatchObject({ syncStatus: "Synced", syncRevision: newHead, healthStatus: "Healthy" });
      expect(synced.operation).toMatchObject({ phase: "Succeeded", revision: newHead });
      expect(Date.parse(synced.reconciledAt ?? "")).toBeGreaterThanOrEqual(wholeSecond(refreshedAt));
      expect(stored("checkout-staging").operation).toBeUndefined();
    });

    it("without auto-sync only reports OutOfSync at the new head, and starts nothing", async () => {
      head = newHead;
      await target.refreshApplication(namespace, "checkout-production");
      const status = await waitFor(
        read("checkout-production"),
        (s) => s.syncStatus === "OutOfSync",
        "the comparison",
      );
      expect(status).toMatchObject({ syncRevision: newHead, healthStatus: "Healthy" });
      expect(status.operation).toBeUndefined();
      expect(stored("checkout-production").metadata.annotations).toBeUndefined();
      expect(clock.pending()).toBe(0);
    });

    it("with the head unchanged stays Synced and only moves reconciledAt", async () => {
      const before = stored("checkout-staging").metadata.resourceVersion;
      await target.refreshApplication(namespace, "checkout-staging");
      await waitFor(
        async () => stored("checkout-staging"),
        (object) => object.metadata.annotations === undefined,
        "the annotation to be cleared",
      );
      expect(await target.getApplication(namespace, "checkout-staging")).toMatchObject({
        syncStatus: "Synced",
        syncRevision: initialHead,
        healthStatus: "Healthy",
      });
      expect(Number(stored("checkout-staging").metadata.resourceVersion)).toBeGreaterThan(Number(before));
      expect(clock.pending()).toBe(0);
    });
  });

  describe("syncApplication", () => {
    it("sets operation as the Argo CD CLI does, then the simulator syncs to that revision", async () => {
      head = newHead;
      const syncedAt = new Date();
      await target.syncApplication(namespace, "checkout-production", { revision: newHead, prune: true });
      expect(stored("checkout-production").operation).toEqual({
        initiatedBy: { username: "switchyard" },
        sync: { revision: newHead, prune: true, syncStrategy: { hook: {} } },
      });
      const running = await waitFor(
        read("checkout-production"),
        (s) => s.operation !== undefined,
        "the start",
      );
      expect(running).toMatchObject({ healthStatus: "Progressing", operation: { phase: "Running" } });

      clock.finishSyncs();
      const synced = await waitFor(
        read("checkout-production"),
        (s) => s.syncStatus === "Synced" && s.syncRevision === newHead,
        "the sync",
      );
      expect(synced).toMatchObject({
        healthStatus: "Healthy",
        operation: { phase: "Succeeded", revision: newHead, message: "successfully synced (all tasks run)" },
      });
      expect(Date.parse(synced.operation?.finishedAt ?? "")).toBeGreaterThanOrEqual(wholeSecond(syncedAt));
      expect(stored("checkout-production").operation).toBeUndefined();
    });

    it("without a revision syncs to the head the simulator reads", async () => {
      head = newHead;
      await target.syncApplication(namespace, "checkout-production");
      expect(stored("checkout-production").operation).toMatchObject({ sync: { prune: false } });
      await waitFor(read("checkout-production"), (s) => s.operation?.phase === "Running", "the start");
      clock.finishSyncs();
      await waitFor(
        read("checkout-production"),
        (s) => s.syncRevision === newHead && s.syncStatus === "Synced",
        "the sync",
      );
    });

    it("refuses a second sync while one runs (TransientError), as Argo CD's API server does", async () => {
      await target.syncApplication(namespace, "checkout-production", { revision: newHead });
      const error = await target
        .syncApplication(namespace, "checkout-production", { revision: newHead })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain("another operation is in progress");
    });

    it("brings a degraded service up Degraded with Argo CD's message, the sync itself Succeeded", async () => {
      head = newHead;
      await target.refreshApplication(namespace, "storefront-staging");
      await waitFor(read("storefront-staging"), (s) => s.operation?.phase === "Running", "the auto-sync");
      clock.finishSyncs();
      const status = await waitFor(read("storefront-staging"), (s) => s.syncStatus === "Synced", "the sync");
      expect(status).toMatchObject({
        syncRevision: newHead,
        healthStatus: "Degraded",
        healthMessage: 'Deployment "storefront" exceeded its progress deadline',
        operation: { phase: "Succeeded" },
      });
    });

    it("with a zero delay still acts after the write, on a later tick, and finishes quickly", async () => {
      await cluster.close();
      await start({ syncDelayMs: 0, realTimers: true });
      const changes: ObjectChange[] = [];
      cluster.applications.subscribe((change) => changes.push(change));
      const startedMs = Date.now();
      await target.syncApplication(namespace, "checkout-production", { revision: newHead });
      await waitFor(read("checkout-production"), (s) => s.operation?.phase === "Succeeded", "the sync");
      expect(Date.now() - startedMs).toBeLessThan(1_000);
      const phases = changes.map(({ object }) => ({
        operation: object.operation !== undefined,
        phase: (object.status as { operationState?: { phase?: string } } | undefined)?.operationState?.phase,
      }));
      expect(phases).toEqual([
        { operation: true, phase: undefined },
        { operation: true, phase: "Running" },
        { operation: false, phase: "Succeeded" },
      ]);
    });
  });

  describe("the Kubernetes API subset", () => {
    const rawApi = (bearer = token) =>
      kubeConfigFor({ ...cluster.access, token: async () => bearer }).makeApiClient(CustomObjectsApi);
    const ref = (name: string) => ({ ...argoApplicationResource, namespace, name });
    const apiError = async (promise: Promise<unknown>): Promise<ApiException<unknown>> => {
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiException);
      return error as ApiException<unknown>;
    };
    const body = (error: ApiException<unknown>) =>
      (typeof error.body === "string" ? JSON.parse(error.body) : error.body) as Record<string, unknown>;

    it("rejects a wrong token with 401, and the adapter's error never repeats the token", async () => {
      const wrong = new KubernetesDeployTarget(
        kubeConfigFor({ ...cluster.access, token: async () => "not-the-token" }),
      );
      const error = await wrong.getApplication(namespace, "checkout-staging").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain("401");
      expect((error as Error).message).not.toContain("not-the-token");
      const raw = await fetch(`${cluster.url}/apis`, { headers: { Authorization: "Bearer not-the-token" } });
      expect(raw.status).toBe(401);
      expect(await raw.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
      expect((await fetch(`${cluster.url}/version`)).status).toBe(401);
    });

    it("refuses strategic merge patch on a custom resource with 415, as kube-apiserver does", async () => {
      const error = await apiError(
        rawApi().patchNamespacedCustomObject(
          { ...ref("checkout-staging"), body: { metadata: { labels: { a: "b" } } } },
          setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
        ),
      );
      expect(error.code).toBe(415);
      expect(body(error)).toMatchObject({
        kind: "Status",
        status: "Failure",
        reason: "UnsupportedMediaType",
        code: 415,
      });
    });

    it("applies JSON patch, and answers 422 with the cause when the result breaks the schema", async () => {
      const patched = await rawApi().patchNamespacedCustomObject(
        {
          ...ref("checkout-staging"),
          body: [{ op: "add", path: "/metadata/labels/team", value: "payments" }],
        },
        setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
      );
      expect(patched.metadata.labels.team).toBe("payments");
      const error = await apiError(
        rawApi().patchNamespacedCustomObject(
          { ...ref("checkout-staging"), body: { metadata: { annotations: { [refreshAnnotation]: 1 } } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      );
      expect(error.code).toBe(422);
      expect(body(error)).toMatchObject({
        reason: "Invalid",
        details: {
          causes: [expect.objectContaining({ field: `metadata.annotations.${refreshAnnotation}` })],
        },
      });
    });

    it("answers 404 with a NotFound Status naming the object", async () => {
      const error = await apiError(rawApi().getNamespacedCustomObject(ref("missing")));
      expect(error.code).toBe(404);
      expect(body(error)).toMatchObject({
        reason: "NotFound",
        message: 'applications.argoproj.io "missing" not found',
        details: { name: "missing", group: "argoproj.io", kind: "applications" },
      });
    });

    it("increments resourceVersion on every write and enforces it as a merge-patch precondition (409)", async () => {
      const api = rawApi();
      const before = await api.getNamespacedCustomObject(ref("checkout-production"));
      const after = await api.patchNamespacedCustomObject(
        { ...ref("checkout-production"), body: { metadata: { labels: { tier: "gold" } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
      const stale = await apiError(
        api.patchNamespacedCustomObject(
          {
            ...ref("checkout-production"),
            body: {
              metadata: { resourceVersion: before.metadata.resourceVersion, labels: { tier: "silver" } },
            },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      );
      expect(stale.code).toBe(409);
      expect(body(stale)).toMatchObject({ reason: "Conflict" });
    });

    it("lists Applications per namespace and across namespaces", async () => {
      const api = rawApi();
      const inNamespace = await api.listNamespacedCustomObject({ ...argoApplicationResource, namespace });
      expect(inNamespace).toMatchObject({ kind: "ApplicationList", apiVersion: "argoproj.io/v1alpha1" });
      expect(inNamespace.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual([
        "checkout-production",
        "checkout-staging",
        "storefront-staging",
      ]);
      const everywhere = await api.listClusterCustomObject({ ...argoApplicationResource });
      expect(everywhere.items).toHaveLength(3);
      const elsewhere = await api.listNamespacedCustomObject({
        ...argoApplicationResource,
        namespace: "other",
      });
      expect(elsewhere.items).toEqual([]);
    });

    it("serves discovery for the group it simulates", async () => {
      const get = async (path: string) => {
        const response = await fetch(`${cluster.url}${path}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        return { status: response.status, body: await response.json() };
      };
      expect((await get("/version")).body).toMatchObject({
        major: "1",
        gitVersion: expect.stringMatching(/^v1\./),
      });
      expect((await get("/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
      expect((await get("/apis")).body).toMatchObject({
        kind: "APIGroupList",
        groups: [
          { name: "argoproj.io", preferredVersion: { groupVersion: "argoproj.io/v1alpha1" } },
          { name: "external-secrets.io", preferredVersion: { groupVersion: "external-secrets.io/v1" } },
          { name: "apps", preferredVersion: { groupVersion: "apps/v1" } },
        ],
      });
      expect((await get("/apis/argoproj.io/v1alpha1")).body).toMatchObject({
        kind: "APIResourceList",
        groupVersion: "argoproj.io/v1alpha1",
        resources: [
          { name: "applications", kind: "Application", namespaced: true, verbs: ["get", "list", "patch"] },
        ],
      });
      expect(await get("/apis/batch/v1")).toMatchObject({
        status: 404,
        body: { kind: "Status", reason: "NotFound" },
      });
      const deleted = await fetch(
        `${cluster.url}/apis/argoproj.io/v1alpha1/namespaces/${namespace}/applications/x`,
        {
          method: "DELETE",
          headers: { Authorization: `Bearer ${token}` },
        },
      );
      expect(deleted.status).toBe(405);
    });

    it("reports an API server that cannot be reached as TransientError", async () => {
      const { access } = cluster;
      await cluster.close();
      const unreachable = new KubernetesDeployTarget(kubeConfigFor(access));
      await expect(unreachable.getApplication(namespace, "checkout-staging")).rejects.toBeInstanceOf(
        TransientError,
      );
      await start();
    });
  });
});

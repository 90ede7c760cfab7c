// The secret-rollout use cases against hand-written fakes: plan, ExternalSecret sync, restart, rollout watch, events.

import { beforeEach, describe, expect, it } from "vitest";
import { findCatalogEntry } from "../../events/catalog.ts";
import { configSchema } from "../../functions/core/config.ts";
import { ValidationError } from "../../functions/core/errors.ts";
import type {
  Clock,
  DeploymentStatus,
  DomainEvent,
  ExternalSecretStatus,
  Freeze,
  SecretSummary,
  SecretVersion,
  WorkloadTarget,
} from "../../functions/core/ports.ts";
import {
  finishSecretRollout,
  forceSyncValue,
  planSecretRollout,
  type RolloutSubject,
  restartDeployment,
  rolloutComplete,
  secretNameOf,
  secretRolloutInputSchema,
  splitAtFailure,
  syncExternalSecret,
  watchRollout,
} from "../../functions/core/secret-rollout.ts";

const minuteMs = 60_000;
const hourMs = 3_600_000;
const start = new Date("2025-01-14T04:18:00.000Z");
const secretName = "checkout/prod/postgres";
const secretArn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${secretName}-Xa9Qz2`;
const currentVersion = "1eae1264-e834-4fca-95f7-927e4f3f1cf3";
const previousVersion = "cc2387a2-62ac-4d24-8446-9a1fc2d3eb3d";
const password = "s3cr3t-Pa55word-never-on-the-bus";
const rolloutId = "rotation-6e00790e";

const config = configSchema.parse({
  gitops: { repository: "acme-platform/gitops" },
  environments: [
    { name: "production", approval: "none", argocd: { namespace: "argocd", application: "{service}-prod" } },
  ],
  services: [
    {
      name: "checkout",
      repository: "checkout",
      policy: { semver: "^1.0.0" },
      values: "envs/{environment}/checkout/values.yaml",
    },
  ],
  secrets: [
    {
      name: secretName,
      rotation: {
        schedule: "rate(30 days)",
        strategy: "alternating-users",
        masterSecret: "checkout/prod/postgres-master",
      },
      consumers: [
        {
          namespace: "checkout",
          externalSecret: "checkout-db",
          deployments: ["checkout", "checkout-worker"],
          service: "checkout",
        },
        { namespace: "reporting", externalSecret: "reporting-db", deployments: ["reporting-export"] },
      ],
    },
    { name: "payments/prod/psp-api-key", rotation: { schedule: "rate(90 days)", strategy: "api-key" } },
    {
      name: "checkout/prod/readonly",
      rotation: { schedule: "rate(30 days)", strategy: "single-user" },
      consumers: [{ namespace: "checkout", externalSecret: "checkout-ro", deployments: ["checkout"] }],
    },
  ],
});

/** A clock the test moves. */
class TestClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return this.current;
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Secrets Manager as the plan reads it: one secret, its versions and stages. */
const secretStore = (options: { stages?: Record<string, string[]>; value?: string } = {}) => {
  const reads: string[] = [];
  const store = {
    reads,
    describeSecret: async (secretId: string): Promise<SecretSummary> => {
      reads.push(`describe ${secretId}`);
      return {
        name: secretNameOf(secretId),
        arn: secretArn,
        createdDate: start,
        rotationEnabled: true,
        versionIdsToStages: options.stages ?? {
          [currentVersion]: ["AWSCURRENT"],
          [previousVersion]: ["AWSPREVIOUS"],
        },
      };
    },
    getSecretValue: async (
      secretId: string,
      opts?: { versionId?: string; versionStage?: string },
    ): Promise<SecretVersion> => {
      reads.push(`get ${secretId} ${opts?.versionId ?? opts?.versionStage ?? "AWSCURRENT"}`);
      return {
        name: secretNameOf(secretId),
        arn: secretArn,
        versionId: opts?.versionId ?? currentVersion,
        versionStages: ["AWSCURRENT"],
        createdDate: start,
        secretString:
          options.value ??
          JSON.stringify({
            engine: "postgres",
            host: "db",
            port: 5432,
            dbname: "checkout",
            username: "checkout_app_clone",
            password,
          }),
      };
    },
  };
  return store;
};

/** The cluster as the rollout sees it: ExternalSecrets, Secret hashes and Deployments, with every write recorded. */
class FakeWorkloads implements WorkloadTarget {
  readonly externalSecrets = new Map<string, ExternalSecretStatus>();
  readonly hashes = new Map<string, string>();
  readonly deployments = new Map<string, DeploymentStatus>();
  readonly writes: string[] = [];

  async getExternalSecret(namespace: string, name: string): Promise<ExternalSecretStatus> {
    const found = this.externalSecrets.get(`${namespace}/${name}`);
    if (!found) throw new Error(`no ExternalSecret ${namespace}/${name}`);
    return found;
  }
  async forceSyncExternalSecret(namespace: string, name: string, value: string): Promise<void> {
    this.writes.push(`force-sync ${namespace}/${name}=${value}`);
  }
  async secretDataHash(namespace: string, name: string): Promise<string | undefined> {
    return this.hashes.get(`${namespace}/${name}`);
  }
  async restartDeployment(namespace: string, name: string, at: string): Promise<void> {
    this.writes.push(`restart ${namespace}/${name}=${at}`);
    const deployment = await this.getDeployment(namespace, name);
    this.deployments.set(`${namespace}/${name}`, {
      ...deployment,
      generation: deployment.generation + 1,
      updatedReplicas: 0,
      restartedAt: at,
    });
  }
  async getDeployment(namespace: string, name: string): Promise<DeploymentStatus> {
    const found = this.deployments.get(`${namespace}/${name}`);
    if (!found) throw new Error(`no Deployment ${namespace}/${name}`);
    return found;
  }
}

const deployment = (overrides: Partial<DeploymentStatus> = {}): DeploymentStatus => ({
  namespace: "checkout",
  name: "checkout",
  generation: 7,
  observedGeneration: 7,
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  ...overrides,
});

const freeze = (overrides: Partial<Freeze> = {}): Freeze => ({
  service: "checkout",
  id: "manual",
  reason: "Black Friday",
  setBy: "ops@example.com",
  setAt: "2025-01-14T00:00:00.000Z",
  source: "api",
  ...overrides,
});

describe("secretRolloutInputSchema", () => {
  it("accepts what the rule's input transformer renders", () => {
    expect(
      secretRolloutInputSchema.parse({
        secretId: secretArn,
        eventId: "6e00790e-8a51-4433-8143-52fd49e283b5",
        rotatedAt: "2025-01-14T04:17:53Z",
      }),
    ).toMatchObject({ secretId: secretArn });
  });
});

describe("secretNameOf", () => {
  it.each([
    [secretArn, secretName],
    ["arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-v2-AbC123", "api-key-v2"],
    [secretName, secretName],
  ])("%s → %s", (secretId, name) => {
    expect(secretNameOf(secretId)).toBe(name);
  });
});

describe("planSecretRollout", () => {
  it("plans an alternating-users secret: versions, the active user and the consumers in order, never the value", async () => {
    const secrets = secretStore();
    const plan = await planSecretRollout({ config, secrets }, { secretId: secretArn });
    expect(plan).toEqual({
      action: "rollout",
      reason: `version ${currentVersion} of ${secretName} goes to 2 ExternalSecret(s) and 3 Deployment(s)`,
      secretName,
      versionId: currentVersion,
      previousVersionId: previousVersion,
      strategy: "alternating-users",
      activeUser: "checkout_app_clone",
      consumers: [
        {
          namespace: "checkout",
          externalSecret: "checkout-db",
          deployments: ["checkout", "checkout-worker"],
          service: "checkout",
        },
        {
          namespace: "reporting",
          externalSecret: "reporting-db",
          deployments: ["reporting-export"],
          service: null,
        },
      ],
    });
    expect(secrets.reads).toEqual([`describe ${secretArn}`, `get ${secretArn} ${currentVersion}`]);
    expect(JSON.stringify(plan)).not.toContain(password);
  });

  it("reads no value for a single-user secret, and a first rotation has no previous version", async () => {
    const secrets = secretStore({ stages: { [currentVersion]: ["AWSCURRENT"] } });
    const plan = await planSecretRollout({ config, secrets }, { secretId: "checkout/prod/readonly" });
    expect(plan).toMatchObject({
      action: "rollout",
      strategy: "single-user",
      activeUser: null,
      previousVersionId: null,
    });
    expect(secrets.reads).toEqual(["describe checkout/prod/readonly"]);
  });

  it.each([
    [
      "a secret switchyard.yaml does not list",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other/secret-AbCdEf",
      "secret other/secret is not in switchyard.yaml's secrets: nothing to roll out",
    ],
    [
      "a secret without consumers",
      "payments/prod/psp-api-key",
      "secret payments/prod/psp-api-key has no consumers in switchyard.yaml",
    ],
  ])("skips %s without asking Secrets Manager", async (_, secretId, reason) => {
    const secrets = secretStore();
    const plan = await planSecretRollout({ config, secrets }, { secretId });
    expect(plan).toMatchObject({ action: "skip", reason, versionId: null, consumers: [] });
    expect(secrets.reads).toEqual([]);
  });

  it("refuses a secret without an AWSCURRENT version", async () => {
    const secrets = secretStore({ stages: { [previousVersion]: ["AWSPREVIOUS"] } });
    await expect(planSecretRollout({ config, secrets }, { secretId: secretArn })).rejects.toThrow(
      new ValidationError(`secret ${secretName} has no AWSCURRENT version`),
    );
  });

  it.each([
    ["not JSON", `password=${password}`],
    ["JSON without a username", JSON.stringify({ password })],
  ])("refuses an alternating-users value that is %s, without repeating the value", async (_, value) => {
    const secrets = secretStore({ value });
    const error = await planSecretRollout({ config, secrets }, { secretId: secretArn }).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain("is not JSON with a username");
    expect(error.message).not.toContain(password);
  });
});

describe("syncExternalSecret", () => {
  let clock: TestClock;
  let workloads: FakeWorkloads;
  const deps = () => ({ config, workloads, clock });
  const first = { rolloutId, namespace: "checkout", externalSecret: "checkout-db" };

  beforeEach(() => {
    clock = new TestClock(start);
    workloads = new FakeWorkloads();
    workloads.externalSecrets.set("checkout/checkout-db", {
      namespace: "checkout",
      name: "checkout-db",
      targetSecret: "checkout-db-credentials",
      refreshTime: "2025-01-14T03:00:00Z",
      ready: true,
    });
    workloads.hashes.set("checkout/checkout-db-credentials", "old-hash");
  });

  const forced = async () =>
    syncExternalSecret(deps(), { ...first, forcedAt: null, initialHash: null, deadline: null });

  it("first call: records the Secret's hash, forces a sync with a value of this rollout, and waits", async () => {
    expect(await forced()).toEqual({
      state: "waiting",
      targetSecret: "checkout-db-credentials",
      forcedAt: start.toISOString(),
      initialHash: "old-hash",
      deadline: new Date(start.getTime() + 5 * minuteMs).toISOString(),
      syncedAt: null,
      pollIntervalSeconds: 5,
      reason: "ExternalSecret checkout/checkout-db asked to re-sync Secret checkout-db-credentials",
    });
    expect(workloads.writes).toEqual([
      `force-sync checkout/checkout-db=${forceSyncValue(rolloutId, start.toISOString())}`,
    ]);
  });

  it("hash unchanged → waiting; changed → synced, from then on", async () => {
    const sync = await forced();
    clock.advance(5_000);
    const again = await syncExternalSecret(deps(), { ...first, ...sync });
    expect(again).toMatchObject({ state: "waiting", initialHash: "old-hash", syncedAt: null });

    workloads.hashes.set("checkout/checkout-db-credentials", "new-hash");
    clock.advance(5_000);
    expect(await syncExternalSecret(deps(), { ...first, ...again })).toMatchObject({
      state: "synced",
      syncedAt: new Date(start.getTime() + 10_000).toISOString(),
      deadline: sync.deadline,
    });
    expect(workloads.writes).toHaveLength(1);
  });

  it("a Secret that did not exist is synced once it does", async () => {
    workloads.hashes.clear();
    const sync = await forced();
    expect(sync.initialHash).toBeNull();
    expect(await syncExternalSecret(deps(), { ...first, ...sync })).toMatchObject({ state: "waiting" });
    workloads.hashes.set("checkout/checkout-db-credentials", "new-hash");
    expect(await syncExternalSecret(deps(), { ...first, ...sync })).toMatchObject({ state: "synced" });
  });

  it("synced without a change when External Secrets refreshed after the force-sync: it already had the version", async () => {
    const sync = await forced();
    const status = workloads.externalSecrets.get("checkout/checkout-db")!;
    workloads.externalSecrets.set("checkout/checkout-db", { ...status, refreshTime: "2025-01-14T04:18:00Z" });
    expect(await syncExternalSecret(deps(), { ...first, ...sync })).toMatchObject({
      state: "synced",
      reason: expect.stringContaining("already held the current version"),
    });
  });

  it("a refresh after the force-sync that failed (not Ready) does not count", async () => {
    const sync = await forced();
    const status = workloads.externalSecrets.get("checkout/checkout-db")!;
    workloads.externalSecrets.set("checkout/checkout-db", {
      ...status,
      refreshTime: "2025-01-14T04:18:03Z",
      ready: false,
      message: "could not get secret data from provider",
    });
    expect(await syncExternalSecret(deps(), { ...first, ...sync })).toMatchObject({ state: "waiting" });
  });

  it("timed-out past rollout.syncTimeoutMinutes, saying why External Secrets is stuck", async () => {
    const sync = await forced();
    const status = workloads.externalSecrets.get("checkout/checkout-db")!;
    workloads.externalSecrets.set("checkout/checkout-db", {
      ...status,
      ready: false,
      message: "AccessDeniedException",
    });
    clock.advance(5 * minuteMs);
    expect(await syncExternalSecret(deps(), { ...first, ...sync })).toMatchObject({
      state: "timed-out",
      reason:
        "ExternalSecret checkout/checkout-db did not update Secret checkout-db-credentials within 5 min (rollout.syncTimeoutMinutes); it is not Ready: AccessDeniedException",
    });
  });
});

describe("restartDeployment", () => {
  let clock: TestClock;
  let workloads: FakeWorkloads;
  let freezes: Freeze[];
  const listed: string[] = [];
  const deps = () => ({
    config,
    workloads,
    freezes: {
      list: async (service?: string) => {
        listed.push(service ?? "*");
        return freezes.filter((f) => f.service === service);
      },
    },
    clock,
  });
  const notBefore = "2025-01-14T04:18:05.000Z";
  const input = {
    namespace: "checkout",
    name: "checkout",
    service: "checkout",
    notBefore,
    holdDeadline: null,
  };

  beforeEach(() => {
    clock = new TestClock(new Date("2025-01-14T04:18:06.000Z"));
    workloads = new FakeWorkloads();
    workloads.deployments.set("checkout/checkout", deployment({ restartedAt: "2024-12-15T04:00:00Z" }));
    freezes = [];
    listed.length = 0;
  });

  it("restarts at now, with the rollout's deadline", async () => {
    expect(await restartDeployment(deps(), input)).toEqual({
      state: "restarted",
      restartedAt: "2025-01-14T04:18:06.000Z",
      holdDeadline: null,
      deadline: "2025-01-14T04:33:06.000Z",
      pollIntervalSeconds: 5,
      reason: "Deployment checkout/checkout restarted at 2025-01-14T04:18:06.000Z",
    });
    expect(workloads.writes).toEqual(["restart checkout/checkout=2025-01-14T04:18:06.000Z"]);
  });

  it("is idempotent: a retried call finds this rollout's restart and keeps its time and deadline", async () => {
    const firstCall = await restartDeployment(deps(), input);
    clock.advance(30_000);
    const retried = await restartDeployment(deps(), input);
    expect(retried).toMatchObject({
      state: "restarted",
      restartedAt: firstCall.restartedAt,
      deadline: firstCall.deadline,
    });
    expect(workloads.writes).toHaveLength(1);
  });

  it("holds while a freeze is in force on the consumer's service, then gives up after maxWaitHours", async () => {
    freezes = [freeze()];
    const held = await restartDeployment(deps(), input);
    expect(held).toEqual({
      state: "held",
      restartedAt: null,
      holdDeadline: new Date(clock.now().getTime() + 24 * hourMs).toISOString(),
      deadline: null,
      pollIntervalSeconds: 60,
      reason: "Deployment checkout/checkout held: checkout is frozen: Black Friday (set by ops@example.com)",
    });
    clock.advance(12 * hourMs);
    expect(await restartDeployment(deps(), { ...input, holdDeadline: held.holdDeadline })).toMatchObject({
      state: "held",
      holdDeadline: held.holdDeadline,
    });
    clock.advance(12 * hourMs);
    expect(await restartDeployment(deps(), { ...input, holdDeadline: held.holdDeadline })).toMatchObject({
      state: "frozen",
      reason: expect.stringContaining("still frozen after 24 h (promotion.freeze.maxWaitHours)"),
    });
    expect(workloads.writes).toEqual([]);
  });

  it("restarts once the freeze ran out, and ignores freezes of other services", async () => {
    freezes = [freeze({ until: "2025-01-14T04:00:00.000Z" }), freeze({ service: "storefront" })];
    expect(await restartDeployment(deps(), input)).toMatchObject({ state: "restarted" });
  });

  it("does not look for freezes when the consumer names no service", async () => {
    freezes = [freeze()];
    expect(await restartDeployment(deps(), { ...input, service: null })).toMatchObject({
      state: "restarted",
    });
    expect(listed).toEqual([]);
  });
});

describe("rolloutComplete", () => {
  it.each([
    ["every replica updated, ready and available", {}, true],
    ["the controller has not seen the new spec", { observedGeneration: 6 }, false],
    ["an old replica not replaced yet", { updatedReplicas: 2 }, false],
    ["a new replica not ready", { readyReplicas: 2 }, false],
    ["a new replica not available yet", { availableReplicas: 2 }, false],
    ["scaled to zero", { replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 }, true],
    ["observedGeneration ahead (a newer spec already seen)", { observedGeneration: 8 }, true],
  ] as const)("%s → %s", (_, overrides, complete) => {
    expect(rolloutComplete(deployment(overrides))).toBe(complete);
  });
});

describe("watchRollout", () => {
  let clock: TestClock;
  let workloads: FakeWorkloads;
  const restartedAt = "2025-01-14T04:18:06.000Z";
  const deadline = "2025-01-14T04:33:06.000Z";
  const input = { namespace: "checkout", name: "checkout", restartedAt, deadline };
  const deps = () => ({ config, workloads, clock });

  beforeEach(() => {
    clock = new TestClock(new Date("2025-01-14T04:19:00.000Z"));
    workloads = new FakeWorkloads();
  });

  it.each([
    ["ready", deployment({ restartedAt }), "ready"],
    ["rolling out", deployment({ restartedAt, updatedReplicas: 1, readyReplicas: 2 }), "waiting"],
    ["restarted again since, by someone else", deployment({ restartedAt: "2025-01-14T04:18:30Z" }), "ready"],
    ["its restart reverted", deployment({ restartedAt: "2024-12-15T04:00:00Z" }), "failed"],
    ["its restart annotation removed", deployment(), "failed"],
  ] as const)("%s → %s", async (_, status, state) => {
    workloads.deployments.set("checkout/checkout", status);
    expect(await watchRollout(deps(), input)).toMatchObject({ state });
  });

  it("timed-out when not Ready by the deadline, with the counts it saw", async () => {
    workloads.deployments.set("checkout/checkout", deployment({ restartedAt, readyReplicas: 2 }));
    clock = new TestClock(new Date(deadline));
    expect(await watchRollout(deps(), input)).toEqual({
      state: "timed-out",
      observed: "3/3 updated, 2 ready, 3 available, generation 7/7",
      pollIntervalSeconds: 5,
      reason:
        "Deployment checkout/checkout was not Ready within 15 min of its restart (rollout.rolloutTimeoutMinutes): 3/3 updated, 2 ready, 3 available, generation 7/7",
    });
  });

  it("ready at the deadline still counts", async () => {
    workloads.deployments.set("checkout/checkout", deployment({ restartedAt }));
    clock = new TestClock(new Date(deadline));
    expect(await watchRollout(deps(), input)).toMatchObject({ state: "ready" });
  });
});

describe("splitAtFailure", () => {
  const consumers = [
    { namespace: "checkout", externalSecret: "checkout-db", deployments: ["api", "worker"], service: null },
    { namespace: "reporting", externalSecret: "reporting-db", deployments: ["export"], service: null },
  ];
  const refs = (...names: string[]) =>
    names.map((n) => {
      const [namespace = "", name = ""] = n.split("/");
      return { namespace, name };
    });

  it.each([
    [
      "sync of the first consumer",
      "sync-external-secret",
      0,
      null,
      [],
      ["checkout/api", "checkout/worker", "reporting/export"],
    ],
    [
      "sync of the second consumer",
      "sync-external-secret",
      1,
      null,
      ["checkout/api", "checkout/worker"],
      ["reporting/export"],
    ],
    ["restart of the first Deployment", "restart", 0, 0, [], ["checkout/worker", "reporting/export"]],
    [
      "rollout of the first Deployment",
      "rollout",
      0,
      0,
      ["checkout/api"],
      ["checkout/worker", "reporting/export"],
    ],
    [
      "rollout of the last Deployment",
      "rollout",
      1,
      0,
      ["checkout/api", "checkout/worker", "reporting/export"],
      [],
    ],
  ] as const)("%s", (_, step, consumerIndex, deploymentIndex, restarted, remaining) => {
    expect(splitAtFailure(consumers, { step, consumerIndex, deploymentIndex })).toEqual({
      restarted: refs(...restarted),
      remaining: refs(...remaining),
    });
  });
});

describe("finishSecretRollout", () => {
  const published: DomainEvent[] = [];
  const deps = {
    publisher: { publish: async (events: readonly DomainEvent[]) => void published.push(...events) },
    clock: new TestClock(new Date("2025-01-14T04:40:00.000Z")),
  };
  const asBusEvent = (event: DomainEvent) => ({
    version: "0",
    id: "b0c8a3e2-5f1d-4c7a-9e36-2d4f81a7c5e9",
    "detail-type": event.detailType,
    source: event.source ?? "switchyard",
    account: "123456789012",
    time: "2025-01-14T04:40:00Z",
    region: "eu-west-1",
    resources: [],
    detail: event.detail,
  });
  /** The event parses with its catalog entry's schema, envelope and all. */
  const expectInCatalog = (event: DomainEvent) => {
    const entry = findCatalogEntry("switchyard", event.detailType);
    expect(entry, event.detailType).toBeDefined();
    const result = entry!.schema.safeParse(asBusEvent(event));
    expect(result.success, result.error?.message).toBe(true);
  };

  let plan: RolloutSubject;
  beforeEach(async () => {
    published.length = 0;
    const planned = await planSecretRollout({ config, secrets: secretStore() }, { secretId: secretArn });
    if (planned.action !== "rollout") throw new Error("expected a rollout plan");
    plan = planned;
  });

  it("publishes Secret Rotated for a rollout that succeeded: valid, and without the secret's value", async () => {
    const result = await finishSecretRollout(deps, {
      outcome: "succeeded",
      plan,
      rotatedAt: "2025-01-14T04:17:53Z",
    });
    expect(published).toEqual([
      {
        detailType: "Secret Rotated",
        detail: {
          secretId: secretName,
          versionId: currentVersion,
          previousVersionId: previousVersion,
          strategy: "alternating-users",
          activeUser: "checkout_app_clone",
          restartedDeployments: [
            { namespace: "checkout", name: "checkout" },
            { namespace: "checkout", name: "checkout-worker" },
            { namespace: "reporting", name: "reporting-export" },
          ],
          rotatedAt: "2025-01-14T04:17:53.000Z",
        },
      },
    ]);
    expect(result).toMatchObject({ detailType: "Secret Rotated", remainingDeployments: [] });
    expectInCatalog(published[0]!);
    expect(JSON.stringify(published)).not.toContain(password);
  });

  it("leaves out what a first single-user rotation does not have", async () => {
    await finishSecretRollout(deps, {
      outcome: "succeeded",
      plan: { ...plan, previousVersionId: null, activeUser: null, strategy: "single-user" },
      rotatedAt: "2025-01-14T04:17:53Z",
    });
    expect(published[0]?.detail).not.toHaveProperty("previousVersionId");
    expect(published[0]?.detail).not.toHaveProperty("activeUser");
    expectInCatalog(published[0]!);
  });

  it("publishes Secret Rollout Failed naming the Deployment, what was restarted and what was not", async () => {
    const reason = "Deployment checkout/checkout-worker was not Ready within 15 min of its restart";
    const result = await finishSecretRollout(deps, {
      outcome: "failed",
      plan,
      failure: { step: "rollout", consumerIndex: 0, deploymentIndex: 1, reason },
    });
    expect(published).toEqual([
      {
        detailType: "Secret Rollout Failed",
        detail: {
          secretId: secretName,
          versionId: currentVersion,
          failedStep: "rollout",
          namespace: "checkout",
          name: "checkout-worker",
          reason,
          restartedDeployments: [
            { namespace: "checkout", name: "checkout" },
            { namespace: "checkout", name: "checkout-worker" },
          ],
          remainingDeployments: [{ namespace: "reporting", name: "reporting-export" }],
          failedAt: "2025-01-14T04:40:00.000Z",
        },
      },
    ]);
    expect(result.remainingDeployments).toEqual([{ namespace: "reporting", name: "reporting-export" }]);
    expectInCatalog(published[0]!);
    expect(JSON.stringify(published)).not.toContain(password);
  });

  it("names the ExternalSecret when the sync failed", async () => {
    await finishSecretRollout(deps, {
      outcome: "failed",
      plan,
      failure: { step: "sync-external-secret", consumerIndex: 1, deploymentIndex: null, reason: "timed out" },
    });
    expect(published[0]?.detail).toMatchObject({ namespace: "reporting", name: "reporting-db" });
    expectInCatalog(published[0]!);
  });

  it("takes a Lambda error's message as the reason, never its stack, and keeps it within 1024 characters", async () => {
    const cause = JSON.stringify({
      errorType: "NotFoundError",
      errorMessage: `read Deployment checkout/checkout: not found ${"x".repeat(2000)}`,
      trace: ["NotFoundError: read Deployment", "    at KubernetesWorkloadTarget.call (file.ts:1:1)"],
    });
    await finishSecretRollout(deps, {
      outcome: "failed",
      plan,
      failure: {
        step: "restart",
        consumerIndex: 0,
        deploymentIndex: 0,
        error: { name: "NotFoundError", message: cause },
      },
    });
    const detail = published[0]?.detail as { reason: string };
    expect(detail.reason).toMatch(/^NotFoundError: read Deployment checkout\/checkout: not found x+…$/);
    expect(detail.reason).toHaveLength(1024);
    expect(detail.reason).not.toContain("KubernetesWorkloadTarget.call");
    expectInCatalog(published[0]!);
  });

  it("refuses a failure at a position the plan does not have", async () => {
    await expect(
      finishSecretRollout(deps, {
        outcome: "failed",
        plan,
        failure: { step: "restart", consumerIndex: 0, deploymentIndex: 5, reason: "x" },
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(published).toEqual([]);
  });
});

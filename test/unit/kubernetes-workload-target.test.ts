// KubernetesWorkloadTarget's mappings in isolation: ExternalSecret and Deployment statuses, the Secret data hash.

import { describe, expect, it } from "vitest";
import {
  hashSecretData,
  restartedAtAnnotation,
  toDeploymentStatus,
  toExternalSecretStatus,
} from "../../functions/adapters/kubernetes/kubernetes-workload-target.ts";
import { ValidationError } from "../../functions/core/errors.ts";

const namespace = "checkout";

describe("toExternalSecretStatus", () => {
  it("maps the Ready condition, refreshTime and syncedResourceVersion", () => {
    expect(
      toExternalSecretStatus(
        {
          metadata: { name: "db" },
          spec: { target: { name: "db-secret" } },
          status: {
            refreshTime: "2025-03-01T12:00:00Z",
            syncedResourceVersion: "1-abc",
            conditions: [{ type: "Ready", status: "False", reason: "SecretSyncedError", message: "no" }],
          },
        },
        namespace,
        "db",
      ),
    ).toEqual({
      namespace,
      name: "db",
      targetSecret: "db-secret",
      refreshTime: "2025-03-01T12:00:00Z",
      syncedResourceVersion: "1-abc",
      ready: false,
      message: "no",
    });
  });

  it("defaults the target to the ExternalSecret's name and reads a status not yet written as not ready", () => {
    expect(toExternalSecretStatus({ metadata: { name: "db" }, spec: {} }, namespace, "db")).toEqual({
      namespace,
      name: "db",
      targetSecret: "db",
      ready: false,
    });
  });

  it("answers ValidationError for something that is not an ExternalSecret", () => {
    expect(() => toExternalSecretStatus({ kind: "Status" }, namespace, "db")).toThrow(ValidationError);
  });
});

describe("toDeploymentStatus", () => {
  it("reads counts the controller has not reported (the API omits zeros) as 0", () => {
    expect(
      toDeploymentStatus(
        {
          metadata: { generation: 4 },
          spec: {
            replicas: 3,
            selector: {},
            template: { metadata: { annotations: { [restartedAtAnnotation]: "2025-03-01T12:00:00Z" } } },
          },
          status: { observedGeneration: 4, updatedReplicas: 1 },
        },
        namespace,
        "checkout",
      ),
    ).toEqual({
      namespace,
      name: "checkout",
      generation: 4,
      observedGeneration: 4,
      replicas: 3,
      updatedReplicas: 1,
      readyReplicas: 0,
      availableReplicas: 0,
      restartedAt: "2025-03-01T12:00:00Z",
    });
  });
});

describe("hashSecretData", () => {
  it("depends on keys and values, not on their order", () => {
    const hash = hashSecretData({ a: "MQ==", b: "Mg==" });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecretData({ b: "Mg==", a: "MQ==" })).toBe(hash);
    expect(hashSecretData({ a: "Mg==", b: "MQ==" })).not.toBe(hash);
    expect(hashSecretData({ a: "MQ==" })).not.toBe(hash);
  });
});

// The WorkloadTarget port on the Kubernetes API: ExternalSecrets force-synced, Secrets hashed, Deployments restarted.

import { createHash } from "node:crypto";
import {
  AppsV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from "@kubernetes/client-node";
import { z } from "zod";
import { TransientError, ValidationError } from "../../core/errors.ts";
import type { DeploymentStatus, ExternalSecretStatus, WorkloadTarget } from "../../core/ports.ts";
import {
  defaultRequestTimeoutMs,
  isNotFound,
  lenientString,
  parseKubernetesObject,
  requestOptionsFor,
  toSwitchyardError,
} from "./kubernetes-client.ts";

/** External Secrets Operator's ExternalSecret CRD: `externalsecrets.external-secrets.io/v1`, namespaced. */
export const externalSecretResource = {
  group: "external-secrets.io",
  version: "v1",
  plural: "externalsecrets",
  kind: "ExternalSecret",
} as const;

/**
 * The annotation ESO's docs set to re-sync now (`kubectl annotate es x force-sync=$(date +%s) --overwrite`). Any
 * change to an ExternalSecret's labels or annotations makes the operator re-read the provider; this is the one
 * everybody uses.
 */
export const forceSyncAnnotation = "force-sync";

/** What `kubectl rollout restart` sets on the pod template, to the current time (RFC 3339). */
export const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

/** `spec.replicas` when absent: the API server defaults it, so only a hand-made object lacks it. */
const defaultReplicas = 1;

const externalSecretSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z
    .object({ target: z.object({ name: lenientString }).optional().catch(undefined) })
    .optional()
    .catch(undefined),
  status: z
    .object({
      refreshTime: lenientString,
      syncedResourceVersion: lenientString,
      conditions: z
        .array(z.object({ type: lenientString, status: lenientString, message: lenientString }))
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
});

/**
 * Maps an ExternalSecret as the API server returns it to the port's `ExternalSecretStatus`: the target Secret
 * defaults to the ExternalSecret's own name (as ESO defaults it), `ready` is the `Ready` condition being "True".
 *
 * @example
 * toExternalSecretStatus(await api.getNamespacedCustomObject({ ... }), "checkout", "checkout-db").ready // true
 */
export const toExternalSecretStatus = (
  object: unknown,
  namespace: string,
  name: string,
): ExternalSecretStatus => {
  const { spec, status } = parseKubernetesObject(
    externalSecretSchema,
    object,
    "an ExternalSecret",
    namespace,
    name,
  );
  const ready = status?.conditions?.find((condition) => condition.type === "Ready");
  return {
    namespace,
    name,
    targetSecret: spec?.target?.name ?? name,
    ...(status?.refreshTime !== undefined && { refreshTime: status.refreshTime }),
    ...(status?.syncedResourceVersion !== undefined && {
      syncedResourceVersion: status.syncedResourceVersion,
    }),
    ready: ready?.status === "True",
    ...(ready?.message !== undefined && { message: ready.message }),
  };
};

/**
 * Maps a Deployment to the port's `DeploymentStatus`, as `kubectl rollout status` reads it. Counts the controller
 * has not reported are 0 (the API omits zeros).
 *
 * @example
 * toDeploymentStatus(await apps.readNamespacedDeployment({ namespace, name }), namespace, name).updatedReplicas // 3
 */
export const toDeploymentStatus = (
  deployment: V1Deployment,
  namespace: string,
  name: string,
): DeploymentStatus => {
  const restartedAt = deployment.spec?.template?.metadata?.annotations?.[restartedAtAnnotation];
  const status = deployment.status;
  return {
    namespace,
    name,
    generation: deployment.metadata?.generation ?? 0,
    observedGeneration: status?.observedGeneration ?? 0,
    replicas: deployment.spec?.replicas ?? defaultReplicas,
    updatedReplicas: status?.updatedReplicas ?? 0,
    readyReplicas: status?.readyReplicas ?? 0,
    availableReplicas: status?.availableReplicas ?? 0,
    ...(restartedAt !== undefined && { restartedAt }),
  };
};

/**
 * SHA-256 (hex) over a Secret's `data` as the API returns it: one `key=<base64 value>` line per key, keys sorted.
 * Secret keys are `[-._a-zA-Z0-9]+` and base64 has neither `=` inside nor newlines, so the lines are unambiguous.
 *
 * @example
 * hashSecretData({ password: "czNjcjN0" }) // "ef5fd2136f5ef3186a826c2fbe147f2b1136f8cf536bdff97bc398e70deb0824"
 */
export const hashSecretData = (data: Readonly<Record<string, string>>): string => {
  const hash = createHash("sha256");
  for (const key of Object.keys(data).sort()) hash.update(`${key}=${data[key]}\n`);
  return hash.digest("hex");
};

export interface KubernetesWorkloadTargetOptions {
  /** Per-request timeout. Default `defaultRequestTimeoutMs`. */
  requestTimeoutMs?: number;
}

/**
 * ExternalSecrets, Secrets and Deployments through the Kubernetes API, written exactly as the usual tools write
 * them: a force-sync is the `force-sync` annotation (JSON merge patch, as `kubectl annotate`), a restart is the
 * pod template's `kubectl.kubernetes.io/restartedAt` (strategic merge patch, as `kubectl rollout restart`). A
 * Secret's value never leaves `secretDataHash` and is never logged. 404 → `NotFoundError` (a missing Secret is
 * `undefined`); 408/409/429/5xx and no answer → `TransientError`; other refusals → `ValidationError`. Works the
 * same against EKS and the local simulated cluster.
 *
 * @example
 * const workloads = new KubernetesWorkloadTarget(kubeConfigFor(cluster.access));
 * await workloads.forceSyncExternalSecret("checkout", "checkout-db", new Date().toISOString());
 * await workloads.restartDeployment("checkout", "checkout", new Date().toISOString());
 */
export class KubernetesWorkloadTarget implements WorkloadTarget {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly requestOptions: ConfigurationOptions<ObservableMiddleware>;

  constructor(kubeConfig: KubeConfig, options: KubernetesWorkloadTargetOptions = {}) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.requestOptions = requestOptionsFor(options.requestTimeoutMs ?? defaultRequestTimeoutMs);
  }

  async getExternalSecret(namespace: string, name: string): Promise<ExternalSecretStatus> {
    const object = await this.call(`read ExternalSecret ${namespace}/${name}`, () =>
      this.custom.getNamespacedCustomObject(
        { ...externalSecretResource, namespace, name },
        this.requestOptions,
      ),
    );
    return toExternalSecretStatus(object, namespace, name);
  }

  async forceSyncExternalSecret(namespace: string, name: string, value: string): Promise<void> {
    await this.call(`force-sync ExternalSecret ${namespace}/${name}`, () =>
      this.custom.patchNamespacedCustomObject(
        {
          ...externalSecretResource,
          namespace,
          name,
          body: { metadata: { annotations: { [forceSyncAnnotation]: value } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch, this.requestOptions),
      ),
    );
  }

  async secretDataHash(namespace: string, name: string): Promise<string | undefined> {
    const what = `read Secret ${namespace}/${name}`;
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name }, this.requestOptions);
      return hashSecretData(secret.data ?? {});
    } catch (error) {
      if (isNotFound(error)) return undefined;
      // A body that failed to parse is the Secret itself, and JSON.parse quotes the text it chokes on.
      if (error instanceof SyntaxError) throw new TransientError(`${what}: the answer could not be parsed`);
      throw toSwitchyardError(error, what);
    }
  }

  async restartDeployment(namespace: string, name: string, at: string): Promise<void> {
    const deployment = await this.readDeployment(namespace, name);
    if (deployment.spec?.paused === true) {
      // kubectl refuses too: a paused Deployment would take the new template and never roll it out.
      throw new ValidationError(
        `restart Deployment ${namespace}/${name}: the Deployment is paused (resume the rollout first)`,
      );
    }
    await this.call(`restart Deployment ${namespace}/${name}`, () =>
      this.apps.patchNamespacedDeployment(
        {
          namespace,
          name,
          body: { spec: { template: { metadata: { annotations: { [restartedAtAnnotation]: at } } } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch, this.requestOptions),
      ),
    );
  }

  async getDeployment(namespace: string, name: string): Promise<DeploymentStatus> {
    return toDeploymentStatus(await this.readDeployment(namespace, name), namespace, name);
  }

  private readDeployment(namespace: string, name: string): Promise<V1Deployment> {
    return this.call(`read Deployment ${namespace}/${name}`, () =>
      this.apps.readNamespacedDeployment({ namespace, name }, this.requestOptions),
    );
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toSwitchyardError(error, what);
    }
  }
}

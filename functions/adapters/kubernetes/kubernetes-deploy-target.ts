// The DeployTarget port on the Kubernetes API: Argo CD Applications read, refreshed and synced through their CRD.

import {
  type ConfigurationOptions,
  CustomObjectsApi,
  type KubeConfig,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { z } from "zod";
import { TransientError } from "../../core/errors.ts";
import type { ApplicationStatus, DeployTarget } from "../../core/ports.ts";
import {
  defaultRequestTimeoutMs,
  isConflict,
  lenientString,
  parseKubernetesObject,
  requestOptionsFor,
  toSwitchyardError,
} from "./kubernetes-client.ts";

// Existing importers reach the shared client setup through this module.
export { type ClusterAccess, defaultRequestTimeoutMs, kubeConfigFor } from "./kubernetes-client.ts";

/** Argo CD's Application CRD: `applications.argoproj.io/v1alpha1`, namespaced. */
export const argoApplicationResource = {
  group: "argoproj.io",
  version: "v1alpha1",
  plural: "applications",
  kind: "Application",
} as const;

/** Set to "normal" or "hard" to make the application controller re-read git now; the controller removes it. */
export const refreshAnnotation = "argocd.argoproj.io/refresh";

/** Who Argo CD's sync history says started a sync, as `initiatedBy.username`. */
export const defaultSyncInitiator = "switchyard";

/** Tries at setting `operation` when another writer changes the Application between read and write. */
export const maxSyncAttempts = 3;

const syncStatuses = ["Synced", "OutOfSync", "Unknown"] as const;
const healthStatuses = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"] as const;
const operationPhases = ["Running", "Succeeded", "Failed", "Error", "Terminating"] as const;

const applicationSchema = z.object({
  metadata: z.object({
    name: z.string(),
    resourceVersion: lenientString,
  }),
  spec: z
    .object({
      syncPolicy: z
        .object({
          syncOptions: z.array(z.string()).optional().catch(undefined),
          retry: z.record(z.string(), z.unknown()).optional().catch(undefined),
        })
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
  operation: z.unknown().optional(),
  status: z
    .object({
      sync: z.object({ status: lenientString, revision: lenientString }).optional().catch(undefined),
      health: z.object({ status: lenientString, message: lenientString }).optional().catch(undefined),
      reconciledAt: lenientString,
      operationState: z
        .object({
          phase: lenientString,
          message: lenientString,
          syncResult: z.object({ revision: lenientString }).optional().catch(undefined),
          operation: z
            .object({ sync: z.object({ revision: lenientString }).optional().catch(undefined) })
            .optional()
            .catch(undefined),
          startedAt: lenientString,
          finishedAt: lenientString,
        })
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
});

type ApplicationObject = z.infer<typeof applicationSchema>;

const oneOf = <T extends string>(allowed: readonly T[], value: string | undefined): T | undefined =>
  allowed.find((candidate) => candidate === value);

const parseApplication = (object: unknown, namespace: string, name: string): ApplicationObject =>
  parseKubernetesObject(applicationSchema, object, "an Application", namespace, name);

/**
 * Maps an Application object as the API server returns it to the port's `ApplicationStatus`. Missing parts
 * stay absent, statuses Argo CD may add later read as "Unknown", and an operation phase this code does not know
 * is left out rather than guessed.
 *
 * @example
 * toApplicationStatus(await api.getNamespacedCustomObject({ ... }), "argocd", "checkout-staging").syncStatus // "Synced"
 */
export const toApplicationStatus = (object: unknown, namespace: string, name: string): ApplicationStatus => {
  const { status } = parseApplication(object, namespace, name);
  const operationState = status?.operationState;
  const phase = oneOf(operationPhases, operationState?.phase);
  const revision = operationState?.syncResult?.revision ?? operationState?.operation?.sync?.revision;
  return {
    namespace,
    name,
    syncStatus: oneOf(syncStatuses, status?.sync?.status) ?? "Unknown",
    ...(status?.sync?.revision !== undefined && { syncRevision: status.sync.revision }),
    healthStatus: oneOf(healthStatuses, status?.health?.status) ?? "Unknown",
    ...(status?.health?.message !== undefined && { healthMessage: status.health.message }),
    ...(status?.reconciledAt !== undefined && { reconciledAt: status.reconciledAt }),
    ...(operationState !== undefined &&
      phase !== undefined && {
        operation: {
          phase,
          ...(operationState.message !== undefined && { message: operationState.message }),
          ...(revision !== undefined && { revision }),
          ...(operationState.startedAt !== undefined && { startedAt: operationState.startedAt }),
          ...(operationState.finishedAt !== undefined && { finishedAt: operationState.finishedAt }),
        },
      }),
  };
};

export interface KubernetesDeployTargetOptions {
  /** `operation.initiatedBy.username` of the syncs this target starts. Default `switchyard`. */
  username?: string;
  /** Per-request timeout. Default `defaultRequestTimeoutMs`. */
  requestTimeoutMs?: number;
}

/**
 * Argo CD Applications through the Kubernetes API, exactly as the Argo CD CLI and API server leave them: a
 * refresh is the `argocd.argoproj.io/refresh` annotation, a sync is the Application's `operation` field (set only
 * when no other operation runs, with the resourceVersion read as precondition). 404 → `NotFoundError`;
 * 408/409/429/5xx and no answer → `TransientError`; other refusals → `ValidationError`. Works the same against
 * EKS and the local simulated cluster.
 *
 * @example
 * const target = new KubernetesDeployTarget(kubeConfigFor({ server, caData, token: () => tokens.getToken() }));
 * await target.refreshApplication("argocd", "checkout-staging");
 * const status = await target.getApplication("argocd", "checkout-staging");
 */
export class KubernetesDeployTarget implements DeployTarget {
  private readonly api: CustomObjectsApi;
  private readonly username: string;
  private readonly requestOptions: ConfigurationOptions<ObservableMiddleware>;

  constructor(kubeConfig: KubeConfig, options: KubernetesDeployTargetOptions = {}) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.username = options.username ?? defaultSyncInitiator;
    this.requestOptions = requestOptionsFor(options.requestTimeoutMs ?? defaultRequestTimeoutMs);
  }

  async getApplication(namespace: string, name: string): Promise<ApplicationStatus> {
    return toApplicationStatus(await this.read(namespace, name), namespace, name);
  }

  async refreshApplication(
    namespace: string,
    name: string,
    mode: "normal" | "hard" = "normal",
  ): Promise<void> {
    await this.mergePatch(
      namespace,
      name,
      { metadata: { annotations: { [refreshAnnotation]: mode } } },
      "refresh",
    );
  }

  async syncApplication(
    namespace: string,
    name: string,
    options: { revision?: string; prune?: boolean } = {},
  ): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const current = parseApplication(await this.read(namespace, name), namespace, name);
      if (current.operation !== undefined && current.operation !== null) {
        // What Argo CD's API server answers too: one operation at a time; this one will end.
        throw new TransientError(
          `sync Argo CD Application ${namespace}/${name}: another operation is in progress`,
        );
      }
      const syncPolicy = current.spec?.syncPolicy;
      const patch = {
        // The resourceVersion read above makes the write fail (409) if anything changed since, e.g. an auto-sync.
        metadata: {
          ...(current.metadata.resourceVersion !== undefined && {
            resourceVersion: current.metadata.resourceVersion,
          }),
        },
        operation: {
          initiatedBy: { username: this.username },
          sync: {
            ...(options.revision !== undefined && { revision: options.revision }),
            prune: options.prune ?? false,
            ...(syncPolicy?.syncOptions !== undefined && { syncOptions: syncPolicy.syncOptions }),
            syncStrategy: { hook: {} },
          },
          ...(syncPolicy?.retry !== undefined && { retry: syncPolicy.retry }),
        },
        // The API server clears the previous result too, so a reader never takes the old outcome for this one.
        status: { operationState: null },
      };
      try {
        await this.mergePatch(namespace, name, patch, "sync", { rethrowConflict: true });
        return;
      } catch (error) {
        if (!isConflict(error) || attempt >= maxSyncAttempts) {
          throw toSwitchyardError(error, `sync Argo CD Application ${namespace}/${name}`);
        }
      }
    }
  }

  private async read(namespace: string, name: string): Promise<unknown> {
    try {
      return await this.api.getNamespacedCustomObject(
        { ...argoApplicationResource, namespace, name },
        this.requestOptions,
      );
    } catch (error) {
      throw toSwitchyardError(error, `read Argo CD Application ${namespace}/${name}`);
    }
  }

  private async mergePatch(
    namespace: string,
    name: string,
    body: object,
    action: string,
    options: { rethrowConflict?: boolean } = {},
  ): Promise<void> {
    try {
      await this.api.patchNamespacedCustomObject(
        { ...argoApplicationResource, namespace, name, body },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch, this.requestOptions),
      );
    } catch (error) {
      if (options.rethrowConflict === true && isConflict(error)) throw error;
      throw toSwitchyardError(error, `${action} Argo CD Application ${namespace}/${name}`);
    }
  }
}

// The DeployTarget port on the Kubernetes API: Argo CD Applications read, refreshed and synced through their CRD.

import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { z } from "zod";
import { NotFoundError, SwitchyardError, TransientError, ValidationError } from "../../core/errors.ts";
import type { ApplicationStatus, DeployTarget } from "../../core/ports.ts";

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

/** A request to the API server that has not answered by then is abandoned (and reported as transient). */
export const defaultRequestTimeoutMs = 15_000;

/** Tries at setting `operation` when another writer changes the Application between read and write. */
export const maxSyncAttempts = 3;

const syncStatuses = ["Synced", "OutOfSync", "Unknown"] as const;
const healthStatuses = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"] as const;
const operationPhases = ["Running", "Succeeded", "Failed", "Error", "Terminating"] as const;

/** A field that is absent or of the wrong type reads as absent: Argo CD owns the status and may add to it. */
const lenientString = z.string().optional().catch(undefined);

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

const parseApplication = (object: unknown, namespace: string, name: string): ApplicationObject => {
  const parsed = applicationSchema.safeParse(object);
  if (!parsed.success) {
    throw new ValidationError(
      `the Kubernetes API returned something that is not an Application for ${namespace}/${name}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
};

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

const conflictStatus = 409;
const notFoundStatus = 404;
const requestTimeoutStatus = 408;
const tooManyRequestsStatus = 429;
const firstServerErrorStatus = 500;

/** The `message` of a Kubernetes `Status` body: the server's own words, safe to repeat (it never holds our token). */
const statusMessage = (body: unknown): string | undefined => {
  const parsed = typeof body === "string" ? safeJson(body) : body;
  const message = (parsed as { message?: unknown } | null | undefined)?.message;
  return typeof message === "string" ? message : undefined;
};

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const isConflict = (error: unknown): boolean =>
  error instanceof ApiException && error.code === conflictStatus;

/** Maps what the client throws to a Switchyard error: retryable when waiting can help, terminal otherwise. */
const toSwitchyardError = (error: unknown, what: string): Error => {
  if (error instanceof SwitchyardError) return error;
  if (error instanceof ApiException) {
    const code = error.code;
    const detail = statusMessage(error.body);
    const message = `${what}: the Kubernetes API answered ${code}${detail === undefined ? "" : ` (${detail})`}`;
    if (code === notFoundStatus) return new NotFoundError(`${what}: not found`, { cause: error });
    if (
      code === conflictStatus ||
      code === requestTimeoutStatus ||
      code === tooManyRequestsStatus ||
      code >= firstServerErrorStatus
    ) {
      return new TransientError(message, { cause: error });
    }
    // 400, 401, 403, 415, 422: the request or the credentials are wrong, and retrying will not fix them.
    return new ValidationError(message, { cause: error });
  }
  // No answer at all (connection refused, reset, timed out) or the token could not be obtained.
  return new TransientError(`${what}: the Kubernetes API could not be reached`, { cause: error });
};

/** Aborts a request that outlives `timeoutMs`, so a hung API server cannot hold a Lambda until its own timeout. */
const timeoutMiddleware = (timeoutMs: number): ObservableMiddleware => ({
  pre: (context) => {
    context.setSignal(AbortSignal.timeout(timeoutMs));
    return new Observable(Promise.resolve(context));
  },
  post: (response) => new Observable(Promise.resolve(response)),
});

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
  private readonly requestOptions: { middleware: ObservableMiddleware[]; middlewareMergeStrategy: "append" };

  constructor(kubeConfig: KubeConfig, options: KubernetesDeployTargetOptions = {}) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.username = options.username ?? defaultSyncInitiator;
    this.requestOptions = {
      middleware: [timeoutMiddleware(options.requestTimeoutMs ?? defaultRequestTimeoutMs)],
      middlewareMergeStrategy: "append",
    };
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

/** How to reach one cluster's API server. */
export interface ClusterAccess {
  /** `https://…` (EKS) or `http://127.0.0.1:…` (the simulated cluster, which needs `skipTLSVerify: true`). */
  server: string;
  /** The cluster CA bundle as base64 PEM (DescribeCluster's `certificateAuthority.data`). */
  caData?: string;
  /** client-node refuses plain `http://` unless this is set. Never set it for a real cluster. */
  skipTLSVerify?: boolean;
  /** Called for every request; must cache (an EKS token is good for a minute, signing one is cheap). */
  token: () => Promise<string>;
}

/** The kubeconfig user's auth-provider name this module answers for; no built-in authenticator claims it. */
const bearerTokenAuthProvider = "switchyard-bearer-token";
const contextName = "switchyard";

/**
 * A `KubeConfig` for one cluster whose bearer token is asked from `token()` on every request, through a custom
 * client-node `Authenticator`, so an expiring token (EKS) is replaced without rebuilding the client.
 *
 * @example
 * const kubeConfig = kubeConfigFor({ server, caData, token: () => tokens.getToken() });
 * const target = new KubernetesDeployTarget(kubeConfig);
 */
export const kubeConfigFor = (access: ClusterAccess): KubeConfig => {
  const kubeConfig = new KubeConfig();
  kubeConfig.addAuthenticator({
    isAuthProvider: (user) =>
      (user.authProvider as { name?: unknown } | undefined)?.name === bearerTokenAuthProvider,
    applyAuthentication: async (_user, requestOptions) => {
      const token = await access.token();
      requestOptions.headers = { ...requestOptions.headers, Authorization: `Bearer ${token}` };
    },
  });
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: contextName,
        server: access.server,
        ...(access.caData !== undefined && { caData: access.caData }),
        skipTLSVerify: access.skipTLSVerify ?? false,
      },
    ],
    users: [{ name: contextName, authProvider: { name: bearerTokenAuthProvider, config: {} } }],
    contexts: [{ name: contextName, cluster: contextName, user: contextName }],
    currentContext: contextName,
  });
  return kubeConfig;
};

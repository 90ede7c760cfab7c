// What every Kubernetes adapter shares: the kubeconfig for one cluster, request options, lenient parsing, error mapping.

import {
  ApiException,
  type ConfigurationOptions,
  KubeConfig,
  Observable,
  type ObservableMiddleware,
} from "@kubernetes/client-node";
import { z } from "zod";
import { NotFoundError, SwitchyardError, TransientError, ValidationError } from "../../core/errors.ts";

/** A request to the API server that has not answered by then is abandoned (and reported as transient). */
export const defaultRequestTimeoutMs = 15_000;

const conflictStatus = 409;
const notFoundStatus = 404;
const requestTimeoutStatus = 408;
const tooManyRequestsStatus = 429;
const firstServerErrorStatus = 500;

/** A field that is absent or of the wrong type reads as absent: controllers own the status and may add to it. */
export const lenientString = z.string().optional().catch(undefined);

/**
 * Parses what the API server returned with a controller-tolerant schema; a `ValidationError` naming the kind and
 * object when even that does not fit (the server answered with something else entirely).
 *
 * @example
 * const { status } = parseKubernetesObject(applicationSchema, object, "an Application", "argocd", "checkout-staging");
 */
export const parseKubernetesObject = <T>(
  schema: z.ZodType<T>,
  object: unknown,
  kind: string,
  namespace: string,
  name: string,
): T => {
  const parsed = schema.safeParse(object);
  if (!parsed.success) {
    throw new ValidationError(
      `the Kubernetes API returned something that is not ${kind} for ${namespace}/${name}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
};

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

/**
 * Whether the client failed with this HTTP status.
 *
 * @example
 * if (hasStatus(error, 404)) return undefined;
 */
export const hasStatus = (error: unknown, code: number): boolean =>
  error instanceof ApiException && error.code === code;

/**
 * Whether the write lost to a concurrent one (409): re-read and try again.
 *
 * @example
 * if (!isConflict(error) || attempt >= maxAttempts) throw toSwitchyardError(error, "sync");
 */
export const isConflict = (error: unknown): boolean => hasStatus(error, conflictStatus);

/**
 * Whether the object the request names does not exist (404).
 *
 * @example
 * if (isNotFound(error)) return undefined;
 */
export const isNotFound = (error: unknown): boolean => hasStatus(error, notFoundStatus);

/**
 * Maps what the client throws to a Switchyard error: 404 → `NotFoundError`; 408/409/429/5xx and no answer →
 * `TransientError` (waiting can help); other refusals (400, 401, 403, 415, 422) → `ValidationError`.
 *
 * @example
 * throw toSwitchyardError(error, `read Argo CD Application ${namespace}/${name}`);
 */
export const toSwitchyardError = (error: unknown, what: string): Error => {
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

/**
 * The per-call options every adapter passes: a timeout on each request, appended to the client's own middleware
 * (authentication), which must keep running.
 *
 * @example
 * await api.getNamespacedCustomObject(ref, requestOptionsFor(defaultRequestTimeoutMs));
 */
export const requestOptionsFor = (timeoutMs: number): ConfigurationOptions<ObservableMiddleware> => ({
  middleware: [timeoutMiddleware(timeoutMs)],
  middlewareMergeStrategy: "append",
});

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

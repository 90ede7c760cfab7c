// Kubernetes `Status` failures as the API server sends them, so clients see the same codes, reasons and bodies.

/** `metav1.StatusReason` values the simulated API server answers with. */
export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "NotFound"
  | "MethodNotAllowed"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "RequestEntityTooLarge"
  | "UnsupportedMediaType"
  | "InternalError";

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

/** The JSON body of a failed request (`kind: Status`, `apiVersion: v1`). */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

/**
 * A request the simulated API server refuses; `body` is what goes on the wire.
 *
 * @example
 * throw new KubernetesApiError(404, "NotFound", 'applications.argoproj.io "x" not found');
 */
export class KubernetesApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "KubernetesApiError";
  }

  get body(): StatusBody {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details !== undefined && { details: this.details }),
      code: this.code,
    };
  }
}

/** Identifies a resource type in messages: `applications.argoproj.io`, or `secrets` in the core group (""). */
export interface ResourceName {
  group: string;
  plural: string;
  kind: string;
}

const qualified = (resource: ResourceName): string =>
  resource.group === "" ? resource.plural : `${resource.plural}.${resource.group}`;

/** `Application.argoproj.io`, or just `Secret` for the core group, as kube-apiserver names a kind in 422s. */
const qualifiedKind = (resource: ResourceName): string =>
  resource.group === "" ? resource.kind : `${resource.kind}.${resource.group}`;

/** The `details` of a Status about one object; the core group is left out, as the API server omits it. */
const objectDetails = (resource: ResourceName, name: string, kind: string): StatusDetails => ({
  name,
  ...(resource.group !== "" && { group: resource.group }),
  kind,
});

/**
 * Status failures worded as kube-apiserver words them.
 *
 * @example
 * throw statusErrors.notFound({ group: "argoproj.io", plural: "applications", kind: "Application" }, "checkout-staging");
 */
export const statusErrors = {
  badRequest: (message: string) => new KubernetesApiError(400, "BadRequest", message),
  unauthorized: () => new KubernetesApiError(401, "Unauthorized", "Unauthorized"),
  pathNotFound: () =>
    new KubernetesApiError(404, "NotFound", "the server could not find the requested resource"),
  notFound: (resource: ResourceName, name: string) =>
    new KubernetesApiError(
      404,
      "NotFound",
      `${qualified(resource)} "${name}" not found`,
      objectDetails(resource, name, resource.plural),
    ),
  methodNotAllowed: (method: string) =>
    new KubernetesApiError(
      405,
      "MethodNotAllowed",
      `the server does not allow this method on the requested resource (${method})`,
    ),
  alreadyExists: (resource: ResourceName, name: string) =>
    new KubernetesApiError(
      409,
      "AlreadyExists",
      `${qualified(resource)} "${name}" already exists`,
      objectDetails(resource, name, resource.plural),
    ),
  conflict: (resource: ResourceName, name: string) =>
    new KubernetesApiError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualified(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      objectDetails(resource, name, resource.plural),
    ),
  invalid: (resource: ResourceName, name: string, causes: StatusCause[]) =>
    new KubernetesApiError(
      422,
      "Invalid",
      `${qualifiedKind(resource)} "${name}" is invalid: ${causes.map((c) => `${c.field ?? "<root>"}: ${c.message}`).join(", ")}`,
      { ...objectDetails(resource, name, resource.kind), causes },
    ),
  tooLarge: (limitBytes: number) =>
    new KubernetesApiError(
      413,
      "RequestEntityTooLarge",
      `the request body is larger than ${limitBytes} bytes`,
    ),
  unsupportedMediaType: (contentType: string, accepted: readonly string[]) =>
    new KubernetesApiError(
      415,
      "UnsupportedMediaType",
      `${contentType || "(no content type)"}: the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
    ),
  internal: () =>
    new KubernetesApiError(
      500,
      "InternalError",
      "an error on the server has prevented the request from succeeding",
    ),
} as const;

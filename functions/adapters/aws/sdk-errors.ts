// How AWS SDK errors are read by the adapters: by name, by HTTP status, and whether trying again may help.

const tooManyRequestsStatus = 429;
const firstServerErrorStatus = 500;

/**
 * The error's `name` (the service's exception name for SDK errors), or "" when it has none.
 *
 * @example if (sdkErrorName(error) === "DBSnapshotNotFoundFault") return undefined;
 */
export const sdkErrorName = (error: unknown): string => {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name : "";
};

/** The HTTP status the service answered with, when the error came from an answer. */
export const sdkHttpStatus = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;

/**
 * Whether a later attempt may well succeed: one of the service's throttling/busy exceptions (`names`), HTTP 429, or
 * a 5xx.
 *
 * @example if (isTransientSdkError(error, new Set(["ThrottlingException"]))) throw new TransientError(...);
 */
export const isTransientSdkError = (error: unknown, names: ReadonlySet<string>): boolean => {
  const status = sdkHttpStatus(error);
  return (
    names.has(sdkErrorName(error)) ||
    status === tooManyRequestsStatus ||
    (status !== undefined && status >= firstServerErrorStatus)
  );
};

// Error classes of the core: every error says whether retrying can help, and its `name` is what workflows match.

/** Base of every Switchyard error. `retryable` tells Step Functions `Retry` lists from `Catch` routes. */
export abstract class SwitchyardError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that can never succeed as given (a decision, not the world's fault). */
export class ValidationError extends SwitchyardError {
  readonly retryable = false;
}

/** switchyard.yaml (or another configuration source) is invalid; `issues` lists each problem with its location. */
export class ConfigError extends SwitchyardError {
  readonly retryable = false;

  constructor(
    message: string,
    readonly issues: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Something the request names does not exist. */
export class NotFoundError extends SwitchyardError {
  readonly retryable = false;
}

/** A dependency failed in a way that may pass (throttling, network, a lock held elsewhere). */
export class TransientError extends SwitchyardError {
  readonly retryable = true;
}

/** Domain events could not all be delivered to the bus; the caller must fail so the platform retries it. */
export class EventPublishError extends SwitchyardError {
  readonly retryable = true;

  constructor(
    message: string,
    readonly failures: readonly { detailType: string; errorCode: string; errorMessage: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A write lost a race it could not win by re-applying (the branch kept moving, a condition kept failing). */
export class ConflictError extends SwitchyardError {
  readonly retryable = true;
}

/**
 * The message of a failed workflow step, from the `Cause` Step Functions caught: a Lambda's Cause is JSON with the
 * message and the stack, so keep the message and never the stack; any other Cause is the message itself.
 *
 * @example
 * causeMessage('{"errorType":"ValidationError","errorMessage":"quota","trace":[]}'); // "quota"
 */
export const causeMessage = (cause: string): string => {
  try {
    const parsed: unknown = JSON.parse(cause);
    const message = (parsed as { errorMessage?: unknown } | null)?.errorMessage;
    return typeof message === "string" ? message : cause;
  } catch {
    return cause;
  }
};

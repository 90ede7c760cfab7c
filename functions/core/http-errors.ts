// Errors only a request at the API edge can cause: the HTTP error mapper gives each its own status.

import { SwitchyardError } from "./errors.ts";

/**
 * The request could not be authenticated (a missing or forged webhook signature). The message is safe to show:
 * it never carries the secret, the expected signature or the one received.
 *
 * @example throw new UnauthorizedError("X-Hub-Signature-256 does not match the request body");
 */
export class UnauthorizedError extends SwitchyardError {
  readonly retryable = false;
}

/**
 * The request is well-formed but larger than what Switchyard can pass on (an EventBridge entry holds 256 KB).
 *
 * @example throw new PayloadTooLargeError("The push event is 300000 bytes; the event bus accepts at most 262144");
 */
export class PayloadTooLargeError extends SwitchyardError {
  readonly retryable = false;
}

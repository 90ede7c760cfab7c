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

/**
 * The caller is known but may not do this (not a listed approver, approving their own change, a link token made for
 * another approval or person).
 *
 * @example throw new ForbiddenError("maria.lopez@example.com requested this change and cannot approve it");
 */
export class ForbiddenError extends SwitchyardError {
  readonly retryable = false;
}

/**
 * What the request names existed but is gone for good (an approval that expired).
 *
 * @example throw new GoneError("Approval 5e0c… expired at 2026-11-28T09:00:00Z");
 */
export class GoneError extends SwitchyardError {
  readonly retryable = false;
}

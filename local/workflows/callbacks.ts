// Task tokens of `.waitForTaskToken` Tasks: their format and the in-process waiters SendTask* calls wake up.

import { randomBytes } from "node:crypto";

const tokenBytes = 48;
/** base64url of `tokenBytes` random bytes. */
const tokenPattern = /^[A-Za-z0-9_-]{64}$/;

/** A fresh, unguessable task token. */
export const newTaskToken = (): string => randomBytes(tokenBytes).toString("base64url");

/** Whether a string has the shape of a token this runner issues (else SendTask* answers `InvalidToken`). */
export const isWellFormedToken = (token: string): boolean => tokenPattern.test(token);

/** How a waiting Task's callback ended. */
export type CallbackOutcome =
  | { status: "SUCCEEDED"; output: unknown }
  | { status: "FAILED"; error: string; cause: string };

interface Waiter {
  settle: (outcome: CallbackOutcome) => void;
  beat: () => void;
}

/**
 * The Tasks of this process currently waiting on a token. The durable truth is the token table; this only
 * wakes the waiting Task without polling.
 *
 * @example
 * const { outcome, release } = callbacks.wait(token, () => watchdog.beat());
 * callbacks.settle(token, { status: "SUCCEEDED", output: {} }); // `outcome` resolves
 */
export class CallbackRegistry {
  private readonly waiters = new Map<string, Waiter>();

  /** Registers a waiter; call `release` once the Task no longer waits. */
  wait(token: string, onHeartbeat: () => void): { outcome: Promise<CallbackOutcome>; release: () => void } {
    let settle!: (outcome: CallbackOutcome) => void;
    const outcome = new Promise<CallbackOutcome>((resolve) => {
      settle = resolve;
    });
    this.waiters.set(token, { settle, beat: onHeartbeat });
    return { outcome, release: () => this.waiters.delete(token) };
  }

  settle(token: string, outcome: CallbackOutcome): void {
    this.waiters.get(token)?.settle(outcome);
  }

  heartbeat(token: string): void {
    this.waiters.get(token)?.beat();
  }
}

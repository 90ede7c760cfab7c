// Timers for durations longer than Node's setTimeout allows, and sleeps an execution's stop can interrupt.

import { ExecutionCancelledError } from "./errors.ts";

/** Node fires a longer setTimeout at once (TimeoutOverflowWarning): 2^31 − 1 ms, about 24.8 days. */
export const maxTimerMs = 2 ** 31 - 1;

/** Cancels the timer; safe to call more than once. */
export type CancelTimer = () => void;

/**
 * Calls `fire` after `delayMs`, however long (Step Functions allows a year), by chaining timers.
 *
 * @example
 * const cancel = setLongTimeout(() => expire(), 30 * 24 * 3600 * 1000);
 */
export const setLongTimeout = (fire: () => void, delayMs: number): CancelTimer => {
  let handle: NodeJS.Timeout | undefined;
  const arm = (remainingMs: number): void => {
    const stepMs = Math.min(Math.max(remainingMs, 0), maxTimerMs);
    handle = setTimeout(() => (remainingMs > maxTimerMs ? arm(remainingMs - maxTimerMs) : fire()), stepMs);
  };
  arm(delayMs);
  return () => clearTimeout(handle);
};

/** A promise that rejects with `ExecutionCancelledError` once `signal` aborts (and never settles otherwise). */
export const whenAborted = (signal: AbortSignal): Promise<never> =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new ExecutionCancelledError());
    else signal.addEventListener("abort", () => reject(new ExecutionCancelledError()), { once: true });
  });

/** Waits `delayMs`, or rejects with `ExecutionCancelledError` as soon as `signal` aborts. */
export const sleep = (delayMs: number, signal: AbortSignal): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(new ExecutionCancelledError());
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(new ExecutionCancelledError());
    };
    const cancel = setLongTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal.addEventListener("abort", onAbort, { once: true });
  });

/** Lets every already-queued microtask run (the engine's event log is drained by microtasks). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

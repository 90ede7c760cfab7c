// The work queue behind every simulated controller: one pass per object at a time, always after the write that asked.

import type { Clock } from "../../functions/core/ports.ts";
import { KubernetesApiError } from "./kubernetes-status.ts";

/** Timer functions, injectable so tests can drive time. */
export interface SimulatorTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock and timers, for the local runtime. */
export const systemClock: Clock = { now: () => new Date() };
export const systemTimers: SimulatorTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * `namespace/name`, the key controllers index objects by.
 *
 * @example
 * objectKey("argocd", "checkout-staging") // "argocd/checkout-staging"
 */
export const objectKey = (namespace: string, name: string): string => `${namespace}/${name}`;

const isConflict = (error: unknown): boolean => error instanceof KubernetesApiError && error.code === 409;

export interface ReconcileQueueOptions {
  timers: SimulatorTimers;
  /** One pass over the object as it is now; it re-reads the store, so a pass is never stale. */
  reconcile: (namespace: string, name: string) => Promise<void>;
  /** Failures of a pass, other than a lost race (409), which the write that won has already queued again. */
  onError: (error: unknown, key: string) => void;
}

/**
 * Queues reconcile passes per object, as a controller's work queue does: asking again while a pass waits adds
 * nothing; a pass waits for the previous one on the same object and for at least a later tick, so it never runs
 * inside the store write that triggered it.
 *
 * @example
 * const queue = new ReconcileQueue({ timers, reconcile: (ns, name) => this.reconcile(ns, name), onError: report });
 * queue.enqueue("argocd", "checkout-staging");
 */
export class ReconcileQueue {
  private readonly queued = new Set<string>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly options: ReconcileQueueOptions) {}

  /** Queues a pass over the object after `delayMs` (default 0: a later tick). */
  enqueue(namespace: string, name: string, delayMs = 0): void {
    const key = objectKey(namespace, name);
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => new Promise<void>((resolve) => this.options.timers.setTimeout(resolve, delayMs)))
      .then(() => {
        this.queued.delete(key);
        return this.options.reconcile(namespace, name);
      })
      .catch((error: unknown) => {
        if (!isConflict(error)) this.options.onError(error, key);
      });
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }
}

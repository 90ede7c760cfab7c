// The lifecycle every simulated controller shares: injected clock and timers, a watch, per-object timers, stop().

import type { Clock } from "../../functions/core/ports.ts";
import { kubernetesTime, type ObjectChange, type ObjectStore } from "./object-store.ts";
import { ReconcileQueue, type SimulatorTimers, systemClock, systemTimers } from "./reconcile-queue.ts";

/** The options every simulated controller takes. */
export interface SimulatedControllerOptions {
  clock?: Clock;
  timers?: SimulatorTimers;
  /** Where failures of the simulator itself go. */
  onError?: (error: unknown, object: string) => void;
}

/**
 * The part of a simulated controller that is not about its resource: its clock and timers (the system's unless
 * injected), a `ReconcileQueue` feeding `reconcile`, a watch on one store feeding `onChange`, one timer per object
 * at most, and `stop()`, after which no change, pass or timer acts. Failures go to `onError`, else to a process
 * warning that names the controller.
 *
 * @example
 * class PodSimulator extends SimulatedController {
 *   constructor(private readonly store: ObjectStore) {
 *     super("simulated kubelet", {});
 *   }
 *   start(): void {
 *     this.watch(this.store);
 *   }
 *   protected onChange({ object }: ObjectChange): void {
 *     this.queue.enqueue(object.metadata.namespace, object.metadata.name);
 *   }
 *   protected reconcile(namespace: string, name: string): void {
 *     this.after(objectKey(namespace, name), 1000, () => this.store.update(namespace, name, markReady));
 *   }
 * }
 */
export abstract class SimulatedController {
  protected readonly clock: Clock;
  protected readonly timers: SimulatorTimers;
  protected readonly queue: ReconcileQueue;
  protected stopped = false;
  private readonly onError: SimulatedControllerOptions["onError"];
  private readonly objectTimers = new Map<string, unknown>();
  private unsubscribe: (() => void) | undefined;

  /** `label` names the controller in process warnings, e.g. "simulated Argo CD". */
  constructor(
    private readonly label: string,
    options: SimulatedControllerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.onError = options.onError;
    this.queue = new ReconcileQueue({
      timers: this.timers,
      reconcile: (namespace, name) => Promise.resolve(this.reconcile(namespace, name)),
      onError: (error, key) => this.report(error, key),
    });
  }

  /** Stops reacting: changes are ignored and every per-object timer is cleared. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const handle of this.objectTimers.values()) this.timers.clearTimeout(handle);
    this.objectTimers.clear();
  }

  /** A change to an object of the watched store, while not stopped. */
  protected abstract onChange(change: ObjectChange): void;

  /** One pass over an object the queue was asked about; it re-reads the store. */
  protected abstract reconcile(namespace: string, name: string): void | Promise<void>;

  /** Starts reacting to the writes to `store`. */
  protected watch(store: ObjectStore): void {
    this.unsubscribe = store.subscribe((change) => {
      if (!this.stopped) this.onChange(change);
    });
  }

  protected now(): string {
    return kubernetesTime(this.clock.now());
  }

  /**
   * Calls `callback` after `delayMs` unless stopped first, as the object's timer; a failure, thrown or rejected, is
   * reported. It does not clear a timer the object already has: `cancel` does.
   */
  protected after(key: string, delayMs: number, callback: () => void | Promise<void>): void {
    const handle = this.timers.setTimeout(() => {
      this.objectTimers.delete(key);
      if (this.stopped) return;
      try {
        void Promise.resolve(callback()).catch((error: unknown) => this.report(error, key));
      } catch (error) {
        this.report(error, key);
      }
    }, delayMs);
    this.objectTimers.set(key, handle);
  }

  /** Clears the object's timer, if it has one. */
  protected cancel(key: string): void {
    const handle = this.objectTimers.get(key);
    if (handle !== undefined) this.timers.clearTimeout(handle);
    this.objectTimers.delete(key);
  }

  /** Whether the object's timer is still to fire. */
  protected hasTimer(key: string): boolean {
    return this.objectTimers.has(key);
  }

  protected report(error: unknown, object: string): void {
    if (this.onError !== undefined) this.onError(error, object);
    else
      process.emitWarning(
        `${this.label} failed on ${object}: ${error instanceof Error ? error.message : String(error)}`,
      );
  }
}

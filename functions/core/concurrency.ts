// Concurrency helpers of the writers: a keyed async mutex, backoff with jitter, and the optimistic re-apply loop.

import { ConflictError, TransientError } from "./errors.ts";

/** Waits; injected so tests can run retries without real delays. */
export type Sleep = (delayMs: number) => Promise<void>;

/** The real wait, on a timer. */
export const timerSleep: Sleep = (delayMs) => new Promise((resolve) => setTimeout(resolve, delayMs));

/** How often and how patiently an operation is retried. */
export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  /** The ceiling of the first retry's delay; each later retry doubles it. */
  baseDelayMs: number;
  /** No single delay ceiling grows past this. */
  maxDelayMs?: number;
}

/** The pieces a retry loop takes from its caller, so tests control time and chance. */
export interface RetryTools {
  sleep?: Sleep;
  /** A number in [0, 1), as `Math.random`. */
  random?: () => number;
}

const defaultMaxDelayMs = 5_000;

/**
 * The delay before retry number `retry` (0 for the first retry): "full jitter", a uniform pick below an exponentially
 * growing ceiling, so writers that collided once spread out instead of colliding again in lockstep.
 *
 * @example
 * backoffDelayMs({ attempts: 5, baseDelayMs: 100 }, 2, () => 0.5) // 200: half of 100 * 2^2
 */
export const backoffDelayMs = (
  policy: RetryPolicy,
  retry: number,
  random: () => number = Math.random,
): number => {
  const ceilingMs = Math.min(policy.maxDelayMs ?? defaultMaxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceilingMs);
};

/**
 * Runs tasks one at a time per key, in arrival order; different keys run in parallel. It keeps writers in one process
 * from racing each other for the same branch, which would only waste their retries.
 *
 * @example
 * const locks = new KeyedMutex();
 * await locks.run("acme/gitops#main", () => commitSomething());
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release = () => {};
    const turn = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => turn);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** How a failed call should be retried: not at all (undefined), or after the backoff or the delay the server asked for. */
export type TransientVerdict = undefined | { retryAfterMs?: number };

/**
 * Retries a call that failed for a reason that may pass (a 5xx, throttling), with backoff and jitter. A failure
 * `classify` calls permanent is rethrown as it is; running out of attempts throws `TransientError` with the last failure
 * as its cause, so a workflow's `Retry` can take over with longer waits.
 *
 * @example
 * const ref = await retryTransient("GET ref", () => octokit.rest.git.getRef(args), {
 *   policy: { attempts: 4, baseDelayMs: 200 },
 *   classify: (error) => (status(error) >= 500 ? {} : undefined),
 * });
 */
export const retryTransient = async <T>(
  what: string,
  task: () => Promise<T>,
  options: RetryTools & { policy: RetryPolicy; classify: (error: unknown) => TransientVerdict },
): Promise<T> => {
  const { policy, classify, sleep = timerSleep, random = Math.random } = options;
  const maxDelayMs = policy.maxDelayMs ?? defaultMaxDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      const verdict = classify(error);
      if (verdict === undefined) throw error;
      const delayMs = verdict.retryAfterMs ?? backoffDelayMs(policy, attempt - 1, random);
      if (attempt >= policy.attempts || delayMs > maxDelayMs) {
        throw new TransientError(
          `${what} failed ${attempt} time(s); the last failure may pass on a later try`,
          {
            cause: error,
          },
        );
      }
      await sleep(delayMs);
    }
  }
};

/** A document at one version of the store that holds it (a file at a commit). */
export interface VersionedContent {
  version: string;
  /** Undefined when the document does not exist at that version. */
  content: string | undefined;
}

/** What one optimistic write did: became the new version, or lost the race to a concurrent writer. */
export type WriteOutcome = { written: string } | { conflict: unknown };

/** What `editOptimistically` did. */
export interface OptimisticEditResult {
  /** The version written, or the version the edit found nothing to change at. */
  version: string;
  changed: boolean;
  previous: string | undefined;
  /** How many times the edit was re-applied because the version moved under it. */
  conflicts: number;
}

/**
 * Read, edit, compare-and-swap, and on a lost race re-read and re-apply the edit on what the other writer left, after a
 * backoff: no update is lost and none is forced over another. An edit that returns undefined or the same content
 * writes nothing. After `policy.attempts` lost races it throws `ConflictError`.
 *
 * @example
 * const result = await editOptimistically(
 *   { read: () => readAtHead(path), write: (snapshot, content) => commitAndMoveRef(snapshot, content) },
 *   (current) => `${current ?? ""}one more line\n`,
 *   { what: "envs/staging/checkout/values.yaml on main", policy: { attempts: 5, baseDelayMs: 50 } },
 * );
 */
export const editOptimistically = async <TSnapshot extends VersionedContent>(
  steps: {
    read(): Promise<TSnapshot>;
    write(snapshot: TSnapshot, content: string): Promise<WriteOutcome>;
  },
  edit: (current: string | undefined) => string | undefined,
  options: RetryTools & { what: string; policy: RetryPolicy },
): Promise<OptimisticEditResult> => {
  const { policy, what, sleep = timerSleep, random = Math.random } = options;
  let lastConflict: unknown;
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    if (attempt > 0) await sleep(backoffDelayMs(policy, attempt - 1, random));
    const snapshot = await steps.read();
    const next = edit(snapshot.content);
    if (next === undefined || next === snapshot.content) {
      return { version: snapshot.version, changed: false, previous: snapshot.content, conflicts: attempt };
    }
    const outcome = await steps.write(snapshot, next);
    if ("written" in outcome) {
      return { version: outcome.written, changed: true, previous: snapshot.content, conflicts: attempt };
    }
    lastConflict = outcome.conflict;
  }
  throw new ConflictError(`${what}: another writer moved it under each of ${policy.attempts} attempts`, {
    cause: lastConflict,
  });
};

// Task `Retry` policies, applied by the runner so each attempt knows its `$$.State.RetryCount`.

/** One retrier of a `Retry` field, as written in ASL. */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: "FULL" | "NONE";
}

// Step Functions' defaults for a retrier's omitted fields.
const defaultIntervalSeconds = 1;
const defaultMaxAttempts = 3;
const defaultBackoffRate = 2;

/** Errors no retrier may match (`States.ALL` included). */
const terminalErrors = new Set(["States.Runtime", "States.DataLimitExceeded"]);

const millisecondsPerSecond = 1000;

/**
 * Whether an `ErrorEquals` entry matches a Task's error, with Step Functions' two wildcards.
 *
 * @example
 * errorMatches("States.TaskFailed", "States.Timeout") // false
 */
export const errorMatches = (pattern: string, error: string): boolean => {
  if (terminalErrors.has(error)) return false;
  if (pattern === "States.ALL") return true;
  // States.TaskFailed stands for every Task error except a timeout.
  if (pattern === "States.TaskFailed") return error !== "States.Timeout";
  return pattern === error;
};

/**
 * The attempts made so far under each retrier of one Task entry. Step Functions uses the first retrier whose
 * `ErrorEquals` matches; once that retrier is exhausted the error goes to `Catch`, even if a later one matches.
 *
 * @example
 * const policy = new RetryPolicy(state.Retry ?? []);
 * const delayMs = policy.nextDelayMs("ConflictError"); // undefined: do not retry
 */
export class RetryPolicy {
  private readonly attempts: number[];

  constructor(
    private readonly retriers: readonly Retrier[],
    private readonly random: () => number = Math.random,
  ) {
    this.attempts = retriers.map(() => 0);
  }

  /** How long to wait before retrying after `error`, or `undefined` when the error must not be retried. */
  nextDelayMs(error: string): number | undefined {
    const index = this.retriers.findIndex((retrier) =>
      retrier.ErrorEquals.some((pattern) => errorMatches(pattern, error)),
    );
    const retrier = this.retriers[index];
    const attempts = this.attempts[index];
    if (!retrier || attempts === undefined || attempts >= (retrier.MaxAttempts ?? defaultMaxAttempts))
      return undefined;
    this.attempts[index] = attempts + 1;
    const intervalSeconds =
      (retrier.IntervalSeconds ?? defaultIntervalSeconds) *
      (retrier.BackoffRate ?? defaultBackoffRate) ** attempts;
    const cappedSeconds = Math.min(intervalSeconds, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
    const delaySeconds = retrier.JitterStrategy === "FULL" ? this.random() * cappedSeconds : cappedSeconds;
    return delaySeconds * millisecondsPerSecond;
  }
}

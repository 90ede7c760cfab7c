// The error raised for an event pattern that EventBridge would refuse, worded like its InvalidEventPatternException.

/** One step into a pattern: an object key or an array index. */
export type PatternPathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Renders a location inside a pattern as a JSONPath (`$.detail["action-type"][0]`).
 *
 * @example
 * formatPatternPath(["detail", "state", 0, "numeric"]); // '$.detail.state[0].numeric'
 */
export function formatPatternPath(path: readonly PatternPathSegment[]): string {
  let rendered = "$";
  for (const segment of path) {
    if (typeof segment === "number") rendered += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) rendered += `.${segment}`;
    else rendered += `[${JSON.stringify(segment)}]`;
  }
  return rendered;
}

/**
 * An event pattern that EventBridge would reject (`PutRule` answers `InvalidEventPatternException`). Terminal:
 * the same pattern fails the same way every time, so there is nothing to retry.
 *
 * @example
 * try {
 *   compilePattern({ detail: { state: [] } });
 * } catch (err) {
 *   if (err instanceof InvalidEventPatternError) console.error(err.message);
 *   // Event pattern is not valid. Reason: Empty arrays are not allowed at $.detail.state
 * }
 */
export class InvalidEventPatternError extends Error {
  override readonly name = "InvalidEventPatternError";
  readonly retryable = false;
  /** What is wrong, without the location. */
  readonly reason: string;
  /** Where in the pattern, as a JSONPath (`$` for the pattern as a whole). */
  readonly path: string;

  constructor(reason: string, path: readonly PatternPathSegment[] = [], options?: ErrorOptions) {
    const where = formatPatternPath(path);
    super(`Event pattern is not valid. Reason: ${reason} at ${where}`, options);
    this.reason = reason;
    this.path = where;
  }
}

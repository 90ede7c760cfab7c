// Redirects `$$.Execution` and `$$.State` paths to context keys the engine does not overwrite.
//
// The engine rebuilds `$$.Execution` from the run's own input and start time on every run (a resumed run, a
// Map iteration), and has no per-state `$$.State`. The runner therefore rewrites those paths, once at load,
// to keys it fills itself: `$$.Execution.Id` → `$$.SwitchyardExecution.Id`, and in the state with index i
// `$$.State.Name` → `$$.SwitchyardStates[i].Name`. Bracket forms such as `$$['Execution']` are not rewritten.

/** Context key holding the real `Execution` object. */
export const executionContextKey = "SwitchyardExecution";

/** Context key holding one `State` object per state of the definition, by state index. */
export const stateContextKey = "SwitchyardStates";

/** Payload-template fields, whose `.$` keys hold paths or intrinsic functions. */
const templateFields = new Set(["Parameters", "ItemSelector", "ResultSelector"]);

const executionPath = /\$\$\.Execution(?![\w$])/g;
const statePath = /\$\$\.State(?![\w$])/g;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Rewrites the context references of one path or intrinsic-function expression. Without `stateIndex`,
 * `$$.State` is left alone (the runner then provides `State` itself).
 *
 * @example
 * rewritePath("States.Format('{}', $$.Execution.Name)") // "States.Format('{}', $$.SwitchyardExecution.Name)"
 */
export const rewritePath = (path: string, stateIndex?: number): string => {
  const withExecution = path.replace(executionPath, `$$$$.${executionContextKey}`);
  return stateIndex === undefined
    ? withExecution
    : withExecution.replace(statePath, `$$$$.${stateContextKey}[${stateIndex}]`);
};

/** Rewrites every `.$` value of a payload template, at any depth. */
export const rewriteTemplate = (template: unknown, stateIndex?: number): unknown => {
  if (Array.isArray(template)) return template.map((item) => rewriteTemplate(item, stateIndex));
  if (!isRecord(template)) return template;
  return Object.fromEntries(
    Object.entries(template).map(([key, value]) => [
      key,
      key.endsWith(".$") && typeof value === "string"
        ? rewritePath(value, stateIndex)
        : rewriteTemplate(value, stateIndex),
    ]),
  );
};

/** Rewrites a Choice rule: its `Variable`, its `…Path` comparisons and its nested `And`/`Or`/`Not` rules. */
const rewriteChoiceRule = (rule: unknown, stateIndex: number): unknown => {
  if (Array.isArray(rule)) return rule.map((item) => rewriteChoiceRule(item, stateIndex));
  if (!isRecord(rule)) return rule;
  return Object.fromEntries(
    Object.entries(rule).map(([key, value]) => {
      if (typeof value === "string" && (key === "Variable" || key.endsWith("Path"))) {
        return [key, rewritePath(value, stateIndex)];
      }
      return [
        key,
        key === "And" || key === "Or" || key === "Not" ? rewriteChoiceRule(value, stateIndex) : value,
      ];
    }),
  );
};

/**
 * Rewrites the context references in the path-bearing fields of one state (not in nested machines, which the
 * caller rewrites state by state).
 */
export const rewriteStateFields = (
  state: Record<string, unknown>,
  stateIndex: number,
): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(state).map(([key, value]) => {
      if (templateFields.has(key)) return [key, rewriteTemplate(value, stateIndex)];
      if (key === "Choices") return [key, rewriteChoiceRule(value, stateIndex)];
      if (key.endsWith("Path") && typeof value === "string") return [key, rewritePath(value, stateIndex)];
      return [key, value];
    }),
  );

// The ASL lint: what every file in workflows/ must satisfy to run the same on Step Functions and locally.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import aslValidator from "asl-validator";
import { functionArnKey } from "../functions/registry.ts";
import { type WorkflowName, workflows } from "../workflows/registry.ts";
import { parseTaskResource } from "./workflows/resources.ts";

export interface LintOptions {
  /** `${Key}` placeholders the definition may use (function ARNs plus extra substitutions). */
  substitutions: ReadonlySet<string>;
  /**
   * Service-integration resources the local runner maps, e.g. `arn:aws:states:::events:putEvents` or
   * `arn:aws:states:::aws-sdk:rds:describeDBSnapshots` (`localIntegrationResources` lists them); each may be used as is
   * or with `.waitForTaskToken`, never with `.sync`.
   */
  integrations: ReadonlySet<string>;
}

const placeholderPattern = /\$\{([^}]*)\}/g;

/** Every state of a definition, including those inside Map and Parallel, with its path. */
const statesOf = (
  definition: Record<string, unknown>,
  prefix = "States",
): [string, Record<string, unknown>][] => {
  const states = (definition.States ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(states).flatMap(([name, state]) => {
    const path = `${prefix}.${name}`;
    const nested: [string, Record<string, unknown>][] = [];
    for (const key of ["ItemProcessor", "Iterator"] as const) {
      const inner = state[key] as Record<string, unknown> | undefined;
      if (inner) nested.push(...statesOf(inner, `${path}.${key}.States`));
    }
    const branches = (state.Branches ?? []) as Record<string, unknown>[];
    branches.forEach((branch, i) => {
      nested.push(...statesOf(branch, `${path}.Branches[${i}].States`));
    });
    return [[path, state] as [string, Record<string, unknown>], ...nested];
  });
};

/** Paths of a key at any depth (JSONata can be switched on per definition and per state), filtered by value. */
const findKey = (
  value: unknown,
  key: string,
  path: string,
  when: (v: unknown) => boolean = () => true,
): string[] => {
  if (Array.isArray(value)) return value.flatMap((v, i) => findKey(v, key, `${path}[${i}]`, when));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k === key && when(v) ? [`${path}.${k}`] : []),
    ...findKey(v, key, `${path}.${k}`, when),
  ]);
};

/**
 * A Map whose Catch leads anywhere but a Fail state: when one iteration fails, the local engine still runs the
 * iterations queued behind it, so work meant to stop (the rest of a one-at-a-time rollout) would go on. Handle the
 * failure inside the iteration and let the Map's Catch end the execution.
 */
const mapCatchProblems = (machine: Record<string, unknown>, file: string, prefix = "States"): string[] => {
  const states = (machine.States ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(states).flatMap(([name, state]) => {
    const path = `${prefix}.${name}`;
    const own =
      state.Type === "Map" && Array.isArray(state.Catch)
        ? (state.Catch as { Next?: unknown }[]).flatMap((catcher, i) =>
            states[String(catcher.Next)]?.Type === "Fail"
              ? []
              : [
                  `${file} ${path}.Catch[${i}]: a Map's Catch must lead to a Fail state; the local engine runs the queued iterations after one fails`,
                ],
          )
        : [];
    const nested = ["ItemProcessor", "Iterator"].flatMap((key) =>
      state[key]
        ? mapCatchProblems(state[key] as Record<string, unknown>, file, `${path}.${key}.States`)
        : [],
    );
    const branches = ((state.Branches ?? []) as Record<string, unknown>[]).flatMap((branch, i) =>
      mapCatchProblems(branch, file, `${path}.Branches[${i}].States`),
    );
    return [...own, ...nested, ...branches];
  });
};

/**
 * Lints one definition. Returns one line per problem, each naming the file and where in it.
 *
 * @example
 * lintDefinition(JSON.parse(text), "workflows/promote-image.asl.json", options) // [] when clean
 */
export const lintDefinition = (definition: unknown, file: string, options: LintOptions): string[] => {
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) {
    return [`${file}: expected a JSON object with StartAt and States`];
  }
  const problems: string[] = [];
  // The validator fills in defaults on the object it is given: hand it a copy.
  const result = aslValidator(structuredClone(definition) as never);
  if (!result.isValid) {
    for (const line of result.errorsText("\n").split("\n").filter(Boolean)) problems.push(`${file}: ${line}`);
  }
  for (const path of findKey(definition, "QueryLanguage", "$", (v) => v !== "JSONPath")) {
    problems.push(
      `${file} ${path}: only QueryLanguage "JSONPath" is allowed; the local engine ignores JSONata`,
    );
  }
  // The engine evaluates these type tests as `flag && test(value)`, so `false` never matches anything.
  for (const test of ["IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"]) {
    for (const path of findKey(definition, test, "$", (v) => v === false)) {
      problems.push(
        `${file} ${path}: "${test}": false is not allowed; the local engine misreads it (test ${test} true and swap the branches)`,
      );
    }
  }
  for (const path of findKey(definition, "Assign", "$")) {
    problems.push(`${file} ${path}: Assign (variables) is not allowed; the local engine ignores it`);
  }
  problems.push(...mapCatchProblems(definition as Record<string, unknown>, file));
  const text = JSON.stringify(definition);
  for (const match of text.matchAll(placeholderPattern)) {
    if (!options.substitutions.has(match[1] ?? "")) {
      problems.push(
        `${file}: unknown placeholder \${${match[1]}}; expected one of ${[...options.substitutions].join(", ")}`,
      );
    }
  }
  for (const [path, state] of statesOf(definition as Record<string, unknown>)) {
    if (state.Type !== "Task") continue;
    const resource = String(state.Resource ?? "");
    const parsed = parseTaskResource(resource);
    if (typeof parsed === "string") {
      problems.push(`${file} ${path}.Resource: ${parsed}`);
    } else if (parsed.kind === "integration" && !options.integrations.has(parsed.base)) {
      problems.push(`${file} ${path}.Resource: ${resource} is not mapped by the local runner`);
    } else if (parsed.kind === "integration" && !parsed.callback && parsed.resource !== parsed.base) {
      // The runner would call the request-response integration and move on, never waiting for the job.
      problems.push(
        `${file} ${path}.Resource: ${resource}: the local runner runs no .sync integration (and AWS SDK integrations have none)`,
      );
    } else if (parsed.kind === "lambda-invoke") {
      const fn = (state.Parameters as Record<string, unknown> | undefined)?.FunctionName;
      if (typeof fn !== "string" || !/^\$\{\w+FunctionArn\}$/.test(fn)) {
        problems.push(`${file} ${path}.Parameters.FunctionName: expected a \${<Id>FunctionArn} placeholder`);
      }
    } else if (parsed.kind === "lambda-function" && !/^\$\{\w+FunctionArn\}$/.test(resource)) {
      problems.push(`${file} ${path}.Resource: name the function with a \${<Id>FunctionArn} placeholder`);
    }
  }
  return problems;
};

/**
 * Lints every `*.asl.json` in `workflows/` and checks that the files and the registry agree.
 *
 * @example
 * const problems = lintWorkflows(process.cwd(), { extraSubstitutions: [], integrations: new Set() });
 */
export const lintWorkflows = (
  rootDir: string,
  options: { extraSubstitutions: readonly string[]; integrations: ReadonlySet<string> },
): string[] => {
  const dir = join(rootDir, "workflows");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".asl.json"))
    .map((f) => relative(rootDir, join(dir, f)));
  const registered = new Map(
    Object.entries(workflows).map(([name, w]) => [w.file as string, name as WorkflowName]),
  );
  const problems: string[] = [];
  for (const file of files) {
    const name = registered.get(file);
    if (!name) {
      problems.push(`${file}: not listed in workflows/registry.ts`);
      continue;
    }
    let definition: unknown;
    try {
      definition = JSON.parse(readFileSync(join(rootDir, file), "utf8"));
    } catch (error) {
      problems.push(`${file}: not valid JSON (${(error as Error).message})`);
      continue;
    }
    const substitutions = new Set([
      ...workflows[name].functions.map(functionArnKey),
      ...options.extraSubstitutions,
    ]);
    problems.push(...lintDefinition(definition, file, { substitutions, integrations: options.integrations }));
  }
  for (const file of registered.keys()) {
    if (!files.includes(file)) problems.push(`${file}: listed in workflows/registry.ts but missing`);
  }
  return problems;
};

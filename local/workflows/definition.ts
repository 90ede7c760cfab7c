// Loads a workflow's ASL file: substitutes placeholders, rejects what the engine would ignore, compiles it.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StateMachine, StateMachineDefinition } from "aws-local-stepfunctions";
import { type FunctionName, functionArnKey } from "../../functions/registry.ts";
import { type AwsLocation, functionArn, stateMachineArn, stateMachineName } from "./arns.ts";
import { rewritePath, rewriteStateFields, rewriteTemplate } from "./context-paths.ts";
import {
  buildMachine,
  engineTaskTimeoutSeconds,
  PathEvaluator,
  TemplateEvaluator,
  validateDefinition,
} from "./engine.ts";
import { WorkflowDefinitionError } from "./errors.ts";
import { parseTaskResource, type TaskResource } from "./resources.ts";
import type { Retrier } from "./retry.ts";

/** Where a workflow's definition lives and which functions its placeholders name (see `workflows/registry.ts`). */
export interface WorkflowSource {
  /** ASL file, relative to the repository root. */
  file: string;
  functions: readonly FunctionName[];
}

/** What the runner does for one Task state; the engine only sees a stub that calls the runner. */
export interface TaskPlan {
  name: string;
  resource: TaskResource;
  parameters?: TemplateEvaluator;
  retriers: readonly Retrier[];
  timeoutSeconds?: number;
  timeoutSecondsPath?: PathEvaluator;
  heartbeatSeconds?: number;
  heartbeatSecondsPath?: PathEvaluator;
}

/** A loaded workflow: one engine machine reused by every execution, plus what the runner needs around it. */
export interface CompiledWorkflow {
  name: string;
  file: string;
  stateMachineArn: string;
  stateMachineName: string;
  /** sha256 of the substituted definition. */
  hash: string;
  machine: StateMachine;
  startAt: string;
  /** The definition's top-level `TimeoutSeconds`, enforced by the runner. */
  timeoutSeconds?: number;
  topLevelStates: ReadonlySet<string>;
  /** State names by the index their `$$.State` paths were rewritten to. */
  stateNames: readonly string[];
  tasks: ReadonlyMap<string, TaskPlan>;
  /** A machine like `machine` that starts at another top-level state (for resuming). */
  machineFrom(stateName: string): StateMachine;
}

type AslObject = Record<string, unknown>;

const isObject = (value: unknown): value is AslObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const placeholder = /\$\{([^}]*)\}/g;

/** Replaces `${Key}` in every string of the definition, as CloudFormation's DefinitionSubstitutions do. */
const substitute = (
  value: unknown,
  values: Readonly<Record<string, string>>,
  unknown: Set<string>,
): unknown => {
  if (typeof value === "string") {
    return value.replace(placeholder, (match, key: string) => {
      const replacement = values[key];
      if (replacement === undefined) unknown.add(key);
      return replacement ?? match;
    });
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, values, unknown));
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, values, unknown)]),
    );
  }
  return value;
};

/** Fields the engine would silently ignore, with what they belong to. */
const ignoredStateFields: Readonly<Record<string, string>> = {
  Assign: "workflow variables (Assign)",
  Arguments: "JSONata (Arguments)",
  Output: "JSONata (Output)",
  ItemReader: "Distributed Map (ItemReader)",
  ItemBatcher: "Distributed Map (ItemBatcher)",
  ResultWriter: "Distributed Map (ResultWriter)",
};

/** Every state of a definition, nested ones included, with the machine it belongs to. */
const forEachState = (
  machine: AslObject,
  visit: (name: string, state: AslObject, topLevel: boolean) => void,
  topLevel = true,
): void => {
  const states = isObject(machine.States) ? machine.States : {};
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state)) continue;
    visit(name, state, topLevel);
    for (const nested of [
      state.ItemProcessor,
      state.Iterator,
      ...(Array.isArray(state.Branches) ? state.Branches : []),
    ]) {
      if (isObject(nested)) forEachState(nested, visit, false);
    }
  }
};

/** Rejects JSONata, variables and other features this engine would ignore without a word. */
const rejectUnsupported = (file: string, definition: AslObject): void => {
  const jsonata = (where: string): never => {
    throw new WorkflowDefinitionError(
      file,
      `${where} uses QueryLanguage JSONata; the local engine supports JSONPath only`,
    );
  };
  if (definition.QueryLanguage === "JSONata") jsonata("the definition");
  forEachState(definition, (name, state) => {
    if (state.QueryLanguage === "JSONata") jsonata(`state '${name}'`);
    if (isObject(state.ItemProcessor) && state.ItemProcessor.QueryLanguage === "JSONata")
      jsonata(`state '${name}'`);
    const parts = [
      state,
      ...(Array.isArray(state.Catch) ? state.Catch : []),
      ...(Array.isArray(state.Choices) ? state.Choices : []),
    ];
    for (const part of parts) {
      if (!isObject(part)) continue;
      for (const [field, feature] of Object.entries(ignoredStateFields)) {
        if (field in part) {
          throw new WorkflowDefinitionError(
            file,
            `state '${name}' uses ${feature}, which the local engine ignores`,
          );
        }
      }
      if ("Condition" in part) jsonata(`state '${name}'`);
    }
  });
};

const optionalNumber = (value: unknown): number | undefined =>
  typeof value === "number" ? value : undefined;
const optionalPath = (value: unknown): PathEvaluator | undefined =>
  typeof value === "string" ? new PathEvaluator(rewritePath(value)) : undefined;

interface Compilation {
  file: string;
  stateNames: string[];
  tasks: Map<string, TaskPlan>;
}

/** The engine's view of a Task: the runner's handler does Parameters, Retry and timeouts. */
const compileTask = (compilation: Compilation, name: string, state: AslObject): AslObject => {
  const {
    Parameters,
    Retry,
    TimeoutSeconds,
    TimeoutSecondsPath,
    HeartbeatSeconds,
    HeartbeatSecondsPath,
    Credentials: _credentials,
    ...kept
  } = state;
  const resource = parseTaskResource(String(state.Resource));
  if (typeof resource === "string")
    throw new WorkflowDefinitionError(compilation.file, `state '${name}': ${resource}`);
  compilation.tasks.set(name, {
    name,
    resource,
    parameters: Parameters === undefined ? undefined : new TemplateEvaluator(rewriteTemplate(Parameters)),
    retriers: Array.isArray(Retry) ? (Retry as Retrier[]) : [],
    timeoutSeconds: optionalNumber(TimeoutSeconds),
    timeoutSecondsPath: optionalPath(TimeoutSecondsPath),
    heartbeatSeconds: optionalNumber(HeartbeatSeconds),
    heartbeatSecondsPath: optionalPath(HeartbeatSecondsPath),
  });
  return { ...kept, TimeoutSeconds: engineTaskTimeoutSeconds };
};

/** Compiles the states of one machine (top level or nested) for the engine. */
const compileMachine = (compilation: Compilation, machine: AslObject): AslObject => {
  const states = isObject(machine.States) ? machine.States : {};
  const compiled = Object.fromEntries(
    Object.entries(states).map(([name, raw]) => {
      const state = raw as AslObject;
      const index = compilation.stateNames.push(name) - 1;
      let engineState = state.Type === "Task" ? compileTask(compilation, name, state) : { ...state };
      engineState = rewriteStateFields(engineState, index);
      for (const field of ["ItemProcessor", "Iterator"]) {
        const nested = engineState[field];
        if (isObject(nested)) engineState[field] = compileMachine(compilation, nested);
      }
      if (Array.isArray(engineState.Branches)) {
        engineState.Branches = engineState.Branches.map((branch: unknown) =>
          isObject(branch) ? compileMachine(compilation, branch) : branch,
        );
      }
      return [name, engineState];
    }),
  );
  return { ...machine, States: compiled };
};

export interface LoadOptions {
  name: string;
  source: WorkflowSource;
  rootDir: string;
  location: AwsLocation;
  /** Extra `${Key}` values, on top of each `<Id>FunctionArn` of the workflow's functions. */
  substitutions: Readonly<Record<string, string>>;
}

/**
 * Reads, checks and compiles one workflow. Throws `WorkflowDefinitionError` naming the file for an unknown
 * placeholder, JSONata or `Assign`, an unsupported resource or an invalid definition.
 *
 * @example
 * const workflow = loadWorkflow({ name: "promote-image", source: workflows["promote-image"], rootDir, location, substitutions: {} });
 */
export const loadWorkflow = (options: LoadOptions): CompiledWorkflow => {
  const { file } = options.source;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(options.rootDir, file), "utf8"));
  } catch (error) {
    throw new WorkflowDefinitionError(file, `cannot read the definition (${(error as Error).message})`, {
      cause: error,
    });
  }
  const values: Record<string, string> = {
    ...Object.fromEntries(
      options.source.functions.map((fn) => [functionArnKey(fn), functionArn(options.location, fn)]),
    ),
    ...options.substitutions,
  };
  const unknownKeys = new Set<string>();
  const definition = substitute(parsed, values, unknownKeys);
  if (unknownKeys.size > 0) {
    const keys = [...unknownKeys].map((key) => `\${${key}}`).join(", ");
    throw new WorkflowDefinitionError(file, `unknown placeholder ${keys}`);
  }
  if (!isObject(definition)) throw new WorkflowDefinitionError(file, "the definition is not a JSON object");
  rejectUnsupported(file, definition);
  try {
    validateDefinition(definition as unknown as StateMachineDefinition);
  } catch (error) {
    throw new WorkflowDefinitionError(file, (error as Error).message, { cause: error });
  }

  const compilation: Compilation = { file, stateNames: [], tasks: new Map() };
  const { TimeoutSeconds, ...withoutTimeout } = compileMachine(compilation, definition);
  const engineDefinition = withoutTimeout as unknown as StateMachineDefinition;
  const topLevelStates = new Set(Object.keys(engineDefinition.States));
  return {
    name: options.name,
    file,
    stateMachineArn: stateMachineArn(options.location, options.name),
    stateMachineName: stateMachineName(options.name),
    hash: createHash("sha256").update(JSON.stringify(definition)).digest("hex"),
    machine: buildMachine(engineDefinition),
    startAt: engineDefinition.StartAt,
    timeoutSeconds: optionalNumber(TimeoutSeconds),
    topLevelStates,
    stateNames: compilation.stateNames,
    tasks: compilation.tasks,
    machineFrom: (stateName) => buildMachine({ ...engineDefinition, StartAt: stateName }),
  };
};

// The Switchyard stack: checks the registries, then wires buses, functions, workflows and rules from them.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Stack, type StackProps } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from "cdk-nag";
import type { Construct, IConstruct } from "constructs";
import { compilePattern } from "../../events/pattern.ts";
import { type Rule, rules as registeredRules } from "../../events/rules.ts";
import { SwitchyardError } from "../../functions/core/errors.ts";
import {
  type FunctionDefinition,
  functionArnKeyForId,
  functions as registeredFunctions,
} from "../../functions/registry.ts";
import { workflows as registeredWorkflows, type WorkflowDefinition } from "../../workflows/registry.ts";
import { EventBuses } from "../constructs/event-buses.ts";
import { Functions } from "../constructs/functions.ts";
import { pascalCase, Rules } from "../constructs/rules.ts";
import { Workflows } from "../constructs/workflows.ts";

/** The repository root; every path in the registries is relative to it. */
export const projectRoot = fileURLToPath(new URL("../../", import.meta.url));

/** What the stack is built from. Tests inject their own; the app uses the registries in the repository. */
export interface Registries {
  rules: readonly Rule[];
  workflows: Readonly<Record<string, WorkflowDefinition>>;
  functions: Readonly<Record<string, FunctionDefinition>>;
}

/** The registries of `events/`, `workflows/` and `functions/`. */
export const defaultRegistries: Registries = {
  rules: registeredRules,
  workflows: registeredWorkflows,
  functions: registeredFunctions,
};

/** The stack's inputs besides the usual `StackProps` (env, description). */
export interface SwitchyardStackProps extends StackProps {
  /** The configuration file, already validated with `loadConfig`; it is shipped inside every function bundle. */
  configFile: string;
  /** Replaces some or all of the repository's registries. */
  registries?: Partial<Registries>;
}

/** The registries contradict each other or AWS's limits; synth stops with a message naming the entry. */
export class RegistryError extends SwitchyardError {
  readonly retryable = false;
}

/** The cdk-nag packs every synth runs; tests run the same list. */
export const compliancePacks = (scope?: IConstruct): NagPack[] => [
  new AwsSolutionsChecks(scope),
  new ServerlessChecks(scope),
];

const placeholderPattern = /\$\{([^}]+)\}/g;

/** A workflow's substitution keys mapped to the registry names of the functions they stand for. */
const substitutionKeys = (workflow: WorkflowDefinition, fns: Registries["functions"]): Map<string, string> =>
  new Map(
    workflow.functions.map((fnName) => {
      const fn = fns[fnName];
      if (!fn)
        throw new RegistryError(`Workflow ${workflow.id} uses function "${fnName}", which is not registered`);
      return [functionArnKeyForId(fn.id), fnName] as const;
    }),
  );

const duplicates = (values: readonly string[]): string[] => [
  ...new Set(values.filter((v, i) => values.indexOf(v) !== i)),
];

/**
 * Everything CloudFormation or Step Functions would only reject at deploy time (or never), checked at synth:
 * patterns compile, targets exist, every ASL placeholder has a function and every listed function is used.
 */
export const validateRegistries = (registries: Registries, root: string = projectRoot): void => {
  const { rules, workflows, functions } = registries;
  for (const [kind, ids] of [
    ["rule name", rules.map((r) => r.name)],
    ["rule construct id", rules.map((r) => pascalCase(r.name))],
    ["workflow id", Object.values(workflows).map((w) => w.id)],
    ["function id", Object.values(functions).map((f) => f.id)],
  ] as const) {
    for (const dup of duplicates(ids)) throw new RegistryError(`Duplicate ${kind} "${dup}"`);
  }

  for (const rule of rules) {
    try {
      compilePattern(rule.pattern);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new RegistryError(`Rule "${rule.name}" has an invalid event pattern: ${reason}`, { cause });
    }
    const target = rule.target;
    if (target.kind === "workflow" && !workflows[target.workflow]) {
      throw new RegistryError(
        `Rule "${rule.name}" targets workflow "${target.workflow}", which is not registered`,
      );
    }
    if (target.kind === "function" && !functions[target.function]) {
      throw new RegistryError(
        `Rule "${rule.name}" targets function "${target.function}", which is not registered`,
      );
    }
  }

  for (const workflow of Object.values(workflows)) {
    const keys = substitutionKeys(workflow, functions);
    let text: string;
    let definition: { TimeoutSeconds?: unknown };
    try {
      text = readFileSync(join(root, workflow.file), "utf8");
      definition = JSON.parse(text) as { TimeoutSeconds?: unknown };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new RegistryError(`Workflow ${workflow.id}: cannot read ${workflow.file}: ${reason}`, { cause });
    }
    const used = new Set([...text.matchAll(placeholderPattern)].map((m) => m[1] ?? ""));
    const missing = [...used].filter((key) => !keys.has(key));
    if (missing.length > 0) {
      throw new RegistryError(
        `${workflow.file} uses ${missing.map((k) => `\${${k}}`).join(", ")} but workflows/registry.ts does not list the function`,
      );
    }
    // A listed but unused function would still be granted lambda:InvokeFunction.
    const unused = [...keys.keys()].filter((key) => !used.has(key));
    if (unused.length > 0) {
      throw new RegistryError(
        `Workflow ${workflow.id} lists ${unused.map((k) => keys.get(k)).join(", ")} but ${workflow.file} never uses ${unused.map((k) => `\${${k}}`).join(", ")}`,
      );
    }
    if (definition.TimeoutSeconds !== workflow.timeoutSeconds) {
      throw new RegistryError(
        `${workflow.file} has TimeoutSeconds ${String(definition.TimeoutSeconds)} but workflows/registry.ts says ${workflow.timeoutSeconds}`,
      );
    }
  }
};

/**
 * The whole control plane in one stack, built from the registries so the cloud runs what the local runtime runs.
 *
 * @example
 * const app = new App();
 * new SwitchyardStack(app, "Switchyard", { configFile: "switchyard.yaml", env: { region: "eu-west-1" } });
 */
export class SwitchyardStack extends Stack {
  readonly buses: EventBuses;
  readonly functions: Functions;
  readonly workflows: Workflows;
  readonly rules: Rules;

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    const registries: Registries = { ...defaultRegistries, ...props.registries };
    validateRegistries(registries);

    const asyncInvoked = new Set(
      registries.rules.flatMap((rule) => (rule.target.kind === "function" ? [rule.target.function] : [])),
    );

    this.buses = new EventBuses(this, "Buses");
    this.functions = new Functions(this, "Functions", {
      definitions: registries.functions,
      projectRoot,
      configFile: resolve(props.configFile),
      asyncInvoked,
    });
    for (const [name, fn] of this.functions.entries()) {
      if (registries.functions[name]?.publishesEvents) this.buses.grantPublish(fn);
    }
    this.workflows = new Workflows(this, "Workflows", {
      definitions: registries.workflows,
      projectRoot,
      substitutions: (name) => {
        const workflow = registries.workflows[name]!;
        return new Map<string, lambda.IFunction>(
          [...substitutionKeys(workflow, registries.functions)].map(([key, fn]) => [
            key,
            this.functions.get(fn),
          ]),
        );
      },
    });
    this.rules = new Rules(this, "Rules", {
      rules: registries.rules,
      buses: this.buses,
      targets: { workflow: (name) => this.workflows.get(name), function: (name) => this.functions.get(name) },
    });
  }
}

// The EventBridge rules of events/rules.ts: each pattern exactly as written, each target with retries and a DLQ.

import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { Rule, RuleInput } from "../../events/rules.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import type { EventBuses } from "./event-buses.ts";

/** The resources a rule target can point at, looked up by registry name. */
export interface RuleTargetResolver {
  workflow(name: string): sfn.IStateMachine;
  function(name: string): lambda.IFunction;
}

/** What the rules are built from: the registry's rules and the resources their targets name. */
export interface RulesProps {
  rules: readonly Rule[];
  buses: EventBuses;
  targets: RuleTargetResolver;
}

/** `ecr-image-pushed` → `EcrImagePushed`, for construct ids. */
export const pascalCase = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join("");

/**
 * An input transformer exactly as the rule states it. The L2 helpers build transformers from `EventField`
 * tokens; the registry already holds EventBridge's own `InputPathsMap`/`InputTemplate`, which must reach the
 * template unchanged to behave as the local bus does.
 */
class RawInputTransformer extends events.RuleTargetInput {
  constructor(private readonly transformer: Extract<RuleInput, { kind: "transformer" }>) {
    super();
  }

  bind(): events.RuleTargetInputProperties {
    return {
      inputPathsMap: { ...this.transformer.inputPathsMap },
      inputTemplate: this.transformer.inputTemplate,
    };
  }
}

const targetInput = (input: RuleInput | undefined): events.RuleTargetInput | undefined => {
  if (!input) return undefined;
  return input.kind === "path"
    ? events.RuleTargetInput.fromEventPath(input.path)
    : new RawInputTransformer(input);
};

/**
 * One `events.Rule` per registry rule, on the bus the rule names. The pattern is written to the CloudFormation
 * property directly: the L2 `EventPattern` type does not model content filters (`prefix`, `anything-but`, `$or`)
 * and merges patterns, while the local bus matches the registry's object verbatim — both must see the same bytes.
 *
 * @example new Rules(this, "Rules", { rules, buses, targets: { workflow: (n) => wfs.get(n), function: (n) => fns.get(n) } });
 */
export class Rules extends Construct {
  private readonly byName = new Map<string, { rule: events.Rule; deadLetterQueue: sqs.Queue }>();

  constructor(scope: Construct, id: string, props: RulesProps) {
    super(scope, id);
    for (const rule of props.rules) this.byName.set(rule.name, this.build(rule, props));
  }

  /** The rule registered under `name`. */
  get(name: string): events.Rule {
    return this.entry(name).rule;
  }

  /** Where the target of rule `name` sends what it could not deliver. */
  deadLetterQueue(name: string): sqs.Queue {
    return this.entry(name).deadLetterQueue;
  }

  private entry(name: string) {
    const entry = this.byName.get(name);
    if (!entry) throw new Error(`No rule "${name}" in the rules registry`);
    return entry;
  }

  private build(rule: Rule, props: RulesProps): { rule: events.Rule; deadLetterQueue: sqs.Queue } {
    const scope = new Construct(this, pascalCase(rule.name));
    const deadLetterQueue = new DeadLetterQueue(scope, "DeadLetterQueue", {
      purpose: `events rule ${rule.name}`,
    });
    const eventRule = new events.Rule(scope, "Rule", {
      ruleName: rule.name,
      description: rule.description,
      eventBus: props.buses.bus(rule.bus),
      // Only satisfies the L2's "pattern or schedule" check; the L1 property set below is what is deployed.
      eventPattern: structuredClone(rule.pattern) as events.EventPattern,
    });
    (eventRule.node.defaultChild as events.CfnRule).eventPattern = structuredClone(rule.pattern);
    eventRule.addTarget(this.target(rule, deadLetterQueue, props.targets));
    return { rule: eventRule, deadLetterQueue: deadLetterQueue.queue };
  }

  private target(rule: Rule, dlq: DeadLetterQueue, resolver: RuleTargetResolver): events.IRuleTarget {
    const common = {
      deadLetterQueue: dlq.queue,
      retryAttempts: rule.retryPolicy.maximumRetryAttempts,
      maxEventAge: Duration.seconds(rule.retryPolicy.maximumEventAgeSeconds),
    };
    const input = targetInput(rule.input);
    const target = rule.target;
    return target.kind === "workflow"
      ? new targets.SfnStateMachine(resolver.workflow(target.workflow), { ...common, input })
      : new targets.LambdaFunction(resolver.function(target.function), { ...common, event: input });
  }
}

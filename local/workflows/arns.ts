// Names and ARNs of local state machines and executions, spelled exactly as Step Functions spells them.

import { InvalidArn, InvalidName } from "./errors.ts";

/** Where the local runtime pretends to run. */
export interface AwsLocation {
  region: string;
  account: string;
}

/** Prefix the CDK app gives every Switchyard resource name. */
export const resourcePrefix = "switchyard-";

const maxExecutionNameLength = 80;

// Step Functions forbids whitespace, brackets, wildcards, these specials, control characters (Cc is exactly
// U+0000-001F and U+007F-009F), surrogates and U+FFFE-FFFF in names.
const forbiddenNameCharacters = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}\p{Cs}\uFFFE\uFFFF]/u;

/**
 * Throws `InvalidName` unless `name` is a valid execution name (1–80 characters, none of the forbidden ones).
 *
 * @example
 * assertExecutionName("push-42"); // fine
 * assertExecutionName("push 42"); // throws InvalidName
 */
export const assertExecutionName = (name: string): void => {
  if (name.length === 0 || name.length > maxExecutionNameLength) {
    throw new InvalidName(name, `must be 1-${maxExecutionNameLength} characters`);
  }
  if (forbiddenNameCharacters.test(name)) {
    throw new InvalidName(name, "contains a character Step Functions does not allow");
  }
};

export const stateMachineName = (workflow: string): string => `${resourcePrefix}${workflow}`;

/** `arn:aws:states:<region>:<account>:stateMachine:switchyard-<workflow>` */
export const stateMachineArn = (at: AwsLocation, workflow: string): string =>
  `arn:aws:states:${at.region}:${at.account}:stateMachine:${stateMachineName(workflow)}`;

/** `arn:aws:states:<region>:<account>:execution:switchyard-<workflow>:<name>` */
export const executionArn = (at: AwsLocation, workflow: string, name: string): string =>
  `arn:aws:states:${at.region}:${at.account}:execution:${stateMachineName(workflow)}:${name}`;

/** `arn:aws:lambda:<region>:<account>:function:switchyard-<function>` */
export const functionArn = (at: AwsLocation, functionName: string): string =>
  `arn:aws:lambda:${at.region}:${at.account}:function:${resourcePrefix}${functionName}`;

/**
 * Reads an execution reference: the full ARN or the short id `<workflow>:<name>`. Returns the ARN, or
 * `undefined` for an ARN of another region, account or state machine family (which cannot exist here).
 *
 * @example
 * parseExecutionRef(location, "promote-image:run-1") // "arn:aws:states:us-east-1:000000000000:execution:switchyard-promote-image:run-1"
 */
export const parseExecutionRef = (at: AwsLocation, ref: string): string | undefined => {
  if (!ref.startsWith("arn:")) {
    const parts = ref.split(":");
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new InvalidArn(ref);
    return executionArn(at, parts[0], parts[1]);
  }
  const parts = ref.split(":");
  const [, partition, service, region, account, kind, machine, name] = parts;
  if (
    parts.length !== 8 ||
    partition !== "aws" ||
    service !== "states" ||
    kind !== "execution" ||
    !machine ||
    !name
  ) {
    throw new InvalidArn(ref);
  }
  if (region !== at.region || account !== at.account || !machine.startsWith(resourcePrefix)) return undefined;
  return ref;
};

/**
 * The local function an ARN or name designates, as Lambda's `FunctionName` accepts it: a name, a full or
 * partial ARN, optionally qualified. Only Switchyard functions of this region and account resolve.
 *
 * @example
 * functionNameOf(location, "arn:aws:lambda:us-east-1:000000000000:function:switchyard-resolve-services") // "resolve-services"
 */
export const functionNameOf = (at: AwsLocation, reference: string): string | undefined => {
  let name = reference;
  if (reference.startsWith("arn:")) {
    const parts = reference.split(":");
    if (
      parts[2] !== "lambda" ||
      parts[3] !== at.region ||
      parts[4] !== at.account ||
      parts[5] !== "function"
    ) {
      return undefined;
    }
    name = parts[6] ?? "";
  } else if (reference.includes(":function:")) {
    const [account, , functionPart] = reference.split(":");
    if (account !== at.account) return undefined;
    name = functionPart ?? "";
  } else {
    name = reference.split(":")[0] ?? "";
  }
  return name.startsWith(resourcePrefix) ? name.slice(resourcePrefix.length) : undefined;
};

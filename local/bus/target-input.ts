// What a rule's target receives: the whole event, an InputPath selection, or an InputTransformer rendering.

import type { RuleInput } from "../../events/rules.ts";

/** Thrown when a rule's input definition cannot be applied; the delivery fails (and is retried, then dead-lettered). */
export class TargetInputError extends Error {
  override readonly name = "TargetInputError";
}

const segmentPattern = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/gy;

/** Parses the simple JSONPath EventBridge allows in InputPath / InputPathsMap (`$.detail['image-tag']`). */
export const parseJsonPath = (path: string): (string | number)[] => {
  if (path === "$") return [];
  if (!path.startsWith("$")) throw new TargetInputError(`JSONPath "${path}" must start with "$"`);
  const segments: (string | number)[] = [];
  segmentPattern.lastIndex = 1;
  while (segmentPattern.lastIndex < path.length) {
    const start = segmentPattern.lastIndex;
    const match = segmentPattern.exec(path);
    if (!match) throw new TargetInputError(`JSONPath "${path}" is not valid at character ${start + 1}`);
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(match[3] ?? match[4] ?? "");
  }
  return segments;
};

const select = (value: unknown, segments: readonly (string | number)[]): unknown => {
  let current = value;
  for (const segment of segments) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
};

/** Predefined InputTransformer variables EventBridge provides to every template. */
const reservedVariables = (event: unknown, ruleName: string, ruleArn: string, ingestionTime: string) => ({
  "aws.events.rule-name": ruleName,
  "aws.events.rule-arn": ruleArn,
  "aws.events.event.ingestion-time": ingestionTime,
  "aws.events.event": event,
  "aws.events.event.json": event,
});

const placeholderPattern = /"(?:[^"\\]|\\.)*"|<([\w.-]+)>/g;

/**
 * Renders an InputTransformer template. A placeholder inside a JSON string is replaced by the value's text
 * (escaped); outside a string by the value as JSON; a path that selects nothing becomes `null` / "".
 */
const renderTemplate = (template: string, variables: Record<string, unknown>): unknown => {
  const lookup = (name: string): unknown => {
    if (!(name in variables))
      throw new TargetInputError(`InputTemplate uses <${name}>, which InputPathsMap does not define`);
    return variables[name];
  };
  const asText = (name: string): string => {
    const value = lookup(name);
    if (value === undefined || value === null) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  };
  // A template that is not JSON (e.g. a plain sentence) is rendered as text and delivered as a string.
  if (!/^\s*[[{"]/.test(template)) return template.replace(/<([\w.-]+)>/g, (_, name: string) => asText(name));
  const rendered = template.replace(placeholderPattern, (token, bare: string | undefined) => {
    if (bare !== undefined) return JSON.stringify(lookup(bare) ?? null);
    return token.replace(/<([\w.-]+)>/g, (_, name: string) => JSON.stringify(asText(name)).slice(1, -1));
  });
  try {
    return JSON.parse(rendered);
  } catch (cause) {
    throw new TargetInputError("InputTemplate does not render to valid JSON", { cause });
  }
};

/**
 * The payload a target receives for `event` under the rule's input definition.
 *
 * @example
 * targetInput(event, { kind: "path", path: "$.detail" }, rule) // the event's detail object
 */
export const targetInput = (
  event: Record<string, unknown>,
  input: RuleInput | undefined,
  rule: { name: string; arn: string },
  ingestionTime: string,
): unknown => {
  if (!input) return event;
  if (input.kind === "path") {
    const value = select(event, parseJsonPath(input.path));
    if (value === undefined)
      throw new TargetInputError(`InputPath ${input.path} selects nothing in event ${String(event.id)}`);
    return value;
  }
  const variables: Record<string, unknown> = reservedVariables(event, rule.name, rule.arn, ingestionTime);
  for (const [name, path] of Object.entries(input.inputPathsMap)) {
    variables[name] = select(event, parseJsonPath(path)) ?? null;
  }
  return renderTemplate(input.inputTemplate, variables);
};

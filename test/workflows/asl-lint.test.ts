// The ASL lint: the shipped workflows are clean, and each rule it enforces catches its mistake.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { lintDefinition, lintWorkflows } from "../../local/asl-lint.ts";
import { localIntegrationResources, substitutionKeys } from "../../local/integrations.ts";

const options = {
  substitutions: new Set(["ResolveServicesFunctionArn", "EventBusName", "CommitsQueueUrl"]),
  integrations: localIntegrationResources,
};
// A small, stable definition to break in each case (the shipped workflows are linted whole above).
const base = JSON.parse(readFileSync("test/workflows/fixtures/resolve-only.asl.json", "utf8"));
const withState = (state: Record<string, unknown>) => ({
  ...base,
  States: { ...base.States, ResolveServices: { ...base.States.ResolveServices, ...state } },
});

describe("ASL lint", () => {
  it("passes every workflow shipped in workflows/", () => {
    expect(
      lintWorkflows(process.cwd(), {
        extraSubstitutions: substitutionKeys,
        integrations: localIntegrationResources,
      }),
    ).toEqual([]);
  });

  it.each([
    [
      "JSONata at the top",
      { ...base, QueryLanguage: "JSONata" },
      '$.QueryLanguage: only QueryLanguage "JSONPath"',
    ],
    ["JSONata on a state", withState({ QueryLanguage: "JSONata" }), "ResolveServices.QueryLanguage"],
    ["Assign on a state", withState({ Assign: { x: 1 } }), "Assign (variables) is not allowed"],
    [
      "IsNull false in a Choice",
      {
        ...base,
        States: {
          ...base.States,
          Pick: {
            Type: "Choice",
            Choices: [{ Variable: "$.x", IsNull: false, Next: "Pick" }],
            Default: "Pick",
          },
        },
      },
      '"IsNull": false is not allowed',
    ],
    [
      "a Map whose Catch leads to a Task",
      {
        ...base,
        States: {
          ...base.States,
          Each: {
            Type: "Map",
            ItemProcessor: { StartAt: "Item", States: { Item: { Type: "Succeed" } } },
            Catch: [{ ErrorEquals: ["States.ALL"], Next: "Report" }],
            End: true,
          },
          Report: { Type: "Pass", End: true },
        },
      },
      "a Map's Catch must lead to a Fail state",
    ],
    [
      "an unknown placeholder",
      withState({ Parameters: { FunctionName: "${NopeFunctionArn}", Payload: {} } }),
      "unknown placeholder ${NopeFunctionArn}",
    ],
    [
      "an unmapped integration",
      withState({ Resource: "arn:aws:states:::sns:publish" }),
      "is not mapped by the local runner",
    ],
    [
      "an activity",
      withState({ Resource: "arn:aws:states:eu-west-1:123456789012:activity:x" }),
      "activities are not supported",
    ],
    [
      "a literal function name",
      withState({ Parameters: { FunctionName: "my-fn", Payload: {} } }),
      "expected a ${<Id>FunctionArn} placeholder",
    ],
    [
      "an invalid state type",
      { ...base, States: { ...base.States, NoService: { Type: "Bogus" } } },
      "SCHEMA_VALIDATION_FAILED",
    ],
    [
      "a Next to nowhere",
      { ...base, States: { ...base.States, ServicesResolved: { Type: "Pass", Next: "Nowhere" } } },
      "Nowhere",
    ],
  ])("rejects %s", (_name, definition, expected) => {
    const problems = lintDefinition(definition, "workflows/x.asl.json", options);
    expect(problems.join("\n")).toContain(expected);
    expect(problems.every((p) => p.startsWith("workflows/x.asl.json"))).toBe(true);
  });

  it("accepts JSONPath declared explicitly and the mapped putEvents integration", () => {
    const definition = {
      ...base,
      QueryLanguage: "JSONPath",
      States: {
        ...base.States,
        ServicesResolved: {
          Type: "Task",
          Resource: "arn:aws:states:::events:putEvents",
          Parameters: {
            Entries: [{ Source: "switchyard", DetailType: "x", Detail: {}, EventBusName: "${EventBusName}" }],
          },
          End: true,
        },
      },
    };
    expect(lintDefinition(definition, "workflows/x.asl.json", options)).toEqual([]);
  });
});

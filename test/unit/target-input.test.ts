// What a rule's target receives: EventBridge's InputPath and InputTransformer semantics.

import { describe, expect, it } from "vitest";
import { parseJsonPath, TargetInputError, targetInput } from "../../local/bus/target-input.ts";

const event = {
  version: "0",
  id: "3f1c1a44-0000-4000-8000-000000000001",
  "detail-type": "ECR Image Action",
  source: "aws.ecr",
  account: "123456789012",
  time: "2026-11-27T10:00:00Z",
  region: "eu-west-1",
  resources: [],
  detail: { "repository-name": "checkout", "image-tag": "1.4.2", tags: ["a", "b"], count: 3 },
};
const rule = { name: "ecr-image-pushed", arn: "arn:aws:events:eu-west-1:123456789012:rule/ecr-image-pushed" };
const ingested = "2026-11-27T10:00:01.000Z";

describe("parseJsonPath", () => {
  it.each([
    ["$", []],
    ["$.detail", ["detail"]],
    ["$.detail.repository-name", ["detail", "repository-name"]],
    ["$.detail['image-tag']", ["detail", "image-tag"]],
    ["$.detail.tags[1]", ["detail", "tags", 1]],
  ])("%s", (path, segments) => {
    expect(parseJsonPath(path)).toEqual(segments);
  });

  it.each(["detail", "$.", "$..detail", "$.detail[x]"])("rejects %s", (path) => {
    expect(() => parseJsonPath(path)).toThrow(TargetInputError);
  });
});

describe("targetInput", () => {
  it("without an input definition delivers the whole event", () => {
    expect(targetInput(event, undefined, rule, ingested)).toBe(event);
  });

  it("InputPath selects part of the event", () => {
    expect(targetInput(event, { kind: "path", path: "$.detail" }, rule, ingested)).toEqual(event.detail);
  });

  it("InputPath that selects nothing fails the delivery", () => {
    expect(() => targetInput(event, { kind: "path", path: "$.detail.nope" }, rule, ingested)).toThrow(
      TargetInputError,
    );
  });

  it("InputTransformer fills JSON values outside quotes and text inside them", () => {
    const input = {
      kind: "transformer" as const,
      inputPathsMap: {
        repo: "$.detail.repository-name",
        tag: "$.detail.image-tag",
        count: "$.detail.count",
        tags: "$.detail.tags",
      },
      inputTemplate:
        '{"service": <repo>, "message": "pushed <repo>:<tag>", "count": <count>, "tags": <tags>}',
    };
    expect(targetInput(event, input, rule, ingested)).toEqual({
      service: "checkout",
      message: "pushed checkout:1.4.2",
      count: 3,
      tags: ["a", "b"],
    });
  });

  it("InputTransformer offers the predefined variables", () => {
    const input = {
      kind: "transformer" as const,
      inputPathsMap: {},
      inputTemplate:
        '{"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>", "at": <aws.events.event.ingestion-time>, "event": <aws.events.event.json>}',
    };
    expect(targetInput(event, input, rule, ingested)).toEqual({
      rule: rule.name,
      arn: rule.arn,
      at: ingested,
      event,
    });
  });

  it("a path that selects nothing becomes null, or empty text inside a string", () => {
    const input = {
      kind: "transformer" as const,
      inputPathsMap: { missing: "$.detail.nope" },
      inputTemplate: '{"value": <missing>, "text": "x<missing>y"}',
    };
    expect(targetInput(event, input, rule, ingested)).toEqual({ value: null, text: "xy" });
  });

  it("a template that is not JSON is delivered as text", () => {
    const input = {
      kind: "transformer" as const,
      inputPathsMap: { repo: "$.detail.repository-name" },
      inputTemplate: "pushed <repo>",
    };
    expect(targetInput(event, input, rule, ingested)).toBe("pushed checkout");
  });

  it("an undefined placeholder fails the delivery", () => {
    const input = { kind: "transformer" as const, inputPathsMap: {}, inputTemplate: '{"a": <nope>}' };
    expect(() => targetInput(event, input, rule, ingested)).toThrow(/<nope>/);
  });
});

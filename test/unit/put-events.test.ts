// PutEvents request validation: whole-request errors versus entries that fail alone, as EventBridge answers.

import { describe, expect, it } from "vitest";
import { PutEventsValidationError, validatePutEvents } from "../../local/bus/put-events.ts";

const buses = new Set(["default", "switchyard"]);
const entry = (overrides: Record<string, unknown> = {}) => ({
  Source: "aws.ecr",
  DetailType: "ECR Image Action",
  Detail: JSON.stringify({ "repository-name": "checkout" }),
  ...overrides,
});

describe("validatePutEvents", () => {
  it("accepts a valid entry with defaults: the default bus, no resources", () => {
    const { accepted, rejected } = validatePutEvents({ Entries: [entry()] }, buses);
    expect(rejected).toEqual([]);
    expect(accepted).toEqual([
      {
        index: 0,
        source: "aws.ecr",
        detailType: "ECR Image Action",
        detail: { "repository-name": "checkout" },
        resources: [],
        busName: "default",
      },
    ]);
  });

  it.each([
    ["a missing Source", entry({ Source: undefined }), "InvalidArgument", "Source is a required argument"],
    [
      "a missing DetailType",
      entry({ DetailType: undefined }),
      "InvalidArgument",
      "DetailType is a required argument",
    ],
    ["a missing Detail", entry({ Detail: undefined }), "InvalidArgument", "Detail is a required argument"],
    ["a Detail that is not JSON", entry({ Detail: "{not json" }), "MalformedDetail", "Detail is malformed."],
    ["a Detail that is a JSON array", entry({ Detail: "[1,2]" }), "MalformedDetail", "Detail is malformed."],
    [
      "a Detail that is a JSON string",
      entry({ Detail: '"text"' }),
      "MalformedDetail",
      "Detail is malformed.",
    ],
    [
      "a Detail that is an object, not a string",
      entry({ Detail: { a: 1 } }),
      "InvalidArgument",
      "Parameter Detail is not valid",
    ],
    [
      "Resources that are not strings",
      entry({ Resources: [1] }),
      "InvalidArgument",
      "Parameter Resources is not valid",
    ],
    ["an unparseable Time", entry({ Time: "yesterday" }), "InvalidArgument", "Parameter Time is not valid"],
    ["an unknown bus", entry({ EventBusName: "nope" }), "InvalidArgument", "Event bus nope does not exist."],
    ["an entry that is not an object", "text", "InvalidArgument", "Entry must be an object."],
  ])("fails alone: %s", (_name, bad, code, message) => {
    const { accepted, rejected } = validatePutEvents({ Entries: [entry(), bad, entry()] }, buses);
    expect(accepted.map((a) => a.index)).toEqual([0, 2]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ index: 1, errorCode: code });
    expect(rejected[0]?.errorMessage).toContain(message);
  });

  it.each([
    ["a body that is not an object", "[]", "Entries array"],
    ["no Entries", {}, "Entries array"],
    ["zero entries", { Entries: [] }, "between 1 and 10 entries; got 0"],
    [
      "eleven entries",
      { Entries: Array.from({ length: 11 }, () => entry()) },
      "between 1 and 10 entries; got 11",
    ],
    [
      "entries over 256 KB in total",
      {
        Entries: [
          entry({ Detail: JSON.stringify({ blob: "x".repeat(200_000) }) }),
          entry({ Detail: JSON.stringify({ blob: "y".repeat(70_000) }) }),
        ],
      },
      "over the limit",
    ],
  ])("rejects the whole request: %s", (_name, body, message) => {
    expect(() => validatePutEvents(body, buses)).toThrow(PutEventsValidationError);
    expect(() => validatePutEvents(body, buses)).toThrow(message);
  });

  it("takes the bus by name or ARN", () => {
    const { accepted } = validatePutEvents(
      { Entries: [entry({ EventBusName: "arn:aws:events:eu-west-1:123456789012:event-bus/switchyard" })] },
      buses,
    );
    expect(accepted[0]?.busName).toBe("switchyard");
  });

  it("takes Time as ISO 8601 or as epoch seconds (the AWS JSON protocol)", () => {
    const { accepted } = validatePutEvents(
      { Entries: [entry({ Time: "2026-11-27T10:00:00Z" }), entry({ Time: 1_795_773_600 })] },
      buses,
    );
    expect(accepted.map((a) => a.time?.toISOString())).toEqual([
      "2026-11-27T10:00:00.000Z",
      "2026-11-27T10:00:00.000Z",
    ]);
  });
});

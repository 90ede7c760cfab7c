// EventBridge event-pattern matching, operator by operator, against the AWS user guide and aws/event-ruler.
//
// Case names cite their source: "AWS guide" is the Amazon EventBridge User Guide (Event patterns, Comparison
// operators, Content filtering, Arrays, Null values and empty strings); "event-ruler" is aws/event-ruler, the
// matching engine EventBridge uses (its README, JsonRuleCompiler, ByteMachine, ACFinder, CIDRTest, WildcardParser).
import { describe, expect, it } from "vitest";
import { compilePattern, InvalidEventPatternError, matchesPattern } from "../../events/pattern.ts";

type Json = Record<string, unknown>;
type MatchCase = [name: string, pattern: Json | string, event: Json | string, expected: boolean];
type InvalidCase = [name: string, pattern: unknown, reason: string, path: string];

/** The sample event of the event-ruler README (also used throughout the AWS guide). */
const ec2Event: Json = {
  version: "0",
  id: "ddddd4-aaaa-7777-4444-345dd43cc333",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "012345679012",
  time: "2017-10-02T16:24:49Z",
  region: "us-east-1",
  resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
  detail: {
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.33",
    "instance-id": "i-000000aaaaaa00000",
    state: "running",
  },
};

/** An EventBridge envelope around a detail. */
function withDetail(detail: unknown, envelope: Json = {}): Json {
  return {
    version: "0",
    id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Test Event",
    source: "switchyard.test",
    account: "111122223333",
    time: "2017-12-22T18:43:48Z",
    region: "us-west-1",
    resources: [],
    ...envelope,
    detail,
  };
}

function runMatchCases(cases: MatchCase[]): void {
  it.each<MatchCase>(cases)("%s", (_name, pattern, event, expected) => {
    expect(compilePattern(pattern).matches(event)).toBe(expected);
  });
}

describe("exact values", () => {
  runMatchCases([
    [
      "event-ruler README: simple matching on detail-type, resources and a value list",
      {
        "detail-type": ["EC2 Instance State-change Notification"],
        resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
        detail: { state: ["initializing", "running"] },
      },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Event patterns – a value list is an OR",
      { source: ["aws.ec2", "aws.fargate"] },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Event patterns – no value in the list",
      { source: ["aws.fargate", "aws.ecs"] },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Event patterns – fields are ANDed, one mismatch fails",
      { source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] },
      ec2Event,
      false,
    ],
    ["AWS guide: Event patterns – matching is case sensitive", { source: ["AWS.EC2"] }, ec2Event, false],
    [
      "AWS guide: Event patterns – the event must contain every field of the pattern",
      { detail: { "availability-zone": ["us-east-1a"] } },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Event patterns – fields not in the pattern are ignored",
      { region: ["us-east-1"] },
      ec2Event,
      true,
    ],
    ["event-ruler README: exact number", { detail: { "c-count": [5] } }, ec2Event, true],
    ["event-ruler README: exact decimal number", { detail: { "x-limit": [301.8] } }, ec2Event, true],
    [
      'AWS guide: Event patterns – number 5 does not match string "5"',
      { detail: { n: [5] } },
      withDetail({ n: "5" }),
      false,
    ],
    [
      'AWS guide: Event patterns – string "5" does not match number 5',
      { detail: { n: ["5"] } },
      withDetail({ n: 5 }),
      false,
    ],
    [
      "event-ruler JsonRuleCompiler: numbers also match numerically (300 vs 300.0)",
      '{"detail":{"n":[3.0e2]}}',
      '{"detail":{"n":300.0}}',
      true,
    ],
    [
      "event-ruler JsonRuleCompiler: numbers beyond the numeric range still match literally (account ids)",
      { detail: { account: [123456789012] } },
      withDetail({ account: 123456789012 }),
      true,
    ],
    [
      "AWS guide: Event patterns – JSON literal true",
      { detail: { ok: [true] } },
      withDetail({ ok: true }),
      true,
    ],
    [
      'AWS guide: Event patterns – true does not match "true"',
      { detail: { ok: [true] } },
      withDetail({ ok: "true" }),
      false,
    ],
    [
      "AWS guide: Event patterns – JSON literal false",
      { detail: { ok: [false] } },
      withDetail({ ok: false }),
      true,
    ],
    [
      "AWS guide: Event patterns – false does not match true",
      { detail: { ok: [false] } },
      withDetail({ ok: true }),
      false,
    ],
    [
      "AWS guide: Event patterns – nested pattern against a scalar in the event",
      { detail: { state: ["running"] } },
      withDetail("running"),
      false,
    ],
    [
      "AWS guide: Comparison operators – values match leaves only, not objects",
      { detail: ["running"] },
      withDetail({ state: "running" }),
      false,
    ],
    [
      "exact values: non-ASCII strings compare exactly",
      { detail: { team: ["équipe-ß"] } },
      withDetail({ team: "équipe-ß" }),
      true,
    ],
    [
      "event-ruler CIDR: an IP value matches the same address written differently",
      { detail: { ip: ["::1"] } },
      withDetail({ ip: "0:0:0:0:0:0:0:1" }),
      true,
    ],
    [
      "event-ruler CIDR: an IPv4 value matches itself",
      { detail: { "source-ip": ["10.0.0.33"] } },
      ec2Event,
      true,
    ],
    [
      "event-ruler CIDR: an IPv4 value does not match a neighbour",
      { detail: { "source-ip": ["10.0.0.34"] } },
      ec2Event,
      false,
    ],
    [
      "event-ruler CIDRTest: IPv6-shaped text that is no address matches literally",
      { a: ["08:23"] },
      { a: "08:23" },
      true,
    ],
    [
      "event-ruler README: dotted key names match literally (nesting must agree)",
      { detail: { "state.status": ["running"] } },
      withDetail({ "state.status": "running" }),
      true,
    ],
  ]);
});

describe("null values and empty strings", () => {
  runMatchCases([
    [
      "AWS guide: Null values – [null] matches null",
      { detail: { responseElements: [null] } },
      withDetail({ responseElements: null }),
      true,
    ],
    [
      'AWS guide: Null values – [""] matches the empty string',
      { detail: { eventVersion: [""] } },
      withDetail({ eventVersion: "" }),
      true,
    ],
    [
      'AWS guide: Null values – [""] does not match null',
      { detail: { v: [""] } },
      withDetail({ v: null }),
      false,
    ],
    [
      "AWS guide: Null values – [null] does not match the empty string",
      { detail: { v: [null] } },
      withDetail({ v: "" }),
      false,
    ],
    [
      "AWS guide: Null values – [null] does not match a missing field",
      { detail: { v: [null] } },
      withDetail({}),
      false,
    ],
    [
      "AWS guide: Null values – null inside an array",
      { detail: { v: [null] } },
      withDetail({ v: ["a", null] }),
      true,
    ],
  ]);
});

describe("arrays in events", () => {
  const employees = {
    employees: [
      { firstName: "John", lastName: "Doe" },
      { firstName: "Anna", lastName: "Smith" },
      { firstName: "Peter", lastName: "Jones" },
    ],
  };
  runMatchCases([
    [
      "AWS guide: Arrays – pattern and event arrays intersect",
      {
        resources: [
          "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
          "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        ],
      },
      withDetail(
        {},
        {
          resources: [
            "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
          ],
        },
      ),
      true,
    ],
    [
      "AWS guide: Arrays – no common element",
      { resources: ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"] },
      withDetail({}, { resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"] }),
      false,
    ],
    [
      "AWS guide: Arrays – an empty array in the event matches no value",
      { resources: ["x"] },
      withDetail({}, { resources: [] }),
      false,
    ],
    [
      "event-ruler README: objects in an array are matched as the parent's value",
      { employees: { firstName: ["Anna"] } },
      employees,
      true,
    ],
    [
      "event-ruler README: fields must come from the same array element (Anna Smith)",
      { employees: { firstName: ["Anna"], lastName: ["Smith"] } },
      employees,
      true,
    ],
    [
      "event-ruler README: rulesForJSONEvent refuses fields from different elements (Anna Jones)",
      { employees: { firstName: ["Anna"], lastName: ["Jones"] } },
      employees,
      false,
    ],
    [
      "event-ruler README: multi-level arrays are crushed",
      { employees: { firstName: ["Peter"] } },
      { employees: [[{ firstName: "John" }, { firstName: "Anna" }], [{ firstName: "Peter" }]] },
      true,
    ],
    [
      "event-ruler README: nested arrays of values are crushed",
      { detail: { tags: ["c"] } },
      withDetail({ tags: [["a", "b"], ["c"]] }),
      true,
    ],
    [
      "AWS guide: Arrays – a numeric range over array elements",
      { detail: { n: [{ numeric: [">", 10] }] } },
      withDetail({ n: [1, 20] }),
      true,
    ],
    [
      "AWS guide: Arrays – no element in the numeric range",
      { detail: { n: [{ numeric: [">", 10] }] } },
      withDetail({ n: [1, 2] }),
      false,
    ],
    [
      "event-ruler ByteMachine: anything-but matches when any element is not excluded",
      { detail: { s: [{ "anything-but": "a" }] } },
      withDetail({ s: ["a", "b"] }),
      true,
    ],
    [
      "event-ruler ByteMachine: anything-but fails when every element is excluded",
      { detail: { s: [{ "anything-but": "a" }] } },
      withDetail({ s: ["a"] }),
      false,
    ],
    [
      "AWS guide: Arrays – objects inside a value array are not values of the field",
      { detail: { s: ["a"] } },
      withDetail({ s: [{ a: 1 }] }),
      false,
    ],
  ]);
});

describe("prefix", () => {
  runMatchCases([
    ["AWS guide: Content filtering – prefix matching", { time: [{ prefix: "2017-10-02" }] }, ec2Event, true],
    [
      "AWS guide: Content filtering – prefix not present",
      { time: [{ prefix: "2017-10-03" }] },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – prefix matching with a region",
      { region: [{ prefix: "us-" }] },
      ec2Event,
      true,
    ],
    [
      "event-ruler README: prefix works on strings only",
      { detail: { "c-count": [{ prefix: "5" }] } },
      ec2Event,
      false,
    ],
    [
      "event-ruler JsonRuleCompiler: an empty prefix matches any string",
      { detail: { v: [{ prefix: "" }] } },
      withDetail({ v: "" }),
      true,
    ],
    [
      "event-ruler JsonRuleCompiler: an empty prefix does not match null",
      { detail: { v: [{ prefix: "" }] } },
      withDetail({ v: null }),
      false,
    ],
    [
      "AWS guide: Content filtering – prefix does not match a missing field",
      { detail: { v: [{ prefix: "a" }] } },
      withDetail({}),
      false,
    ],
    [
      "AWS guide: Content filtering – prefix with equals-ignore-case (EVENTB)",
      { detail: { service: [{ prefix: { "equals-ignore-case": "EventB" } }] } },
      withDetail({ service: "EVENTBRIDGE" }),
      true,
    ],
    [
      "AWS guide: Content filtering – prefix with equals-ignore-case (eventb)",
      { detail: { service: [{ prefix: { "equals-ignore-case": "EventB" } }] } },
      withDetail({ service: "eventbridge" }),
      true,
    ],
    [
      "AWS guide: Content filtering – prefix with equals-ignore-case, not at the start",
      { detail: { service: [{ prefix: { "equals-ignore-case": "EventB" } }] } },
      withDetail({ service: "my-eventbridge" }),
      false,
    ],
    [
      "AWS guide: Content filtering – plain prefix is case sensitive",
      { detail: { service: [{ prefix: "EventB" }] } },
      withDetail({ service: "eventbridge" }),
      false,
    ],
  ]);
});

describe("suffix", () => {
  runMatchCases([
    [
      "AWS guide: Content filtering – suffix matching",
      { FileName: [{ suffix: ".png" }] },
      { FileName: "image.png" },
      true,
    ],
    [
      "AWS guide: Content filtering – suffix not present",
      { FileName: [{ suffix: ".png" }] },
      { FileName: "image.jpg" },
      false,
    ],
    [
      "AWS guide: Content filtering – plain suffix is case sensitive",
      { FileName: [{ suffix: ".png" }] },
      { FileName: "IMAGE.PNG" },
      false,
    ],
    [
      "AWS guide: Content filtering – suffix with equals-ignore-case",
      { detail: { FileName: [{ suffix: { "equals-ignore-case": ".png" } }] } },
      withDetail({ FileName: "IMAGE.PNG" }),
      true,
    ],
    [
      "AWS guide: Content filtering – suffix with equals-ignore-case, other extension",
      { detail: { FileName: [{ suffix: { "equals-ignore-case": ".png" } }] } },
      withDetail({ FileName: "image.gif" }),
      false,
    ],
    ["event-ruler README: suffix matching on source", { source: [{ suffix: "ec2" }] }, ec2Event, true],
    [
      "event-ruler README: suffix works on strings only",
      { detail: { n: [{ suffix: "5" }] } },
      withDetail({ n: 15 }),
      false,
    ],
  ]);
});

describe("equals-ignore-case", () => {
  runMatchCases([
    [
      "event-ruler README: equals-ignore-case",
      { source: [{ "equals-ignore-case": "AWS.EC2" }] },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – equals-ignore-case, different value",
      { source: [{ "equals-ignore-case": "aws.ec" }] },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – equals-ignore-case in a value list",
      { detail: { state: ["stopped", { "equals-ignore-case": "RUNNING" }] } },
      ec2Event,
      true,
    ],
    [
      "event-ruler README: equals-ignore-case works on strings only",
      { detail: { v: [{ "equals-ignore-case": "true" }] } },
      withDetail({ v: true }),
      false,
    ],
  ]);
});

describe("wildcard", () => {
  runMatchCases([
    [
      "event-ruler README: wildcard in the middle",
      { source: [{ wildcard: "Simple*Service" }] },
      { source: "SimpleQueueService" },
      true,
    ],
    [
      "event-ruler README: wildcard matches zero characters",
      { source: [{ wildcard: "Simple*Service" }] },
      { source: "SimpleService" },
      true,
    ],
    [
      "event-ruler README: wildcard, suffix missing",
      { source: [{ wildcard: "Simple*Service" }] },
      { source: "SimpleQueue" },
      false,
    ],
    [
      "AWS guide: Content filtering – wildcard as a suffix test",
      { detail: { key: [{ wildcard: "*.png" }] } },
      withDetail({ key: "a/b.png" }),
      true,
    ],
    [
      "AWS guide: Content filtering – several wildcards in one value",
      { detail: { key: [{ wildcard: "dir/*/dir*/*.png" }] } },
      withDetail({ key: "dir/a/dirb/c.png" }),
      true,
    ],
    [
      "AWS guide: Content filtering – several wildcards, a literal part missing",
      { detail: { key: [{ wildcard: "dir/*/dir*/*.png" }] } },
      withDetail({ key: "dir/a/b/c.png" }),
      false,
    ],
    [
      "event-ruler WildcardParser: every literal part must appear in order",
      { v: [{ wildcard: "*ab*ab" }] },
      { v: "abab" },
      true,
    ],
    [
      "event-ruler WildcardParser: literal parts may not overlap",
      { v: [{ wildcard: "*ab*ab" }] },
      { v: "ab" },
      false,
    ],
    [
      "event-ruler README: an escaped asterisk is literal",
      { v: [{ wildcard: "a\\*b" }] },
      { v: "a*b" },
      true,
    ],
    [
      "event-ruler README: an escaped asterisk matches only itself",
      { v: [{ wildcard: "a\\*b" }] },
      { v: "axb" },
      false,
    ],
    [
      "event-ruler README: an escaped backslash is literal",
      { v: [{ wildcard: "a\\\\*" }] },
      { v: "a\\bc" },
      true,
    ],
    [
      "event-ruler README: a lone wildcard matches the empty string",
      { v: [{ wildcard: "*" }] },
      { v: "" },
      true,
    ],
    ["event-ruler README: wildcard works on strings only", { v: [{ wildcard: "*" }] }, { v: 7 }, false],
    [
      "AWS guide: Content filtering – wildcard on an S3 key in an array",
      { resources: [{ wildcard: "arn:aws:s3:::switchyard-*-artifacts" }] },
      { resources: ["arn:aws:s3:::other", "arn:aws:s3:::switchyard-prod-artifacts"] },
      true,
    ],
  ]);
});

describe("anything-but", () => {
  runMatchCases([
    [
      "AWS guide: Content filtering – anything-but a string",
      { detail: { state: [{ "anything-but": "initializing" }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but the value itself",
      { detail: { state: [{ "anything-but": "running" }] } },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – anything-but a number",
      { detail: { "x-limit": [{ "anything-but": 123 }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but the number itself",
      { detail: { "x-limit": [{ "anything-but": 301.8 }] } },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – anything-but a list of strings",
      { detail: { state: [{ "anything-but": ["stopped", "overloaded"] }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but a list holding the value",
      { detail: { state: [{ "anything-but": ["stopped", "running"] }] } },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – anything-but a list of numbers",
      { detail: { "x-limit": [{ "anything-but": [100, 200, 300] }] } },
      ec2Event,
      true,
    ],
    [
      "event-ruler ComparableNumber: anything-but compares numerically",
      '{"detail":{"n":[{"anything-but":[3.0e2]}]}}',
      '{"detail":{"n":300.000}}',
      false,
    ],
    [
      "AWS guide: Content filtering – anything-but needs the field",
      { detail: { v: [{ "anything-but": "x" }] } },
      withDetail({}),
      false,
    ],
    [
      "event-ruler ByteMachine: a number is anything but a string",
      { detail: { "c-count": [{ "anything-but": "5" }] } },
      ec2Event,
      true,
    ],
    [
      "event-ruler ByteMachine: a string is anything but a number",
      { detail: { v: [{ "anything-but": 5 }] } },
      withDetail({ v: "5" }),
      true,
    ],
    [
      "event-ruler ByteMachine: null is anything but a string",
      { detail: { v: [{ "anything-but": "x" }] } },
      withDetail({ v: null }),
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but prefix",
      { detail: { state: [{ "anything-but": { prefix: "init" } }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but prefix, excluded",
      { detail: { state: [{ "anything-but": { prefix: "init" } }] } },
      withDetail({ state: "initializing" }),
      false,
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but a list of prefixes",
      { region: [{ "anything-but": { prefix: ["us-", "eu-"] } }] },
      { region: "eu-west-1" },
      false,
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but a list of prefixes, none applies",
      { region: [{ "anything-but": { prefix: ["us-", "eu-"] } }] },
      { region: "ap-south-1" },
      true,
    ],
    [
      "event-ruler ByteMachine: a number is anything but a prefix",
      { detail: { v: [{ "anything-but": { prefix: "1" } }] } },
      withDetail({ v: 12 }),
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but suffix",
      { detail: { FileName: [{ "anything-but": { suffix: ".png" } }] } },
      withDetail({ FileName: "notes.txt" }),
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but suffix, excluded",
      { detail: { FileName: [{ "anything-but": { suffix: ".png" } }] } },
      withDetail({ FileName: "image.png" }),
      false,
    ],
    [
      "AWS guide: Content filtering – anything-but equals-ignore-case",
      { detail: { state: [{ "anything-but": { "equals-ignore-case": "RUNNING" } }] } },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – anything-but equals-ignore-case list",
      { detail: { state: [{ "anything-but": { "equals-ignore-case": ["Stopped", "Overloaded"] } }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but wildcard",
      { detail: { FilePath: [{ "anything-but": { wildcard: "*/lib/*" } }] } },
      withDetail({ FilePath: "/usr/lib/x.so" }),
      false,
    ],
    [
      "AWS guide: Content filtering – anything-but wildcard, path without lib",
      { detail: { FilePath: [{ "anything-but": { wildcard: "*/lib/*" } }] } },
      withDetail({ FilePath: "/usr/bin/x" }),
      true,
    ],
    [
      "AWS guide: Content filtering – anything-but a list of wildcards",
      { detail: { FilePath: [{ "anything-but": { wildcard: ["*/lib/*", "*/bin/*"] } }] } },
      withDetail({ FilePath: "/usr/bin/x" }),
      false,
    ],
  ]);
});

describe("numeric", () => {
  runMatchCases([
    [
      "AWS guide: Content filtering – numeric matching, all three conditions",
      {
        detail: {
          "c-count": [{ numeric: [">", 0, "<=", 5] }],
          "d-count": [{ numeric: ["<", 10] }],
          "x-limit": [{ numeric: ["=", 3.018e2] }],
        },
      },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – numeric upper bound excluded",
      { detail: { "c-count": [{ numeric: ["<", 5] }] } },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – numeric upper bound included",
      { detail: { "c-count": [{ numeric: ["<=", 5] }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – numeric lower bound excluded",
      { detail: { "c-count": [{ numeric: [">", 5] }] } },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – numeric lower bound included",
      { detail: { "c-count": [{ numeric: [">=", 5] }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – numeric equality",
      { detail: { "c-count": [{ numeric: ["=", 5] }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – numeric works on JSON numbers only",
      { detail: { n: [{ numeric: [">", 0] }] } },
      withDetail({ n: "5" }),
      false,
    ],
    [
      "AWS guide: Content filtering – negative range",
      { detail: { n: [{ numeric: [">=", -10, "<", 0] }] } },
      withDetail({ n: -5 }),
      true,
    ],
    [
      "AWS guide: Content filtering – numeric range limit is inclusive",
      { detail: { n: [{ numeric: ["<=", 5e9] }] } },
      withDetail({ n: 5e9 }),
      true,
    ],
    [
      "event-ruler ComparableNumber: a value beyond 5e9 matches no range",
      { detail: { n: [{ numeric: [">", 0] }] } },
      withDetail({ n: 6e9 }),
      false,
    ],
    [
      "event-ruler ComparableNumber: a value with more than six decimals matches no range",
      { detail: { n: [{ numeric: [">", 1] }] } },
      withDetail({ n: 1.0000001 }),
      false,
    ],
    [
      "event-ruler ComparableNumber: six decimals are compared exactly",
      { detail: { n: [{ numeric: [">", 1.000001] }] } },
      withDetail({ n: 1.000002 }),
      true,
    ],
    [
      "AWS guide: Content filtering – two numeric alternatives, value between",
      { detail: { n: [{ numeric: ["<", 0] }, { numeric: [">", 100] }] } },
      withDetail({ n: 50 }),
      false,
    ],
    [
      "AWS guide: Content filtering – two numeric alternatives, value above",
      { detail: { n: [{ numeric: ["<", 0] }, { numeric: [">", 100] }] } },
      withDetail({ n: 150 }),
      true,
    ],
    [
      "AWS guide: Content filtering – numeric needs the field",
      { detail: { n: [{ numeric: [">", 0] }] } },
      withDetail({}),
      false,
    ],
  ]);
});

describe("exists", () => {
  runMatchCases([
    [
      "AWS guide: Content filtering – exists true, field present",
      { detail: { state: [{ exists: true }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – exists true, field missing",
      { detail: { state: [{ exists: true }] } },
      withDetail({}),
      false,
    ],
    [
      "AWS guide: Content filtering – exists false, field missing",
      { detail: { state: [{ exists: false }] } },
      withDetail({}),
      true,
    ],
    [
      "AWS guide: Content filtering – exists false, field present",
      { detail: { state: [{ exists: false }] } },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Content filtering – exists true does not match an object (leaves only)",
      { detail: { "c-count": [{ exists: true }] } },
      withDetail({ "c-count": { c1: 100 } }),
      false,
    ],
    [
      "event-ruler README: exists false matches an object (not a leaf)",
      { detail: { "c-count": [{ exists: false }] } },
      withDetail({ "c-count": { c1: 100 } }),
      true,
    ],
    [
      "event-ruler README: exists true matches null (a JSON value)",
      { detail: { v: [{ exists: true }] } },
      withDetail({ v: null }),
      true,
    ],
    [
      "event-ruler README: exists false does not match null",
      { detail: { v: [{ exists: false }] } },
      withDetail({ v: null }),
      false,
    ],
    [
      "event-ruler README: exists true matches the empty string",
      { detail: { v: [{ exists: true }] } },
      withDetail({ v: "" }),
      true,
    ],
    [
      "event-ruler README: an empty array holds no value (exists false)",
      { detail: { v: [{ exists: false }] } },
      withDetail({ v: [] }),
      true,
    ],
    [
      "event-ruler README: an empty array holds no value (exists true)",
      { detail: { v: [{ exists: true }] } },
      withDetail({ v: [] }),
      false,
    ],
    [
      "event-ruler README: exists true on an array of values",
      { detail: { v: [{ exists: true }] } },
      withDetail({ v: [1] }),
      true,
    ],
    [
      "event-ruler README: exists false when the parent is missing",
      { detail: { v: [{ exists: false }] } },
      { source: "x" },
      true,
    ],
    [
      "AWS guide: Comparison operators – value or missing, missing",
      { detail: { state: ["running", { exists: false }] } },
      withDetail({}),
      true,
    ],
    [
      "AWS guide: Comparison operators – value or missing, value",
      { detail: { state: ["running", { exists: false }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Comparison operators – value or missing, other value",
      { detail: { state: ["running", { exists: false }] } },
      withDetail({ state: "stopped" }),
      false,
    ],
    [
      "event-ruler ACFinder: absence checked in the element chosen by an earlier field",
      { detail: { items: { name: ["b"], tag: [{ exists: false }] } } },
      withDetail({ items: [{ name: "a", tag: 1 }, { name: "b" }] }),
      true,
    ],
    [
      "event-ruler ACFinder: absence fails in the element chosen by an earlier field",
      { detail: { items: { name: ["a"], tag: [{ exists: false }] } } },
      withDetail({ items: [{ name: "a", tag: 1 }, { name: "b" }] }),
      false,
    ],
    [
      "event-ruler ACFinder: an absence sorting first is checked across every element",
      { detail: { items: { aaa: [{ exists: false }], name: ["b"] } } },
      withDetail({ items: [{ name: "a", aaa: 1 }, { name: "b" }] }),
      false,
    ],
    [
      "event-ruler ACFinder: an absence sorting first holds when no element has the field",
      { detail: { items: { aaa: [{ exists: false }], name: ["b"] } } },
      withDetail({ items: [{ name: "a" }, { name: "b" }] }),
      true,
    ],
    [
      "event-ruler ACFinder: a lone absence under an array needs every element without it",
      { detail: { items: { tag: [{ exists: false }] } } },
      withDetail({ items: [{ tag: 1 }, { name: "b" }] }),
      false,
    ],
    [
      "event-ruler ACFinder: a lone absence under an array, no element has the field",
      { detail: { items: { tag: [{ exists: false }] } } },
      withDetail({ items: [{ name: "a" }, { name: "b" }] }),
      true,
    ],
  ]);
});

describe("cidr", () => {
  runMatchCases([
    [
      "AWS guide: Content filtering – IP address matching",
      { detail: { "source-ip": [{ cidr: "10.0.0.0/24" }] } },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Content filtering – IP address outside the range",
      { detail: { "source-ip": [{ cidr: "10.0.1.0/24" }] } },
      ec2Event,
      false,
    ],
    [
      "event-ruler README: a wider IPv4 range",
      { detail: { "source-ip": [{ cidr: "10.0.0.0/8" }] } },
      ec2Event,
      true,
    ],
    [
      "event-ruler CIDR: /0 covers every IPv4 address",
      { detail: { ip: [{ cidr: "0.0.0.0/0" }] } },
      withDetail({ ip: "203.0.113.9" }),
      true,
    ],
    [
      "event-ruler CIDRTest: host bits in the CIDR are cleared",
      { detail: { ip: [{ cidr: "54.240.196.171/24" }] } },
      withDetail({ ip: "54.240.196.1" }),
      true,
    ],
    [
      "AWS guide: Content filtering – IPv6 matching",
      { detail: { ip: [{ cidr: "2001:db8::/32" }] } },
      withDetail({ ip: "2001:db8::1" }),
      true,
    ],
    [
      "AWS guide: Content filtering – IPv6 outside the range",
      { detail: { ip: [{ cidr: "2001:db8::/32" }] } },
      withDetail({ ip: "2001:db9::1" }),
      false,
    ],
    [
      "event-ruler CIDRTest: /122 upper end",
      { detail: { ip: [{ cidr: "2400:6500:FF00::36FB:1F80/122" }] } },
      withDetail({ ip: "2400:6500:ff00:0:0:0:36fb:1fbf" }),
      true,
    ],
    [
      "event-ruler CIDRTest: /122 just past the upper end",
      { detail: { ip: [{ cidr: "2400:6500:FF00::36FB:1F80/122" }] } },
      withDetail({ ip: "2400:6500:ff00::36fb:1fc0" }),
      false,
    ],
    [
      "event-ruler CIDR: an IPv4-mapped IPv6 address is read as IPv4",
      { detail: { ip: [{ cidr: "10.0.0.0/24" }] } },
      withDetail({ ip: "::ffff:a00:21" }),
      true,
    ],
    [
      "event-ruler CIDR: IPv4 ranges do not match IPv6 addresses",
      { detail: { ip: [{ cidr: "0.0.0.0/0" }] } },
      withDetail({ ip: "::1" }),
      false,
    ],
    [
      "event-ruler CIDR: text that is not an address",
      { detail: { ip: [{ cidr: "10.0.0.0/8" }] } },
      withDetail({ ip: "10.0.0.x" }),
      false,
    ],
    [
      "event-ruler CIDR: a number is not an address",
      { detail: { ip: [{ cidr: "10.0.0.0/8" }] } },
      withDetail({ ip: 167772161 }),
      false,
    ],
    [
      "event-ruler CIDR: octets with leading zeros are not addresses",
      { detail: { ip: [{ cidr: "10.0.0.0/8" }] } },
      withDetail({ ip: "010.0.0.1" }),
      false,
    ],
  ]);
});

describe("$or", () => {
  const cloudwatch = {
    source: "aws.cloudwatch",
    metricName: "NetworkIn",
    namespace: "AWS/EC2",
    detail: { source: "x" },
  };
  runMatchCases([
    [
      "event-ruler README: normal $or, second branch",
      {
        source: ["aws.cloudwatch"],
        $or: [{ metricName: ["CPUUtilization", "ReadLatency"] }, { namespace: ["AWS/EC2", "AWS/ES"] }],
      },
      cloudwatch,
      true,
    ],
    [
      "event-ruler README: normal $or, no branch",
      { source: ["aws.cloudwatch"], $or: [{ metricName: ["CPUUtilization"] }, { namespace: ["AWS/ES"] }] },
      cloudwatch,
      false,
    ],
    [
      "event-ruler README: normal $or, the rest of the pattern still applies",
      { source: ["aws.ec2"], $or: [{ metricName: ["NetworkIn"] }, { namespace: ["AWS/EC2"] }] },
      cloudwatch,
      false,
    ],
    [
      "event-ruler README: parallel $or at two levels",
      {
        $or: [{ metricName: ["NetworkIn"] }, { namespace: ["AWS/ES"] }],
        detail: {
          $or: [{ source: ["aws.cloudwatch"] }, { "detail-type": ["CloudWatch Alarm State Change"] }],
        },
      },
      cloudwatch,
      false,
    ],
    [
      "event-ruler README: $or with an AND inside a branch",
      {
        source: ["aws.cloudwatch"],
        $or: [
          { metricName: ["CPUUtilization"] },
          { metricType: ["MetricType"], namespace: ["AWS/EC2"] },
          { scope: ["Service"] },
        ],
      },
      { ...cloudwatch, metricType: "MetricType" },
      true,
    ],
    [
      "event-ruler README: nested $or inside an AND branch",
      {
        source: ["aws.cloudwatch"],
        $or: [
          { metricName: ["CPUUtilization"] },
          { namespace: ["AWS/EC2"], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
        ],
      },
      { ...cloudwatch, spaceId: 1000 },
      true,
    ],
    [
      "AWS guide: Comparison operators – $or on detail fields with different operators",
      { detail: { $or: [{ "c-count": [{ numeric: [">", 10] }] }, { state: [{ prefix: "run" }] }] } },
      ec2Event,
      true,
    ],
    [
      "event-ruler ACFinder: $or branches inside array elements keep array consistency",
      { employees: { firstName: ["Anna"], $or: [{ lastName: ["Jones"] }, { age: [30] }] } },
      {
        employees: [
          { firstName: "Anna", lastName: "Smith", age: 30 },
          { firstName: "Peter", lastName: "Jones" },
        ],
      },
      true,
    ],
    [
      "event-ruler ACFinder: $or branches inside array elements, no consistent element",
      { employees: { firstName: ["Anna"], $or: [{ lastName: ["Jones"] }, { age: [31] }] } },
      {
        employees: [
          { firstName: "Anna", lastName: "Smith", age: 30 },
          { firstName: "Peter", lastName: "Jones" },
        ],
      },
      false,
    ],
  ]);
});

describe("nested fields and unusual keys", () => {
  runMatchCases([
    [
      "AWS guide: Event patterns – nesting follows the event",
      { detail: { requestParameters: { bucketName: [{ prefix: "switchyard-" }] } } },
      withDetail({ requestParameters: { bucketName: "switchyard-artifacts" } }),
      true,
    ],
    [
      "AWS guide: Event patterns – nesting must match the event's structure",
      { detail: { bucketName: [{ prefix: "switchyard-" }] } },
      withDetail({ requestParameters: { bucketName: "switchyard-artifacts" } }),
      false,
    ],
    [
      "matching: a key named like an Object.prototype member is an ordinary field",
      { detail: { constructor: [{ exists: true }] } },
      withDetail({}),
      false,
    ],
    [
      "matching: an absent constructor field",
      { detail: { constructor: [{ exists: false }] } },
      withDetail({}),
      true,
    ],
    [
      "matching: a __proto__ key from JSON text is an ordinary field",
      '{"detail":{"__proto__":["x"]}}',
      '{"detail":{"__proto__":"x"}}',
      true,
    ],
  ]);
});

describe("source pre-check", () => {
  runMatchCases([
    [
      "AWS guide: Arrays – an array-valued source still matches through any element",
      { source: ["aws.ec2"] },
      { source: ["switchyard", "aws.ec2"] },
      true,
    ],
    [
      "AWS guide: Arrays – an array-valued source with no listed element",
      { source: ["aws.ec2"] },
      { source: ["switchyard"] },
      false,
    ],
    [
      "AWS guide: Comparison operators – $or whose branches name different sources",
      { $or: [{ source: ["aws.ecr"] }, { source: ["aws.ec2"], detail: { state: ["running"] } }] },
      ec2Event,
      true,
    ],
    [
      "AWS guide: Comparison operators – $or whose branches name other sources",
      { $or: [{ source: ["aws.ecr"] }, { source: ["aws.s3"] }] },
      ec2Event,
      false,
    ],
    [
      "AWS guide: Event patterns – a pattern on source against an event without one",
      { source: ["aws.ec2"] },
      { detail: {} },
      false,
    ],
    [
      "AWS guide: Content filtering – source absent or from switchyard",
      { source: ["switchyard", { exists: false }] },
      { detail: {} },
      true,
    ],
  ]);
});

describe("events given as JSON text", () => {
  it("matches JSON text exactly as the parsed object (event-ruler README: rulesForJSONEvent)", () => {
    const rule = compilePattern({ detail: { state: ["running"] } });
    expect(rule.matches(JSON.stringify(ec2Event))).toBe(true);
    expect(rule.matches(JSON.stringify(withDetail({ state: "stopped" })))).toBe(false);
  });

  it("gives the same answer for the same text matched against several rules", () => {
    const text = JSON.stringify(ec2Event);
    const rules = [compilePattern({ source: ["aws.ec2"] }), compilePattern({ source: ["aws.ecr"] })];
    expect(rules.map((rule) => rule.matches(text))).toEqual([true, false]);
    expect(rules.map((rule) => rule.matches(text))).toEqual([true, false]);
  });

  it("throws on malformed JSON text rather than guessing", () => {
    expect(() => compilePattern({ source: ["x"] }).matches("{not json")).toThrow(SyntaxError);
  });
});

describe("compilePattern and matchesPattern", () => {
  it("keeps the pattern's JSON text and object", () => {
    const text = '{"source":["aws.ec2"]}';
    const rule = compilePattern(text);
    expect(rule.source).toBe(text);
    expect(rule.pattern).toEqual({ source: ["aws.ec2"] });
    expect(compilePattern({ source: ["aws.ec2"] }).source).toBe(text);
  });

  it("matchesPattern is the one-off form (AWS guide: Event patterns – the EC2 example)", () => {
    const pattern = {
      source: ["aws.ec2"],
      "detail-type": ["EC2 Instance State-change Notification"],
      detail: { state: ["running"] },
    };
    expect(matchesPattern(pattern, ec2Event)).toBe(true);
    expect(matchesPattern(JSON.stringify(pattern), withDetail({ state: "running" }))).toBe(false);
  });

  it("accepts a longer pattern when the quota is raised (AWS guide: quotas – adjustable to 4,096)", () => {
    const long = { source: Array.from({ length: 200 }, (_, i) => `switchyard.source.${i}`) };
    expect(() => compilePattern(long)).toThrow(InvalidEventPatternError);
    expect(compilePattern(long, { maxPatternLength: 8192 }).matches({ source: "switchyard.source.7" })).toBe(
      true,
    );
  });

  it("uses the last of duplicate keys in JSON text (AWS guide: Content filtering – duplicate keys)", () => {
    const rule = compilePattern(
      '{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}',
    );
    expect(rule.matches(withDetail({ location: "eu-west" }))).toBe(true);
    expect(rule.matches(withDetail({ location: "us-east" }))).toBe(false);
  });
});

describe("invalid patterns", () => {
  const tooLong = { source: ["x".repeat(2100)] };
  const cases: InvalidCase[] = [
    ["event-ruler JsonRuleCompiler: a JSON array is not a pattern", "[]", "Filter is not an object", "$"],
    ["event-ruler JsonRuleCompiler: text that is not JSON", "{source:", "Filter is not valid JSON", "$"],
    ["event-ruler JsonRuleCompiler: a number is not a pattern", 5, "Filter is not an object", "$"],
    ["event-ruler JsonRuleCompiler: empty pattern", {}, "Empty objects are not allowed", "$"],
    [
      "event-ruler JsonRuleCompiler: empty nested object",
      { detail: {} },
      "Empty objects are not allowed",
      "$.detail",
    ],
    [
      "AWS guide: Event patterns – a leaf must be an array",
      { source: "aws.ec2" },
      '"source" must be an object or an array',
      "$.source",
    ],
    [
      "AWS guide: Event patterns – a number leaf",
      { detail: { n: 5 } },
      '"n" must be an object or an array',
      "$.detail.n",
    ],
    [
      "event-ruler JsonRuleCompiler: empty value list",
      { detail: { state: [] } },
      "Empty arrays are not allowed",
      "$.detail.state",
    ],
    [
      "event-ruler JsonRuleCompiler: nested value list",
      { source: [["a"]] },
      "Match value must be String, number, true, false, or null",
      "$.source[0]",
    ],
    [
      "event-ruler JsonRuleCompiler: empty match expression",
      { source: [{}] },
      "Match expression name not found",
      "$.source[0]",
    ],
    [
      "AWS guide: Comparison operators – unknown operator",
      { source: [{ contains: "ec2" }] },
      "Unrecognized match type contains",
      "$.source[0].contains",
    ],
    [
      "event-ruler JsonRuleCompiler: two operators in one expression",
      { source: [{ prefix: "a", suffix: "b" }] },
      "Only one key allowed in match expression",
      "$.source[0].suffix",
    ],
    [
      "event-ruler JsonRuleCompiler: prefix must be a string",
      { source: [{ prefix: 5 }] },
      "prefix match pattern must be a string",
      "$.source[0].prefix",
    ],
    [
      "event-ruler JsonRuleCompiler: prefix object with another operator",
      { source: [{ prefix: { wildcard: "a*" } }] },
      "Unsupported prefix pattern: wildcard",
      "$.source[0].prefix.wildcard",
    ],
    [
      "event-ruler JsonRuleCompiler: prefix equals-ignore-case must be a string",
      { source: [{ prefix: { "equals-ignore-case": 1 } }] },
      "equals-ignore-case match pattern must be a string",
      '$.source[0].prefix["equals-ignore-case"]',
    ],
    [
      "event-ruler JsonRuleCompiler: empty prefix object",
      { source: [{ prefix: {} }] },
      "Prefix expression name not found",
      "$.source[0].prefix",
    ],
    [
      "event-ruler JsonRuleCompiler: suffix must be a string",
      { source: [{ suffix: ["a"] }] },
      "suffix match pattern must be a string",
      "$.source[0].suffix",
    ],
    [
      "event-ruler JsonRuleCompiler: suffix object with another operator",
      { source: [{ suffix: { prefix: "a" } }] },
      "Unsupported suffix pattern: prefix",
      "$.source[0].suffix.prefix",
    ],
    [
      "event-ruler JsonRuleCompiler: equals-ignore-case must be a string",
      { source: [{ "equals-ignore-case": 5 }] },
      "equals-ignore-case match pattern must be a string",
      '$.source[0]["equals-ignore-case"]',
    ],
    [
      "event-ruler JsonRuleCompiler: wildcard must be a string",
      { source: [{ wildcard: null }] },
      "wildcard match pattern must be a string",
      "$.source[0].wildcard",
    ],
    [
      "event-ruler WildcardParser: consecutive wildcards",
      { source: [{ wildcard: "a**b" }] },
      "Consecutive wildcard characters at pos 1",
      "$.source[0].wildcard",
    ],
    [
      "event-ruler WildcardParser: escaping another character",
      { source: [{ wildcard: "a\\b" }] },
      "Invalid escape character at pos 1",
      "$.source[0].wildcard",
    ],
    [
      "event-ruler WildcardParser: a trailing backslash",
      { source: [{ wildcard: "ab\\" }] },
      "Invalid escape character at pos 2",
      "$.source[0].wildcard",
    ],
    [
      "event-ruler WildcardParser: an escaped backslash before two wildcards",
      { source: [{ wildcard: "a\\\\**" }] },
      "Consecutive wildcard characters at pos 3",
      "$.source[0].wildcard",
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but null",
      { source: [{ "anything-but": null }] },
      "Value of anything-but must be an array or single string/number value.",
      '$.source[0]["anything-but"]',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but list with a boolean",
      { source: [{ "anything-but": [true] }] },
      "Inside anything-but list, start|null|boolean is not supported.",
      '$.source[0]["anything-but"][0]',
    ],
    [
      "AWS guide: Content filtering – anything-but list mixing strings and numbers",
      { source: [{ "anything-but": ["a", 1] }] },
      "mixed type is not supported",
      '$.source[0]["anything-but"]',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but empty list",
      { source: [{ "anything-but": [] }] },
      "mixed type is not supported",
      '$.source[0]["anything-but"]',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but with an unsupported operator",
      { source: [{ "anything-but": { numeric: [">", 1] } }] },
      "Unsupported anything-but pattern: numeric",
      '$.source[0]["anything-but"].numeric',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but empty operator object",
      { source: [{ "anything-but": {} }] },
      "Anything-but expression name not found",
      '$.source[0]["anything-but"]',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but an empty prefix",
      { source: [{ "anything-but": { prefix: "" } }] },
      "Null prefix/suffix not allowed",
      '$.source[0]["anything-but"].prefix',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but a numeric suffix",
      { source: [{ "anything-but": { suffix: 5 } }] },
      "prefix/suffix match pattern must be a string",
      '$.source[0]["anything-but"].suffix',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but equals-ignore-case with a number",
      { source: [{ "anything-but": { "equals-ignore-case": ["a", 1] } }] },
      "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
      '$.source[0]["anything-but"]["equals-ignore-case"][1]',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but an invalid wildcard",
      { source: [{ "anything-but": { wildcard: ["ok*", "a**"] } }] },
      "Consecutive wildcard characters at pos 1",
      '$.source[0]["anything-but"].wildcard[1]',
    ],
    [
      "event-ruler JsonRuleCompiler: anything-but with two operators",
      { source: [{ "anything-but": { prefix: "a", suffix: "b" } }] },
      "Only one key allowed in match expression",
      '$.source[0]["anything-but"].suffix',
    ],
    [
      "event-ruler ComparableNumber: anything-but a number beyond 5e9",
      { n: [{ "anything-but": 1e10 }] },
      "Value must be between -5000000000 and 5000000000, inclusive",
      '$.n[0]["anything-but"]',
    ],
    [
      "event-ruler ComparableNumber: anything-but a number with seven decimals",
      { n: [{ "anything-but": [1, 1.0000001] }] },
      "Only values up to 6 decimals are supported",
      '$.n[0]["anything-but"][1]',
    ],
    [
      "event-ruler JsonRuleCompiler: numeric must be an array",
      { n: [{ numeric: ">" }] },
      "Value of numeric must be an array.",
      "$.n[0].numeric",
    ],
    [
      "event-ruler JsonRuleCompiler: numeric empty list",
      { n: [{ numeric: [] }] },
      "Invalid member in numeric match",
      "$.n[0].numeric[0]",
    ],
    [
      "event-ruler JsonRuleCompiler: numeric operand as a string",
      { n: [{ numeric: ["=", "5"] }] },
      "Value of = must be numeric",
      "$.n[0].numeric[1]",
    ],
    [
      "event-ruler JsonRuleCompiler: numeric operand missing",
      { n: [{ numeric: [">", 0, "<"] }] },
      "Value of < must be numeric",
      "$.n[0].numeric[3]",
    ],
    [
      "event-ruler JsonRuleCompiler: numeric upper bound first",
      { n: [{ numeric: ["<", 5, ">", 1] }] },
      "Too many elements in numeric expression",
      "$.n[0].numeric[2]",
    ],
    [
      "event-ruler JsonRuleCompiler: numeric with two lower bounds",
      { n: [{ numeric: [">", 0, ">", 5] }] },
      "Bad numeric range operator: >",
      "$.n[0].numeric[2]",
    ],
    [
      "event-ruler JsonRuleCompiler: numeric range with a number as operator",
      { n: [{ numeric: [">", 0, 5] }] },
      "Bad value in numeric range: 5",
      "$.n[0].numeric[2]",
    ],
    [
      "event-ruler Range: numeric range upside down",
      { n: [{ numeric: [">", 10, "<", 5] }] },
      "Bottom must be less than top",
      "$.n[0].numeric",
    ],
    [
      "event-ruler Range: numeric range of one point",
      { n: [{ numeric: [">=", 5, "<=", 5] }] },
      "Bottom must be less than top",
      "$.n[0].numeric",
    ],
    [
      "event-ruler Range: numeric above the upper limit",
      { n: [{ numeric: [">", 5e9] }] },
      "Bottom must be less than top",
      "$.n[0].numeric",
    ],
    [
      "event-ruler JsonRuleCompiler: numeric with too many terms",
      { n: [{ numeric: [">", 0, "<", 10, 5] }] },
      "Too many terms in numeric range expression",
      "$.n[0].numeric[4]",
    ],
    [
      "event-ruler JsonRuleCompiler: numeric unknown operator",
      { n: [{ numeric: ["!=", 5] }] },
      "Unrecognized numeric range operator: !=",
      "$.n[0].numeric[0]",
    ],
    [
      "AWS guide: Content filtering – numeric values limited to ±5e9",
      { n: [{ numeric: [">", -6e9] }] },
      "Value must be between -5000000000 and 5000000000, inclusive",
      "$.n[0].numeric[1]",
    ],
    [
      "AWS guide: Content filtering – numeric values limited to six decimals",
      { n: [{ numeric: ["=", 0.1234567] }] },
      "Only values up to 6 decimals are supported",
      "$.n[0].numeric[1]",
    ],
    [
      "event-ruler JsonRuleCompiler: exists must be a boolean",
      { n: [{ exists: "true" }] },
      "exists match pattern must be either true or false",
      "$.n[0].exists",
    ],
    [
      "event-ruler JsonRuleCompiler: cidr must be a string",
      { ip: [{ cidr: 10 }] },
      "cidr match pattern must be a string",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDR: CIDR without a mask",
      { ip: [{ cidr: "10.0.0.0" }] },
      "Malformed CIDR, one '/' required",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDRTest: CIDR with a word for a mask",
      { ip: [{ cidr: "192.168.0.1/foo" }] },
      "Malformed CIDR, mask bits must be an integer",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDRTest: CIDR with a negative mask",
      { ip: [{ cidr: "192.168.0.1/-3424" }] },
      "Malformed CIDR, mask bits must not be negative",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDRTest: IPv4 mask of 33 bits",
      { ip: [{ cidr: "192.168.0.1/33" }] },
      "IPv4 mask bits must be < 32",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDR: IPv4 mask of 32 bits is refused",
      { ip: [{ cidr: "10.0.0.1/32" }] },
      "IPv4 mask bits must be < 32",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDRTest: IPv6 mask of 222 bits",
      { ip: [{ cidr: "2400:6500:FF00::36FB:1F80/222" }] },
      "IPv6 mask bits must be < 128",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDRTest: IPv4 octet above 255",
      { ip: [{ cidr: "700.168.0.1/24" }] },
      "Invalid IP address: 700.168.0.1",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDRTest: a word for an address",
      { ip: [{ cidr: "snorkle/3" }] },
      "Nonstandard IP address: snorkle",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDRTest: too many IPv6 groups",
      { ip: [{ cidr: "2400:6500:3:3:3:3:3:3:3:3FF00::36FB:1F80/122" }] },
      "Invalid IP address",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDR: an IPv4-mapped IPv6 CIDR is read as IPv4, so its mask is too wide",
      { ip: [{ cidr: "::ffff:a00:0/120" }] },
      "IPv4 mask bits must be < 32",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler CIDRTest: five IPv4 octets",
      { ip: [{ cidr: "10.10.10.10.10/3" }] },
      "Nonstandard IP address",
      "$.ip[0].cidr",
    ],
    [
      "event-ruler JsonRuleCompiler: $or needs an array",
      { $or: { a: ["x"] } },
      "$or must be followed by an array",
      '$["$or"]',
    ],
    [
      "AWS guide: Comparison operators – $or needs two or more patterns",
      { $or: [{ a: ["x"] }] },
      "There must be at least 2 objects in $or",
      '$["$or"]',
    ],
    [
      "event-ruler JsonRuleCompiler: $or holds objects only",
      { $or: [{ a: ["x"] }, ["b"]] },
      "Only JSON objects are allowed in an array of $or",
      '$["$or"][1]',
    ],
    [
      "event-ruler README: operator names are reserved inside $or",
      { $or: [{ numeric: [123] }, { prefix: ["abc"] }] },
      "numeric is a reserved field name which cannot be used inside $or",
      '$["$or"][0].numeric',
    ],
    [
      "event-ruler JsonRuleCompiler: reserved names are refused deeper inside $or too",
      { detail: { $or: [{ a: { exists: ["x"] } }, { b: ["y"] }] } },
      "exists is a reserved field name which cannot be used inside $or",
      '$.detail["$or"][0].a.exists',
    ],
    [
      "event-ruler JsonRuleCompiler: empty object in $or",
      { $or: [{ a: ["x"] }, {}] },
      "Empty objects are not allowed",
      '$["$or"][1]',
    ],
    ["AWS guide: quotas – event pattern longer than 2,048 characters", tooLong, "the limit is 2048", "$"],
    [
      "matching: NaN is not a JSON number",
      { n: [Number.NaN] },
      "Match value must be a finite number",
      "$.n[0]",
    ],
    [
      "AWS guide: Content filtering – the path names the offending field",
      { detail: { "action-type": [{ prefix: 1 }] } },
      "prefix match pattern must be a string",
      '$.detail["action-type"][0].prefix',
    ],
  ];

  it.each<InvalidCase>(cases)("%s", (_name, pattern, reason, path) => {
    let caught: unknown;
    try {
      compilePattern(pattern as string | object);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEventPatternError);
    const error = caught as InvalidEventPatternError;
    expect(error.name).toBe("InvalidEventPatternError");
    expect(error.message).toMatch(/^Event pattern is not valid\. Reason: /);
    expect(error.message).toContain(reason);
    expect(error.message).toContain(` at ${path}`);
    expect(error.path).toBe(path);
  });

  it("keeps the JSON parser's error as the cause", () => {
    expect(() => compilePattern("{")).toThrow(expect.objectContaining({ cause: expect.any(SyntaxError) }));
  });
});

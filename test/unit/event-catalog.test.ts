// The event catalog against its samples: every sample parses, every sample file is listed once, broken events are refused.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  type CatalogEntry,
  type CatalogEvent,
  catalog,
  type EcrImageActionEvent,
  findCatalogEntry,
} from "../../events/catalog.ts";
import type { ecrImageActionEventSchema } from "../../events/schemas/aws-ecr.ts";
import type { EventBridgeEvent } from "../../events/types.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const samplesDir = join(repoRoot, "events", "samples");

const entries: readonly CatalogEntry[] = catalog;

/** Every JSON file under events/samples, as a repository-relative path with forward slashes. */
function sampleFilesOnDisk(): string[] {
  return readdirSync(samplesDir, { recursive: true, withFileTypes: true })
    .filter((file) => file.isFile() && file.name.endsWith(".json"))
    .map((file) => relative(repoRoot, join(file.parentPath, file.name)).split(sep).join("/"))
    .sort();
}

function readSample(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(repoRoot, path), "utf8")) as Record<string, unknown>;
}

/** The schema a sample file is meant for: its entry's event schema, or the ingest schema for webhook bodies. */
function schemaForSample(path: string): z.ZodType {
  for (const entry of entries) {
    if (entry.samples.includes(path)) return entry.schema;
    if (entry.ingest?.samples.includes(path)) return entry.ingest.schema;
  }
  throw new Error(`${path} is not listed in the catalog`);
}

type PathSegment = string | number;
const remove = Symbol("remove");

/** A deep copy of `value` with the field at `path` replaced (or removed). */
function withField(value: unknown, path: readonly PathSegment[], replacement: unknown): unknown {
  const copy = structuredClone(value);
  let parent = copy as Record<PathSegment, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<PathSegment, unknown>;
  const last = path.at(-1);
  if (last === undefined) throw new Error("path must not be empty");
  if (replacement === remove) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

const eventSampleCases = entries.flatMap((entry) =>
  entry.samples.map((sample) => ({ sample, detailType: entry.detailType, entry })),
);
const ingestSampleCases = entries.flatMap((entry) =>
  (entry.ingest?.samples ?? []).map((sample) => ({ sample, detailType: entry.detailType, entry })),
);

describe("event catalog samples", () => {
  it.each(eventSampleCases)("$sample parses as $detailType", ({ sample, entry }) => {
    const result = entry.schema.safeParse(readSample(sample));

    expect(result.success, result.error && z.prettifyError(result.error)).toBe(true);
  });

  it.each(ingestSampleCases)("$sample parses as the webhook body of $detailType", ({ sample, entry }) => {
    const result = entry.ingest?.schema.safeParse(readSample(sample));

    expect(result?.success, result?.error && z.prettifyError(result.error)).toBe(true);
  });

  it.each(eventSampleCases)(
    "$sample carries the source and detail-type of its entry",
    ({ sample, entry }) => {
      const event = readSample(sample);

      expect([event.source, event["detail-type"]]).toEqual([entry.source, entry.detailType]);
      expect(findCatalogEntry(String(event.source), String(event["detail-type"]))).toBe(entry);
    },
  );

  it.each(eventSampleCases)("$sample is refused by every other entry's schema", ({ sample, entry }) => {
    const event = readSample(sample);
    const alsoAccepting = entries
      .filter((other) => other !== entry && other.schema.safeParse(event).success)
      .map((other) => `${other.source} / ${other.detailType}`);

    expect(alsoAccepting).toEqual([]);
  });

  it("lists every file under events/samples exactly once", () => {
    const listed = entries.flatMap((entry) => [...entry.samples, ...(entry.ingest?.samples ?? [])]);

    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(sampleFilesOnDisk());
  });

  it("puts the Alertmanager webhook body on the bus unchanged", () => {
    const event = readSample("events/samples/alertmanager/alert-group-firing.json");

    expect(event.detail).toEqual(readSample("events/samples/alertmanager/webhook-v4.json"));
  });

  it("has no sample that carries a secret value or a task token", () => {
    const forbiddenKeys = new Set([
      "password",
      "secretstring",
      "secretbinary",
      "secretvalue",
      "tasktoken",
      "apikey",
      "privatekey",
      "clientsecret",
    ]);
    const offending: string[] = [];
    const visit = (value: unknown, path: string): void => {
      if (Array.isArray(value)) {
        for (const [index, item] of value.entries()) visit(item, `${path}[${index}]`);
      } else if (typeof value === "object" && value !== null) {
        for (const [key, child] of Object.entries(value)) {
          if (forbiddenKeys.has(key.toLowerCase())) offending.push(`${path}.${key}`);
          visit(child, `${path}.${key}`);
        }
      }
    };
    for (const file of sampleFilesOnDisk()) visit(readSample(file), file);

    expect(offending).toEqual([]);
  });
});

describe("catalog entries", () => {
  it("identifies each event type by a unique (source, detail-type) pair", () => {
    const keys = entries.map((entry) => `${entry.source}\u0000${entry.detailType}`);

    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each([
    "Promotion Succeeded",
    "Promotion Failed",
    "Promotion Rolled Back",
    "Approval Requested",
    "Approval Decided",
    "Secret Rotated",
    "Secret Rollout Failed",
    "Snapshot Created",
    "Incident Opened",
    "Incident Escalated",
    "Incident Resolved",
  ])("defines the Switchyard domain event %s", (detailType) => {
    expect(findCatalogEntry("switchyard", detailType)).toBeDefined();
  });

  it("names Switchyard domain events 'Noun PastTenseVerb' (the noun may be compound: Secret Rollout Failed)", () => {
    const detailTypes = entries
      .filter((entry) => entry.source === "switchyard")
      .map((entry) => entry.detailType);

    for (const detailType of detailTypes)
      expect(detailType).toMatch(/^[A-Z][a-z]+( [A-Z][a-z]+)? [A-Z][a-z]*ed( [A-Z][a-z]+)?$/);
  });

  it.each([
    ["aws.ecr", "ECR Image Scan"],
    ["github.com", "pull_request"],
    ["switchyard", "promotion succeeded"],
  ])("finds no entry for %s / %s", (source, detailType) => {
    expect(findCatalogEntry(source, detailType)).toBeUndefined();
  });

  it("types a literal lookup as that entry and every parsed event as an EventBridge event", () => {
    expectTypeOf(findCatalogEntry("aws.ecr", "ECR Image Action")?.schema).toEqualTypeOf<
      typeof ecrImageActionEventSchema | undefined
    >();
    expectTypeOf<EcrImageActionEvent["detail"]["image-tag"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<CatalogEvent>().toExtend<EventBridgeEvent>();
  });
});

describe("event schemas", () => {
  it.each([
    {
      name: "an ECR event without repository-name",
      sample: "events/samples/aws.ecr/image-push.json",
      path: ["detail", "repository-name"],
      value: remove,
    },
    {
      name: "an account that is not 12 digits",
      sample: "events/samples/aws.ecr/image-push.json",
      path: ["account"],
      value: "12345678901",
    },
    {
      name: "a digest that is not sha256:<64 hex>",
      sample: "events/samples/aws.ecr/image-push.json",
      path: ["detail", "image-digest"],
      value: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
    },
    {
      name: "a digest with another algorithm",
      sample: "events/samples/aws.ecr/image-delete.json",
      path: ["detail", "image-digest"],
      value: `sha512:${"a".repeat(64)}`,
    },
    {
      name: "an unknown ECR action type",
      sample: "events/samples/aws.ecr/image-push.json",
      path: ["detail", "action-type"],
      value: "PULL",
    },
    {
      name: "another detail-type under the same source",
      sample: "events/samples/aws.ecr/image-push.json",
      path: ["detail-type"],
      value: "ECR Image Scan",
    },
    {
      name: "another source with the same detail-type",
      sample: "events/samples/aws.ecr/image-push.json",
      path: ["source"],
      value: "custom.ecr",
    },
    {
      name: "a time that is not ISO 8601",
      sample: "events/samples/aws.ecr/image-push.json",
      path: ["time"],
      value: "2025-01-14 09:30:12",
    },
    {
      name: "a region that is not a region code",
      sample: "events/samples/aws.cloudwatch/alarm-state-change.json",
      path: ["region"],
      value: "Ireland",
    },
    {
      name: "an envelope version other than 0",
      sample: "events/samples/aws.events/scheduled-event.json",
      path: ["version"],
      value: "1",
    },
    {
      name: "a scheduled event without the rule ARN",
      sample: "events/samples/aws.events/scheduled-event.json",
      path: ["resources"],
      value: [],
    },
    {
      name: "an alarm state that CloudWatch does not have",
      sample: "events/samples/aws.cloudwatch/alarm-state-change.json",
      path: ["detail", "state", "value"],
      value: "FIRING",
    },
    {
      name: "an alarm event whose resource is not an alarm ARN",
      sample: "events/samples/aws.cloudwatch/alarm-state-change.json",
      path: ["resources", 0],
      value: "checkout-prod-target-5xx",
    },
    {
      name: "a CloudTrail record from another service",
      sample: "events/samples/aws.secretsmanager/rotation-succeeded.json",
      path: ["detail", "eventSource"],
      value: "kms.amazonaws.com",
    },
    {
      name: "a rotation event that names the secret without its ARN",
      sample: "events/samples/aws.secretsmanager/rotation-failed.json",
      path: ["detail", "additionalEventData", "SecretId"],
      value: "payments/prod/psp-api-key",
    },
    {
      name: "an API call instead of a service event",
      sample: "events/samples/aws.secretsmanager/rotation-succeeded.json",
      path: ["detail", "eventType"],
      value: "AwsApiCall",
    },
    {
      name: "a push whose after is not a full SHA",
      sample: "events/samples/github.com/push.json",
      path: ["detail", "after"],
      value: "3f2a9c1",
    },
    {
      name: "a release without a tag name",
      sample: "events/samples/github.com/release-published.json",
      path: ["detail", "release", "tag_name"],
      value: remove,
    },
    {
      name: "a completed workflow run without a conclusion",
      sample: "events/samples/github.com/workflow-run-completed.json",
      path: ["detail", "workflow_run", "conclusion"],
      value: null,
    },
    {
      name: "an Alertmanager payload version other than 4",
      sample: "events/samples/alertmanager/alert-group-firing.json",
      path: ["detail", "version"],
      value: "3",
    },
    {
      name: "an alert fingerprint that is not 16 hex characters",
      sample: "events/samples/alertmanager/webhook-v4.json",
      path: ["alerts", 0, "fingerprint"],
      value: "CheckoutHighErrorRate",
    },
    {
      name: "an alert status Alertmanager does not send",
      sample: "events/samples/alertmanager/webhook-v4.json",
      path: ["status"],
      value: "pending",
    },
    {
      name: "a promotion with a malformed digest",
      sample: "events/samples/switchyard/promotion-succeeded.json",
      path: ["detail", "digest"],
      value: "checkout@sha256:abc",
    },
    {
      name: "a failure whose error is not named like an error class",
      sample: "events/samples/switchyard/promotion-failed.json",
      path: ["detail", "error", "name"],
      value: "timeout",
    },
    {
      name: "an approval approved by nobody",
      sample: "events/samples/switchyard/approval-decided.json",
      path: ["detail", "decidedBy"],
      value: [],
    },
    {
      name: "a pre-change snapshot without its promotion",
      sample: "events/samples/switchyard/snapshot-created.json",
      path: ["detail", "promotionId"],
      value: remove,
    },
    {
      name: "a failed rollout whose step is not a rollout step",
      sample: "events/samples/switchyard/secret-rollout-failed.json",
      path: ["detail", "failedStep"],
      value: "approval",
    },
    {
      name: "a failed rollout whose reason is longer than 1024 characters",
      sample: "events/samples/switchyard/secret-rollout-failed.json",
      path: ["detail", "reason"],
      value: "x".repeat(1025),
    },
    {
      name: "an escalation that does not raise the level",
      sample: "events/samples/switchyard/incident-escalated.json",
      path: ["detail", "level"],
      value: 1,
    },
  ])("refuses $name, naming the field", ({ sample, path, value }) => {
    const result = schemaForSample(sample).safeParse(withField(readSample(sample), path, value));

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toContainEqual(path);
    expect(result.error && z.prettifyError(result.error)).toContain(String(path.at(-1)));
  });

  it("refuses a Switchyard event that carries a field it does not define, such as a secret value", () => {
    const sample = "events/samples/switchyard/secret-rotated.json";
    const result = schemaForSample(sample).safeParse(
      withField(readSample(sample), ["detail", "secretValue"], "hunter2"),
    );

    expect(result.success).toBe(false);
    expect(result.error?.issues).toContainEqual(
      expect.objectContaining({ code: "unrecognized_keys", keys: ["secretValue"], path: ["detail"] }),
    );
  });

  it("keeps fields AWS adds to its events and to the envelope", () => {
    const sample = "events/samples/aws.ecr/image-push.json";
    const event = withField(
      withField(
        readSample(sample),
        ["detail", "artifact-media-type"],
        "application/vnd.oci.image.manifest.v1+json",
      ),
      ["replay-name"],
      "switchyard-archive-replay",
    );

    const parsed = schemaForSample(sample).parse(event) as Record<string, unknown> & { detail: object };

    expect(parsed["replay-name"]).toBe("switchyard-archive-replay");
    expect(parsed.detail).toHaveProperty("artifact-media-type");
  });

  it("accepts an untagged ECR push", () => {
    const sample = "events/samples/aws.ecr/image-push.json";

    expect(
      schemaForSample(sample).safeParse(withField(readSample(sample), ["detail", "image-tag"], remove))
        .success,
    ).toBe(true);
  });
});

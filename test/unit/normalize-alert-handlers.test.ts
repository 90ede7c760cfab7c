// The rule targets normalize-alarm and normalize-failure: one Alert Received per event, validated at the edge.

import { readFileSync } from "node:fs";
import type { Context } from "aws-lambda";
import { beforeEach, describe, expect, it } from "vitest";
import { alertReceivedDetailSchema } from "../../events/schemas/switchyard.ts";
import { EventPublishError } from "../../functions/core/errors.ts";
import type { IncidentRecord } from "../../functions/core/ports.ts";
import { makeNormalizeAlarm, normalizeAlarmEventSchema } from "../../functions/handlers/normalize-alarm.ts";
import {
  makeNormalizeFailure,
  normalizeFailureEventSchema,
} from "../../functions/handlers/normalize-failure.ts";
import { withHandlerStack } from "../../functions/wiring/middleware.ts";
import { type ConfigOverrides, testConfig } from "../support/config.ts";
import { RecordingPublisher } from "../support/fakes.ts";

const sample = (file: string) => JSON.parse(readFileSync(`events/samples/${file}`, "utf8"));
const context = { getRemainingTimeInMillis: () => 1000 } as unknown as Context;

const throttled = () =>
  new EventPublishError("1 of 1 event(s) not published", [
    { detailType: "Alert Received", errorCode: "ThrottlingException", errorMessage: "Rate exceeded" },
  ]);

describe("normalize-alarm", () => {
  let publisher: RecordingPublisher;
  beforeEach(() => {
    publisher = new RecordingPublisher();
  });

  const alarm = sample("aws.cloudwatch/alarm-state-change.json");
  const insufficient = {
    ...alarm,
    detail: {
      ...alarm.detail,
      state: {
        ...alarm.detail.state,
        value: "INSUFFICIENT_DATA",
        reason: "Insufficient Data: 1 datapoint was unknown.",
      },
    },
  };
  const handler = (incidents: ConfigOverrides["incidents"] = {}) =>
    withHandlerStack(
      makeNormalizeAlarm({ config: testConfig({ incidents }), publisher }),
      normalizeAlarmEventSchema,
    );

  it("publishes an ALARM as a firing Alert Received", async () => {
    const result = await handler()(alarm, context);

    expect(result).toEqual({
      published: true,
      fingerprint: `cloudwatch:${alarm.resources[0]}`,
      status: "firing",
    });
    expect(publisher.published).toHaveLength(1);
    const [event] = publisher.published;
    expect(event).toMatchObject({ detailType: "Alert Received", resources: [] });
    expect(alertReceivedDetailSchema.parse(event?.detail)).toMatchObject({
      alertSource: "cloudwatch",
      service: "checkout",
      severity: "error",
    });
  });

  it("publishes nothing for INSUFFICIENT_DATA under the default ignore, and fires under firing", async () => {
    await expect(handler()(insufficient, context)).resolves.toMatchObject({ published: false });
    expect(publisher.published).toEqual([]);

    const firing = handler({ cloudwatch: { insufficientData: "firing", severity: "critical" } });
    await expect(firing(insufficient, context)).resolves.toMatchObject({ published: true, status: "firing" });
    expect(publisher.published[0]?.detail).toMatchObject({ severity: "critical" });
  });

  it("refuses an event that is not a CloudWatch alarm state change at the edge", async () => {
    await expect(handler()(sample("aws.ecr/image-push.json"), context)).rejects.toMatchObject({
      name: "ParseError",
    });
    expect(publisher.published).toEqual([]);
  });

  it("fails loudly when the alert cannot be published, so EventBridge retries", async () => {
    publisher.failure = throttled();
    await expect(handler()(alarm, context)).rejects.toMatchObject({ name: "EventPublishError" });
  });
});

describe("normalize-failure", () => {
  let publisher: RecordingPublisher;
  /** Fingerprints with an incident still open. */
  let open: Set<string>;
  beforeEach(() => {
    publisher = new RecordingPublisher();
    open = new Set();
  });
  const active = {
    findActive: async (fingerprint: string) =>
      open.has(fingerprint) ? ({ fingerprint } as unknown as IncidentRecord) : undefined,
  };
  const handler = (incidents: ConfigOverrides["incidents"] = {}) =>
    withHandlerStack(
      makeNormalizeFailure({ config: testConfig({ incidents }), publisher, incidents: active }),
      normalizeFailureEventSchema,
    );

  it.each([
    [
      "switchyard/secret-rollout-failed.json",
      "firing",
      "switchyard:secret-rollout-failed:checkout/prod/postgres",
    ],
    ["switchyard/secret-rotated.json", "resolved", "switchyard:secret-rollout-failed:checkout/prod/postgres"],
    ["switchyard/restore-drill-failed.json", "firing", "switchyard:restore-drill-failed:payments-prod"],
    ["switchyard/restore-drill-passed.json", "resolved", "switchyard:restore-drill-failed:checkout-prod"],
    [
      "switchyard/promotion-rolled-back.json",
      "firing",
      "switchyard:promotion-rolled-back:checkout:production",
    ],
    ["switchyard/promotion-succeeded.json", "resolved", "switchyard:promotion-rolled-back:checkout:staging"],
  ])("publishes %s as a %s alert", async (file, status, fingerprint) => {
    open.add(fingerprint);
    await expect(handler()(sample(file), context)).resolves.toEqual({ fingerprint, status });

    expect(publisher.published).toHaveLength(1);
    const detail = alertReceivedDetailSchema.parse(publisher.published[0]?.detail);
    expect(detail).toMatchObject({ alertSource: "switchyard", fingerprint, status });
  });

  it("publishes nothing for a success when no incident of that failure is open", async () => {
    await expect(handler()(sample("switchyard/promotion-succeeded.json"), context)).resolves.toEqual({
      fingerprint: "switchyard:promotion-rolled-back:checkout:staging",
      status: "nothing-open",
    });
    expect(publisher.published).toEqual([]);
  });

  it("takes the severity from incidents.domainEvents", async () => {
    const strict = handler({ domainEvents: { promotionRolledBack: "critical" } });
    await strict(sample("switchyard/promotion-rolled-back.json"), context);

    expect(publisher.published[0]?.detail).toMatchObject({ severity: "critical" });
  });

  it("refuses other events, and a failure whose detail breaks its schema, at the edge", async () => {
    await expect(handler()(sample("switchyard/promotion-failed.json"), context)).rejects.toMatchObject({
      name: "ParseError",
    });
    const broken = sample("switchyard/secret-rollout-failed.json");
    broken.detail.failedAt = "yesterday";
    await expect(handler()(broken, context)).rejects.toMatchObject({ name: "ParseError" });
    expect(publisher.published).toEqual([]);
  });

  it("fails loudly when the alert cannot be published, so EventBridge retries", async () => {
    publisher.failure = throttled();
    await expect(handler()(sample("switchyard/restore-drill-failed.json"), context)).rejects.toMatchObject({
      name: "EventPublishError",
    });
  });
});

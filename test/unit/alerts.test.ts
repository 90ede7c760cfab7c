// Alert normalisation: Alertmanager alerts, CloudWatch alarms and Switchyard's own failures become Alert Received.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { alertmanagerWebhookSchema } from "../../events/schemas/alertmanager.ts";
import { cloudWatchAlarmStateChangeEventSchema } from "../../events/schemas/aws-cloudwatch.ts";
import {
  alertReceivedDetailSchema,
  promotionRolledBackEventSchema,
  promotionSucceededEventSchema,
  restoreDrillFailedEventSchema,
  restoreDrillPassedEventSchema,
  secretRolloutFailedEventSchema,
  secretRotatedEventSchema,
} from "../../events/schemas/switchyard.ts";
import {
  type AlertmanagerWebhook,
  alarmConsoleUrl,
  alertContextOf,
  alertReceivedEvent,
  alertSeverity,
  type CloudWatchAlarmEvent,
  clip,
  domainFingerprint,
  fromAlertmanager,
  fromCloudWatchAlarm,
  fromDomainEvent,
  maxLabelsBytes,
  maxPutEventsBytes,
  putEventsBatches,
  utc,
} from "../../functions/core/alerts.ts";
import { checkoutService, testConfig } from "../support/config.ts";

const sample = (file: string): unknown => JSON.parse(readFileSync(`events/samples/${file}`, "utf8"));

const config = testConfig({
  services: [
    { ...checkoutService, database: "checkout-db" },
    {
      name: "payments",
      repository: "payments/api",
      database: "payments-prod",
      policy: { tag: "stable" },
      values: "envs/{environment}/payments/values.yaml",
    },
    {
      name: "payments-worker",
      repository: "payments/worker",
      policy: { pattern: "^main-[0-9a-f]{7}$" },
      values: "envs/{environment}/payments-worker/values.yaml",
    },
  ],
  secrets: [
    {
      name: "checkout/prod/postgres",
      rotation: { schedule: "rate(30 days)", strategy: "single-user" },
      consumers: [
        {
          namespace: "checkout",
          externalSecret: "checkout-db",
          deployments: ["checkout"],
          service: "checkout",
        },
        { namespace: "reporting", externalSecret: "checkout-db", deployments: ["reporting-export"] },
      ],
    },
  ],
});
const context = alertContextOf(config);

const webhookSample = alertmanagerWebhookSchema.parse(sample("alertmanager/webhook-v4.json"));
const sampleAlert = webhookSample.alerts[0];
if (sampleAlert === undefined) throw new Error("the webhook sample has no alert");
type AmAlert = typeof sampleAlert;

/** A notification with one alert, the sample's with `change` applied (labels and annotations merged). */
const webhookWith = (
  change: Partial<Omit<AmAlert, "labels" | "annotations">> & {
    labels?: Record<string, string | undefined>;
    annotations?: Record<string, string | undefined>;
  } = {},
  notification: Partial<AlertmanagerWebhook> = {},
): AlertmanagerWebhook => {
  const defined = (map: Record<string, string | undefined>) =>
    Object.fromEntries(Object.entries(map).filter((e): e is [string, string] => e[1] !== undefined));
  const alert: AmAlert = {
    ...sampleAlert,
    ...change,
    labels: defined({ ...sampleAlert.labels, ...change.labels }),
    annotations: defined({ ...sampleAlert.annotations, ...change.annotations }),
  };
  return alertmanagerWebhookSchema.parse({ ...webhookSample, alerts: [alert], ...notification });
};

const onlyAlert = (webhook: AlertmanagerWebhook) => {
  const [alert, ...rest] = fromAlertmanager(webhook, context).alerts;
  expect(rest).toEqual([]);
  if (alert === undefined) throw new Error("no alert");
  // Whatever the input, the result is a valid Alert Received.
  expect(alertReceivedDetailSchema.parse(alert)).toEqual(alert);
  return alert;
};

describe("fromAlertmanager", () => {
  it("normalises the sample notification to the catalog's Alert Received", () => {
    const expected = (sample("switchyard/alert-received-firing.json") as { detail: object }).detail;

    expect(onlyAlert(webhookSample)).toEqual({ ...expected, sourceUrl: sampleAlert.generatorURL });
  });

  it("makes one alert per alert of the group, each keyed by its own fingerprint and status", () => {
    const alerts = Array.from({ length: 50 }, (_, i) => ({
      ...sampleAlert,
      fingerprint: i.toString(16).padStart(16, "0"),
      status: i % 2 === 0 ? "firing" : "resolved",
      endsAt: i % 2 === 0 ? "0001-01-01T00:00:00Z" : "2025-01-14T10:30:00Z",
    }));
    const webhook = alertmanagerWebhookSchema.parse({ ...webhookSample, alerts });

    const result = fromAlertmanager(webhook, context);

    expect(result.alerts.map((a) => a.fingerprint)).toEqual(alerts.map((a) => a.fingerprint));
    expect(result.alerts.map((a) => a.status)).toEqual(alerts.map((a) => a.status));
    expect(result.truncatedAlerts).toBe(0);
  });

  it.each([
    [5, 5],
    [undefined, 0],
  ])("reports truncatedAlerts %s as %s", (truncatedAlerts, expected) => {
    const webhook = webhookWith({}, { truncatedAlerts });
    expect(fromAlertmanager(webhook, context).truncatedAlerts).toBe(expected);
  });

  it.each([
    {
      case: "firing with Go's zero endsAt",
      status: "firing",
      endsAt: "0001-01-01T00:00:00Z",
      expected: undefined,
    },
    {
      case: "firing with a future endsAt",
      status: "firing",
      endsAt: "2025-01-14T11:00:00Z",
      expected: undefined,
    },
    {
      case: "resolved",
      status: "resolved",
      endsAt: "2025-01-14T11:38:00.123456789+01:00",
      expected: "2025-01-14T10:38:00.123Z",
    },
    {
      case: "resolved with zero endsAt",
      status: "resolved",
      endsAt: "0001-01-01T00:00:00Z",
      expected: undefined,
    },
  ] as const)("endsAt: $case → $expected", ({ status, endsAt, expected }) => {
    const alert = onlyAlert(webhookWith({ status, endsAt }));
    expect(alert.endsAt).toBe(expected);
    expect(alert.status).toBe(status);
  });

  it("writes startsAt in UTC with a Z, whatever offset Alertmanager used", () => {
    expect(onlyAlert(webhookWith({ startsAt: "2025-01-14T12:03:27.391847123+02:00" })).startsAt).toBe(
      "2025-01-14T10:03:27.391Z",
    );
  });

  it.each([
    ["critical", "critical"],
    ["CRITICAL", "critical"],
    [" page ", "critical"],
    ["P1", "critical"],
    ["high", "error"],
    ["error", "error"],
    ["major", "error"],
    ["warning", "warning"],
    ["warn", "warning"],
    ["ticket", "warning"],
    ["medium", "warning"],
    ["info", "info"],
    ["low", "info"],
    ["none", "info"],
    ["urgent-ish", "error"],
    ["", "error"],
    [undefined, "error"],
  ])("severity label %j → %s", (label, expected) => {
    expect(alertSeverity(label)).toBe(expected);
    expect(onlyAlert(webhookWith({ labels: { severity: label } })).severity).toBe(expected);
  });

  it.each([
    { case: "service label", labels: { service: "payments" }, expected: "payments" },
    {
      case: "unknown service label, app label known",
      labels: { service: "legacy", app: "payments-worker" },
      expected: "payments-worker",
    },
    {
      case: "Kubernetes name label",
      labels: { service: undefined, app_kubernetes_io_name: "payments" },
      expected: "payments",
    },
    {
      case: "job label",
      labels: { service: undefined, namespace: undefined, job: "checkout" },
      expected: "checkout",
    },
    { case: "namespace label", labels: { service: undefined, namespace: "checkout" }, expected: "checkout" },
    {
      case: "no label names a configured service",
      labels: { service: "node-exporter", namespace: "monitoring", job: "node" },
      expected: undefined,
    },
  ])("service from the $case → $expected", ({ labels, expected }) => {
    expect(onlyAlert(webhookWith({ labels })).service).toBe(expected);
  });

  it.each([
    {
      case: "alertname and summary",
      labels: {},
      annotations: {},
      expected: "CheckoutHighErrorRate: checkout is failing 7.3% of requests",
    },
    {
      case: "no summary: the older message annotation",
      labels: {},
      annotations: { summary: undefined, message: "checkout 5xx above 5%" },
      expected: "CheckoutHighErrorRate: checkout 5xx above 5%",
    },
    {
      case: "no summary nor message",
      labels: {},
      annotations: { summary: undefined },
      expected: "CheckoutHighErrorRate",
    },
    {
      case: "blank summary",
      labels: {},
      annotations: { summary: "   " },
      expected: "CheckoutHighErrorRate",
    },
    {
      case: "no alertname",
      labels: { alertname: undefined },
      annotations: {},
      expected: "checkout is failing 7.3% of requests",
    },
    {
      case: "neither",
      labels: { alertname: undefined },
      annotations: { summary: undefined },
      expected: "Alert 845c32a29100d116",
    },
    {
      case: "a multi-line summary",
      labels: {},
      annotations: { summary: "checkout is failing\n  7.3% of requests\n" },
      expected: "CheckoutHighErrorRate: checkout is failing 7.3% of requests",
    },
  ])("summary with $case", ({ labels, annotations, expected }) => {
    expect(onlyAlert(webhookWith({ labels, annotations })).summary).toBe(expected);
  });

  it("clips a long summary to PagerDuty's 1,024 characters, marking the cut", () => {
    const summary = onlyAlert(webhookWith({ annotations: { summary: "x".repeat(5000) } })).summary;
    expect(summary).toHaveLength(1024);
    expect(summary.startsWith("CheckoutHighErrorRate: xxx")).toBe(true);
    expect(summary.endsWith("…")).toBe(true);
  });

  it("never cuts a character in half", () => {
    expect(clip("😀".repeat(10), 5)).toBe(`${"😀".repeat(4)}…`);
    expect(clip("short", 5)).toBe("short");
  });

  it("clips a long description to 4,096 characters and leaves out an empty one", () => {
    expect(
      onlyAlert(webhookWith({ annotations: { description: "d".repeat(10_000) } })).description,
    ).toHaveLength(4096);
    expect(onlyAlert(webhookWith({ annotations: { description: "" } })).description).toBeUndefined();
  });

  it.each([
    { case: "empty generatorURL", generatorURL: "", runbook: undefined, source: undefined, book: undefined },
    {
      case: "a relative generatorURL and a wiki page name",
      generatorURL: "/graph?g0.expr=up",
      runbook: "see the wiki",
      source: undefined,
      book: undefined,
    },
    {
      case: "a javascript: runbook",
      generatorURL: "http://prometheus:9090/graph?g0.expr=up",
      runbook: "javascript:alert(1)",
      source: "http://prometheus:9090/graph?g0.expr=up",
      book: undefined,
    },
    {
      case: "valid URLs",
      generatorURL: "https://prometheus.example.com/graph?g0.expr=up",
      runbook: "https://runbooks.example.com/up",
      source: "https://prometheus.example.com/graph?g0.expr=up",
      book: "https://runbooks.example.com/up",
    },
  ])("links: $case", ({ generatorURL, runbook, source, book }) => {
    const alert = onlyAlert(webhookWith({ generatorURL, annotations: { runbook_url: runbook } }));
    expect(alert.sourceUrl).toBe(source);
    expect(alert.runbookUrl).toBe(book);
  });

  it("keeps the labels, clipping huge values and leaving out what does not fit", () => {
    const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`l${i}`, "v".repeat(2000)]));
    const alert = onlyAlert(webhookWith({ labels }));

    expect(alert.labels.alertname).toBe("CheckoutHighErrorRate");
    expect(alert.labels.l0).toHaveLength(1024);
    expect(Buffer.byteLength(JSON.stringify(alert.labels))).toBeLessThanOrEqual(maxLabelsBytes);
    expect(onlyAlert(webhookSample).labels).toEqual(sampleAlert.labels);
  });
});

const alarmSample = cloudWatchAlarmStateChangeEventSchema.parse(
  sample("aws.cloudwatch/alarm-state-change.json"),
);
const alarmArn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-prod-target-5xx";

type AlarmDetail = CloudWatchAlarmEvent["detail"];
const alarmWith = (
  detail: Partial<AlarmDetail> = {},
  envelope: Partial<Omit<CloudWatchAlarmEvent, "detail">> = {},
): CloudWatchAlarmEvent =>
  cloudWatchAlarmStateChangeEventSchema.parse({
    ...alarmSample,
    ...envelope,
    detail: { ...alarmSample.detail, ...detail },
  });

const state = (value: "OK" | "ALARM" | "INSUFFICIENT_DATA", timestamp: string) => ({
  value,
  reason: `${value} reason`,
  timestamp,
});

const t1 = "2025-01-14T10:05:41.318+0000";
const t0 = "2025-01-13T22:47:05.902+0000";
const settings = (insufficientData: "ignore" | "firing" | "resolved" = "ignore") => ({
  insufficientData,
  severity: config.incidents.cloudwatch.severity,
});

describe("fromCloudWatchAlarm", () => {
  it("makes a firing alert of ALARM, started when the alarm entered ALARM", () => {
    const alert = fromCloudWatchAlarm(alarmSample, settings(), context);

    expect(alert).toEqual({
      alertSource: "cloudwatch",
      fingerprint: `cloudwatch:${alarmArn}`,
      status: "firing",
      startsAt: "2025-01-14T10:05:41.318Z",
      severity: "error",
      service: "checkout",
      summary: `checkout-prod-target-5xx: ${alarmSample.detail.state.reason}`,
      description: alarmSample.detail.configuration.description,
      runbookUrl: "https://runbooks.example.com/checkout/elevated-5xx",
      sourceUrl:
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/checkout-prod-target-5xx",
      labels: {
        alarmName: "checkout-prod-target-5xx",
        state: "ALARM",
        account: "123456789012",
        region: "eu-west-1",
        namespace: "AWS/ApplicationELB",
        metricName: "HTTPCode_Target_5XX_Count",
        service: "checkout",
      },
    });
    expect(alertReceivedDetailSchema.parse(alert)).toEqual(alert);
  });

  it("resolves on OK with the same fingerprint, started when the previous state began", () => {
    const alert = fromCloudWatchAlarm(
      alarmWith({ previousState: state("ALARM", t0), state: state("OK", t1) }),
      settings(),
      context,
    );

    expect(alert).toMatchObject({
      fingerprint: `cloudwatch:${alarmArn}`,
      status: "resolved",
      startsAt: "2025-01-13T22:47:05.902Z",
      endsAt: "2025-01-14T10:05:41.318Z",
      summary: "checkout-prod-target-5xx: OK reason",
    });
  });

  it.each([
    { mode: "ignore", previous: "OK", current: "INSUFFICIENT_DATA", expected: undefined },
    { mode: "ignore", previous: "ALARM", current: "INSUFFICIENT_DATA", expected: undefined },
    {
      mode: "ignore",
      previous: "INSUFFICIENT_DATA",
      current: "OK",
      expected: { status: "resolved", startsAt: utc(t0), endsAt: utc(t1) },
    },
    {
      mode: "ignore",
      previous: "INSUFFICIENT_DATA",
      current: "ALARM",
      expected: { status: "firing", startsAt: utc(t1) },
    },
    {
      mode: "firing",
      previous: "OK",
      current: "INSUFFICIENT_DATA",
      expected: { status: "firing", startsAt: utc(t1) },
    },
    // Still firing since it entered ALARM: the same start, so no second incident.
    {
      mode: "firing",
      previous: "ALARM",
      current: "INSUFFICIENT_DATA",
      expected: { status: "firing", startsAt: utc(t0) },
    },
    {
      mode: "firing",
      previous: "INSUFFICIENT_DATA",
      current: "ALARM",
      expected: { status: "firing", startsAt: utc(t0) },
    },
    {
      mode: "firing",
      previous: "INSUFFICIENT_DATA",
      current: "OK",
      expected: { status: "resolved", startsAt: utc(t0), endsAt: utc(t1) },
    },
    {
      mode: "resolved",
      previous: "ALARM",
      current: "INSUFFICIENT_DATA",
      expected: { status: "resolved", startsAt: utc(t0), endsAt: utc(t1) },
    },
    // Nothing was firing: nothing to resolve.
    { mode: "resolved", previous: "OK", current: "INSUFFICIENT_DATA", expected: undefined },
  ] as const)("insufficientData: $mode, $previous → $current", ({ mode, previous, current, expected }) => {
    const alert = fromCloudWatchAlarm(
      alarmWith({ previousState: state(previous, t0), state: state(current, t1) }),
      settings(mode),
      context,
    );

    if (expected === undefined) {
      expect(alert).toBeUndefined();
      return;
    }
    expect(alert).toMatchObject(expected);
    if (!("endsAt" in expected)) expect(alert?.endsAt).toBeUndefined();
  });

  it("hashes the fingerprint of an ARN that would pass PagerDuty's 255 characters, the same way every time", () => {
    const alarmName = `checkout-${"x".repeat(246)}`;
    const arn = `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${alarmName}`;
    const event = alarmWith({ alarmName }, { resources: [arn] });

    const alert = fromCloudWatchAlarm(event, settings(), context);

    expect(alert?.fingerprint).toMatch(/^cloudwatch:sha256:[0-9a-f]{64}$/);
    expect(alert?.fingerprint).toBe(fromCloudWatchAlarm(event, settings(), context)?.fingerprint);
    const other = fromCloudWatchAlarm(
      alarmWith({ alarmName }, { resources: [`${arn}y`] }),
      settings(),
      context,
    );
    expect(other?.fingerprint).not.toBe(alert?.fingerprint);
    // A fingerprint that fits stays readable.
    expect(`cloudwatch:${alarmArn}`.length).toBeLessThan(255);
  });

  const metricAlarm = (dimensions: Record<string, string>, alarmName = "api-latency-high") =>
    alarmWith({
      alarmName,
      configuration: {
        metrics: [
          {
            id: "m1",
            metricStat: {
              metric: { namespace: "AWS/RDS", name: "CPUUtilization", dimensions },
              period: 60,
              stat: "Average",
            },
            returnData: true,
          },
        ],
      },
    });

  it.each([
    {
      case: "a service tag",
      event: alarmWith({ alarmName: "api-latency", alarmTags: { service: "payments" } }),
      expected: "payments",
    },
    {
      case: "a ServiceName dimension",
      event: metricAlarm({ ServiceName: "payments-worker" }),
      expected: "payments-worker",
    },
    {
      case: "the database of a service",
      event: metricAlarm({ DBInstanceIdentifier: "checkout-db" }),
      expected: "checkout",
    },
    {
      case: "the alarm name, longest service first",
      event: metricAlarm({}, "payments-worker-queue-depth"),
      expected: "payments-worker",
    },
    { case: "the alarm name, a whole word", event: metricAlarm({}, "payments_5xx"), expected: "payments" },
    {
      case: "a name only starting like a service",
      event: metricAlarm({}, "checkouts-5xx"),
      expected: undefined,
    },
    { case: "nothing known", event: metricAlarm({ DBInstanceIdentifier: "other-db" }), expected: undefined },
  ])("service from $case → $expected", ({ event, expected }) => {
    const alert = fromCloudWatchAlarm(event, settings(), context);
    expect(alert?.service).toBe(expected);
    expect(alert?.labels.service).toBe(expected);
  });

  it("takes the severity from the settings, or from a severity tag naming one of PagerDuty's four", () => {
    expect(fromCloudWatchAlarm(alarmSample, { ...settings(), severity: "critical" }, context)?.severity).toBe(
      "critical",
    );
    expect(
      fromCloudWatchAlarm(alarmWith({ alarmTags: { severity: "warning" } }), settings(), context)?.severity,
    ).toBe("warning");
    expect(
      fromCloudWatchAlarm(alarmWith({ alarmTags: { severity: "sev2" } }), settings(), context)?.severity,
    ).toBe("error");
  });

  it("points at the console of the alarm's partition, with the name encoded", () => {
    expect(alarmConsoleUrl("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a b/c", "a b/c")).toBe(
      "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/a%20b%2Fc",
    );
    expect(alarmConsoleUrl("arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:x", "x")).toBe(
      "https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#alarmsV2:alarm/x",
    );
  });

  it("takes the runbook from a tag before the description, and leaves out a description that has none", () => {
    const tagged = alarmWith({ alarmTags: { runbook_url: "https://runbooks.example.com/tagged" } });
    expect(fromCloudWatchAlarm(tagged, settings(), context)?.runbookUrl).toBe(
      "https://runbooks.example.com/tagged",
    );
    const bare = alarmWith({ configuration: { description: "CPU above 80%." } });
    expect(fromCloudWatchAlarm(bare, settings(), context)?.runbookUrl).toBeUndefined();
    expect(
      fromCloudWatchAlarm(alarmWith({ configuration: {} }), settings(), context)?.description,
    ).toBeUndefined();
  });
});

const domain = {
  rolloutFailed: secretRolloutFailedEventSchema.parse(sample("switchyard/secret-rollout-failed.json")),
  rotated: secretRotatedEventSchema.parse(sample("switchyard/secret-rotated.json")),
  drillFailed: restoreDrillFailedEventSchema.parse(sample("switchyard/restore-drill-failed.json")),
  drillPassed: restoreDrillPassedEventSchema.parse(sample("switchyard/restore-drill-passed.json")),
  rolledBack: promotionRolledBackEventSchema.parse(sample("switchyard/promotion-rolled-back.json")),
  succeeded: promotionSucceededEventSchema.parse(sample("switchyard/promotion-succeeded.json")),
};
const severities = {
  secretRolloutFailed: "critical",
  restoreDrillFailed: "error",
  promotionRolledBack: "warning",
} as const;

describe("fromDomainEvent", () => {
  it.each([
    {
      case: "Secret Rollout Failed",
      event: domain.rolloutFailed,
      expected: {
        fingerprint: "switchyard:secret-rollout-failed:checkout/prod/postgres",
        status: "firing",
        startsAt: "2025-01-14T04:35:11.882Z",
        severity: "critical",
        service: "checkout",
      },
    },
    {
      case: "Restore Drill Failed",
      event: domain.drillFailed,
      expected: {
        fingerprint: "switchyard:restore-drill-failed:payments-prod",
        status: "firing",
        startsAt: "2025-02-01T05:12:43.771Z",
        severity: "error",
        service: "payments",
      },
    },
    {
      case: "Promotion Rolled Back",
      event: domain.rolledBack,
      expected: {
        fingerprint: "switchyard:promotion-rolled-back:checkout:production",
        status: "firing",
        startsAt: "2025-01-14T10:08:12.902Z",
        severity: "warning",
        service: "checkout",
      },
    },
  ])("$case opens an incident", ({ event, expected }) => {
    const alert = fromDomainEvent(event, severities, context);

    expect(alert).toMatchObject({ alertSource: "switchyard", ...expected });
    expect(alert.endsAt).toBeUndefined();
    expect(alertReceivedDetailSchema.parse(alert)).toEqual(alert);
  });

  it.each([
    {
      case: "Secret Rotated of the same secret",
      failure: domain.rolloutFailed,
      success: domain.rotated,
      at: "2025-01-14T04:19:26.640Z",
    },
    {
      case: "Restore Drill Passed of the same database",
      failure: domain.drillFailed,
      success: {
        ...domain.drillPassed,
        detail: { ...domain.drillPassed.detail, dbInstanceIdentifier: "payments-prod" },
      },
      at: "2025-02-01T05:41:17.902Z",
    },
    {
      case: "Promotion Succeeded of the same service and environment",
      failure: domain.rolledBack,
      success: { ...domain.succeeded, detail: { ...domain.succeeded.detail, environment: "production" } },
      at: "2025-01-14T09:36:40.771Z",
    },
  ])("$case resolves it", ({ failure, success, at }) => {
    const opened = fromDomainEvent(failure, severities, context);
    const resolved = fromDomainEvent(success, severities, context);

    expect(resolved).toMatchObject({
      fingerprint: opened.fingerprint,
      status: "resolved",
      startsAt: at,
      endsAt: at,
      severity: opened.severity,
      service: opened.service,
    });
    expect(alertReceivedDetailSchema.parse(resolved)).toEqual(resolved);
  });

  it("does not resolve another subject's incident", () => {
    // Staging succeeding says nothing about the rollback in production.
    expect(fromDomainEvent(domain.succeeded, severities, context).fingerprint).toBe(
      "switchyard:promotion-rolled-back:checkout:staging",
    );
    expect(fromDomainEvent(domain.drillPassed, severities, context).fingerprint).toBe(
      "switchyard:restore-drill-failed:checkout-prod",
    );
  });

  it("says what failed and where in the summary and description", () => {
    const alert = fromDomainEvent(domain.rolloutFailed, severities, context);

    expect(alert.summary).toBe(
      `SecretRolloutFailed: checkout/prod/postgres stopped at rollout of checkout/checkout-worker: ${domain.rolloutFailed.detail.reason}`,
    );
    expect(alert.description).toContain("reporting/reporting-export");
    expect(alert.labels).toEqual({
      alertname: "SecretRolloutFailed",
      secretId: "checkout/prod/postgres",
      failedStep: "rollout",
      namespace: "checkout",
      name: "checkout-worker",
      service: "checkout",
    });
  });

  it("hashes the fingerprint of a subject too long for PagerDuty", () => {
    const secretId = `team/${"s".repeat(300)}`;
    const event = { ...domain.rolloutFailed, detail: { ...domain.rolloutFailed.detail, secretId } };

    const alert = fromDomainEvent(event, severities, context);

    expect(alert.fingerprint).toMatch(/^switchyard:secret-rollout-failed:sha256:[0-9a-f]{64}$/);
    expect(alert.fingerprint).toBe(domainFingerprint("Secret Rollout Failed", secretId));
    expect(alert.service).toBeUndefined();
  });

  it("takes the severities of switchyard.yaml's defaults", () => {
    const defaults = config.incidents.domainEvents;
    expect(fromDomainEvent(domain.rolloutFailed, defaults).severity).toBe("error");
    expect(fromDomainEvent(domain.drillFailed, defaults).severity).toBe("error");
    expect(fromDomainEvent(domain.rolledBack, defaults).severity).toBe("warning");
  });
});

describe("putEventsBatches", () => {
  it("groups at most 10 events per PutEvents request", () => {
    const events = fromAlertmanager(
      alertmanagerWebhookSchema.parse({
        ...webhookSample,
        alerts: Array.from({ length: 23 }, (_, i) => ({
          ...sampleAlert,
          fingerprint: i.toString(16).padStart(16, "0"),
        })),
      }),
      context,
    ).alerts.map(alertReceivedEvent);

    expect(putEventsBatches(events).map((batch) => batch.length)).toEqual([10, 10, 3]);
    expect(putEventsBatches(events).flat()).toEqual(events);
  });

  it("starts a new request before the entries together pass 256 KB", () => {
    const big = (i: number) => ({
      detailType: "Alert Received",
      detail: { i, padding: "p".repeat(100_000) },
    });
    const batches = putEventsBatches([big(1), big(2), big(3), big(4), big(5)]);

    expect(batches.map((batch) => batch.length)).toEqual([2, 2, 1]);
    for (const batch of batches) {
      const bytes = batch.reduce((sum, e) => sum + JSON.stringify(e.detail).length + 30, 0);
      expect(bytes).toBeLessThanOrEqual(maxPutEventsBytes);
    }
  });
});

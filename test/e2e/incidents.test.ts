// End to end on the local runtime: Alertmanager webhooks open incidents that post to Slack and page PagerDuty
// (local receivers standing in for both), escalate until acknowledged, and close when the alert resolves.

import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { writeConfig } from "../support/platform.ts";
import {
  type PagerDutyReceiver,
  type SlackReceiver,
  startPagerDutyReceiver,
  startSlackReceiver,
} from "../support/receivers.ts";
import { entryFromSample, eventually, startTestRuntime, type TestRuntime } from "../support/runtime.ts";

const webhookToken = "am-token-3f1d9c0b7e2a";
const primaryKey = "R0UTINGKEYPRIMARY00000000000000A";
const secondaryKey = "R0UTINGKEYSECONDARY000000000000B";
const slackToken = "xoxb-test-incidents";

type Alert = { fingerprint: string; status?: "firing" | "resolved"; startsAt?: string; severity?: string };

/** An Alertmanager v4 notification of one group. */
const group = (alerts: Alert[], status: "firing" | "resolved" = "firing") => ({
  version: "4",
  groupKey: '{}:{alertname="CheckoutHighErrorRate"}',
  truncatedAlerts: 0,
  status,
  receiver: "switchyard",
  groupLabels: { alertname: "CheckoutHighErrorRate" },
  commonLabels: { alertname: "CheckoutHighErrorRate", service: "checkout" },
  commonAnnotations: {},
  externalURL: "https://alertmanager.example.com",
  alerts: alerts.map((alert) => ({
    status: alert.status ?? status,
    labels: {
      alertname: "CheckoutHighErrorRate",
      service: "checkout",
      severity: alert.severity ?? "warning",
      pod: `checkout-${alert.fingerprint.slice(0, 4)}`,
    },
    annotations: {
      summary: `checkout is failing (${alert.fingerprint})`,
      runbook_url: "https://runbooks.example.com/checkout/high-error-rate",
    },
    startsAt: alert.startsAt ?? "2026-11-27T10:00:00.000Z",
    endsAt: (alert.status ?? status) === "resolved" ? "2026-11-27T10:30:00.000Z" : "0001-01-01T00:00:00Z",
    generatorURL: "https://prometheus.example.com/graph?g0.expr=up",
    fingerprint: alert.fingerprint,
  })),
});

/** A distinct 16-hex fingerprint per call. */
let counter = 0;
const fingerprint = (): string => (0x1000000000000 + ++counter * 7919).toString(16).padStart(16, "a");

describe("incident escalation on the local runtime", () => {
  let runtime: TestRuntime;
  let pagerduty: PagerDutyReceiver;
  let slack: SlackReceiver;

  const post = (body: unknown, token = webhookToken) =>
    runtime.call("/webhooks/alertmanager", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const incidents = async () =>
    (await runtime.call("/incidents?limit=1000")).body.incidents as {
      id: string;
      fingerprint: string;
      status: string;
      level: number;
    }[];
  const incidentOf = async (fp: string) =>
    eventually(async () => (await incidents()).find((i) => i.fingerprint === fp));
  const events = (fp: string) => pagerduty.accepted.filter((e) => e.dedup_key === fp);

  beforeAll(async () => {
    [pagerduty, slack] = await Promise.all([
      startPagerDutyReceiver(),
      startSlackReceiver({ tokens: [slackToken] }),
    ]);
    const configPath = writeConfig([{ name: "checkout", policy: { semver: "^1.0.0" } }]);
    const config = parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    writeFileSync(
      configPath,
      stringify({
        ...config,
        incidents: {
          pagerduty: { eventsUrl: pagerduty.eventsUrl },
          slack: { apiUrl: slack.apiUrl, channel: "#incidents" },
          escalation: { levels: [{ after: "2s", notify: [{ pagerduty: { secret: "team/pd-secondary" } }] }] },
        },
      }),
    );
    runtime = await startTestRuntime({ configPath });
    for (const [name, value] of [
      ["switchyard/alertmanager-token", webhookToken],
      ["switchyard/pagerduty-routing-key", primaryKey],
      ["team/pd-secondary", secondaryKey],
      ["switchyard/slack-token", slackToken],
    ]) {
      await runtime.secrets.createSecret({ name: name ?? "", secretString: value ?? "" });
    }
  }, 60_000);
  afterAll(async () => {
    await runtime?.dispose();
    await Promise.all([pagerduty?.close(), slack?.close()]);
  });
  beforeEach(async () => {
    await Promise.all([pagerduty.reset(), slack.reset()]);
  });

  it("pages, escalates to level 2 when nobody acknowledges, and pages no more once acknowledged", async () => {
    const fp = fingerprint();
    expect((await post(group([{ fingerprint: fp }]))).status).toBe(202);

    // Level 1: the channel gets the incident, PagerDuty the trigger with the fingerprint as dedup_key.
    const trigger = await eventually(() => events(fp)[0]);
    const ackLink = expect.stringMatching(
      /^http:\/\/127\.0\.0\.1:\d+\/incidents\/[0-9a-f-]{36}\?token=[\w.-]+$/,
    );
    expect(trigger).toEqual({
      routing_key: primaryKey,
      event_action: "trigger",
      dedup_key: fp,
      payload: {
        summary: `CheckoutHighErrorRate: checkout is failing (${fp})`,
        source: "checkout",
        severity: "warning",
        timestamp: "2026-11-27T10:00:00.000Z",
        component: "checkout",
        class: "CheckoutHighErrorRate",
        custom_details: {
          alertname: "CheckoutHighErrorRate",
          service: "checkout",
          severity: "warning",
          pod: `checkout-${fp.slice(0, 4)}`,
          switchyard_incident: expect.stringMatching(/^[0-9a-f-]{36}$/),
        },
      },
      links: [
        { href: "https://runbooks.example.com/checkout/high-error-rate", text: "Runbook" },
        { href: "https://prometheus.example.com/graph?g0.expr=up", text: "Source" },
        { href: ackLink, text: "Acknowledge in Switchyard" },
      ],
      client: "Switchyard",
      client_url: ackLink,
    });
    const root = await eventually(() => slack.messages.find((m) => m.text.includes(fp) && !m.threadTs));
    expect(root.postedTo).toBe("#incidents");
    expect(JSON.stringify(root.blocks)).toContain("Acknowledge");

    // No ack within 2 s: level 2 pages the secondary routing key with the same dedup_key, and says so in the thread.
    await eventually(() => events(fp).find((e) => e.routing_key === secondaryKey), 10_000);
    await eventually(() =>
      slack.replies(root.ts).some((r) => r.text.includes("level 2")) ? true : undefined,
    );
    const incident = await incidentOf(fp);
    expect(incident.level).toBe(2);

    const ack = await runtime.call(`/incidents/${incident.id}/ack`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-switchyard-user": "maria.lopez@example.com" },
      body: "{}",
    });
    expect(ack.status).toBe(200);
    // PagerDuty hears the acknowledgement on both services; then nothing more is triggered.
    await eventually(() =>
      events(fp).filter((e) => e.event_action === "acknowledge").length === 2 ? true : undefined,
    );
    expect(events(fp).filter((e) => e.event_action === "acknowledge")).toEqual(
      expect.arrayContaining([
        { routing_key: primaryKey, event_action: "acknowledge", dedup_key: fp },
        { routing_key: secondaryKey, event_action: "acknowledge", dedup_key: fp },
      ]),
    );
    const triggers = events(fp).filter((e) => e.event_action === "trigger").length;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(events(fp).filter((e) => e.event_action === "trigger").length).toBe(triggers);
    expect((await incidentOf(fp)).status).toBe("acknowledged");

    // The alert resolves: PagerDuty resolve, the incident ends.
    expect((await post(group([{ fingerprint: fp }], "resolved"))).status).toBe(202);
    await eventually(() => events(fp).find((e) => e.event_action === "resolve"));
    await eventually(async () => ((await incidentOf(fp)).status === "resolved" ? true : undefined));
  }, 30_000);

  it("resolves mid-escalation: PagerDuty resolve, no level 2", async () => {
    const fp = fingerprint();
    await post(group([{ fingerprint: fp }]));
    await eventually(() => events(fp)[0]);
    await post(group([{ fingerprint: fp }], "resolved"));

    await eventually(() => events(fp).find((e) => e.event_action === "resolve"));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(events(fp).some((e) => e.routing_key === secondaryKey)).toBe(false);
    expect((await incidentOf(fp)).status).toBe("resolved");
  }, 20_000);

  it("a flapping alert (fire, resolve, fire) opens two incidents under the same dedup_key", async () => {
    const fp = fingerprint();
    await post(group([{ fingerprint: fp, startsAt: "2026-11-27T11:00:00.000Z" }]));
    await eventually(() => events(fp)[0]);
    await post(group([{ fingerprint: fp, startsAt: "2026-11-27T11:00:00.000Z" }], "resolved"));
    await eventually(() => events(fp).find((e) => e.event_action === "resolve"));
    await post(group([{ fingerprint: fp, startsAt: "2026-11-27T11:20:00.000Z" }]));
    await eventually(() =>
      events(fp).filter((e) => e.event_action === "trigger").length >= 2 ? true : undefined,
    );

    const both = (await incidents()).filter((i) => i.fingerprint === fp);
    expect(both.map((i) => i.status).sort()).toEqual(["open", "resolved"]);
    expect(new Set(events(fp).map((e) => e.dedup_key))).toEqual(new Set([fp]));
    await post(group([{ fingerprint: fp, startsAt: "2026-11-27T11:20:00.000Z" }], "resolved"));
  }, 20_000);

  it("the same group delivered three times opens one incident", async () => {
    const fp = fingerprint();
    const body = group([{ fingerprint: fp }]);
    await Promise.all([post(body), post(body), post(body)]);
    await eventually(() => events(fp)[0]);
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect((await incidents()).filter((i) => i.fingerprint === fp)).toHaveLength(1);
    expect(events(fp).filter((e) => e.event_action === "trigger")).toHaveLength(1);
    await post(group([{ fingerprint: fp }], "resolved"));
  }, 20_000);

  it("a group of 50 alerts opens 50 incidents", async () => {
    const fps = Array.from({ length: 50 }, fingerprint);
    expect(await post(group(fps.map((fp) => ({ fingerprint: fp }))))).toMatchObject({
      status: 202,
      body: { accepted: 50 },
    });
    await eventually(async () => {
      const open = (await incidents()).filter((i) => fps.includes(i.fingerprint));
      return open.length === 50 ? open : undefined;
    }, 20_000);
    await eventually(
      () => (new Set(pagerduty.accepted.map((e) => e.dedup_key)).size >= 50 ? true : undefined),
      20_000,
    );
    await post(
      group(
        fps.map((fp) => ({ fingerprint: fp })),
        "resolved",
      ),
    );
  }, 40_000);

  it("retries PagerDuty's 429 and pages once it is accepted", async () => {
    const fp = fingerprint();
    pagerduty.answer([429]);
    await post(group([{ fingerprint: fp }]));

    const accepted = await eventually(() => events(fp)[0], 10_000);
    expect(accepted.event_action).toBe("trigger");
    expect(pagerduty.requests.map((r) => r.status).slice(0, 2)).toEqual([429, 202]);
    await post(group([{ fingerprint: fp }], "resolved"));
  }, 20_000);

  it("pages PagerDuty while Slack is down, and records Slack's failure in the timeline", async () => {
    const fp = fingerprint();
    await slack.down();
    try {
      await post(group([{ fingerprint: fp }]));
      await eventually(() => events(fp)[0], 10_000);
      const incident = await incidentOf(fp);
      const detail = await eventually(async () => {
        const { body } = await runtime.call(`/incidents/${incident.id}`, {
          headers: { accept: "application/json" },
        });
        return body.timeline.some((e: { kind: string }) => e.kind === "slack-failed") ? body : undefined;
      }, 15_000);
      expect(detail.timeline.some((e: { kind: string }) => e.kind === "paged")).toBe(true);
    } finally {
      await slack.up();
    }
    await post(group([{ fingerprint: fp }], "resolved"));
  }, 30_000);

  it("a CloudWatch alarm opens an incident too", async () => {
    const entry = entryFromSample("events/samples/aws.cloudwatch/alarm-state-change.json");
    const answer = runtime.bus.putEvents({ Entries: [entry] });
    expect(answer.FailedEntryCount).toBe(0);

    const fp = `cloudwatch:${entry.Resources[0]}`;
    await eventually(() => events(fp)[0], 10_000);
    expect((await incidentOf(fp)).status).toBe("open");
  }, 20_000);

  it("refuses a forged bearer token (401) and a malformed payload (400), opening nothing", async () => {
    const before = (await incidents()).length;
    const fp = fingerprint();

    const forged = await post(group([{ fingerprint: fp }]), "not-the-token");
    expect(forged.status).toBe(401);
    expect(JSON.stringify(forged.body)).not.toContain(webhookToken);
    const malformed = await post({ version: "4", alerts: [{ fingerprint: "xyz" }] });
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/body\./);
    const notJson = await post("{not json");
    expect(notJson.status).toBe(400);

    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await incidents()).length).toBe(before);
    expect(events(fp)).toEqual([]);
  });
});

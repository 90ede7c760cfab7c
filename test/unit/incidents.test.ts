// The incident use cases over the real SQLite stores, with fakes for PagerDuty, Slack, mail and the workflow.

import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError } from "../../functions/core/errors.ts";
import {
  type AlertReceived,
  acknowledgeIncident,
  awaitIncident,
  closeIncident,
  escalateIncident,
  freezes,
  type IncidentDeps,
  incidentExecutionName,
  maxLevel,
  notifyIncident,
  openIncident,
  routeAlert,
  targetsAt,
  waitSecondsAt,
} from "../../functions/core/incidents.ts";
import type { ChatMessage, DomainEvent, PagerEvent } from "../../functions/core/ports.ts";
import { SqliteFreezeStore } from "../../local/adapters/sqlite-freeze-store.ts";
import { SqliteIncidentStore } from "../../local/adapters/sqlite-incident-store.ts";
import { openDatabase } from "../../local/db.ts";
import { testConfig } from "../support/config.ts";

const now = new Date("2026-11-27T10:05:00.000Z");
const config = testConfig({
  incidents: {
    escalation: {
      levels: [
        {
          after: "5m",
          notify: [{ pagerduty: { secret: "team/secondary" } }, { email: "oncall@example.com" }],
        },
        { after: "10m", notify: [{ slack: "@platform-leads" }] },
      ],
      repeat: 1,
    },
  },
});

const alert = (overrides: Partial<AlertReceived> = {}): AlertReceived => ({
  alertSource: "alertmanager",
  fingerprint: "845c32a29100d116",
  status: "firing",
  startsAt: "2026-11-27T10:03:27.391Z",
  severity: "critical",
  service: "checkout",
  summary: "CheckoutHighErrorRate: checkout is failing 7.3% of requests",
  runbookUrl: "https://runbooks.example.com/checkout",
  labels: { alertname: "CheckoutHighErrorRate", service: "checkout" },
  ...overrides,
});

describe("incident use cases", () => {
  let deps: IncidentDeps;
  let pages: { secret: string; event: PagerEvent }[];
  let posts: ChatMessage[];
  let updates: ChatMessage[];
  let mails: string[];
  let published: DomainEvent[];
  let woken: { token: string; output: unknown }[];
  let started: { name?: string }[];
  let slackDown: boolean;

  beforeEach(() => {
    const db = openDatabase(":memory:");
    pages = [];
    posts = [];
    updates = [];
    mails = [];
    published = [];
    woken = [];
    started = [];
    slackDown = false;
    let id = 0;
    deps = {
      config,
      incidents: new SqliteIncidentStore({ db }),
      freezes: new SqliteFreezeStore({ db }),
      pager: {
        send: async (secret, event) => {
          pages.push({ secret, event });
          return { status: "success", dedupKey: event.dedup_key, delivery: "sent" };
        },
      },
      chat: {
        postMessage: async (message) => {
          if (slackDown) throw new Error("Slack answered 500");
          posts.push(message);
          return { channel: "C0INCIDENTS", ts: `1700000000.00010${posts.length}`, delivery: "sent" };
        },
        updateMessage: async (message) => void updates.push(message),
      },
      mailer: {
        send: async (message) => {
          mails.push(message.to.join());
          return { messageId: "m" };
        },
      },
      callbacks: {
        sendTaskSuccess: async (token, output) => void woken.push({ token, output }),
        sendTaskFailure: async () => undefined,
      },
      workflows: {
        start: async (_workflow, _input, name) => {
          started.push({ name });
          return { executionArn: `arn:…:${name}` };
        },
      },
      publisher: { publish: async (events) => void published.push(...events) },
      clock: { now: () => now },
      ids: { next: () => `00000000-0000-4000-8000-00000000000${++id}` },
      recentChanges: {
        list: async () => [
          { at: "2026-11-27T09:58:00.000Z", kind: "Promotion Succeeded", summary: "checkout 1.4.2" },
        ],
      },
      ackUrl: async (incident) => `http://127.0.0.1:3000/incidents/${incident.id}?token=t`,
    };
  });

  it("names one execution per fingerprint and start, whatever the offset the start is written in", () => {
    const name = incidentExecutionName("845c32a29100d116", "2026-11-27T10:03:27.391Z");
    expect(name).toMatch(/^incident-[0-9a-f]{47}$/);
    expect(incidentExecutionName("845c32a29100d116", "2026-11-27T11:03:27.391+01:00")).toBe(name);
    expect(incidentExecutionName("845c32a29100d116", "2026-11-27T10:20:00.000Z")).not.toBe(name);
    expect(name.length).toBeLessThanOrEqual(80);
  });

  it("works out levels, waits and targets from the policy", () => {
    expect(maxLevel(config)).toBe(5);
    expect([1, 2, 3, 4, 5].map((level) => waitSecondsAt(config, level))).toEqual([300, 600, 300, 600, 300]);
    expect(targetsAt(config, 1)).toEqual([]);
    expect(targetsAt(config, 3)).toEqual([{ slack: "@platform-leads" }]);
    expect(targetsAt(config, 4)).toEqual(targetsAt(config, 2));
    expect([
      freezes("critical", "critical"),
      freezes("error", "critical"),
      freezes("critical", "none"),
    ]).toEqual([true, false, false]);
  });

  it("opens once per fingerprint and start, freezing the service of a critical incident", async () => {
    const first = await openIncident(deps, { alert: alert() });
    const again = await openIncident(deps, { alert: alert() });

    expect(first).toMatchObject({ created: true, level: 1, waitSeconds: 300 });
    expect(again).toMatchObject({ created: false, incidentId: first.incidentId });
    expect(await deps.freezes.list("checkout")).toEqual([
      expect.objectContaining({ id: first.incidentId, source: "incident" }),
    ]);
    expect(published.map((e) => e.detailType)).toEqual(["Incident Opened"]);
  });

  it("notifies level 1 on Slack and PagerDuty, and escalates to the level's targets in the thread", async () => {
    const { incidentId } = await openIncident(deps, { alert: alert({ severity: "warning" }) });
    await notifyIncident(deps, { incidentId, level: 1 });

    expect(pages).toEqual([
      expect.objectContaining({
        secret: "switchyard/pagerduty-routing-key",
        event: expect.objectContaining({ event_action: "trigger", dedup_key: "845c32a29100d116" }),
      }),
    ]);
    expect(posts[0]).toMatchObject({ channel: "#incidents" });
    expect(JSON.stringify(posts[0]?.blocks)).toContain("checkout 1.4.2");

    expect(await escalateIncident(deps, { incidentId })).toEqual({
      action: "notify",
      level: 2,
      waitSeconds: 600,
    });
    await notifyIncident(deps, { incidentId, level: 2 });
    expect(pages.map((p) => p.secret)).toEqual(["switchyard/pagerduty-routing-key", "team/secondary"]);
    expect(mails).toEqual(["oncall@example.com"]);
    expect(posts[1]).toMatchObject({ channel: "C0INCIDENTS", threadTs: "1700000000.000101" });
    expect(published.map((e) => e.detailType)).toEqual(["Incident Opened", "Incident Escalated"]);
  });

  it("pages even when Slack is down, and keeps Slack's failure in the timeline", async () => {
    const { incidentId } = await openIncident(deps, { alert: alert() });
    slackDown = true;
    const result = await notifyIncident(deps, { incidentId, level: 1 });

    expect(result.failed).toEqual(["slack:#incidents"]);
    expect(pages).toHaveLength(1);
    const incident = await deps.incidents.get(incidentId);
    expect(incident?.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(["slack-failed", "paged"]));
  });

  it("holds after the last level and its repeats", async () => {
    const { incidentId } = await openIncident(deps, { alert: alert() });
    const actions = [];
    for (let i = 0; i < 5; i++) actions.push((await escalateIncident(deps, { incidentId })).action);

    expect(actions).toEqual(["notify", "notify", "notify", "notify", "hold"]);
  });

  it("acknowledges once, wakes the waiting workflow, and stops escalation", async () => {
    const { incidentId } = await openIncident(deps, { alert: alert() });
    await awaitIncident(deps, { incidentId, taskToken: "token-1", phase: "ack" });

    const first = await acknowledgeIncident(deps, { incidentId, by: "maria@example.com", via: "api" });
    const again = await acknowledgeIncident(deps, { incidentId, by: "sam@example.com", via: "cli" });

    expect([first.changed, again.changed]).toEqual([true, false]);
    expect(woken).toEqual([{ token: "token-1", output: { outcome: "acknowledged" } }]);
    expect(await escalateIncident(deps, { incidentId })).toMatchObject({ action: "acknowledged" });
  });

  it("answers at once a wait registered after the answer came", async () => {
    const { incidentId } = await openIncident(deps, { alert: alert() });
    await acknowledgeIncident(deps, { incidentId, by: "maria@example.com", via: "api" });

    expect(await awaitIncident(deps, { incidentId, taskToken: "late", phase: "ack" })).toEqual({
      waiting: false,
    });
    expect(await awaitIncident(deps, { incidentId, taskToken: "resolve", phase: "resolve" })).toEqual({
      waiting: true,
    });
    expect(woken).toEqual([{ token: "late", output: { outcome: "acknowledged" } }]);
  });

  it("routes a firing alert to its execution and a resolved one to the active incident; unknown resolves change nothing", async () => {
    expect(await routeAlert(deps, alert())).toMatchObject({ action: "started" });
    expect(started).toEqual([{ name: incidentExecutionName(alert().fingerprint, alert().startsAt) }]);
    expect(await routeAlert(deps, alert({ fingerprint: "ffffffffffffffff", status: "resolved" }))).toEqual({
      action: "ignored",
    });

    const { incidentId } = await openIncident(deps, { alert: alert() });
    await awaitIncident(deps, { incidentId, taskToken: "token-2", phase: "ack" });
    expect(await routeAlert(deps, alert({ status: "resolved" }))).toEqual({ action: "resolved", incidentId });
    expect(woken).toEqual([{ token: "token-2", output: { outcome: "resolved" } }]);
    await expect(acknowledgeIncident(deps, { incidentId, by: "x", via: "api" })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it("closes: PagerDuty acknowledge then resolve on every paged key, Slack updated, the freeze lifted", async () => {
    const { incidentId } = await openIncident(deps, { alert: alert() });
    await notifyIncident(deps, { incidentId, level: 1 });
    await escalateIncident(deps, { incidentId });
    await notifyIncident(deps, { incidentId, level: 2 });
    await acknowledgeIncident(deps, { incidentId, by: "maria@example.com", via: "api" });
    await closeIncident(deps, { incidentId, outcome: "acknowledged" });
    await routeAlert(deps, alert({ status: "resolved" }));
    await closeIncident(deps, { incidentId, outcome: "resolved" });

    const actions = pages
      .filter((p) => p.event.event_action !== "trigger")
      .map((p) => [p.secret, p.event.event_action]);
    expect(actions).toEqual([
      ["switchyard/pagerduty-routing-key", "acknowledge"],
      ["team/secondary", "acknowledge"],
      ["switchyard/pagerduty-routing-key", "resolve"],
      ["team/secondary", "resolve"],
    ]);
    expect(updates).toHaveLength(2);
    expect(await deps.freezes.list("checkout")).toEqual([]);
    expect(published.map((e) => e.detailType)).toEqual([
      "Incident Opened",
      "Incident Escalated",
      "Incident Acknowledged",
      "Incident Resolved",
    ]);
    expect(published.at(-1)?.detail).toMatchObject({ resolution: "alert-resolved", level: 2 });
  });
});

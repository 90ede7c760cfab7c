// The outbox pager and chat notifier, and the local fallback that picks them or the real adapters by secret.

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventsApiPager } from "../../functions/adapters/pagerduty/events-api-pager.ts";
import { SlackWebApiNotifier } from "../../functions/adapters/slack/web-api-notifier.ts";
import { ValidationError } from "../../functions/core/errors.ts";
import type { Clock, IdGenerator, PagerEvent, SecretStore } from "../../functions/core/ports.ts";
import {
  fallbackChatNotifier,
  fallbackPager,
  OutboxChatNotifier,
  OutboxPager,
  readIncidentOutbox,
} from "../../local/adapters/outbox-incident-notifiers.ts";
import { SqliteSecretStore } from "../../local/adapters/sqlite-secret-store.ts";
import { openDatabase } from "../../local/db.ts";
import {
  type PagerDutyReceiver,
  type SlackReceiver,
  startPagerDutyReceiver,
  startSlackReceiver,
} from "../support/receivers.ts";

const routingKeySecret = "switchyard/pagerduty-routing-key";
const tokenSecret = "switchyard/slack-token";
const routingKey = "R0UT1NGKEY0F0NCALL0000000000042";
const token = "xoxb-1111111111-2222222222-SeCrEtToKeNvAlUe";
const fingerprint = "6f1c2a9d0e4b7c35";

const trigger: PagerEvent = {
  event_action: "trigger",
  dedup_key: fingerprint,
  payload: { summary: "checkout: 5xx ratio above 5%", source: "prometheus/checkout", severity: "critical" },
  links: [{ href: "https://runbooks.example.com/checkout-5xx", text: "Runbook" }],
};

const fixedClock = (iso: string): Clock & { set(iso: string): void } => {
  let now = new Date(iso);
  return {
    now: () => now,
    set: (next) => {
      now = new Date(next);
    },
  };
};

const sequentialIds = (): IdGenerator => {
  let n = 0;
  return { next: () => `0b6f3c1e-0000-4000-8000-${String(++n).padStart(12, "0")}` };
};

describe("OutboxPager", () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "switchyard-outbox-")), "outbox");
  });
  afterEach(async () => {
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  it("writes the event as PagerDuty would receive it to <timestamp>-<id>.pagerduty.json", async () => {
    const pager = new OutboxPager({
      dir,
      clock: fixedClock("2026-11-28T06:00:00.123Z"),
      ids: sequentialIds(),
    });

    const result = await pager.send(routingKeySecret, trigger);

    expect(result).toEqual({ status: "success", dedupKey: fingerprint, delivery: "outbox" });
    expect(await readdir(dir)).toEqual([
      "20261128T060000.123Z-0b6f3c1e-0000-4000-8000-000000000001.pagerduty.json",
    ]);
    const [page] = await readIncidentOutbox(dir);
    expect(page).toEqual({
      kind: "pagerduty",
      writtenAt: "2026-11-28T06:00:00.123Z",
      routingKeySecret,
      event: trigger,
      file: join(dir, "20261128T060000.123Z-0b6f3c1e-0000-4000-8000-000000000001.pagerduty.json"),
    });
  });

  it("applies the Events API limits: clips the summary, refuses a long dedup_key and writes nothing for it", async () => {
    const pager = new OutboxPager({ dir, clock: fixedClock("2026-11-28T06:00:00Z"), ids: sequentialIds() });

    await pager.send(routingKeySecret, {
      ...trigger,
      payload: { ...trigger.payload!, summary: "y".repeat(1_500) },
    });
    await expect(
      pager.send(routingKeySecret, { ...trigger, dedup_key: "k".repeat(256) }),
    ).rejects.toBeInstanceOf(ValidationError);

    const pages = await readIncidentOutbox(dir);
    expect(pages).toHaveLength(1);
    const summary = pages[0]?.kind === "pagerduty" ? pages[0].event.payload?.summary : undefined;
    expect(summary).toBe(`${"y".repeat(1_023)}…`);
  });

  it("never writes the routing key: the file names its secret", async () => {
    await new OutboxPager({ dir, clock: fixedClock("2026-11-28T06:00:00Z"), ids: sequentialIds() }).send(
      routingKeySecret,
      trigger,
    );

    const [name] = await readdir(dir);
    const content = await readFile(join(dir, name!), "utf8");
    expect(content).toContain(routingKeySecret);
    expect(content).not.toContain("routing_key");
  });
});

describe("OutboxChatNotifier", () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "switchyard-outbox-")), "outbox");
  });
  afterEach(async () => {
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  it("gives out Slack-shaped, strictly increasing ts values, so threads and updates work", async () => {
    const chat = new OutboxChatNotifier({
      dir,
      clock: fixedClock("2023-11-14T22:13:20.000Z"),
      ids: sequentialIds(),
    });

    const root = await chat.postMessage({
      channel: "#incidents",
      text: "CRITICAL checkout 5xx",
      blocks: [{ type: "divider" }],
    });
    const reply = await chat.postMessage({
      channel: "#incidents",
      text: "Escalated to level 2",
      threadTs: root.ts,
    });
    await chat.updateMessage({ channel: root.channel, ts: root.ts, text: "Resolved: checkout 5xx" });

    expect(root).toEqual({ channel: "#incidents", ts: "1700000000.000000", delivery: "outbox" });
    expect(reply.ts).toBe("1700000000.000001");
    const written = await readIncidentOutbox(dir);
    expect(written.map(({ file: _, ...rest }) => rest)).toEqual([
      {
        kind: "slack",
        writtenAt: "2023-11-14T22:13:20.000Z",
        method: "chat.postMessage",
        channel: "#incidents",
        ts: root.ts,
        text: "CRITICAL checkout 5xx",
        blocks: [{ type: "divider" }],
      },
      {
        kind: "slack",
        writtenAt: "2023-11-14T22:13:20.000Z",
        method: "chat.postMessage",
        channel: "#incidents",
        ts: reply.ts,
        text: "Escalated to level 2",
        thread_ts: root.ts,
      },
      {
        kind: "slack",
        writtenAt: "2023-11-14T22:13:20.000Z",
        method: "chat.update",
        channel: "#incidents",
        ts: root.ts,
        text: "Resolved: checkout 5xx",
      },
    ]);
  });

  it("takes the clock's microseconds when it has moved on", async () => {
    const clock = fixedClock("2023-11-14T22:13:20.000Z");
    const chat = new OutboxChatNotifier({ dir, clock, ids: sequentialIds() });

    await chat.postMessage({ channel: "#incidents", text: "one" });
    clock.set("2023-11-14T22:13:21.250Z");

    expect((await chat.postMessage({ channel: "#incidents", text: "two" })).ts).toBe("1700000001.250000");
  });

  it("refuses, as Slack does, to update a message it never posted", async () => {
    const chat = new OutboxChatNotifier({
      dir,
      clock: fixedClock("2026-11-28T06:00:00Z"),
      ids: sequentialIds(),
    });

    await expect(
      chat.updateMessage({ channel: "#incidents", ts: "1700000000.000100", text: "Resolved" }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await readIncidentOutbox(dir)).toEqual([]);
  });

  it("finds a message an earlier run posted, from the outbox on disk", async () => {
    const first = new OutboxChatNotifier({
      dir,
      clock: fixedClock("2026-11-28T06:00:00Z"),
      ids: sequentialIds(),
    });
    const root = await first.postMessage({ channel: "#incidents", text: "CRITICAL checkout 5xx" });

    const afterRestart = new OutboxChatNotifier({
      dir,
      clock: fixedClock("2026-11-28T06:05:00Z"),
      ids: sequentialIds(),
    });

    expect(await afterRestart.postedHere("#incidents", root.ts)).toBe(true);
    expect(await afterRestart.postedHere("#other", root.ts)).toBe(false);
    await afterRestart.updateMessage({ channel: "#incidents", ts: root.ts, text: "Acknowledged" });
    expect((await readIncidentOutbox(dir)).map((m) => m.kind === "slack" && m.method)).toEqual([
      "chat.postMessage",
      "chat.update",
    ]);
  });
});

describe("readIncidentOutbox", () => {
  it("lists pages and Slack messages oldest first, leaving e-mails and unfinished files out", async () => {
    const home = await mkdtemp(join(tmpdir(), "switchyard-outbox-"));
    const dir = join(home, "outbox");
    try {
      const clock = fixedClock("2026-11-28T06:00:01Z");
      await new OutboxChatNotifier({ dir, clock, ids: sequentialIds() }).postMessage({
        channel: "#incidents",
        text: "b",
      });
      clock.set("2026-11-28T06:00:00Z");
      await new OutboxPager({ dir, clock, ids: sequentialIds() }).send(routingKeySecret, trigger);
      await writeFile(join(dir, "20261128T060000.000Z-x.eml"), "Subject: approve?\r\n");
      await writeFile(join(dir, ".20261128T060002.000Z-y.slack.json.tmp"), "{");

      const listed = await readIncidentOutbox(dir);

      expect(listed.map((m) => m.kind)).toEqual(["pagerduty", "slack"]);
      expect(await readIncidentOutbox(join(home, "missing"))).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe("fallbackPager and fallbackChatNotifier", () => {
  let home: string;
  let dir: string;
  let secrets: SqliteSecretStore;
  let pagerduty: PagerDutyReceiver;
  let slack: SlackReceiver;
  const noSleep = async () => {};

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "switchyard-outbox-"));
    dir = join(home, "outbox");
    secrets = new SqliteSecretStore({ db: openDatabase(":memory:") });
    pagerduty = await startPagerDutyReceiver();
    slack = await startSlackReceiver({ tokens: [token] });
  });

  afterEach(async () => {
    await pagerduty.close();
    await slack.close();
    await rm(home, { recursive: true, force: true });
  });

  const pagerWithFallback = () =>
    fallbackPager(
      new EventsApiPager({ eventsUrl: pagerduty.eventsUrl, secrets, sleep: noSleep }),
      new OutboxPager({ dir, clock: fixedClock("2026-11-28T06:00:00Z"), ids: sequentialIds() }),
      secrets,
    );

  const chatWithFallback = () =>
    fallbackChatNotifier(
      new SlackWebApiNotifier({ apiUrl: slack.apiUrl, tokenSecret, secrets, sleep: noSleep }),
      new OutboxChatNotifier({ dir, clock: fixedClock("2026-11-28T06:00:00Z"), ids: sequentialIds() }),
      secrets,
      tokenSecret,
    );

  it("pages into the outbox while the routing key secret is missing, and PagerDuty once it exists", async () => {
    const pager = pagerWithFallback();

    const local = await pager.send(routingKeySecret, trigger);
    expect(local.delivery).toBe("outbox");
    expect(pagerduty.requests).toHaveLength(0);
    expect(await readIncidentOutbox(dir)).toHaveLength(1);

    await secrets.createSecret({ name: routingKeySecret, secretString: routingKey });
    const real = await pager.send(routingKeySecret, trigger);

    expect(real).toEqual({ status: "success", dedupKey: fingerprint, delivery: "sent" });
    expect(pagerduty.requests.map((r) => r.body)).toEqual([{ routing_key: routingKey, ...trigger }]);
    expect(await readIncidentOutbox(dir)).toHaveLength(1);
  });

  it("posts to the outbox without a Slack token and to Slack with one; an update follows its message", async () => {
    const chat = chatWithFallback();

    const local = await chat.postMessage({ channel: "#incidents", text: "CRITICAL checkout 5xx" });
    expect(local.delivery).toBe("outbox");
    expect(slack.requests).toHaveLength(0);

    await secrets.createSecret({ name: tokenSecret, secretString: token });
    // Slack never saw this ts: its update stays in the outbox.
    await chat.updateMessage({ channel: local.channel, ts: local.ts, text: "Resolved" });
    expect(slack.requests).toHaveLength(0);

    const real = await chat.postMessage({ channel: "#incidents", text: "CRITICAL payments latency" });
    await chat.updateMessage({ channel: real.channel, ts: real.ts, text: "Resolved: payments latency" });

    expect(real.delivery).toBe("sent");
    expect(slack.requests.map((r) => r.path)).toEqual(["/api/chat.postMessage", "/api/chat.update"]);
    expect(slack.message(real.ts)?.text).toBe("Resolved: payments latency");
    expect((await readIncidentOutbox(dir)).map((m) => m.kind === "slack" && m.method)).toEqual([
      "chat.postMessage",
      "chat.update",
    ]);
  });

  it("does not take a failing secret store for a missing secret", async () => {
    const failing: Pick<SecretStore, "getSecretValue"> = {
      getSecretValue: async () => {
        throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      },
    };
    const pager = fallbackPager(
      new EventsApiPager({ eventsUrl: pagerduty.eventsUrl, secrets: failing, sleep: noSleep }),
      new OutboxPager({ dir, clock: fixedClock("2026-11-28T06:00:00Z"), ids: sequentialIds() }),
      failing,
    );

    await expect(pager.send(routingKeySecret, trigger)).rejects.toThrow("Rate exceeded");
    expect(await readIncidentOutbox(dir)).toEqual([]);
    expect(pagerduty.requests).toHaveLength(0);
  });
});

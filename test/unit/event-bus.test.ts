// The local bus: durable acceptance, rule matching, retries with backoff, dead letters, and recovery on restart.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Rule } from "../../events/rules.ts";
import { type Deliver, executionNameFor, LocalEventBus } from "../../local/bus/event-bus.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";

const rule = (overrides: Partial<Rule> = {}): Rule => ({
  name: "ecr-pushes",
  description: "test",
  bus: "default",
  pattern: { source: ["aws.ecr"], detail: { "action-type": ["PUSH"] } },
  target: { kind: "workflow", workflow: "promote-image" },
  retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3600 },
  deadLetterQueue: true,
  ...overrides,
});

const push = (repository = "checkout") => ({
  Source: "aws.ecr",
  DetailType: "ECR Image Action",
  Detail: JSON.stringify({ "action-type": "PUSH", result: "SUCCESS", "repository-name": repository }),
});

describe("LocalEventBus", () => {
  let dir: string;
  let db: SqliteDatabase;
  const buses: LocalEventBus[] = [];

  const makeBus = (deliver: Deliver, rules: Rule[] = [rule()], database = db) => {
    const bus = new LocalEventBus({ db: database, rules, deliver, baseBackoffMs: 5, maxBackoffMs: 20 });
    buses.push(bus);
    return bus;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bus-"));
    db = openDatabase(join(dir, "state.db"));
  });

  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.stop();
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("wraps accepted entries in the EventBridge envelope and delivers them to matching rules only", async () => {
    const delivered: unknown[] = [];
    const bus = makeBus(async (_rule, payload) => {
      delivered.push(payload);
      return "arn:execution";
    });
    bus.start();
    const response = bus.putEvents({
      Entries: [
        push(),
        { Source: "aws.ecr", DetailType: "ECR Image Action", Detail: '{"action-type":"DELETE"}' },
      ],
    });
    expect(response.FailedEntryCount).toBe(0);
    await bus.idle();
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({
      version: "0",
      id: response.Entries[0]?.EventId,
      source: "aws.ecr",
      "detail-type": "ECR Image Action",
      account: "000000000000",
      region: "us-east-1",
      resources: [],
      detail: { "repository-name": "checkout" },
    });
    expect((delivered[0] as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const stored = bus.getEvent(response.Entries[0]!.EventId!);
    expect(stored?.deliveries).toEqual([
      expect.objectContaining({
        rule: "ecr-pushes",
        status: "delivered",
        attempts: 1,
        target: "arn:execution",
      }),
    ]);
    expect(bus.getEvent(response.Entries[1]!.EventId!)?.deliveries).toEqual([]);
  });

  it("answers per entry: a malformed Detail fails alone and is not stored", () => {
    const bus = makeBus(async () => "x");
    const response = bus.putEvents({ Entries: [push(), { ...push(), Detail: "{oops" }, push("storefront")] });
    expect(response.FailedEntryCount).toBe(1);
    expect(response.Entries[1]).toEqual({
      ErrorCode: "MalformedDetail",
      ErrorMessage: "Detail is malformed.",
    });
    expect(response.Entries[0]?.EventId).toBeDefined();
    expect(response.Entries[2]?.EventId).toBeDefined();
    expect(bus.stats().events).toBe(2);
  });

  it("retries a failing delivery with backoff, then succeeds", async () => {
    let calls = 0;
    const bus = makeBus(async () => {
      calls += 1;
      if (calls < 3) throw new Error("throttled");
      return "ok";
    });
    bus.start();
    const { Entries } = bus.putEvents({ Entries: [push()] });
    await waitFor(() => bus.getEvent(Entries[0]!.EventId!)?.deliveries[0]?.status === "delivered");
    expect(calls).toBe(3);
    expect(bus.getEvent(Entries[0]!.EventId!)?.deliveries[0]?.attempts).toBe(3);
  });

  it("dead-letters after the rule's maximumRetryAttempts, keeping the error", async () => {
    let calls = 0;
    const bus = makeBus(async () => {
      calls += 1;
      throw new TypeError("target is broken");
    });
    bus.start();
    const { Entries } = bus.putEvents({ Entries: [push()] });
    await waitFor(() => bus.getEvent(Entries[0]!.EventId!)?.deliveries[0]?.status === "dead");
    expect(calls).toBe(3);
    expect(bus.getEvent(Entries[0]!.EventId!)?.deliveries[0]).toMatchObject({
      status: "dead",
      attempts: 3,
      lastError: "TypeError: target is broken",
    });
    expect(bus.listEvents({ status: "dead" }).map((e) => e.id)).toEqual([Entries[0]?.EventId]);
  });

  it("dead-letters at once when the event is older than maximumEventAgeSeconds", async () => {
    let now = new Date("2026-11-27T10:00:00Z");
    const bus = new LocalEventBus({
      db,
      rules: [rule({ retryPolicy: { maximumRetryAttempts: 100, maximumEventAgeSeconds: 60 } })],
      deliver: async () => {
        now = new Date(now.getTime() + 61_000);
        throw new Error("down");
      },
      clock: () => now,
      baseBackoffMs: 1,
    });
    buses.push(bus);
    bus.start();
    const { Entries } = bus.putEvents({ Entries: [push()] });
    await waitFor(() => bus.getEvent(Entries[0]!.EventId!)?.deliveries[0]?.status === "dead");
    expect(bus.getEvent(Entries[0]!.EventId!)?.deliveries[0]?.attempts).toBe(1);
  });

  it("delivers on the next start what was accepted but not delivered before a stop", async () => {
    const first = makeBus(async () => "never");
    const { Entries } = first.putEvents({ Entries: [push(), push("storefront")] });
    db.close();
    const reopened = openDatabase(join(dir, "state.db"));
    const delivered: string[] = [];
    const second = makeBus(
      async (_rule, payload) => {
        delivered.push((payload as { id: string }).id);
        return "ok";
      },
      [rule()],
      reopened,
    );
    second.start();
    await second.idle();
    expect(delivered.sort()).toEqual(Entries.map((e) => e.EventId).sort());
    await second.stop();
    reopened.close();
  });

  it("passes a deterministic execution name per rule and event, at most 80 characters", async () => {
    const names: string[] = [];
    const bus = makeBus(async (_rule, _payload, delivery) => {
      names.push(delivery.name);
      return "ok";
    });
    bus.start();
    const { Entries } = bus.putEvents({ Entries: [push()] });
    await bus.idle();
    expect(names).toEqual([`ecr-pushes-${Entries[0]?.EventId}`]);
    const long = executionNameFor("r".repeat(64), "3f1c1a44-0000-4000-8000-000000000001");
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toBe(executionNameFor("r".repeat(64), "3f1c1a44-0000-4000-8000-000000000001"));
  });

  it("applies the rule's input path", async () => {
    const payloads: unknown[] = [];
    const bus = makeBus(
      async (_rule, payload) => {
        payloads.push(payload);
        return "ok";
      },
      [rule({ input: { kind: "path", path: "$.detail" } })],
    );
    bus.start();
    bus.putEvents({ Entries: [push()] });
    await bus.idle();
    expect(payloads).toEqual([{ "action-type": "PUSH", result: "SUCCESS", "repository-name": "checkout" }]);
  });

  it("routes by bus: a rule on the switchyard bus does not see default-bus events", async () => {
    const seen: string[] = [];
    const bus = makeBus(
      async (r) => {
        seen.push(r.name);
        return "ok";
      },
      [rule({ name: "on-default" }), rule({ name: "on-switchyard", bus: "switchyard" })],
    );
    bus.start();
    bus.putEvents({ Entries: [push(), { ...push(), EventBusName: "switchyard" }] });
    await bus.idle();
    expect(seen.sort()).toEqual(["on-default", "on-switchyard"]);
  });

  it("rejects an invalid rule pattern at construction", () => {
    expect(() => makeBus(async () => "x", [rule({ pattern: { source: "aws.ecr" } })])).toThrow(/pattern/i);
  });
});

const waitFor = async (condition: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

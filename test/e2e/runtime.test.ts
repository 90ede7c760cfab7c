// End to end on the local runtime: a sample ECR push is accepted, logged, matched and starts its workflow.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidEventPatternError } from "../../events/pattern.ts";
import { rules } from "../../events/rules.ts";
import { ConfigError } from "../../functions/core/errors.ts";
import { makeResolveServices } from "../../functions/handlers/resolve-services.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { executionNameFor, LocalEventBus } from "../../local/bus/event-bus.ts";
import { openDatabase } from "../../local/db.ts";
import { localSubstitutions } from "../../local/integrations.ts";
import { silentLogger } from "../../local/log.ts";
import { repositoryRoot, startRuntime } from "../../local/runtime.ts";
import { WorkflowRunner } from "../../local/workflows/index.ts";
import { writeConfig } from "../support/platform.ts";
import {
  entryFromSample,
  eventually,
  postJson,
  startTestRuntime,
  type TestRuntime,
} from "../support/runtime.ts";

const ecrPush = "events/samples/aws.ecr/image-push.json";

describe("local runtime", () => {
  let runtime: TestRuntime;

  beforeAll(async () => {
    runtime = await startTestRuntime({
      configPath: writeConfig([
        { name: "checkout", policy: { semver: "^1.0.0" } },
        { name: "storefront", policy: { tag: "stable" } },
      ]),
    });
  });
  afterAll(async () => {
    await runtime.dispose();
  });

  const executionFor = async (eventId: string) => {
    const event = await eventually(async () => {
      const { body } = await runtime.call(`/events/${eventId}`);
      return body.deliveries?.[0]?.status === "delivered" ? body : undefined;
    });
    const arn = event.deliveries[0].target as string;
    return eventually(async () => {
      const { body } = await runtime.call(`/executions/${encodeURIComponent(arn)}`);
      return body.status === "RUNNING" ? undefined : body;
    });
  };

  it("answers GET /healthz once ready", async () => {
    expect(await runtime.call("/healthz")).toEqual({ status: 200, body: { status: "ok" } });
  });

  it("an ECR push for a configured repository starts promote-image, visible in GET /executions", async () => {
    const put = await runtime.call(
      "/events",
      postJson({ Entries: [entryFromSample(ecrPush, { "repository-name": "checkout" })] }),
    );
    expect(put.status).toBe(200);
    expect(put.body.FailedEntryCount).toBe(0);
    const eventId = put.body.Entries[0].EventId as string;

    const execution = await executionFor(eventId);
    expect(execution).toMatchObject({
      status: "SUCCEEDED",
      workflow: "promote-image",
      input: {
        promotionId: null,
        environment: null,
        services: null,
        trigger: { kind: "ecr", eventId },
        image: expect.objectContaining({ repository: "checkout", tag: "1.4.2" }),
      },
      output: expect.objectContaining({
        promotions: [expect.objectContaining({ service: "checkout", phase: "Succeeded" })],
      }),
    });
    const states = execution.transitions.map(
      (t: { type: string; stateName?: string }) => `${t.type}:${t.stateName ?? ""}`,
    );
    expect(states).toEqual(
      expect.arrayContaining(["TaskStateEntered:ResolveServices", "ExecutionSucceeded:"]),
    );

    const listed = await runtime.call("/executions?workflow=promote-image");
    expect(listed.body.executions.map((e: { executionArn: string }) => e.executionArn)).toContain(
      execution.executionArn,
    );
    const logged = await runtime.call("/events?limit=10");
    expect(logged.body.events.map((e: { id: string }) => e.id)).toContain(eventId);
  });

  it("a push for a repository no service deploys ends Succeeded with the reason", async () => {
    const put = await runtime.call(
      "/events",
      postJson({ Entries: [entryFromSample(ecrPush, { "repository-name": "legacy/batch" })] }),
    );
    const execution = await executionFor(put.body.Entries[0].EventId);
    expect(execution.status).toBe("SUCCEEDED");
    expect(execution.output).toMatchObject({
      services: [],
      reason: "no service deploys repository legacy/batch",
    });
  });

  it("GET /status counts events, deliveries and executions over everything held", async () => {
    // Earlier promotions carry on to production in the background: compare once nothing moves in between.
    const { body, listed } = await eventually(async () => {
      const before = JSON.stringify(runtime.bus.stats());
      const answer = await runtime.call("/status");
      expect(answer.status).toBe(200);
      const executions = (await runtime.call("/executions?limit=1000")).body.executions as {
        status: string;
      }[];
      const again = await runtime.call("/status");
      const settled =
        before === JSON.stringify(runtime.bus.stats()) &&
        JSON.stringify(answer.body) === JSON.stringify(again.body);
      return settled ? { body: answer.body, listed: executions } : undefined;
    });
    expect(body).toMatchObject({
      status: "ok",
      events: runtime.bus.stats().events,
      deliveries: runtime.bus.stats().deliveries,
    });
    const byStatus: Record<string, number> = {};
    for (const e of listed) byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
    expect(body.executions).toEqual(byStatus);
  });

  it("an event no rule matches is logged and delivered nowhere", async () => {
    const put = await runtime.call(
      "/events",
      postJson({ Entries: [entryFromSample(ecrPush, { "action-type": "DELETE" })] }),
    );
    const { body } = await runtime.call(`/events/${put.body.Entries[0].EventId}`);
    expect(body.deliveries).toEqual([]);
  });

  it.each([
    ["malformed JSON", '{"Entries": [', 400, "ValidationException", /not valid JSON/],
    ["an empty body", "", 400, "ValidationException", /empty/],
    ["a body without Entries", { entries: [] }, 400, "ValidationException", /Entries array/],
    [
      "eleven entries",
      { Entries: Array.from({ length: 11 }, () => entryFromSample(ecrPush)) },
      400,
      "ValidationException",
      /got 11/,
    ],
    [
      "a body over 256 KB",
      { Entries: [{ Source: "x", DetailType: "y", Detail: JSON.stringify({ b: "z".repeat(270_000) }) }] },
      413,
      "PayloadTooLarge",
      /262144/,
    ],
  ])("rejects %s with a clear error and stores nothing", async (_name, body, status, code, message) => {
    const before = runtime.bus.stats().events;
    const response = await runtime.call("/events", postJson(body));
    expect(response.status).toBe(status);
    expect(response.body.error).toBe(code);
    expect(response.body.message).toMatch(message);
    expect(JSON.stringify(response.body)).not.toMatch(/\bat .*\.ts:\d+/);
    expect(runtime.bus.stats().events).toBe(before);
  });

  it("accepts the good entries of a request and fails the malformed one alone", async () => {
    const good = entryFromSample(ecrPush, { "action-type": "DELETE" });
    const response = await runtime.call(
      "/events",
      postJson({ Entries: [good, { ...good, Detail: "{nope" }, good] }),
    );
    expect(response.status).toBe(200);
    expect(response.body.FailedEntryCount).toBe(1);
    expect(response.body.Entries[1]).toEqual({
      ErrorCode: "MalformedDetail",
      ErrorMessage: "Detail is malformed.",
    });
    expect(response.body.Entries[0].EventId).toBeDefined();
    expect(response.body.Entries[2].EventId).toBeDefined();
  });

  it.each([
    ["/nowhere", "GET", 404, "NotFound"],
    ["/events", "DELETE", 405, "MethodNotAllowed"],
    ["/executions/promote-image:does-not-exist", "GET", 404, "ExecutionDoesNotExist"],
    ["/executions?limit=0", "GET", 400, "ValidationException"],
    ["/events?status=lost", "GET", 400, "ValidationException"],
  ])("%s %s → %i %s", async (path, method, status, code) => {
    const response = await runtime.call(path, { method });
    expect(response.status).toBe(status);
    expect(response.body.error).toBe(code);
  });
});

describe("local runtime start", () => {
  it("refuses an invalid configuration with the file, path and expectation — and listens on nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const file = join(dir, "switchyard.yaml");
    writeFileSync(file, "gitops: { repository: acme/gitops }\nenvironments: []\nservices: []\n");
    const error = await startRuntime({ home: dir, port: 0, configPath: file, logger: silentLogger }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`${file}:2:`);
    expect(error.message).toContain("environments: expected at least one environment");
  });

  it("refuses a rule with an invalid pattern", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rules-"));
    const bad = [{ ...rules[0]!, pattern: { source: [{ prefix: 42 }] } }];
    const error = await startRuntime({
      home: dir,
      port: 0,
      configPath: "switchyard.yaml",
      logger: silentLogger,
      rules: bad,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidEventPatternError);
  });
});

describe("redelivery after a crash", () => {
  it("a delivery whose execution was already started (and finished) before the crash is marked delivered, not re-run", async () => {
    const home = mkdtempSync(join(tmpdir(), "redeliver-"));
    // A first start lays out the home; then the state a crash leaves behind: the event accepted, its execution
    // started under the delivery's name, the delivery itself still pending.
    await (await startTestRuntime({ home })).close();
    const db = openDatabase(join(home, "state.db"));
    const bus = new LocalEventBus({ db, rules, deliver: async () => "unused" });
    const { Entries } = bus.putEvents({
      Entries: [entryFromSample(ecrPush, { "repository-name": "legacy/batch" })],
    });
    const eventId = Entries[0]?.EventId ?? "";
    const config = loadConfig("switchyard.yaml");
    const runner = new WorkflowRunner({
      db,
      rootDir: repositoryRoot,
      functions: { "resolve-services": (payload) => makeResolveServices({ config })(payload as never) },
      substitutions: localSubstitutions({
        commits: "https://sqs.eu-west-1.amazonaws.com/000000000000/commits.fifo",
      }),
      region: "eu-west-1",
    });
    const name = executionNameFor("ecr-image-pushed", eventId);
    const input = {
      promotionId: null,
      environment: null,
      services: null,
      trigger: { kind: "ecr", eventId },
      image: { repository: "legacy/batch", tag: "1.0.0", digest: null, pushedAt: "2026-11-27T10:00:00Z" },
    };
    const { executionArn } = await runner.startExecution({ workflow: "promote-image", name, input });
    expect((await runner.waitForExecution(executionArn)).status).toBe("SUCCEEDED");
    await runner.close();
    db.close();

    const runtime = await startTestRuntime({ home });
    try {
      const event = await eventually(async () => {
        const { body } = await runtime.call(`/events/${eventId}`);
        return body.deliveries[0].status === "pending" ? undefined : body;
      });
      expect(event.deliveries[0]).toMatchObject({ status: "delivered", target: executionArn });
      const { body } = await runtime.call("/executions");
      expect(body.executions).toHaveLength(1);
    } finally {
      await runtime.dispose();
    }
  });
});

// End to end on the local runtime: ECR pushes promote images to staging through a GitOps commit and Argo CD.

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestOf, ecrPush, git, valuesAt, writeConfig } from "../support/platform.ts";
import { eventually, postJson, startTestRuntime, type TestRuntime } from "../support/runtime.ts";

const services = [
  { name: "checkout", policy: { semver: "^1.0.0" } },
  { name: "payments-worker", repository: "payments/worker", policy: { pattern: "^main-[0-9a-f]{7}$" } },
  { name: "storefront", policy: { tag: "stable" } },
];

interface Finished {
  eventId: string;
  execution: { status: string; output?: unknown; error?: string };
}

/** Puts the entries on the bus and waits for the workflow each one started to end. */
const pushAndWait = async (runtime: TestRuntime, entries: unknown[]): Promise<Finished[]> => {
  const put = await runtime.call("/events", postJson({ Entries: entries }));
  expect(put.body.FailedEntryCount).toBe(0);
  const ids: string[] = put.body.Entries.map((e: { EventId: string }) => e.EventId);
  return Promise.all(
    ids.map(async (eventId) => {
      const event = await eventually(async () => {
        const { body } = await runtime.call(`/events/${eventId}`);
        return body.deliveries?.[0]?.status === "delivered" ? body : undefined;
      }, 20_000);
      const execution = await eventually(async () => {
        const { body } = await runtime.call(`/executions/${encodeURIComponent(event.deliveries[0].target)}`);
        return body.status === "RUNNING" ? undefined : body;
      }, 20_000);
      return { eventId, execution };
    }),
  );
};

const promotionsFor = async (runtime: TestRuntime, service: string) =>
  (await runtime.call(`/promotions?service=${service}`)).body.promotions as {
    id: string;
    phase: string;
    environment: string;
    reasons: string[];
    image: { tag?: string; digest: string };
    revision?: string;
  }[];

const domainEvents = async (runtime: TestRuntime, detailType: string) =>
  (
    (await runtime.call("/events?limit=1000")).body.events as {
      event: { source: string; "detail-type": string; detail: Record<string, unknown> };
    }[]
  )
    .map((e) => e.event)
    .filter((e) => e.source === "switchyard" && e["detail-type"] === detailType);

describe("image promotion to staging", () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime({ configPath: writeConfig(services) });
  });
  afterAll(async () => {
    await runtime.dispose();
  });

  it("the sample ECR push for a semver service ends in one commit, Argo CD Synced/Healthy at it, and Promotion Succeeded", async () => {
    const sample = JSON.parse(readFileSync("events/samples/aws.ecr/image-push.json", "utf8"));
    const before = git(runtime.home, "rev-parse", "main");
    const valuesBefore = valuesAt(runtime.home, "checkout");
    const [result] = await pushAndWait(runtime, [
      { Source: sample.source, DetailType: sample["detail-type"], Detail: JSON.stringify(sample.detail) },
    ]);
    expect(result?.execution.status).toBe("SUCCEEDED");

    const head = git(runtime.home, "rev-parse", "main");
    expect(git(runtime.home, "rev-list", "--count", `${before}..${head}`)).toBe("1");
    expect(git(runtime.home, "diff", "--name-only", before, head)).toBe("envs/staging/checkout/values.yaml");
    // Only the two lines change; every other byte of the file stays.
    const changed = git(runtime.home, "diff", "-U0", before, head)
      .split("\n")
      .filter((line) => /^[-+](?![-+])/.test(line));
    expect(changed).toHaveLength(4);
    expect(changed.filter((l) => l.startsWith("+")).map((l) => l.trim())).toEqual([
      expect.stringMatching(/^\+\s*tag: "?1\.4\.2"?$/),
      expect.stringMatching(new RegExp(`^\\+\\s*digest: "?${sample.detail["image-digest"]}"?$`)),
    ]);
    const valuesAfter = valuesAt(runtime.home, "checkout");
    expect(valuesAfter.split("\n").length).toBe(valuesBefore.split("\n").length);
    const message = git(runtime.home, "log", "-1", "--format=%B", head);
    expect(message).toContain("checkout");
    expect(message).toContain("staging");
    expect(message).toContain("1.4.2");
    expect(message).toContain(sample.detail["image-digest"]);
    expect(message).toMatch(/Switchyard-Promotion-Id: [0-9a-f-]{36}/);
    expect(message).toContain(`Switchyard-Event-Id: ${result?.eventId}`);

    const app = await runtime.deployTarget.getApplication("argocd", "checkout-staging");
    expect(app).toMatchObject({ syncStatus: "Synced", syncRevision: head, healthStatus: "Healthy" });

    const succeeded = await domainEvents(runtime, "Promotion Succeeded");
    expect(succeeded.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({
        service: "checkout",
        environment: "staging",
        tag: "1.4.2",
        digest: sample.detail["image-digest"],
        revision: head,
        triggeringEventId: result?.eventId,
      }),
    );
    // Staging's success carries the image on to production, which waits for approval.
    const [promotion] = (await promotionsFor(runtime, "checkout")).filter((p) => p.environment === "staging");
    expect(promotion).toMatchObject({ phase: "Succeeded", revision: head });
    const environments = (await runtime.call("/environments")).body.environments;
    const staging = environments.find((e: { name: string }) => e.name === "staging");
    expect(staging.services).toContainEqual(
      expect.objectContaining({ service: "checkout", tag: "1.4.2", revision: head }),
    );
  });

  it.each([
    ["a tag that is not semver", "checkout", "latest", /not.*semver|semver/i],
    ["a pre-release", "checkout", "1.9.0-rc.1", /pre-?release/i],
    ["a tag outside the range", "checkout", "2.0.0", /range|\^1\.0\.0/],
    ["a downgrade", "checkout", "1.3.0", /downgrade/i],
    ["a tag the pattern does not match", "payments/worker", "feature-x", /pattern|match/i],
    ["a tag other than the followed one", "storefront", "latest", /stable/],
  ])("ignores %s, with the reason recorded and nothing committed", async (_name, repository, tag, reason) => {
    const head = git(runtime.home, "rev-parse", "main");
    const [result] = await pushAndWait(runtime, [ecrPush(repository, tag)]);
    expect(result?.execution.status).toBe("SUCCEEDED");
    expect(git(runtime.home, "rev-parse", "main")).toBe(head);
    const service = services.find((s) => (s.repository ?? s.name) === repository)!.name;
    const [latest] = await promotionsFor(runtime, service);
    expect(latest?.phase).toBe("Skipped");
    expect(latest?.reasons.join(" ")).toMatch(reason);
  });

  it("does nothing for the digest already deployed", async () => {
    const sample = JSON.parse(readFileSync("events/samples/aws.ecr/image-push.json", "utf8"));
    const head = git(runtime.home, "rev-parse", "main");
    await pushAndWait(runtime, [ecrPush("checkout", "1.4.2", { digest: sample.detail["image-digest"] })]);
    expect(git(runtime.home, "rev-parse", "main")).toBe(head);
    const [latest] = await promotionsFor(runtime, "checkout");
    expect(latest?.phase).toBe("Skipped");
    expect(latest?.reasons.join(" ")).toMatch(/already/i);
  });

  it("promotes a pattern service's newest push, and never an older one after it", async () => {
    const newer = new Date().toISOString();
    const older = new Date(Date.now() - 60_000).toISOString();
    await pushAndWait(runtime, [ecrPush("payments/worker", "main-1a2b3c4", { time: newer })]);
    expect(valuesAt(runtime.home, "payments-worker")).toContain("main-1a2b3c4");
    await pushAndWait(runtime, [ecrPush("payments/worker", "main-0000000", { time: older })]);
    expect(valuesAt(runtime.home, "payments-worker")).toContain("main-1a2b3c4");
  });

  it("follows a moving tag by digest", async () => {
    await pushAndWait(runtime, [ecrPush("storefront", "stable", { digest: digestOf("stable-1") })]);
    expect(valuesAt(runtime.home, "storefront")).toContain(digestOf("stable-1"));
    await pushAndWait(runtime, [ecrPush("storefront", "stable", { digest: digestOf("stable-2") })]);
    const values = valuesAt(runtime.home, "storefront");
    expect(values).toContain(digestOf("stable-2"));
    expect(values).not.toContain(digestOf("stable-1"));
  });

  it("a push for a repository no service deploys ends Succeeded with the reason", async () => {
    const [result] = await pushAndWait(runtime, [ecrPush("legacy/batch", "1.0.0")]);
    expect(result?.execution).toMatchObject({
      status: "SUCCEEDED",
      output: expect.objectContaining({ reason: "no service deploys repository legacy/batch" }),
    });
  });
});

describe("image promotion when staging does not come up", () => {
  it("fails the promotion when the application comes up Degraded, and publishes Promotion Failed", async () => {
    const runtime = await startTestRuntime({ configPath: writeConfig(services, { degraded: ["checkout"] }) });
    try {
      const [result] = await pushAndWait(runtime, [ecrPush("checkout", "1.5.0")]);
      expect(result?.execution).toMatchObject({ status: "FAILED", error: "PromotionFailed" });
      const [promotion] = await promotionsFor(runtime, "checkout");
      expect(promotion?.phase).toBe("Failed");
      expect(promotion?.reasons.at(-1)).toMatch(/degraded.*health=Degraded/i);
      const failed = await domainEvents(runtime, "Promotion Failed");
      expect(failed.map((e) => e.detail)).toContainEqual(
        expect.objectContaining({ service: "checkout", tag: "1.5.0", kind: "Failed", failedStep: "sync" }),
      );
    } finally {
      await runtime.dispose();
    }
  });

  it("times out when Argo CD never reports Synced + Healthy, with the last observed status", async () => {
    const config = writeConfig(services, {
      syncDelaySeconds: 3600,
      syncTimeoutMinutes: 0.03,
      pollIntervalSeconds: 1,
    });
    const runtime = await startTestRuntime({ configPath: config });
    try {
      const [result] = await pushAndWait(runtime, [ecrPush("checkout", "1.5.0")]);
      expect(result?.execution.status).toBe("FAILED");
      const [promotion] = await promotionsFor(runtime, "checkout");
      expect(promotion?.phase).toBe("Failed");
      expect(promotion?.reasons.at(-1)).toMatch(/timed-out: argocd\/checkout-staging sync=/);
    } finally {
      await runtime.dispose();
    }
  });
});

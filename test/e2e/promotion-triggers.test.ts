// The other ways into a promotion: POST /promotions by tag or digest, and GitHub releases and workflow runs.

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestOf, ecrPush, valuesAt, writeConfig } from "../support/platform.ts";
import { eventually, postJson, startTestRuntime, type TestRuntime } from "../support/runtime.ts";

describe("promotion triggers", () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime({
      configPath: writeConfig([
        { name: "checkout", github: "acme-platform/checkout", policy: { semver: "^1.0.0" } },
        { name: "storefront", policy: { tag: "stable" } },
      ]),
    });
  });
  afterAll(async () => {
    await runtime.dispose();
  });

  const promotion = (id: string) =>
    eventually(async () => {
      const { status, body } = await runtime.call(`/promotions/${id}`);
      return status === 200 && ["Succeeded", "Skipped", "Failed", "Errored"].includes(body.phase)
        ? body
        : undefined;
    }, 20_000);

  /** Pushes an image (ECR's event), waiting until the runtime has seen it and its own promotion has ended. */
  const push = async (repository: string, tag: string, digest: string) => {
    const { body } = await runtime.call(
      "/events",
      postJson({ Entries: [ecrPush(repository, tag, { digest })] }),
    );
    await eventually(async () => {
      const event = (await runtime.call(`/events/${body.Entries[0].EventId}`)).body;
      if (event.deliveries?.[0]?.status !== "delivered") return undefined;
      const execution = (await runtime.call(`/executions/${encodeURIComponent(event.deliveries[0].target)}`))
        .body;
      return execution.status === "RUNNING" ? undefined : execution;
    }, 20_000);
  };

  it("POST /promotions by tag finds the digest in the registry, promotes it, and reports it by id", async () => {
    await push("storefront", "stable", digestOf("sf-1"));
    const answer = await runtime.call(
      "/promotions",
      postJson({ service: "storefront", environment: "staging", tag: "stable" }),
    );
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: "Pending", promotionId: expect.any(String) });
    const record = await promotion(answer.body.promotionId);
    // The push already promoted it, so the manual request finds it deployed: the registry gave it the digest.
    expect(record).toMatchObject({ phase: "Skipped", image: { tag: "stable", digest: digestOf("sf-1") } });
    expect(record.reasons.join(" ")).toMatch(/already/);
  });

  it("POST /promotions by digest promotes that image", async () => {
    await runtime.call(
      "/events",
      postJson({ Entries: [ecrPush("checkout", "1.7.0", { digest: digestOf("co-17") })] }),
    );
    const answer = await runtime.call(
      "/promotions",
      postJson({ service: "checkout", environment: "staging", digest: digestOf("co-17") }),
    );
    const record = await promotion(answer.body.promotionId);
    expect(record.image).toMatchObject({ tag: "1.7.0", digest: digestOf("co-17") });
    // The push's own promotion and this one race for the same image: one commits it, the other finds it done.
    expect(["Succeeded", "Skipped"]).toContain(record.phase);
    await eventually(
      async () => (valuesAt(runtime.home, "checkout").includes(digestOf("co-17")) ? true : undefined),
      20_000,
    );
  });

  it("POST /promotions for a tag the registry does not know is skipped with the reason", async () => {
    const answer = await runtime.call(
      "/promotions",
      postJson({ service: "checkout", environment: "staging", tag: "1.99.0" }),
    );
    const record = await promotion(answer.body.promotionId);
    expect(record).toMatchObject({ phase: "Skipped" });
    expect(record.reasons.join(" ")).toContain("no such image in the registry");
  });

  it("a published GitHub release starts a promotion of the image tagged as the release", async () => {
    await push("checkout", "1.9.0", digestOf("co-19"));
    const sample = JSON.parse(readFileSync("events/samples/github.com/release-published.json", "utf8"));
    const body = JSON.stringify({
      ...sample.detail,
      action: "published",
      release: { ...sample.detail.release, tag_name: "1.9.0", draft: false, prerelease: false },
      repository: { ...sample.detail.repository, full_name: "acme-platform/checkout" },
    });
    const secret = (await runtime.secrets.getSecretValue(runtime.config.github.webhookSecret)).secretString;
    const answer = await runtime.call("/webhooks/github", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "release",
        "x-github-delivery": crypto.randomUUID(),
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    });
    expect(answer.status).toBe(202);
    const started = await eventually(async () => {
      const { body: list } = await runtime.call("/promotions?service=checkout");
      return list.promotions.find((p: { trigger: { kind: string } }) => p.trigger.kind === "github");
    }, 20_000);
    const record = await promotion(started.id);
    // The registry named the release's image; its push had promoted it already, so the release finds it deployed.
    expect(record).toMatchObject({ phase: "Skipped", image: { tag: "1.9.0", digest: digestOf("co-19") } });
    expect(record.reasons.join(" ")).toMatch(/already/);
  });
});

// End to end on the local runtime: a staging promotion asks for approval, and an approver's decision syncs production.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signLinkToken } from "../../functions/core/link-token.ts";
import { linkFor, readOutbox } from "../support/outbox.ts";
import { digestOf, ecrPush, git, type TestService, valuesAt, writeConfig } from "../support/platform.ts";
import { eventually, postJson, startTestRuntime, type TestRuntime } from "../support/runtime.ts";

interface Approval {
  id: string;
  promotionId: string;
  service: string;
  state: string;
  requestedBy: string;
  expiresAt: string;
  decisions: { approver: string; decision: string; channel: string }[];
}

const pendingApproval = async (runtime: TestRuntime, service: string): Promise<Approval> =>
  eventually(async () => {
    const { body } = await runtime.call("/approvals?status=pending");
    return (body as Approval[]).find((a) => a.service === service);
  }, 20_000);

const approval = async (runtime: TestRuntime, id: string): Promise<Approval> =>
  (await runtime.call(`/approvals/${id}`, { headers: { accept: "application/json" } })).body;

const domainEvents = async (runtime: TestRuntime, detailType: string) =>
  (
    (await runtime.call("/events?limit=1000")).body.events as {
      event: { source: string; "detail-type": string; detail: Record<string, unknown> };
    }[]
  )
    .map((e) => e.event)
    .filter((e) => e.source === "switchyard" && e["detail-type"] === detailType);

const executionOf = async (runtime: TestRuntime, promotionId: string) =>
  eventually(async () => {
    const { body } = await runtime.call(
      `/executions/${encodeURIComponent(`production-sync:${promotionId}`)}`,
    );
    return body.status && body.status !== "RUNNING" ? body : undefined;
  }, 20_000);

/** Posts the approval page's form, as the browser does. */
const postForm = (url: string, fields: Record<string, string>) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });

describe("approval-gated production sync", () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime({
      configPath: writeConfig([{ name: "checkout", policy: { semver: "^1.0.0" } }]),
    });
  });
  afterAll(() => runtime.dispose());

  it("e-mails each approver a link; GET leaves it pending; an approver's POST syncs production", async () => {
    const digest = digestOf("checkout:1.1.0");
    await runtime.call("/events", postJson({ Entries: [ecrPush("checkout", "1.1.0", { digest })] }));
    const request = await pendingApproval(runtime, "checkout");
    expect(request.requestedBy).toBe("switchyard");
    expect(valuesAt(runtime.home, "checkout", "staging")).toContain(digest);

    const mails = await eventually(() => {
      const found = readOutbox(runtime.home);
      return found.length >= 2 ? found : undefined;
    });
    expect(mails.map((m) => m.to).sort()).toEqual(["a@example.com", "b@example.com"]);
    const link = linkFor(runtime.home, "a@example.com", request.id);
    expect(link).toBeDefined();

    const page = await fetch(link!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('value="approve"');
    expect((await approval(runtime, request.id)).state).toBe("pending");

    const token = new URL(link!).searchParams.get("token")!;
    const decided = await postForm(`${runtime.url}/approvals/${request.id}/decision`, {
      token,
      decision: "approve",
      comment: "looks good",
    });
    expect(decided.status).toBe(200);
    expect(await decided.text()).toMatch(/approved/i);

    const execution = await executionOf(runtime, request.promotionId);
    expect(execution.status).toBe("SUCCEEDED");
    expect(valuesAt(runtime.home, "checkout", "production")).toContain(digest);
    const succeeded = await domainEvents(runtime, "Promotion Succeeded");
    expect(succeeded.find((e) => e.detail.environment === "production")?.detail).toMatchObject({
      service: "checkout",
      digest,
      approvalId: request.id,
    });
    expect(git(runtime.home, "log", "-1", "--format=%s")).toContain("promote checkout to production");
  });
});

/** Starts a production promotion by hand, as `requester`. */
const promote = async (runtime: TestRuntime, tag: string, requester = "dev@example.com") => {
  const { status, body } = await runtime.call("/promotions", {
    method: "POST",
    headers: { "content-type": "application/json", "x-switchyard-user": requester },
    body: JSON.stringify({
      service: "checkout",
      environment: "production",
      tag,
      digest: digestOf(`checkout:${tag}`),
    }),
  });
  expect(status).toBe(202);
  return body.promotionId as string;
};

const approvalOf = async (runtime: TestRuntime, promotionId: string): Promise<Approval> =>
  eventually(async () => {
    const { body } = await runtime.call("/approvals?status=pending");
    return (body as Approval[]).find((a) => a.promotionId === promotionId);
  }, 20_000);

const tokenOf = (runtime: TestRuntime, approver: string, approvalId: string): string => {
  const link = linkFor(runtime.home, approver, approvalId);
  if (!link) throw new Error(`no link for ${approver}`);
  return new URL(link).searchParams.get("token")!;
};

const decideWith = (runtime: TestRuntime, approvalId: string, fields: Record<string, string>) =>
  postForm(`${runtime.url}/approvals/${approvalId}/decision`, fields);

const decideAs = async (runtime: TestRuntime, approvalId: string, approver: string, decision: string) => {
  await eventually(() => linkFor(runtime.home, approver, approvalId));
  return decideWith(runtime, approvalId, { token: tokenOf(runtime, approver, approvalId), decision });
};

describe("approval rules on the local runtime", () => {
  let runtime: TestRuntime;
  const services: TestService[] = [{ name: "checkout", policy: { semver: "^1.0.0" } }];
  beforeAll(async () => {
    runtime = await startTestRuntime({
      configPath: writeConfig(services, {
        approval: { approvers: ["a@example.com", "b@example.com", "c@example.com"], minApprovals: 2 },
      }),
    });
  });
  afterAll(() => runtime.dispose());

  it("refuses forged, expired, other-approval and other-approver tokens with 403, changing nothing", async () => {
    const first = await approvalOf(runtime, await promote(runtime, "1.0.1"));
    const other = await approvalOf(runtime, await promote(runtime, "1.0.2"));
    const key = (await runtime.secrets.getSecretValue(runtime.config.approvals.linkKeySecret)).secretString;
    const genuine = await eventually(() => linkFor(runtime.home, "a@example.com", first.id));
    const genuineToken = new URL(genuine).searchParams.get("token")!;
    const [payload, signature] = genuineToken.split(".") as [string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
    const cases: [string, string][] = [
      ["a forged signature", `${payload}.${flipped}`],
      [
        "a token signed with another key",
        signLinkToken("0".repeat(64), {
          approvalId: first.id,
          approver: "a@example.com",
          expiresAt: first.expiresAt,
        }),
      ],
      [
        "an expired token",
        signLinkToken(key, {
          approvalId: first.id,
          approver: "a@example.com",
          expiresAt: new Date(Date.now() - 1000).toISOString(),
        }),
      ],
      ["another approval's token", tokenOf(runtime, "a@example.com", other.id)],
      [
        "a token for someone who is not an approver",
        signLinkToken(key, { approvalId: first.id, approver: "eve@example.com", expiresAt: first.expiresAt }),
      ],
      ["garbage", "not-a-token"],
    ];
    for (const [what, token] of cases) {
      const page = await fetch(`${runtime.url}/approvals/${first.id}?token=${encodeURIComponent(token)}`);
      const posted = await decideWith(runtime, first.id, { token, decision: "approve" });
      expect([what, page.status, posted.status]).toEqual([what, 403, 403]);
      expect(await posted.text()).not.toContain(token);
    }
    const after = await approval(runtime, first.id);
    expect(after).toMatchObject({ state: "pending", decisions: [] });
  });

  it("refuses self-approval, needs two distinct approvers, and counts a decision once whatever the channel", async () => {
    const promotionId = await promote(runtime, "1.1.0", "a@example.com");
    const request = await approvalOf(runtime, promotionId);
    expect(request.requestedBy).toBe("a@example.com");

    const self = await decideAs(runtime, request.id, "a@example.com", "approve");
    expect(self.status).toBe(403);
    expect(await self.text()).toContain("cannot approve");

    expect((await decideAs(runtime, request.id, "b@example.com", "approve")).status).toBe(200);
    expect((await approval(runtime, request.id)).state).toBe("pending");
    // b again, through the API this time: the first decision stands.
    const again = await runtime.call(`/approvals/${request.id}/decision`, {
      ...postJson({ decision: "reject", token: tokenOf(runtime, "b@example.com", request.id) }),
    });
    expect(again.status).toBe(409);
    expect(again.body.message).toContain("already decided");

    expect((await decideAs(runtime, request.id, "c@example.com", "approve")).status).toBe(200);
    const decided = await approval(runtime, request.id);
    expect(decided.state).toBe("approved");
    expect(decided.decisions.map((d) => [d.approver, d.decision, d.channel])).toEqual([
      ["b@example.com", "approve", "email"],
      ["c@example.com", "approve", "email"],
    ]);
    expect((await executionOf(runtime, promotionId)).status).toBe("SUCCEEDED");
    const late = await decideAs(runtime, request.id, "a@example.com", "reject");
    expect(late.status).toBe(409);
  });

  it("ends the promotion Failed on one rejection, with who and why, and publishes Approval Decided", async () => {
    const promotionId = await promote(runtime, "1.2.0");
    const request = await approvalOf(runtime, promotionId);
    await eventually(() => linkFor(runtime.home, "b@example.com", request.id));
    const rejected = await decideWith(runtime, request.id, {
      token: tokenOf(runtime, "b@example.com", request.id),
      decision: "reject",
      comment: "not during the sale",
    });
    expect(rejected.status).toBe(200);
    const execution = await executionOf(runtime, promotionId);
    expect(execution).toMatchObject({ status: "FAILED", error: "ApprovalRejected" });
    const promotion = (await runtime.call(`/promotions/${promotionId}`)).body;
    expect(promotion.phase).toBe("Failed");
    expect(promotion.reasons.at(-1)).toContain("rejected by b@example.com: not during the sale");
    const decided = await domainEvents(runtime, "Approval Decided");
    expect(decided.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({ approvalId: request.id, decision: "rejected", decidedBy: ["b@example.com"] }),
    );
    expect(valuesAt(runtime.home, "checkout", "production")).not.toContain(digestOf("checkout:1.2.0"));
  });
});

describe("approval expiry, freezes and rollback on the local runtime", () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime({
      configPath: writeConfig([{ name: "checkout", policy: { semver: "^1.0.0" } }], {
        // 1.8 seconds: long enough to read the e-mail, short enough to watch it expire.
        approval: { approvers: ["a@example.com", "b@example.com"], timeoutHours: 0.0005 },
        freeze: { action: "wait", pollIntervalSeconds: 1 },
        degraded: [{ service: "checkout", tag: "1.9.0", environment: "production" }],
      }),
    });
  });
  afterAll(() => runtime.dispose());

  it("expires an approval nobody decides through TimeoutSeconds, and a late decision gets the expired page", async () => {
    const promotionId = await promote(runtime, "1.3.0");
    const request = await approvalOf(runtime, promotionId);
    const token = await eventually(() => linkFor(runtime.home, "a@example.com", request.id));
    const execution = await executionOf(runtime, promotionId);
    expect(execution).toMatchObject({ status: "FAILED", error: "ApprovalExpired" });
    expect((await approval(runtime, request.id)).state).toBe("expired");
    const decided = await domainEvents(runtime, "Approval Decided");
    expect(decided.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({ approvalId: request.id, decision: "expired", decidedBy: [] }),
    );
    const late = await decideWith(runtime, request.id, {
      token: new URL(token).searchParams.get("token")!,
      decision: "approve",
    });
    expect([403, 410]).toContain(late.status);
    expect(await late.text()).toMatch(/expired/i);
  });
});

describe("freezes, pre-change snapshots and rollback on the local runtime", () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime({
      configPath: writeConfig([{ name: "checkout", database: "checkout-db", policy: { semver: "^1.0.0" } }], {
        databases: [
          { name: "checkout", user: "checkout_app", secret: "checkout/db", instance: "checkout-db" },
        ],
        freeze: { action: "wait", pollIntervalSeconds: 1 },
        degraded: [{ service: "checkout", tag: "1.9.0", environment: "production" }],
      }),
    });
  });
  afterAll(() => runtime.dispose());

  const approveAs = async (promotionId: string, approver = "b@example.com") => {
    const request = await approvalOf(runtime, promotionId);
    expect((await decideAs(runtime, request.id, approver, "approve")).status).toBe(200);
    return request;
  };

  it("holds a frozen service's promotion until the freeze is lifted", async () => {
    const frozen = await runtime.call("/freezes/checkout", {
      method: "PUT",
      headers: { "content-type": "application/json", "x-switchyard-user": "ops@example.com" },
      body: JSON.stringify({ reason: "Black Friday" }),
    });
    expect(frozen.status).toBe(200);
    expect(frozen.body).toMatchObject({ service: "checkout", setBy: "ops@example.com", active: true });

    const promotionId = await promote(runtime, "1.0.0");
    const held = await eventually(async () => {
      const { body } = await runtime.call(`/promotions/${promotionId}`);
      return body?.reasons?.some((r: string) => r.includes("Black Friday")) ? body : undefined;
    });
    expect(held.phase).toBe("Pending");
    const pending = (await runtime.call("/approvals?status=pending")).body as Approval[];
    expect(pending.some((a) => a.promotionId === promotionId)).toBe(false);

    const lifted = await runtime.call("/freezes/checkout", { method: "DELETE" });
    expect(lifted.body).toEqual({ service: "checkout", lifted: 1 });
    const request = await approveAs(promotionId);
    expect((await approval(runtime, request.id)).state).toBe("approved");
    expect((await executionOf(runtime, promotionId)).status).toBe("SUCCEEDED");
  });

  it("snapshots the service's database before asking, and names the snapshot in the request", async () => {
    const created = await domainEvents(runtime, "Snapshot Created");
    expect(created.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({ dbInstanceIdentifier: "checkout-db", reason: "pre-change" }),
    );
    const [request] = (await runtime.call("/approvals?status=approved")).body as (Approval & {
      snapshotId?: string;
    })[];
    expect(request?.snapshotId).toMatch(/^switchyard-checkout-db-\d{14}-pre-change$/);
  });

  it("rolls back a production that goes Degraded: revert commit, sync, quarantine, Promotion Rolled Back", async () => {
    const bad = digestOf("checkout:1.9.0");
    const good = digestOf("checkout:1.0.0");
    const promotionId = await promote(runtime, "1.9.0");
    await approveAs(promotionId);
    const execution = await executionOf(runtime, promotionId);
    expect(execution).toMatchObject({ status: "FAILED", error: "PromotionRolledBack" });

    expect(valuesAt(runtime.home, "checkout", "production")).toContain(good);
    const subjects = git(runtime.home, "log", "-3", "--format=%s").split("\n");
    expect(subjects[0]).toBe('Revert "promote checkout to production: 1.0.0 → 1.9.0"');
    expect(subjects[1]).toBe("promote checkout to production: 1.0.0 → 1.9.0");
    const app = await runtime.deployTarget.getApplication("argocd", "checkout-production");
    expect(app).toMatchObject({ syncStatus: "Synced", healthStatus: "Healthy" });

    const promotion = (await runtime.call(`/promotions/${promotionId}`)).body;
    expect(promotion.phase).toBe("RolledBack");
    const rolledBack = await domainEvents(runtime, "Promotion Rolled Back");
    expect(rolledBack.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({
        promotionId,
        digest: bad,
        rolledBackToDigest: good,
        rolledBackToTag: "1.0.0",
        quarantined: true,
      }),
    );
    const quarantine = (await runtime.call("/quarantine")).body as { service: string; digest: string }[];
    expect(quarantine).toContainEqual(expect.objectContaining({ service: "checkout", digest: bad }));

    // The same digest pushed again is not promoted anywhere while it is quarantined.
    await runtime.call("/events", postJson({ Entries: [ecrPush("checkout", "1.9.0", { digest: bad })] }));
    const skipped = await eventually(async () => {
      const { body } = await runtime.call("/promotions?service=checkout&environment=staging");
      return body.promotions.find(
        (p: { image: { digest: string }; phase: string }) => p.image.digest === bad && p.phase === "Skipped",
      );
    });
    expect(skipped.reasons[0]).toContain("quarantined");
    expect(valuesAt(runtime.home, "checkout", "production")).toContain(good);

    const cleared = await runtime.call(`/quarantine/checkout/${encodeURIComponent(bad)}`, {
      method: "DELETE",
    });
    expect(cleared).toEqual({ status: 200, body: { service: "checkout", digest: bad, cleared: true } });
    expect(
      (await runtime.call(`/quarantine/checkout/${encodeURIComponent(bad)}`, { method: "DELETE" })).status,
    ).toBe(404);
  });
});

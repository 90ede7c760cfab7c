// Reverting a promotion that failed its health gate: a new revert commit, the digest quarantined, never a force-push.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { devNull, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commitMessage } from "../../functions/core/commit-images.ts";
import { configSchema } from "../../functions/core/config.ts";
import type { Clock, PromotionRecord } from "../../functions/core/ports.ts";
import { revertPromotion } from "../../functions/core/revert-promotion.ts";
import { readImage, setImage } from "../../functions/core/values-file.ts";
import { GitGitOpsRepository } from "../../local/adapters/git-gitops-repository.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { openDatabase } from "../../local/db.ts";
import { digestOf } from "../support/platform.ts";

const promotionId = "0b8f8f3e-2f7c-4b55-9e58-52b0b3a8f0e1";
const path = "envs/production/checkout/values.yaml";
const now = new Date("2026-11-28T08:30:00.000Z");
const clock: Clock = { now: () => now };
const reason = "Argo CD degraded: health=Degraded (checkout-production)";
const failedDigest = digestOf("1.4.2");
const previousDigest = digestOf("1.4.1");
const previousPushedAt = "2026-11-20T10:00:00.000Z";
const promoteMessage = commitMessage(
  {
    messageId: "m-1",
    taskToken: "t",
    promotionId,
    service: "checkout",
    environment: "production",
    image: { repository: "checkout", tag: "1.4.2", digest: failedDigest, pushedAt: "2026-11-28T07:00:00Z" },
    eventId: "evt-7",
  },
  { tag: "1.4.1", digest: previousDigest },
);

const config = configSchema.parse({
  gitops: { repository: "acme-platform/gitops" },
  environments: [
    {
      name: "production",
      approval: { approvers: ["ana@example.com"], timeoutHours: 24 },
      argocd: { namespace: "argocd", application: "{service}-production" },
    },
  ],
  services: [
    {
      name: "checkout",
      repository: "checkout",
      policy: { semver: "^1.0.0" },
      values: "envs/{environment}/checkout/values.yaml",
    },
  ],
});

const valuesFor = (tag: string, digest: string): string =>
  [
    "# checkout in production",
    "replicaCount: 3",
    "image:",
    "  repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout",
    `  tag: "${tag}"`,
    `  digest: ${digest}`,
    "",
  ].join("\n");

/** git with the user's configuration out of the way, as the adapter runs it. */
const git = (dir: string, args: string[]): string =>
  execFileSync("git", args, {
    cwd: dir,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("GIT_"))),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: devNull,
    },
  })
    .toString("utf8")
    .trim();

describe("revertPromotion", () => {
  let dir: string;
  let gitops: GitGitOpsRepository;
  let store: SqlitePromotionStore;
  let promoteRevision: string;
  const deps = () => ({ config, store, gitops, clock });

  const commitImage = async (tag: string, digest: string, message: string) =>
    (
      await gitops.updateFile({
        path,
        message,
        edit: (content) => content && setImage(content, { tag, digest }, path).content,
      })
    ).revision;

  const recordPromotion = (overrides: Partial<PromotionRecord> = {}) =>
    store.createPromotion({
      id: promotionId,
      service: "checkout",
      environment: "production",
      image: { repository: "checkout", tag: "1.4.2", digest: failedDigest, pushedAt: "2026-11-28T07:00:00Z" },
      phase: "Syncing",
      reasons: [],
      trigger: { kind: "promotion", eventId: "evt-7" },
      previous: { tag: "1.4.1", digest: previousDigest, pushedAt: previousPushedAt },
      revision: promoteRevision,
      createdAt: "2026-11-28T08:00:00.000Z",
      updatedAt: "2026-11-28T08:00:00.000Z",
      ...overrides,
    });

  const pinned = async () => readImage((await gitops.readFile(path))?.content ?? "", path);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-revert-"));
    gitops = await GitGitOpsRepository.init(dir, {
      files: { [path]: valuesFor("1.4.1", previousDigest) },
      clock,
    });
    // The Commit step's own message, so the revert's subject can be checked against it.
    promoteRevision = await commitImage("1.4.2", failedDigest, promoteMessage);
    store = new SqlitePromotionStore({ db: openDatabase(":memory:"), clock });
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("restores the previous image with a new revert commit on top of the failed one", async () => {
    await recordPromotion();

    const result = await revertPromotion(deps(), { promotionId, reason });

    const head = await gitops.head();
    expect(result).toEqual({ outcome: "reverted", reason, revertRevision: head, digest: previousDigest });
    expect(head).not.toBe(promoteRevision);
    expect(git(dir, ["rev-parse", `${head}^`])).toBe(promoteRevision);
    const message = git(dir, ["log", "-1", "--format=%B", head]);
    const promoteSubject = promoteMessage.split("\n")[0];
    expect(promoteSubject).toBe("promote checkout to production: 1.4.1 → 1.4.2");
    expect(message.split("\n")[0]).toBe(`Revert "${promoteSubject}"`);
    expect(message).toContain(`This reverts commit ${promoteRevision}.`);
    expect(message).toContain(`Switchyard-Promotion-Id: ${promotionId}`);
    expect(await pinned()).toMatchObject({ tag: "1.4.1", digest: previousDigest });
    expect(readImage((await gitops.readFile(path, promoteRevision))?.content ?? "", path)).toMatchObject({
      tag: "1.4.2",
      digest: failedDigest,
    });
  });

  it("records the previous image as what production runs, at the revert commit", async () => {
    await recordPromotion();

    const result = await revertPromotion(deps(), { promotionId, reason });

    expect(await store.getDeployment("checkout", "production")).toEqual({
      service: "checkout",
      environment: "production",
      tag: "1.4.1",
      digest: previousDigest,
      pushedAt: previousPushedAt,
      revision: result.revertRevision,
      promotionId,
      deployedAt: now.toISOString(),
    });
  });

  it("records the epoch as push time when the previous image's is unknown", async () => {
    await recordPromotion({ previous: { tag: "1.4.1", digest: previousDigest } });

    await revertPromotion(deps(), { promotionId, reason });

    expect((await store.getDeployment("checkout", "production"))?.pushedAt).toBe("1970-01-01T00:00:00.000Z");
  });

  it("quarantines the failed digest for the service, with the reason", async () => {
    await recordPromotion();

    await revertPromotion(deps(), { promotionId, reason });

    expect(await store.isQuarantined("checkout", failedDigest)).toBe(true);
    expect(await store.isQuarantined("checkout", previousDigest)).toBe(false);
    expect((await store.listQuarantine())[0]?.reason).toContain(reason);
  });

  it("answers a retried call with the same revert commit and makes no second one", async () => {
    await recordPromotion();
    const first = await revertPromotion(deps(), { promotionId, reason });

    const again = await revertPromotion(deps(), { promotionId, reason });

    expect(again).toEqual(first);
    expect(await gitops.head()).toBe(first.revertRevision);
    expect(git(dir, ["rev-list", "--count", "HEAD"])).toBe("3");
  });

  it("does not undo a newer change the file moved on to, but still quarantines the digest", async () => {
    await recordPromotion();
    const newer = await commitImage(
      "1.4.3",
      digestOf("1.4.3"),
      "promote checkout to production: 1.4.2 → 1.4.3",
    );

    const result = await revertPromotion(deps(), { promotionId, reason });

    expect(result).toMatchObject({ outcome: "not-reverted", revertRevision: null, digest: null });
    expect(result.reason).toContain("a newer change is not undone");
    expect(await gitops.head()).toBe(newer);
    expect(await pinned()).toMatchObject({ tag: "1.4.3", digest: digestOf("1.4.3") });
    expect(await store.isQuarantined("checkout", failedDigest)).toBe(true);
    expect(await store.getDeployment("checkout", "production")).toBeUndefined();
  });

  it("has nothing to revert to on a first deploy, says so and quarantines the digest", async () => {
    await recordPromotion({ previous: undefined });

    const result = await revertPromotion(deps(), { promotionId, reason });

    expect(result).toMatchObject({ outcome: "not-reverted", revertRevision: null, digest: null });
    expect(result.reason).toContain(
      "nothing to roll back to: this was the first deploy of checkout to production",
    );
    expect(await gitops.head()).toBe(promoteRevision);
    expect(await store.isQuarantined("checkout", failedDigest)).toBe(true);
    expect((await store.getPromotion(promotionId))?.reasons.at(-1)).toMatch(
      /^not reverted: nothing to roll back/,
    );
  });
});

// The GitOps writer's batch logic: coalescing a burst, deciding again against the file, answering every token.

import { beforeEach, describe, expect, it } from "vitest";
import { type CommitRequest, commitImages } from "../../functions/core/commit-images.ts";
import { ConflictError } from "../../functions/core/errors.ts";
import type { FileUpdateResult, GitOpsRepository, PromotionRecord } from "../../functions/core/ports.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { openDatabase } from "../../local/db.ts";
import { digestOf } from "../support/platform.ts";

const config = loadConfig("switchyard.yaml");
const path = "envs/staging/checkout/values.yaml";
const valuesWith = (tag: string, digest: string) =>
  `# checkout in staging\nreplicaCount: 2\nimage:\n  repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout\n  tag: "${tag}"\n  digest: "${digest}"\n`;

/** An in-memory GitOps branch: a list of commits, each with the files at that point. */
class FakeGitOps implements GitOpsRepository {
  commits: { revision: string; files: Map<string, string>; message: string }[] = [];
  failWith: Error | undefined;

  constructor(files: Record<string, string>) {
    this.commits.push({ revision: this.sha(0), files: new Map(Object.entries(files)), message: "seed" });
  }

  private sha = (n: number) => n.toString(16).padStart(40, "0");
  private get tip() {
    return this.commits.at(-1)!;
  }

  async head() {
    return this.tip.revision;
  }

  async readFile(file: string, revision?: string) {
    const commit = revision ? this.commits.find((c) => c.revision === revision) : this.tip;
    const content = commit?.files.get(file);
    return content === undefined || !commit ? undefined : { content, revision: commit.revision };
  }

  async updateFile(input: Parameters<GitOpsRepository["updateFile"]>[0]): Promise<FileUpdateResult> {
    if (this.failWith) throw this.failWith;
    const current = this.tip.files.get(input.path);
    const next = input.edit(current);
    if (next === undefined || next === current)
      return { revision: this.tip.revision, changed: false, conflicts: 0 };
    const files = new Map(this.tip.files).set(input.path, next);
    const message = typeof input.message === "string" ? input.message : input.message(current);
    this.commits.push({ revision: this.sha(this.commits.length), files, message });
    return {
      revision: this.tip.revision,
      changed: true,
      ...(current ? { previousContent: current } : {}),
      conflicts: 0,
    };
  }
}

class FakeCallbacks {
  answers: { token: string; kind: "success" | "failure"; value: unknown }[] = [];
  failWith: Error | undefined;
  async sendTaskSuccess(token: string, output: unknown) {
    if (this.failWith) throw this.failWith;
    this.answers.push({ token, kind: "success", value: output });
  }
  async sendTaskFailure(token: string, error: string, cause: string) {
    if (this.failWith) throw this.failWith;
    this.answers.push({ token, kind: "failure", value: { error, cause } });
  }
}

describe("commitImages", () => {
  let store: SqlitePromotionStore;
  let gitops: FakeGitOps;
  let callbacks: FakeCallbacks;
  const now = new Date("2026-11-27T10:00:00.000Z");
  const deps = () => ({ config, store, gitops, callbacks, clock: { now: () => now } });
  let sequence = 0;

  const request = async (tag: string, pushedAt = "2026-11-27T09:00:00Z"): Promise<CommitRequest> => {
    sequence += 1;
    const promotionId = `00000000-0000-4000-8000-${String(sequence).padStart(12, "0")}`;
    const image = { repository: "checkout", tag, digest: digestOf(tag), pushedAt };
    const record: PromotionRecord = {
      id: promotionId,
      service: "checkout",
      environment: "staging",
      image,
      phase: "Pending",
      reasons: ["decided"],
      trigger: { kind: "ecr", eventId: `event-${sequence}` },
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    await store.createPromotion(record);
    return {
      messageId: `m-${sequence}`,
      taskToken: `token-${sequence}`,
      promotionId,
      service: "checkout",
      environment: "staging",
      image,
      eventId: `event-${sequence}`,
    };
  };

  beforeEach(() => {
    store = new SqlitePromotionStore({ db: openDatabase(":memory:") });
    gitops = new FakeGitOps({ [path]: valuesWith("1.0.0", digestOf("1.0.0")) });
    callbacks = new FakeCallbacks();
  });

  it("commits one request: the file, the deployment, the promotion and the token's answer", async () => {
    const r = await request("1.4.2");
    const { failedMessageIds } = await commitImages(deps(), [r]);
    expect(failedMessageIds).toEqual([]);
    expect(gitops.commits).toHaveLength(2);
    const commit = gitops.commits[1]!;
    expect(commit.files.get(path)).toBe(valuesWith("1.4.2", digestOf("1.4.2")));
    expect(commit.message).toMatch(/^promote checkout to staging: 1\.0\.0 → 1\.4\.2\n/);
    expect(commit.message).toContain(`Image:       checkout@${digestOf("1.4.2")}`);
    expect(commit.message).toContain(`Switchyard-Promotion-Id: ${r.promotionId}`);
    expect(commit.message).toContain("Switchyard-Event-Id: event-");
    expect(callbacks.answers).toEqual([
      {
        token: r.taskToken,
        kind: "success",
        value: {
          outcome: "committed",
          revision: commit.revision,
          committedAt: now.toISOString(),
          deadline: new Date(now.getTime() + config.promotion.syncTimeoutMinutes * 60_000).toISOString(),
          pollIntervalSeconds: config.promotion.pollIntervalSeconds,
          previous: { tag: "1.0.0", digest: digestOf("1.0.0") },
        },
      },
    ]);
    expect(await store.getDeployment("checkout", "staging")).toMatchObject({
      tag: "1.4.2",
      revision: commit.revision,
      promotionId: r.promotionId,
    });
    expect(await store.getPromotion(r.promotionId)).toMatchObject({
      phase: "Syncing",
      revision: commit.revision,
      previous: { tag: "1.0.0" },
    });
  });

  it("coalesces a burst for one service into one commit of the newest, answering the others superseded", async () => {
    const burst = [await request("1.2.0"), await request("1.3.0"), await request("1.1.0")];
    await commitImages(deps(), burst);
    expect(gitops.commits).toHaveLength(2);
    expect(gitops.commits[1]!.files.get(path)).toContain('tag: "1.3.0"');
    const byToken = Object.fromEntries(
      callbacks.answers.map((a) => [a.token, a.value as { outcome: string }]),
    );
    expect(byToken[burst[1]!.taskToken]?.outcome).toBe("committed");
    expect(byToken[burst[0]!.taskToken]?.outcome).toBe("superseded");
    expect(byToken[burst[2]!.taskToken]?.outcome).toBe("superseded");
    expect((await store.getPromotion(burst[0]!.promotionId))?.phase).toBe("Skipped");
  });

  it("never downgrades: a batch older than what runs commits nothing", async () => {
    await commitImages(deps(), [await request("1.5.0")]);
    const older = await request("1.4.0");
    await commitImages(deps(), [older]);
    expect(gitops.commits).toHaveLength(2);
    expect(callbacks.answers.at(-1)).toMatchObject({
      kind: "success",
      value: { outcome: "skipped", reason: expect.stringMatching(/downgrade/) },
    });
  });

  it("decides again against the file: a higher version set by hand is not overwritten", async () => {
    gitops = new FakeGitOps({ [path]: valuesWith("1.9.0", digestOf("hand-edit")) });
    const r = await request("1.4.2");
    await commitImages(deps(), [r]);
    expect(gitops.commits).toHaveLength(1);
    expect(callbacks.answers[0]).toMatchObject({
      kind: "success",
      value: { outcome: "unchanged", reason: expect.stringMatching(/downgrade/) },
    });
    expect((await store.getPromotion(r.promotionId))?.phase).toBe("Skipped");
  });

  it("answers 'unchanged' when the file already pins the image", async () => {
    gitops = new FakeGitOps({ [path]: valuesWith("1.4.2", digestOf("1.4.2")) });
    await commitImages(deps(), [await request("1.4.2")]);
    expect(gitops.commits).toHaveLength(1);
    expect(callbacks.answers[0]).toMatchObject({ value: { outcome: "unchanged" } });
  });

  it("sends a failed write to every waiting token as the error's name, for the workflow's Retry", async () => {
    gitops.failWith = new ConflictError("the branch kept moving");
    const burst = [await request("1.2.0"), await request("1.3.0")];
    const { failedMessageIds } = await commitImages(deps(), burst);
    expect(failedMessageIds).toEqual([]);
    expect(callbacks.answers.map((a) => [a.kind, (a.value as { error: string }).error])).toEqual([
      ["failure", "ConflictError"],
      ["failure", "ConflictError"],
    ]);
    expect((await store.getPromotion(burst[1]!.promotionId))?.phase).toBe("Errored");
  });

  it("answers a redelivered message with what already happened, without a second commit", async () => {
    const r = await request("1.4.2");
    await commitImages(deps(), [r]);
    await commitImages(deps(), [{ ...r, messageId: "m-again", taskToken: "token-again" }]);
    expect(gitops.commits).toHaveLength(2);
    expect(callbacks.answers.at(-1)).toMatchObject({
      token: "token-again",
      value: { outcome: "committed", revision: gitops.commits[1]!.revision },
    });
  });

  it("lets the queue redeliver only answers that could not be sent for a reason other than an ended task", async () => {
    const ended = Object.assign(new Error("task timed out"), { name: "TaskTimedOut" });
    callbacks.failWith = ended;
    expect((await commitImages(deps(), [await request("1.4.2")])).failedMessageIds).toEqual([]);
    callbacks.failWith = Object.assign(new Error("throttled"), { name: "ThrottlingException" });
    const r = await request("1.5.0");
    expect((await commitImages(deps(), [r])).failedMessageIds).toEqual([r.messageId]);
  });
});

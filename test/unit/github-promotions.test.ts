// GitHub releases and default-branch workflow runs starting promotions: which events count, which tag, which runs.

import { readFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import type { ServiceConfig } from "../../functions/core/config.ts";
import { ConflictError } from "../../functions/core/errors.ts";
import {
  type GithubReleaseEvent,
  type GithubWorkflowRunEvent,
  githubExecutionName,
  githubImageTag,
  planGithubPromotions,
  promoteFromGithub,
} from "../../functions/core/github-promotions.ts";
import type { WorkflowStarter } from "../../functions/core/ports.ts";
import { promoteImageInputSchema } from "../../functions/core/promotion-input.ts";
import {
  makePromoteFromGithub,
  promoteFromGithubEventSchema,
} from "../../functions/handlers/promote-from-github.ts";
import { withHandlerStack } from "../../functions/wiring/middleware.ts";

const sample = <T>(file: string): T =>
  JSON.parse(readFileSync(`events/samples/github.com/${file}`, "utf8")) as T;
const releaseSample = sample<GithubReleaseEvent>("release-published.json");
const runSample = sample<GithubWorkflowRunEvent>("workflow-run-completed.json");

const release = (
  change: { action?: string; tag?: string; draft?: boolean; prerelease?: boolean; repository?: string } = {},
): GithubReleaseEvent => ({
  ...releaseSample,
  detail: {
    ...releaseSample.detail,
    action: change.action ?? "published",
    release: {
      ...releaseSample.detail.release,
      tag_name: change.tag ?? "1.4.2",
      draft: change.draft ?? false,
      ...(change.prerelease !== undefined && { prerelease: change.prerelease }),
    },
    repository: { ...releaseSample.detail.repository, full_name: change.repository ?? "acme-shop/checkout" },
  },
});

const workflowRun = (
  change: {
    action?: string;
    conclusion?: string | null;
    branch?: string | null;
    defaultBranch?: string;
    headRepository?: string;
  } = {},
): GithubWorkflowRunEvent => ({
  ...runSample,
  detail: {
    ...runSample.detail,
    action: change.action ?? "completed",
    workflow_run: {
      ...runSample.detail.workflow_run,
      head_branch: change.branch === undefined ? "main" : change.branch,
      conclusion: change.conclusion === undefined ? "success" : change.conclusion,
      ...(change.headRepository !== undefined && { head_repository: { full_name: change.headRepository } }),
    },
    repository: { ...runSample.detail.repository, default_branch: change.defaultBranch ?? "main" },
  },
});

const service = (name: string, repository: string, github?: string): ServiceConfig => ({
  name,
  repository,
  policy: { semver: "^1.0.0", includePrerelease: false },
  values: `envs/{environment}/${name}/values.yaml`,
  ...(github !== undefined && { github }),
});

const config = {
  services: [
    service("checkout", "checkout", "acme-shop/checkout"),
    service("storefront", "storefront"),
    // Two services built from one GitHub repository into two ECR repositories, and two sharing one.
    service("payments-api", "payments/api", "acme-shop/payments"),
    service("payments-worker", "payments/worker", "acme-shop/payments"),
    service("payments-cron", "payments/worker", "acme-shop/payments"),
  ],
};

/** A starter that, like StartExecution, answers a repeated name with the execution it already started. */
const recordingStarter = () => {
  const executions = new Map<string, { workflow: string; input: unknown }>();
  const calls: { workflow: string; input: unknown; name?: string }[] = [];
  let failing: string | undefined;
  const starter: WorkflowStarter = {
    start: async (workflow, input, name) => {
      calls.push({ workflow, input, ...(name !== undefined && { name }) });
      if (name !== undefined && name === failing) {
        failing = undefined;
        throw new Error("StartExecution failed");
      }
      const key = name ?? String(calls.length);
      const existing = executions.get(key);
      if (existing && JSON.stringify(existing.input) !== JSON.stringify(input)) {
        throw new ConflictError(`execution ${key} exists with another input`);
      }
      executions.set(key, { workflow, input });
      return { executionArn: `arn:aws:states:eu-west-1:123456789012:execution:PromoteImage:${key}` };
    },
  };
  return { starter, executions, calls, failOnceOn: (name: string) => (failing = name) };
};

describe("githubImageTag: the tag an event promotes", () => {
  it.each([
    ["a published release → its tag", release(), { tag: "1.4.2" }],
    [
      "a published pre-release → its tag (the policy decides)",
      release({ prerelease: true, tag: "1.5.0-rc.1" }),
      { tag: "1.5.0-rc.1" },
    ],
    ["a v-prefixed release tag, exactly as written", release({ tag: "v1.4.2" }), { tag: "v1.4.2" }],
    [
      "a successful run on the default branch → <branch>-<7 hex of the commit>",
      workflowRun(),
      { tag: "main-63180b6" },
    ],
    [
      "a run on a default branch other than main",
      workflowRun({ branch: "trunk", defaultBranch: "trunk" }),
      { tag: "trunk-63180b6" },
    ],
  ])("%s", (_, event, expected) => {
    expect(githubImageTag(event)).toEqual(expected);
  });

  it.each([
    ["a draft", release({ draft: true }), "acme-shop/checkout: release 1.4.2 is a draft"],
    [
      "an edited release",
      release({ action: "edited" }),
      "acme-shop/checkout: release 1.4.2 was edited, not published",
    ],
    [
      "a created release",
      release({ action: "created" }),
      "acme-shop/checkout: release 1.4.2 was created, not published",
    ],
    [
      "a release whose tag is no image tag",
      release({ tag: "release/1.0" }),
      'acme-shop/checkout: release tag "release/1.0" is not a valid image tag (1-128 of [A-Za-z0-9_.-])',
    ],
    [
      "a failed run",
      workflowRun({ conclusion: "failure" }),
      "acme-shop/checkout: workflow run build-and-push concluded failure",
    ],
    [
      "a cancelled run",
      workflowRun({ conclusion: "cancelled" }),
      "acme-shop/checkout: workflow run build-and-push concluded cancelled",
    ],
    [
      "a run still in progress",
      workflowRun({ action: "in_progress", conclusion: null }),
      "acme-shop/checkout: workflow run build-and-push is in_progress, not completed",
    ],
    [
      "a run on another branch",
      workflowRun({ branch: "feature/tax" }),
      "acme-shop/checkout: workflow run build-and-push ran on feature/tax, not the default branch main",
    ],
    [
      "a run on no branch",
      workflowRun({ branch: null }),
      "acme-shop/checkout: workflow run build-and-push ran on no branch, not the default branch main",
    ],
    [
      "a fork's run on its own main",
      workflowRun({ headRepository: "mallory/checkout" }),
      "acme-shop/checkout: workflow run build-and-push ran on a branch of mallory/checkout, a fork",
    ],
    [
      "a default branch whose name is no image tag",
      workflowRun({ branch: "release/2025", defaultBranch: "release/2025" }),
      'acme-shop/checkout: branch tag "release/2025-63180b6" is not a valid image tag (1-128 of [A-Za-z0-9_.-])',
    ],
  ])("%s → no tag, with the reason", (_, event, reason) => {
    expect(githubImageTag(event)).toEqual({ skip: reason });
  });

  it("accepts a run whose head repository is the repository itself, whatever the case", () => {
    expect(githubImageTag(workflowRun({ headRepository: "Acme-Shop/Checkout" }))).toEqual({
      tag: "main-63180b6",
    });
  });
});

describe("planGithubPromotions", () => {
  it("starts promote-image for the services built from the released repository, with the release's tag", () => {
    const plan = planGithubPromotions(config, release());

    expect(plan.starts).toEqual([
      {
        repository: "checkout",
        services: ["checkout"],
        executionName: githubExecutionName(releaseSample.id, "checkout"),
        input: {
          promotionId: null,
          environment: null,
          services: ["checkout"],
          trigger: { kind: "github", eventId: releaseSample.id },
          image: { repository: "checkout", tag: "1.4.2", digest: null, pushedAt: releaseSample.time },
        },
      },
    ]);
    expect(plan.reason).toBe("acme-shop/checkout: promote checkout:1.4.2 for checkout");
    // The input is the workflow's contract, exactly.
    expect(promoteImageInputSchema.parse(plan.starts[0]?.input)).toEqual(plan.starts[0]?.input);
  });

  it("starts one execution per ECR repository when the matched services deploy several", () => {
    const run = workflowRun();
    const plan = planGithubPromotions(config, run);
    const payments = planGithubPromotions(config, {
      ...run,
      detail: { ...run.detail, repository: { ...run.detail.repository, full_name: "acme-shop/payments" } },
    });

    expect(plan.starts.map((s) => s.repository)).toEqual(["checkout"]);
    expect(
      payments.starts.map(({ repository, services, input }) => ({
        repository,
        services,
        image: input.image,
      })),
    ).toEqual([
      {
        repository: "payments/api",
        services: ["payments-api"],
        image: { repository: "payments/api", tag: "main-63180b6", digest: null, pushedAt: runSample.time },
      },
      {
        repository: "payments/worker",
        services: ["payments-worker", "payments-cron"],
        image: { repository: "payments/worker", tag: "main-63180b6", digest: null, pushedAt: runSample.time },
      },
    ]);
    expect(new Set(payments.starts.map((s) => s.executionName)).size).toBe(2);
    expect(payments.reason).toBe(
      "acme-shop/payments: promote payments/api:main-63180b6 for payments-api; payments/worker:main-63180b6 for payments-worker, payments-cron",
    );
  });

  it("matches the GitHub repository case-insensitively, as GitHub does", () => {
    expect(planGithubPromotions(config, release({ repository: "ACME-shop/Checkout" })).starts).toHaveLength(
      1,
    );
  });

  it("starts nothing for a repository no service is built from, and says so", () => {
    expect(planGithubPromotions(config, release({ repository: "acme-shop/website" }))).toEqual({
      starts: [],
      reason: "acme-shop/website: no service in switchyard.yaml is built from it",
    });
  });

  it("starts nothing for an event that names no tag, with that reason", () => {
    expect(planGithubPromotions(config, release({ draft: true }))).toEqual({
      starts: [],
      reason: "acme-shop/checkout: release 1.4.2 is a draft",
    });
  });
});

describe("githubExecutionName", () => {
  const eventId = "8aa94cb8-c5b4-41ce-a949-757c76264639";

  it("is the same for the same event and repository, and differs otherwise", () => {
    expect(githubExecutionName(eventId, "checkout")).toBe(githubExecutionName(eventId, "checkout"));
    expect(githubExecutionName(eventId, "checkout")).not.toBe(githubExecutionName(eventId, "storefront"));
    expect(githubExecutionName("a2e5626e-2fb7-4155-b60d-1d667ec986ce", "checkout")).not.toBe(
      githubExecutionName(eventId, "checkout"),
    );
  });

  it("tells apart repositories that read alike once made a name", () => {
    expect(githubExecutionName(eventId, "payments/worker")).not.toBe(
      githubExecutionName(eventId, "payments_worker"),
    );
  });

  it.each([
    "checkout",
    "payments/worker",
    "a-very-long/namespace/path/of/an/ecr/repository/that/goes/on.and.on",
  ])("is a valid Step Functions execution name for %s", (repository) => {
    const name = githubExecutionName(eventId, repository);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(name).toContain(eventId);
  });
});

describe("promoteFromGithub", () => {
  let starter: ReturnType<typeof recordingStarter>;
  beforeEach(() => {
    starter = recordingStarter();
  });

  it("starts promote-image once per planned execution, named deterministically", async () => {
    const outcome = await promoteFromGithub({ config, workflows: starter.starter }, release());

    expect(starter.calls).toEqual([
      {
        workflow: "promote-image",
        input: planGithubPromotions(config, release()).starts[0]?.input,
        name: githubExecutionName(releaseSample.id, "checkout"),
      },
    ]);
    expect(outcome).toEqual({
      reason: "acme-shop/checkout: promote checkout:1.4.2 for checkout",
      started: [
        {
          repository: "checkout",
          services: ["checkout"],
          executionName: githubExecutionName(releaseSample.id, "checkout"),
          executionArn: `arn:aws:states:eu-west-1:123456789012:execution:PromoteImage:${githubExecutionName(releaseSample.id, "checkout")}`,
        },
      ],
    });
  });

  it("starts no execution twice when the event is delivered again", async () => {
    await promoteFromGithub({ config, workflows: starter.starter }, release());
    await promoteFromGithub({ config, workflows: starter.starter }, release());

    expect(starter.executions.size).toBe(1);
    expect(new Set(starter.calls.map((c) => c.name)).size).toBe(1);
  });

  it("fails when a start fails, and a redelivery starts the rest without repeating what went through", async () => {
    const run = workflowRun();
    const payments = {
      ...run,
      detail: { ...run.detail, repository: { ...run.detail.repository, full_name: "acme-shop/payments" } },
    };
    starter.failOnceOn(githubExecutionName(payments.id, "payments/worker"));

    await expect(promoteFromGithub({ config, workflows: starter.starter }, payments)).rejects.toThrow(
      "StartExecution failed",
    );
    expect([...starter.executions.keys()]).toEqual([githubExecutionName(payments.id, "payments/api")]);

    const outcome = await promoteFromGithub({ config, workflows: starter.starter }, payments);

    expect(outcome.started.map((s) => s.repository)).toEqual(["payments/api", "payments/worker"]);
    expect(starter.executions.size).toBe(2);
  });

  it("starts nothing for an event that promotes nothing", async () => {
    const outcome = await promoteFromGithub(
      { config, workflows: starter.starter },
      workflowRun({ conclusion: "failure" }),
    );

    expect(outcome).toEqual({
      reason: "acme-shop/checkout: workflow run build-and-push concluded failure",
      started: [],
    });
    expect(starter.calls).toEqual([]);
  });
});

describe("promote-from-github handler", () => {
  const context = { getRemainingTimeInMillis: () => 1000 } as never;

  it.each([
    ["release", releaseSample],
    ["workflow_run", runSample],
  ])("takes the %s sample as the rule delivers it", (_, event) => {
    expect(promoteFromGithubEventSchema.safeParse(event).success).toBe(true);
  });

  it("starts the promotion through the shared middleware", async () => {
    const { starter: workflows, calls } = recordingStarter();
    const handler = withHandlerStack(
      makePromoteFromGithub({ config, workflows }),
      promoteFromGithubEventSchema,
    );

    await expect(handler(releaseSample as never, context)).resolves.toMatchObject({
      started: [{ repository: "checkout", services: ["checkout"] }],
    });
    expect(calls).toHaveLength(1);
  });

  it.each([
    ["another source's event", { ...releaseSample, source: "aws.ecr" }],
    ["another GitHub event", { ...releaseSample, "detail-type": "push" }],
    [
      "a release without its tag",
      { ...releaseSample, detail: { ...releaseSample.detail, release: { draft: false } } },
    ],
    [
      "a run without its commit",
      {
        ...runSample,
        detail: { ...runSample.detail, workflow_run: { ...runSample.detail.workflow_run, head_sha: "main" } },
      },
    ],
    [
      "a run without the default branch",
      { ...runSample, detail: { ...runSample.detail, repository: { full_name: "acme-shop/checkout" } } },
    ],
  ])("refuses %s at the edge", async (_, event) => {
    const { starter: workflows, calls } = recordingStarter();
    const handler = withHandlerStack(
      makePromoteFromGithub({ config, workflows }),
      promoteFromGithubEventSchema,
    );

    await expect(handler(event as never, context)).rejects.toMatchObject({ name: "ParseError" });
    expect(calls).toEqual([]);
  });
});

// Use case: which promotions a GitHub release or a successful workflow run starts, and under which image tag.

import { createHash } from "node:crypto";
import type { WorkflowName } from "../../workflows/registry.ts";
import type { SwitchyardConfig } from "./config.ts";
import type { WorkflowStarter } from "./ports.ts";
import type { PromoteImageInput } from "./promotion-input.ts";

/** The fields of a `release` delivery on the bus that the decision reads. */
export interface GithubReleaseEvent {
  id: string;
  time: string;
  "detail-type": "release";
  detail: {
    action: string;
    release: { tag_name: string; draft: boolean };
    repository: { full_name: string };
  };
}

/** The fields of a `workflow_run` delivery on the bus that the decision reads. */
export interface GithubWorkflowRunEvent {
  id: string;
  time: string;
  "detail-type": "workflow_run";
  detail: {
    action: string;
    workflow_run: {
      name: string | null;
      head_branch: string | null;
      head_sha: string;
      conclusion: string | null;
      /** The repository the run's commit comes from: a fork's for a pull request from one. */
      head_repository?: { full_name: string } | undefined;
    };
    repository: { full_name: string; default_branch: string };
  };
}

export type GithubPromotionEvent = GithubReleaseEvent | GithubWorkflowRunEvent;

/** The workflow GitHub events start. */
const promoteImageWorkflow: WorkflowName = "promote-image";

/** A tag as ECR and the OCI distribution spec accept it: what an image built from the event can be tagged. */
const imageTagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** Hex digits of the commit in a workflow run's image tag: `git rev-parse --short`'s default length. */
const shortShaLength = 7;
/** Step Functions execution names are at most 80 characters of `[A-Za-z0-9_-]` (as used here). */
const maxExecutionNameLength = 80;
/** Hex digits of the repository hash in an execution name: tells apart repositories the slug makes alike. */
const repositoryHashLength = 8;
const executionNamePrefix = "github";

/** The image tag an event names, or why it names none that promotes. */
export type GithubImageTag = { tag: string; skip?: undefined } | { skip: string };

/**
 * The image tag a GitHub event promotes — the one place that decides it, so CI and Switchyard agree:
 *
 * - a **release** with `action: "published"` (drafts never; pre-releases too — the service's policy decides
 *   whether a pre-release may go) promotes the image tagged exactly as the release: `release.tag_name`,
 *   e.g. `1.4.2` or `v1.4.2`;
 * - a **workflow_run** with `action: "completed"`, `conclusion: "success"`, on the repository's default branch
 *   (`workflow_run.head_branch === repository.default_branch`, from the repository itself, not a fork) promotes
 *   `<branch>-<first 7 hex of head_sha>`, e.g. `main-63180b6`: CI must push the image it built under that tag
 *   (`docker tag app "$ECR/checkout:${GITHUB_REF_NAME}-${GITHUB_SHA::7}"`).
 *
 * Anything else names no tag, with the reason. A name that is not a valid image tag (a release tagged
 * `release/1.0`, a branch with a `/`) is refused rather than rewritten: a rewrite CI does not share would promote
 * an image nobody pushed.
 *
 * @example
 * githubImageTag(workflowRunEvent) // { tag: "main-63180b6" }
 * githubImageTag(draftReleaseEvent) // { skip: "acme-shop/checkout: release 1.5.0 is a draft" }
 */
export const githubImageTag = (event: GithubPromotionEvent): GithubImageTag => {
  const repository = event.detail.repository.full_name;
  const checked = (tag: string, what: string): GithubImageTag =>
    imageTagPattern.test(tag)
      ? { tag }
      : { skip: `${repository}: ${what} "${tag}" is not a valid image tag (1-128 of [A-Za-z0-9_.-])` };

  if (event["detail-type"] === "release") {
    const { action, release } = event.detail;
    if (action !== "published") {
      return { skip: `${repository}: release ${release.tag_name} was ${action}, not published` };
    }
    if (release.draft) return { skip: `${repository}: release ${release.tag_name} is a draft` };
    return checked(release.tag_name, "release tag");
  }

  const { action, workflow_run: run, repository: repo } = event.detail;
  const subject = `${repository}: workflow run ${run.name ?? "(unnamed)"}`;
  if (action !== "completed") return { skip: `${subject} is ${action}, not completed` };
  if (run.conclusion !== "success") return { skip: `${subject} concluded ${run.conclusion ?? "nothing"}` };
  if (run.head_branch !== repo.default_branch) {
    return {
      skip: `${subject} ran on ${run.head_branch ?? "no branch"}, not the default branch ${repo.default_branch}`,
    };
  }
  if (run.head_repository !== undefined && !sameRepository(run.head_repository.full_name, repository)) {
    return { skip: `${subject} ran on a branch of ${run.head_repository.full_name}, a fork` };
  }
  return checked(`${run.head_branch}-${run.head_sha.slice(0, shortShaLength)}`, "branch tag");
};

/** GitHub treats owner and repository names case-insensitively. */
const sameRepository = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * The execution name of the promotion an event starts for one ECR repository: the same event and repository always
 * give the same name, so a redelivered event finds the execution it started instead of starting another.
 *
 * @example
 * githubExecutionName("8aa94cb8-c5b4-41ce-a949-757c76264639", "payments/worker")
 * // "github-8aa94cb8-c5b4-41ce-a949-757c76264639-payments_worker-ff8eadb5"
 */
export const githubExecutionName = (eventId: string, repository: string): string => {
  const hash = createHash("sha256").update(repository).digest("hex").slice(0, repositoryHashLength);
  const room = maxExecutionNameLength - executionNamePrefix.length - eventId.length - hash.length - 3;
  const slug = repository.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, Math.max(0, room));
  return [executionNamePrefix, eventId, ...(slug ? [slug] : []), hash]
    .join("-")
    .slice(0, maxExecutionNameLength);
};

/** One promote-image execution an event asks for. */
export interface GithubPromotionStart {
  /** The ECR repository the services deploy. */
  repository: string;
  services: string[];
  executionName: string;
  input: PromoteImageInput;
}

/** What an event asks for: the executions to start (none, with the reason, when it promotes nothing). */
export interface GithubPromotionPlan {
  starts: GithubPromotionStart[];
  reason: string;
}

/**
 * Plans the promotions a GitHub event starts: the image tag (`githubImageTag`), the services whose `github` is the
 * event's repository, and one `promote-image` execution per ECR repository they deploy, restricted to them. The
 * digest is left to the Decide step, which asks the registry for the image the tag names. Pure.
 *
 * @example
 * planGithubPromotions(config, releaseEvent)
 * // { starts: [{ repository: "checkout", services: ["checkout"], executionName: "github-8aa9…", input: { … } }], reason: "…" }
 */
export const planGithubPromotions = (
  config: Pick<SwitchyardConfig, "services">,
  event: GithubPromotionEvent,
): GithubPromotionPlan => {
  const image = githubImageTag(event);
  if (image.skip !== undefined) return { starts: [], reason: image.skip };
  const githubRepository = event.detail.repository.full_name;
  const services = config.services.filter(
    (s) => s.github !== undefined && sameRepository(s.github, githubRepository),
  );
  if (services.length === 0) {
    return { starts: [], reason: `${githubRepository}: no service in switchyard.yaml is built from it` };
  }
  const byRepository = new Map<string, string[]>();
  for (const service of services) {
    byRepository.set(service.repository, [...(byRepository.get(service.repository) ?? []), service.name]);
  }
  const starts = [...byRepository].map(
    ([repository, names]): GithubPromotionStart => ({
      repository,
      services: names,
      executionName: githubExecutionName(event.id, repository),
      input: {
        promotionId: null,
        environment: null,
        services: names,
        trigger: { kind: "github", eventId: event.id },
        image: { repository, tag: image.tag, digest: null, pushedAt: event.time },
      },
    }),
  );
  const what = starts.map((s) => `${s.repository}:${image.tag} for ${s.services.join(", ")}`).join("; ");
  return { starts, reason: `${githubRepository}: promote ${what}` };
};

export interface PromoteFromGithubDeps {
  config: Pick<SwitchyardConfig, "services">;
  workflows: WorkflowStarter;
}

/** What `promoteFromGithub` started. */
export interface GithubPromotionOutcome {
  reason: string;
  started: { repository: string; services: string[]; executionName: string; executionArn: string }[];
}

/**
 * Starts the promotions a GitHub event asks for (`planGithubPromotions`), one after another. A start that fails
 * throws, so the event is delivered again; the starts that went through are then found by name, not repeated.
 *
 * @example
 * const { started, reason } = await promoteFromGithub({ config, workflows }, releaseEvent);
 */
export const promoteFromGithub = async (
  deps: PromoteFromGithubDeps,
  event: GithubPromotionEvent,
): Promise<GithubPromotionOutcome> => {
  const plan = planGithubPromotions(deps.config, event);
  const started: GithubPromotionOutcome["started"] = [];
  for (const start of plan.starts) {
    const { executionArn } = await deps.workflows.start(
      promoteImageWorkflow,
      start.input,
      start.executionName,
    );
    started.push({
      repository: start.repository,
      services: start.services,
      executionName: start.executionName,
      executionArn,
    });
  }
  return { reason: plan.reason, started };
};

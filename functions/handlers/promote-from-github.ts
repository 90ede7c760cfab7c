// Lambda: a published GitHub release or a successful default-branch workflow run starts image promotions.

import { z } from "zod";
import { eventEnvelope } from "../../events/schemas/envelope.ts";
import { githubSource } from "../../events/schemas/github.ts";
import { gitSha } from "../../events/schemas/primitives.ts";
import {
  type GithubPromotionOutcome,
  type PromoteFromGithubDeps,
  promoteFromGithub,
} from "../core/github-promotions.ts";
import { awsConfig, workflowStarter } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

const repositoryName = z.string().regex(/^[\w.-]+\/[\w.-]+$/, "expected owner/name");

const releaseDetailSchema = z.looseObject({
  action: z.string().min(1),
  release: z.looseObject({ tag_name: z.string().min(1), draft: z.boolean() }),
  repository: z.looseObject({ full_name: repositoryName }),
});

const workflowRunDetailSchema = z.looseObject({
  action: z.string().min(1),
  workflow_run: z.looseObject({
    name: z.string().nullable(),
    // Null for runs not tied to a branch.
    head_branch: z.string().nullable(),
    head_sha: gitSha,
    conclusion: z.string().nullable(),
    // GitHub sends it on every run; it tells a fork's pull request run from one on the repository itself.
    head_repository: z.looseObject({ full_name: repositoryName }).optional(),
  }),
  repository: z.looseObject({ full_name: repositoryName, default_branch: z.string().min(1) }),
});

/** The event the rules deliver: the EventBridge envelope of a `release` or `workflow_run`, and the fields read. */
export const promoteFromGithubEventSchema = z.discriminatedUnion("detail-type", [
  eventEnvelope(githubSource, "release", releaseDetailSchema),
  eventEnvelope(githubSource, "workflow_run", workflowRunDetailSchema),
]);

export type PromoteFromGithubEvent = z.infer<typeof promoteFromGithubEventSchema>;

/**
 * Starts `promote-image` for the services built from the event's GitHub repository, under the image tag the event
 * names (see `githubImageTag`), and answers what it started and why.
 *
 * @example
 * const handler = withHandlerStack(makePromoteFromGithub({ config, workflows }), promoteFromGithubEventSchema);
 */
export const makePromoteFromGithub =
  (deps: PromoteFromGithubDeps) =>
  async (event: PromoteFromGithubEvent): Promise<GithubPromotionOutcome> =>
    promoteFromGithub(deps, event);

export const handler = coldStart(() =>
  withHandlerStack(
    makePromoteFromGithub({ config: awsConfig(), workflows: workflowStarter() }),
    promoteFromGithubEventSchema,
  ),
);

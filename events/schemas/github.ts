// GitHub webhook deliveries as Switchyard's ingest puts them on the bus: the X-GitHub-Event header as detail-type, the payload as detail.
import { z } from "zod";
import { eventEnvelope } from "./envelope.ts";
import { gitSha, offsetTimestamp } from "./primitives.ts";

const repositorySchema = z.looseObject({
  id: z.number().int(),
  name: z.string().min(1),
  // "owner/name", what switchyard.yaml refers to.
  full_name: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "expected owner/name"),
  html_url: z.url(),
});

const senderSchema = z.looseObject({
  login: z.string().min(1),
  id: z.number().int(),
  type: z.string(),
});

const gitActorSchema = z.looseObject({
  name: z.string(),
  email: z.string().nullable(),
  username: z.string().optional(),
});

const pushCommitSchema = z.looseObject({
  id: gitSha,
  tree_id: gitSha,
  distinct: z.boolean(),
  message: z.string(),
  timestamp: offsetTimestamp,
  url: z.url(),
  author: gitActorSchema,
  committer: gitActorSchema,
  added: z.array(z.string()),
  removed: z.array(z.string()),
  modified: z.array(z.string()),
});

/** The payload of a `push` delivery. */
export const githubPushDetailSchema = z.looseObject({
  ref: z.string().regex(/^refs\//, "expected a full ref such as refs/heads/main"),
  // All zeros when the push created (before) or deleted (after) the ref.
  before: gitSha,
  after: gitSha,
  created: z.boolean(),
  deleted: z.boolean(),
  forced: z.boolean(),
  commits: z.array(pushCommitSchema),
  // Null when the push deleted the ref.
  head_commit: pushCommitSchema.nullable(),
  repository: repositorySchema,
  sender: senderSchema,
});

/** The payload of a `release` delivery. */
export const githubReleaseDetailSchema = z.looseObject({
  action: z.enum(["created", "deleted", "edited", "prereleased", "published", "released", "unpublished"]),
  release: z.looseObject({
    id: z.number().int(),
    tag_name: z.string().min(1),
    name: z.string().nullable(),
    draft: z.boolean(),
    prerelease: z.boolean(),
    html_url: z.url(),
    // A branch name or a commit SHA.
    target_commitish: z.string().min(1),
    published_at: offsetTimestamp.nullable(),
  }),
  repository: repositorySchema,
  sender: senderSchema,
});

/** The payload of a `workflow_run` delivery. */
export const githubWorkflowRunDetailSchema = z
  .looseObject({
    action: z.enum(["requested", "in_progress", "completed"]),
    workflow_run: z.looseObject({
      id: z.number().int(),
      name: z.string().nullable(),
      // Null for runs not tied to a branch (e.g. some tag pushes).
      head_branch: z.string().nullable(),
      head_sha: gitSha,
      status: z.enum(["requested", "in_progress", "completed", "queued", "pending", "waiting"]),
      conclusion: z
        .enum([
          "success",
          "failure",
          "neutral",
          "cancelled",
          "skipped",
          "timed_out",
          "action_required",
          "stale",
          "startup_failure",
        ])
        .nullable(),
      html_url: z.url(),
      // The event that triggered the run (push, release, workflow_dispatch...).
      event: z.string().min(1),
      run_number: z.number().int().positive(),
      run_attempt: z.number().int().positive(),
    }),
    repository: repositorySchema,
    sender: senderSchema,
  })
  .superRefine((payload, ctx) => {
    // Promotion gates on the conclusion of a completed run; a completed run without one is malformed.
    if (payload.action === "completed" && payload.workflow_run.conclusion === null) {
      ctx.addIssue({
        code: "custom",
        path: ["workflow_run", "conclusion"],
        message: "a completed workflow run must have a conclusion",
      });
    }
  });

/** The `source` Switchyard's ingest uses for GitHub deliveries. */
export const githubSource = "github.com";

/**
 * A GitHub `push` delivery on the Switchyard bus.
 *
 * @example
 * ```ts
 * const { detail } = githubPushEventSchema.parse(input);
 * if (detail.ref === "refs/heads/main") syncFrom(detail.repository.full_name, detail.after);
 * ```
 */
export const githubPushEventSchema = eventEnvelope(githubSource, "push", githubPushDetailSchema);

/**
 * A GitHub `release` delivery on the Switchyard bus.
 *
 * @example
 * ```ts
 * const { detail } = githubReleaseEventSchema.parse(input);
 * if (detail.action === "published" && !detail.release.prerelease) promoteTag(detail.release.tag_name);
 * ```
 */
export const githubReleaseEventSchema = eventEnvelope(githubSource, "release", githubReleaseDetailSchema);

/**
 * A GitHub `workflow_run` delivery on the Switchyard bus.
 *
 * @example
 * ```ts
 * const { detail } = githubWorkflowRunEventSchema.parse(input);
 * if (detail.workflow_run.conclusion === "success") promoteCommit(detail.workflow_run.head_sha);
 * ```
 */
export const githubWorkflowRunEventSchema = eventEnvelope(
  githubSource,
  "workflow_run",
  githubWorkflowRunDetailSchema,
);

// The promote-image workflow's input contract and the schemas its steps validate at their edge.

import { z } from "zod";

const digestPattern = /^sha256:[0-9a-f]{64}$/;

/** The image a promotion is about. `tag`/`digest` are null when the trigger did not name them. */
export const imageInputSchema = z.object({
  repository: z.string().min(1),
  tag: z.string().min(1).max(128).nullable(),
  digest: z.string().regex(digestPattern, "expected sha256:<64 hex>").nullable(),
  pushedAt: z.iso.datetime({ offset: true }),
});

export const triggerSchema = z.object({
  /** `promotion`: the promotion of the environment before it succeeded (eventId: its Promotion Succeeded event). */
  kind: z.enum(["ecr", "github", "api", "promotion"]),
  eventId: z.string().min(1),
  requestedBy: z.string().min(1).optional(),
});

/**
 * What starts `promote-image`, whatever the trigger: the ECR rule's input transformer, the GitHub release
 * function and `POST /promotions` all produce this shape. Every key is present (null when not given): the
 * workflow reads them with JSONPath, and a path to a missing key fails the execution.
 */
export const promoteImageInputSchema = z.object({
  /** Set by POST /promotions; otherwise null and each service's promotion is named from the execution. */
  promotionId: z.uuid().nullable(),
  trigger: triggerSchema,
  /** null: the first environment of switchyard.yaml (staging). */
  environment: z.string().min(1).nullable(),
  /** Restricts the promotion to these services (they must deploy the repository); null: all that do. */
  services: z.array(z.string().min(1)).nullable(),
  image: imageInputSchema,
});

export type PromoteImageInput = z.infer<typeof promoteImageInputSchema>;
export type ImageInput = z.infer<typeof imageInputSchema>;
export type Trigger = z.infer<typeof triggerSchema>;

/**
 * What starts `production-sync` for one service in a gated environment: the `Promotion Succeeded` of the environment
 * before it, or `POST /promotions`. As for `promote-image`, every key is present.
 */
export const productionSyncInputSchema = z.object({
  /** The gated promotion's id, which also names the execution. */
  promotionId: z.uuid(),
  service: z.string().min(1),
  environment: z.string().min(1),
  image: imageInputSchema,
  trigger: triggerSchema,
});

export type ProductionSyncInput = z.infer<typeof productionSyncInputSchema>;

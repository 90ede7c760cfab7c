// Amazon ECR's "ECR Image Action" event: an image was pushed to or deleted from a repository.
import { z } from "zod";
import { eventEnvelope } from "./envelope.ts";
import { ecrRepositoryName, imageDigest, imageTag } from "./primitives.ts";

/** The `detail` of an ECR image push or delete. */
export const ecrImageActionDetailSchema = z.looseObject({
  result: z.enum(["SUCCESS", "FAILED"]),
  "repository-name": ecrRepositoryName,
  "image-digest": imageDigest,
  "action-type": z.enum(["PUSH", "DELETE"]),
  // Absent when the image was pushed by digest alone or the deleted image had no tag.
  "image-tag": imageTag.optional(),
});

/**
 * An ECR image push or delete as ECR publishes it on the default bus.
 *
 * @example
 * ```ts
 * const event = ecrImageActionEventSchema.parse(input);
 * if (event.detail["action-type"] === "PUSH" && event.detail.result === "SUCCESS") promote(event.detail["image-digest"]);
 * ```
 */
export const ecrImageActionEventSchema = eventEnvelope(
  "aws.ecr",
  "ECR Image Action",
  ecrImageActionDetailSchema,
);

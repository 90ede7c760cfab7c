// Keeps the local image registry in step with the ECR events the local bus accepts, and builds ECR pushes for the CLI.

import { createHash } from "node:crypto";
import type { z } from "zod";
import { ecrImageActionDetailSchema } from "../events/schemas/aws-ecr.ts";
import { ecrRepositoryName, imageDigest, imageTag } from "../events/schemas/primitives.ts";
import { ValidationError } from "../functions/core/errors.ts";
import type { Clock } from "../functions/core/ports.ts";
import type { SqliteImageRegistry } from "./adapters/sqlite-image-registry.ts";

const ecrSource = "aws.ecr";
const ecrDetailType = "ECR Image Action";

/** What `recordImageEvent` did with an event. */
export type ImageRecording =
  | { action: "recorded" | "forgotten"; repository: string; digest: string; tag?: string }
  | { action: "ignored"; reason: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Applies one accepted bus event to the local registry: a successful ECR `Image Action` PUSH records the image
 * (its tag moves to it, pushed at the event's `time`), a successful DELETE forgets it (only the tag, when the
 * event names one). Every other event — and a malformed or failed ECR one — is ignored with a reason, never an
 * error, so the bus can call this for everything it accepts. Synchronous, so it can run inside the transaction
 * that stores the event: the registry then never misses a push the bus acknowledged.
 *
 * @example
 * const images = new SqliteImageRegistry({ db });
 * recordImageEvent(images, event); // { action: "recorded", repository: "checkout", digest: "sha256:…", tag: "1.4.2" }
 */
export const recordImageEvent = (
  registry: Pick<SqliteImageRegistry, "record" | "forget">,
  event: unknown,
): ImageRecording => {
  if (!isObject(event) || event.source !== ecrSource || event["detail-type"] !== ecrDetailType) {
    return { action: "ignored", reason: `not an ${ecrSource} "${ecrDetailType}" event` };
  }
  const parsed = ecrImageActionDetailSchema.safeParse(event.detail);
  if (!parsed.success) {
    return { action: "ignored", reason: `malformed ECR image action: ${parsed.error.issues[0]?.message}` };
  }
  const detail = parsed.data;
  if (detail.result !== "SUCCESS")
    return { action: "ignored", reason: `ECR reports the action ${detail.result}` };
  const repository = detail["repository-name"];
  const digest = detail["image-digest"];
  const tag = detail["image-tag"];
  if (detail["action-type"] === "DELETE") {
    registry.forget(repository, digest, tag);
    return { action: "forgotten", repository, digest, ...(tag !== undefined && { tag }) };
  }
  if (typeof event.time !== "string") return { action: "ignored", reason: "the event has no time" };
  registry.record({ repository, digest, ...(tag !== undefined && { tag }), pushedAt: event.time });
  return { action: "recorded", repository, digest, ...(tag !== undefined && { tag }) };
};

/** A PutEvents request entry, as `POST /events` takes it. */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Time: string;
  EventBusName: string;
}

/** EventBridge's `time` has second precision: `2026-11-27T10:00:00Z`. */
const eventTime = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

const check = (schema: z.ZodType, value: string, what: string): void => {
  if (!schema.safeParse(value).success) throw new ValidationError(`"${value}" is not ${what}`);
};

/**
 * The ECR `Image Action` PUSH that `switchyard images push <repository> <tag> [--digest sha256:…]` puts on the
 * local default bus: what ECR would publish for that push, at the clock's time. Without a digest, one is derived
 * from repository, tag and time, so the same command at the same second names the same image, and a later push of
 * the tag names a new one. Throws `ValidationError` for a repository, tag or digest ECR would refuse.
 *
 * @example
 * await fetch(`${url}/events`, { method: "POST", body: JSON.stringify({ Entries: [ecrPushEntry("checkout", "1.4.2", undefined, clock)] }) });
 */
export const ecrPushEntry = (
  repository: string,
  tag: string,
  digest: string | undefined,
  clock: Clock,
): PutEventsEntry => {
  check(ecrRepositoryName, repository, "an ECR repository name (lowercase, optionally namespaced with /)");
  check(imageTag, tag, "an image tag (1-128 of [A-Za-z0-9_.-])");
  if (digest !== undefined) check(imageDigest, digest, "an image digest (sha256:<64 lowercase hex>)");
  const time = eventTime(clock.now());
  const pushed =
    digest ?? `sha256:${createHash("sha256").update(`${repository}:${tag}@${time}`).digest("hex")}`;
  return {
    Source: ecrSource,
    DetailType: ecrDetailType,
    Detail: JSON.stringify({
      result: "SUCCESS",
      "repository-name": repository,
      "image-digest": pushed,
      "action-type": "PUSH",
      "image-tag": tag,
    }),
    Time: time,
    EventBusName: "default",
  };
};

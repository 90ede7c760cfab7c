// Builds the zod schema of a whole EventBridge event (the envelope) around one detail schema.
import { z } from "zod";
import { awsAccountId, awsRegion, eventId, utcTimestamp } from "./primitives.ts";

/** Options for {@link eventEnvelope}. */
export interface EnvelopeOptions {
  /** A tighter schema for `resources` (e.g. "exactly the rule ARN"); any string array by default. */
  resources?: z.ZodType<string[]>;
}

/**
 * The schema of an EventBridge event with a fixed `source` and `detail-type` and the given detail.
 *
 * The envelope lets unknown top-level keys through because EventBridge adds some (replayed events
 * carry `replay-name`); the literal `source` and `detail-type` are what tell event types apart.
 *
 * @example
 * ```ts
 * const imagePushed = eventEnvelope("aws.ecr", "ECR Image Action", z.looseObject({ result: z.string() }));
 * imagePushed.parse(event).detail.result;
 * ```
 */
export function eventEnvelope<
  const Source extends string,
  const DetailType extends string,
  Detail extends z.ZodType,
>(source: Source, detailType: DetailType, detail: Detail, options: EnvelopeOptions = {}) {
  const resources: z.ZodType<string[]> = options.resources ?? z.array(z.string());
  return z.looseObject({
    // EventBridge sets "0" on every event it delivers, AWS or custom.
    version: z.literal("0"),
    id: eventId,
    "detail-type": z.literal(detailType),
    source: z.literal(source),
    account: awsAccountId,
    time: utcTimestamp,
    region: awsRegion,
    resources,
    detail,
  });
}

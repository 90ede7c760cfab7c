// The "Scheduled Event" an EventBridge scheduled rule (cron or rate expression) delivers to its targets.
//
// EventBridge Scheduler schedules are different: their targets receive the input configured on the schedule, not this envelope.
import { z } from "zod";
import { eventEnvelope } from "./envelope.ts";

const ruleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:rule\/[\w.\-/]+$/, "expected an EventBridge rule ARN");

/** The `detail` of a scheduled event: always empty, the rule ARN in `resources` says which schedule fired. */
export const scheduledEventDetailSchema = z.looseObject({});

/**
 * A tick of an EventBridge scheduled rule.
 *
 * @example
 * ```ts
 * const event = scheduledEventSchema.parse(input);
 * const [rule] = event.resources; // arn:aws:events:eu-west-1:123456789012:rule/<name>
 * ```
 */
export const scheduledEventSchema = eventEnvelope(
  "aws.events",
  "Scheduled Event",
  scheduledEventDetailSchema,
  {
    resources: z.array(ruleArn).min(1),
  },
);

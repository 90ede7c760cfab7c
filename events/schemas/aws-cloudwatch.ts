// Amazon CloudWatch's "CloudWatch Alarm State Change" event: an alarm moved between OK, ALARM and INSUFFICIENT_DATA.
import { z } from "zod";
import { eventEnvelope } from "./envelope.ts";
import { cloudWatchTimestamp, stringMap } from "./primitives.ts";

/** The three states a CloudWatch alarm can be in. */
export const alarmStateValueSchema = z.enum(["OK", "ALARM", "INSUFFICIENT_DATA"]);

/** One side of the transition (`state` or `previousState`). */
export const alarmStateSchema = z.looseObject({
  value: alarmStateValueSchema,
  reason: z.string(),
  // A JSON document serialised as a string; absent when the state was not the result of an evaluation
  // (e.g. "Unchecked: Initial alarm creation").
  reasonData: z.string().optional(),
  timestamp: cloudWatchTimestamp,
});

/** A metric or metric-math query of the alarm, as in the `MetricDataQuery` API type but camel-cased. */
export const alarmMetricSchema = z.looseObject({
  id: z.string().min(1),
  metricStat: z
    .looseObject({
      metric: z.looseObject({
        namespace: z.string().min(1),
        name: z.string().min(1),
        dimensions: stringMap.optional(),
      }),
      period: z.number().int().positive(),
      stat: z.string().min(1),
      unit: z.string().optional(),
    })
    .optional(),
  expression: z.string().optional(),
  label: z.string().optional(),
  returnData: z.boolean(),
});

/** The `detail` of an alarm state change. */
export const cloudWatchAlarmStateChangeDetailSchema = z.looseObject({
  alarmName: z.string().min(1).max(255),
  state: alarmStateSchema,
  previousState: alarmStateSchema,
  configuration: z.looseObject({
    description: z.string().optional(),
    // Composite alarms carry `alarmRule` instead of metrics.
    metrics: z.array(alarmMetricSchema).optional(),
    alarmRule: z.string().optional(),
  }),
  // Present only when the alarm has tag propagation enabled; lets a rule or handler find the service.
  alarmTags: stringMap.optional(),
});

const alarmArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$/, "expected a CloudWatch alarm ARN");

/**
 * A CloudWatch alarm state change as CloudWatch publishes it on the default bus; `resources` holds the alarm ARN.
 *
 * @example
 * ```ts
 * const { detail } = cloudWatchAlarmStateChangeEventSchema.parse(input);
 * if (detail.state.value === "ALARM") openIncident(detail.alarmName, detail.state.reason);
 * ```
 */
export const cloudWatchAlarmStateChangeEventSchema = eventEnvelope(
  "aws.cloudwatch",
  "CloudWatch Alarm State Change",
  cloudWatchAlarmStateChangeDetailSchema,
  { resources: z.array(alarmArn).min(1) },
);

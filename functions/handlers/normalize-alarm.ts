// Lambda (rule target): a CloudWatch alarm changed state — publish it as an Alert Received (or nothing when ignored).

import type { z } from "zod";
import { cloudWatchAlarmStateChangeEventSchema } from "../../events/schemas/aws-cloudwatch.ts";
import { alertContextOf, alertReceivedEvent, fromCloudWatchAlarm } from "../core/alerts.ts";
import type { SwitchyardConfig } from "../core/config.ts";
import type { EventPublisher } from "../core/ports.ts";
import { awsConfig, eventPublisher } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";
import { logger } from "../wiring/observability.ts";

/** The `CloudWatch Alarm State Change` event as the rule delivers it, validated against the catalog's schema. */
export const normalizeAlarmEventSchema = cloudWatchAlarmStateChangeEventSchema;

export interface NormalizeAlarmDeps {
  config: Pick<SwitchyardConfig, "incidents" | "services" | "secrets">;
  publisher: EventPublisher;
}

/** What the function returns: whether an alert was published, and which. */
export type NormalizeAlarmResult =
  | { published: true; fingerprint: string; status: "firing" | "resolved" }
  | { published: false; reason: string };

/**
 * ALARM publishes a firing alert, OK a resolved one, INSUFFICIENT_DATA what `incidents.cloudwatch.insufficientData`
 * says (nothing under `ignore`). A failed publish throws, so EventBridge retries the invocation.
 *
 * @example
 * await makeNormalizeAlarm({ config, publisher })(alarmEvent); // { published: true, fingerprint: "cloudwatch:arn:…", status: "firing" }
 */
export const makeNormalizeAlarm = (deps: NormalizeAlarmDeps) => {
  const context = alertContextOf(deps.config);
  return async (event: z.infer<typeof normalizeAlarmEventSchema>): Promise<NormalizeAlarmResult> => {
    const alert = fromCloudWatchAlarm(event, deps.config.incidents.cloudwatch, context);
    if (alert === undefined) {
      const reason = `${event.detail.previousState.value} → ${event.detail.state.value} opens or resolves nothing`;
      logger.info("Alarm state change ignored", { alarmName: event.detail.alarmName, reason });
      return { published: false, reason };
    }
    await deps.publisher.publish([alertReceivedEvent(alert)]);
    logger.info("Alarm published as an alert", { fingerprint: alert.fingerprint, status: alert.status });
    return { published: true, fingerprint: alert.fingerprint, status: alert.status };
  };
};

export const handler = coldStart(() =>
  withHandlerStack(
    makeNormalizeAlarm({ config: awsConfig(), publisher: eventPublisher() }),
    normalizeAlarmEventSchema,
  ),
);

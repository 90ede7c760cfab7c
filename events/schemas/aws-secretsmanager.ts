// Secrets Manager rotation events, which reach EventBridge only as CloudTrail records ("AWS Service Event via CloudTrail").
import { z } from "zod";
import { eventEnvelope } from "./envelope.ts";
import { awsAccountId, awsRegion, eventId, secretArn, utcTimestamp } from "./primitives.ts";

const secretsManagerService = "secretsmanager.amazonaws.com";

/** The rotation events Secrets Manager records as non-API service events. */
export const secretsManagerRotationEventNameSchema = z.enum([
  "RotationStarted",
  "RotationSucceeded",
  "RotationFailed",
  // A new version was put while a rotation was pending; Secrets Manager dropped AWSPENDING so the next rotation can run.
  "RotationAbandoned",
]);

/** The `detail` (a CloudTrail record) of a Secrets Manager rotation event. */
export const secretsManagerRotationDetailSchema = z.looseObject({
  eventVersion: z.string().regex(/^\d+\.\d+$/, "expected a CloudTrail eventVersion such as 1.08"),
  userIdentity: z.looseObject({
    accountId: awsAccountId,
    invokedBy: z.literal(secretsManagerService),
  }),
  eventTime: utcTimestamp,
  eventSource: z.literal(secretsManagerService),
  eventName: secretsManagerRotationEventNameSchema,
  awsRegion,
  sourceIPAddress: z.string(),
  userAgent: z.string(),
  // Set on RotationFailed, e.g. which rotation step of which Lambda function failed.
  errorMessage: z.string().optional(),
  requestParameters: z.null(),
  responseElements: z.null(),
  // The only place the record names the secret.
  additionalEventData: z.looseObject({ SecretId: secretArn }),
  requestID: z.string(),
  eventID: eventId,
  readOnly: z.boolean(),
  eventType: z.literal("AwsServiceEvent"),
  managementEvent: z.boolean(),
  recipientAccountId: awsAccountId,
  eventCategory: z.literal("Management"),
});

/**
 * A Secrets Manager rotation event as CloudTrail delivers it on the default bus.
 *
 * @example
 * ```ts
 * const { detail } = secretsManagerRotationEventSchema.parse(input);
 * if (detail.eventName === "RotationSucceeded") resyncConsumers(detail.additionalEventData.SecretId);
 * ```
 */
export const secretsManagerRotationEventSchema = eventEnvelope(
  "aws.secretsmanager",
  "AWS Service Event via CloudTrail",
  secretsManagerRotationDetailSchema,
);

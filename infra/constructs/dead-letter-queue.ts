// An SQS queue that keeps what could not be delivered: the end of the line for failed rule targets and invocations.

import { Duration, Validations } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** Fourteen days is SQS's maximum: the longest an operator gets to notice, inspect and redrive. */
export const deadLetterRetentionDays = 14;

/** Describes the queue's role, for people reading the acknowledgements. */
export interface DeadLetterQueueProps {
  /** What lands here, for the acknowledgements' reasons (e.g. `events rule ecr-image-pushed`). */
  purpose: string;
}

/**
 * An encrypted (SSE-SQS), TLS-only queue with maximum retention. SSE-SQS rather than a customer-managed key so
 * EventBridge and Lambda can write to it without a key policy.
 *
 * @example const dlq = new DeadLetterQueue(this, "DeadLetterQueue", { purpose: "events rule ecr-image-pushed" });
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(deadLetterRetentionDays),
    });
    const reason = `This queue is itself the dead-letter queue of the ${props.purpose}; nothing consumes it automatically, so a further dead-letter queue would never receive a message.`;
    Validations.of(this.queue).acknowledge(
      { id: "AwsSolutions-SQS3", reason },
      { id: "Serverless-SQSRedrivePolicy", reason },
    );
  }
}

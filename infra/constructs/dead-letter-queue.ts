// An SQS queue that keeps what could not be delivered: the end of the line for failed rule targets and invocations.

import { Duration, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** Fourteen days is SQS's maximum: the longest an operator gets to notice, inspect and redrive. */
export const deadLetterRetentionDays = 14;

/**
 * SQS publishes queue metrics every minute while a queue is active; five minutes of Maximum still catches a
 * single message without alarming on a metric that has not arrived yet.
 */
const alarmPeriodMinutes = 5;

/** Describes the queue's role, for people reading the acknowledgements and the alarm. */
export interface DeadLetterQueueProps {
  /** What lands here, for the acknowledgements' reasons and the alarm (e.g. `events rule ecr-image-pushed`). */
  purpose: string;
  /** A FIFO source queue needs a FIFO dead-letter queue; SQS refuses a standard one. */
  fifo?: boolean;
  /** A name for the queue; without one CloudFormation generates it (with `.fifo` for a FIFO queue). */
  queueName?: string;
}

/**
 * An encrypted (SSE-SQS), TLS-only queue with maximum retention, and an alarm as soon as it holds a message: every
 * message here is work that did not happen. SSE-SQS rather than a customer-managed key so EventBridge and Lambda can
 * write to it without a key policy. The alarm has no action of its own: CloudWatch puts its state changes on the
 * default bus, which is where the incident-escalation capability takes its CloudWatch alarms from.
 *
 * @example const dlq = new DeadLetterQueue(this, "DeadLetterQueue", { purpose: "events rule ecr-image-pushed" });
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  /** In ALARM while at least one message waits in the queue. */
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(deadLetterRetentionDays),
      ...(props.fifo && { fifo: true }),
      ...(props.queueName && { queueName: props.queueName }),
    });
    const reason = `This queue is itself the dead-letter queue of the ${props.purpose}; nothing consumes it automatically, so a further dead-letter queue would never receive a message.`;
    Validations.of(this.queue).acknowledge(
      { id: "AwsSolutions-SQS3", reason },
      { id: "Serverless-SQSRedrivePolicy", reason },
    );

    this.alarm = new cloudwatch.Alarm(this, "NotEmpty", {
      alarmDescription: `Messages are waiting in the dead-letter queue of the ${props.purpose}: inspect, fix, then redrive them.`,
      metric: this.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(alarmPeriodMinutes),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // An idle queue stops reporting; no data means nothing arrived.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

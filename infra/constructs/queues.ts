// The SQS queues of functions/registry.ts: each with its dead-letter queue and its consumer's event source mapping.

import { Duration, Names, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { QueueDefinition } from "../../functions/registry.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import type { WorkflowResource } from "./workflows.ts";

/** What every FIFO queue's name ends in; SQS refuses it on a standard queue. */
export const fifoSuffix = ".fifo";

/**
 * The dead-letter queue's name: `-dlq` before the suffix, so the pair sorts together in the console.
 *
 * @example deadLetterQueueName(queues.commits) // "switchyard-commits-dlq.fifo"
 */
export const deadLetterQueueName = (definition: QueueDefinition): string =>
  definition.fifo
    ? `${definition.name.slice(0, -fifoSuffix.length)}-dlq${fifoSuffix}`
    : `${definition.name}-dlq`;

/** What the queues are built from. */
export interface QueuesProps {
  /** The registry, keyed by queue name. */
  definitions: Readonly<Record<string, QueueDefinition>>;
  /** The function registered under a name (the queues' consumers). */
  consumer: (name: string) => lambda.Function;
}

/** One registry queue as deployed. */
export interface DeployedQueue {
  queue: sqs.Queue;
  deadLetterQueue: DeadLetterQueue;
  consumer: lambda.Function;
}

/**
 * Every registry queue: encrypted (SSE-SQS), TLS only, the registry's visibility timeout, a dead-letter queue after
 * `maxReceiveCount` receives, and the consumer attached with partial batch responses, so one failed message is
 * retried alone instead of its whole batch. FIFO queues deduplicate on content: the workflow sends no deduplication
 * id, and each body carries a task token, which is unique.
 *
 * @example
 * const queues = new Queues(this, "Queues", { definitions: queues, consumer: (n) => fns.get(n) });
 * queues.sendFrom("commits"); // the WorkflowResource behind ${CommitsQueueUrl}
 */
export class Queues extends Construct {
  private readonly byName = new Map<string, DeployedQueue>();

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);
    for (const [name, definition] of Object.entries(props.definitions)) {
      this.byName.set(name, this.build(definition, props.consumer(definition.consumer)));
    }
  }

  /** The queue registered under `name`, its dead-letter queue and its consumer. */
  get(name: string): DeployedQueue {
    const deployed = this.byName.get(name);
    if (!deployed) throw new Error(`No queue "${name}" in the queues registry`);
    return deployed;
  }

  /**
   * The queue as a workflow placeholder: its URL, and `sqs:SendMessage` on exactly this queue. Only SendMessage:
   * the optimized `sqs:sendMessage` integration makes no other call, and SSE-SQS needs no key permission.
   */
  sendFrom(name: string): WorkflowResource {
    const { queue } = this.get(name);
    return {
      value: queue.queueUrl,
      grantTo: (machine: sfn.StateMachine) =>
        machine.addToRolePolicy(
          new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [queue.queueArn] }),
        ),
    };
  }

  private build(definition: QueueDefinition, consumer: lambda.Function): DeployedQueue {
    const scope = new Construct(this, definition.id);
    const deadLetterQueue = new DeadLetterQueue(scope, "DeadLetterQueue", {
      purpose: `queue ${definition.name}`,
      fifo: definition.fifo,
      queueName: deadLetterQueueName(definition),
    });
    const queue = new sqs.Queue(scope, "Queue", {
      queueName: definition.name,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: deadLetterQueue.queue, maxReceiveCount: definition.maxReceiveCount },
      ...(definition.fifo && { fifo: true, contentBasedDeduplication: true }),
    });
    consumer.addEventSource(
      new SqsEventSource(queue, { batchSize: definition.batchSize, reportBatchItemFailures: true }),
    );
    // The id SqsEventSource gives the mapping it adds to the function.
    const mapping = consumer.node.findChild(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`);
    Validations.of(mapping).acknowledge({
      id: "Serverless-LambdaEventSourceMappingDestination",
      reason:
        "SQS event source mappings do not support on-failure destinations (only stream and Kafka sources do); " +
        `a message that fails ${definition.maxReceiveCount} times moves to the queue's own dead-letter queue ` +
        `(${deadLetterQueueName(definition)}), which alarms.`,
    });
    return { queue, deadLetterQueue, consumer };
  }
}

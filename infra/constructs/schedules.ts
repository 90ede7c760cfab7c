// The EventBridge Scheduler schedules of events/schedules.ts: each expression as written, each run with retries and a DLQ.

import { Duration, RemovalPolicy, Stack, TimeZone } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { type Schedule, validateSchedule } from "../../events/schedules.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import { pascalCase } from "./rules.ts";

/** The time zone of a schedule that names none; the local scheduler reads expressions in the same one. */
export const defaultScheduleTimezone = "UTC";

/**
 * A run that cannot start (throttled, the state machine being replaced) is retried for up to an hour, then kept in
 * the dead-letter queue: a nightly snapshot that starts later than that is better started by hand, knowingly.
 */
export const scheduleRetryAttempts = 10;
export const scheduleMaxEventAgeMinutes = 60;

/** Scheduler reports each schedule group's metrics per minute; five minutes catches one failed delivery. */
const alarmPeriodMinutes = 5;

/** What the schedules are built from: the configuration's schedules and the workflows they start. */
export interface SchedulesProps {
  schedules: readonly Schedule[];
  /** The state machine of a registry workflow. */
  workflow: (name: string) => sfn.IStateMachine;
}

/**
 * One EventBridge Scheduler schedule per entry, in a schedule group of the stack's own: the expression and time zone
 * as written (UTC by default), no flexible window, the workflow's state machine as target with the entry's input as
 * JSON, a retry policy, and one dead-letter queue for every schedule. One role, assumable by Scheduler only for this
 * account's schedule group, may start exactly the scheduled state machines and send to that queue.
 *
 * Alarms: the dead-letter queue's own (a run that never started), and one on deliveries to it that failed (a run
 * that never started and left no trace). Failed executions are alarmed by workflows.ts. Only workflow targets are
 * deployed: a function target is refused at synth by the stack (`validateSchedules`).
 *
 * @example
 * new Schedules(this, "Schedules", { schedules: schedulesFor(config), workflow: (n) => wfs.get(n) });
 */
export class Schedules extends Construct {
  readonly group: scheduler.ScheduleGroup;
  /** The role every schedule runs its target with. */
  readonly role: iam.Role;
  readonly deadLetterQueue: DeadLetterQueue;
  /** In ALARM when Scheduler could not even put a failed run into the dead-letter queue. */
  readonly undeliveredAlarm: cloudwatch.Alarm;
  private readonly byName = new Map<string, scheduler.Schedule>();

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Holds only these schedules, which CloudFormation deletes with the stack: a retained group would be an orphan.
    this.group = new scheduler.ScheduleGroup(this, "Group", { removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, "Role", {
      description: "Starts the workflows of the Switchyard schedules (EventBridge Scheduler)",
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: {
          StringEquals: {
            "aws:SourceAccount": stack.account,
            "aws:SourceArn": this.group.scheduleGroupArn,
          },
        },
      }),
    });
    this.deadLetterQueue = new DeadLetterQueue(this, "DeadLetterQueue", {
      purpose: `EventBridge Scheduler schedules ${props.schedules.map((s) => s.name).join(", ")}`,
    });
    for (const schedule of props.schedules) {
      validateSchedule(schedule);
      this.byName.set(schedule.name, this.build(schedule, props));
    }
    // A run due while the role's policy is still being created would fail to start and land in the queue.
    const rolePolicy = this.role.node.tryFindChild("DefaultPolicy");
    if (rolePolicy) for (const schedule of this.byName.values()) schedule.node.addDependency(rolePolicy);
    this.undeliveredAlarm = new cloudwatch.Alarm(this, "DeadLetterDeliveryFailed", {
      alarmDescription:
        "EventBridge Scheduler could not start a scheduled workflow and could not put the run into the " +
        "schedules' dead-letter queue either: the run is lost. Check the queue's permissions and the role.",
      metric: this.group.metricFailedToBeSentToDLQ(undefined, {
        period: Duration.minutes(alarmPeriodMinutes),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // Scheduler reports the metric only when it happens.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** The schedule deployed for the entry named `name`. */
  get(name: string): scheduler.Schedule {
    const schedule = this.byName.get(name);
    if (!schedule) throw new Error(`No schedule "${name}" in the configuration's schedules`);
    return schedule;
  }

  private build(schedule: Schedule, props: SchedulesProps): scheduler.Schedule {
    if (schedule.target.kind !== "workflow") {
      throw new Error(`Schedule "${schedule.name}" targets a function; only workflows are deployed`);
    }
    const target = new targets.StepFunctionsStartExecution(props.workflow(schedule.target.workflow), {
      role: this.role,
      input: scheduler.ScheduleTargetInput.fromObject(schedule.input),
      deadLetterQueue: this.deadLetterQueue.queue,
      retryAttempts: scheduleRetryAttempts,
      maxEventAge: Duration.minutes(scheduleMaxEventAgeMinutes),
    });
    return new scheduler.Schedule(this, pascalCase(schedule.name), {
      scheduleName: schedule.name,
      description: schedule.description,
      scheduleGroup: this.group,
      schedule: scheduler.ScheduleExpression.expression(
        schedule.expression,
        TimeZone.of(schedule.timezone ?? defaultScheduleTimezone),
      ),
      timeWindow: scheduler.TimeWindow.off(),
      target,
    });
  }
}

// Incident escalation: the incident table, the PagerDuty/Slack/Alertmanager secrets, who may use which, and alarms.

import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as ses from "aws-cdk-lib/aws-ses";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { SwitchyardConfig } from "../../functions/core/config.ts";
import { ConfigError } from "../../functions/core/errors.ts";
import type { FunctionDefinition, FunctionName } from "../../functions/registry.ts";
import { envNames } from "../../functions/wiring/env.ts";
import type { WorkflowName } from "../../workflows/registry.ts";
import type { ApprovalTables, TableAccess } from "./approval-tables.ts";
import type { EventBuses } from "./event-buses.ts";
import { IncidentSecrets } from "./incident-secrets.ts";
import { IncidentTable, type IncidentTableAccess } from "./incident-table.ts";
import type { PromotionTables } from "./promotion-tables.ts";
import { grantStart } from "./workflow-starts.ts";

/** A resource whose variable a function gets although it never uses the resource (see `IncidentNeeds.variablesOnly`). */
export type NamedOnly = "freezeTable" | "promotionTable" | "eventBus";

/** What one incident function reaches besides its logs (and the bus, which `publishesEvents` grants). */
export interface IncidentNeeds {
  incidentTable?: IncidentTableAccess;
  /** Sets (open-incident) or lifts (close-incident) the freeze of a severe incident's service. */
  freezeTable?: TableAccess;
  /** Lists the service's recent promotions for the Slack post. */
  promotionTable?: "read";
  /** Verifies Alertmanager's bearer token (`incidents.webhookToken`). */
  webhookToken?: true;
  /** Verifies PagerDuty's v3 webhook signatures (`incidents.pagerduty.webhookSecret`). */
  pagerdutyWebhookSecret?: true;
  /** Pages PagerDuty with the routing key of level 1 and of every later level (and acknowledges/resolves there). */
  routingKeys?: true;
  /** Posts to and updates Slack with the bot token (`incidents.slack.token`). */
  slackToken?: true;
  /** Signs or verifies acknowledge links with the approval link key (`approvals.linkKeySecret`). */
  linkKey?: true;
  /** Puts the approval pages API's URL into the acknowledge links it builds (unless `incidents.baseUrl` is set). */
  approvalPagesUrl?: true;
  /** E-mails escalation levels' `email` targets through SES from `approvals.sender` (only when a level has one). */
  sendsMail?: true;
  /** Wakes the incident workflow waiting on a task token (states:SendTaskSuccess). */
  answersIncidents?: true;
  /** Starts the incident workflow (and reads back a start that turns out to be a repeat). */
  startsWorkflows?: readonly "incident-escalation"[];
  /**
   * Resources `incidentDeps()` in functions/wiring/aws.ts builds an adapter for at cold start although this
   * function never uses them: their variables are set so the cold start succeeds, and nothing is granted.
   */
  variablesOnly?: readonly NamedOnly[];
}

/**
 * Each incident function's needs, as `functions/core/incidents.ts` shows what its use case touches: `routeAlert`
 * starts the workflow or resolves and wakes it, `openIncident` records and freezes, `notifyIncident` posts, pages and
 * e-mails with an acknowledge link, `awaitIncident` stores its task token (and answers it when the answer is already
 * in), `escalateIncident` raises the level, `closeIncident` acknowledges or resolves in PagerDuty and Slack and lifts
 * the freeze, `acknowledgeIncident` (the API, the acknowledge page, PagerDuty's webhook) records who and wakes the
 * workflow. Only the incident functions that never publish get the bus name without the right to publish.
 */
export const incidentNeeds = {
  "ingest-alertmanager-webhook": { webhookToken: true },
  // Reads whether a failure's incident is open before publishing the success that resolves it.
  "normalize-failure": { incidentTable: "read" },
  "route-alert": {
    incidentTable: "update",
    answersIncidents: true,
    startsWorkflows: ["incident-escalation"],
    variablesOnly: ["freezeTable", "promotionTable", "eventBus"],
  },
  "open-incident": { incidentTable: "open", freezeTable: "readWrite", variablesOnly: ["promotionTable"] },
  "notify-incident": {
    incidentTable: "update",
    promotionTable: "read",
    routingKeys: true,
    slackToken: true,
    linkKey: true,
    approvalPagesUrl: true,
    sendsMail: true,
    variablesOnly: ["freezeTable", "eventBus"],
  },
  "await-incident": {
    incidentTable: "update",
    answersIncidents: true,
    variablesOnly: ["freezeTable", "promotionTable", "eventBus"],
  },
  "escalate-incident": { incidentTable: "update", variablesOnly: ["freezeTable", "promotionTable"] },
  "close-incident": {
    incidentTable: "update",
    freezeTable: "readWrite",
    routingKeys: true,
    slackToken: true,
    linkKey: true,
    approvalPagesUrl: true,
    variablesOnly: ["promotionTable"],
  },
  // One function serves the listing, the timeline and the acknowledgement, so it may update incidents. Its page
  // posts to a relative URL: it builds no acknowledge link, so it needs no pages URL.
  incidents: {
    incidentTable: "update",
    answersIncidents: true,
    linkKey: true,
    variablesOnly: ["freezeTable", "promotionTable"],
  },
  "ingest-pagerduty-webhook": {
    pagerdutyWebhookSecret: true,
    incidentTable: "update",
    answersIncidents: true,
    variablesOnly: ["freezeTable", "promotionTable"],
  },
} as const satisfies Partial<Record<FunctionName, IncidentNeeds>>;

/** The function whose task token the incident workflow waits on: whoever acknowledges or resolves answers it. */
export const incidentAwaiter = "await-incident" satisfies FunctionName;

/** The functions whose errors page someone: failures no workflow Catch, retry or dead-letter queue reports. */
export const alarmedIncidentFunctions = ["notify-incident", "ingest-alertmanager-webhook"] as const;

/** Lambda reports Errors every minute with invocations; five minutes of Sum catches the first one. */
const alarmPeriodMinutes = 5;

/** The e-mail addresses escalation levels notify. */
const emailTargets = (config: SwitchyardConfig): string[] =>
  config.incidents.escalation.levels.flatMap((level) =>
    level.notify.flatMap((target) => ("email" in target ? [target.email] : [])),
  );

/** The routing-key secrets of escalation levels after the first, in configuration order, without repeats. */
const levelRoutingKeyNames = (config: SwitchyardConfig): string[] => [
  ...new Set(
    config.incidents.escalation.levels.flatMap((level) =>
      level.notify.flatMap((target) => ("pagerduty" in target ? [target.pagerduty.secret] : [])),
    ),
  ),
];

/** The secrets the stack creates for incidents, with the switchyard.yaml path that names each. */
const createdIncidentSecrets = (config: SwitchyardConfig): (readonly [path: string, name: string])[] => [
  ["incidents.webhookToken.secret", config.incidents.webhookToken.secret],
  ["incidents.pagerduty.routingKey.secret", config.incidents.pagerduty.routingKey.secret],
  ["incidents.pagerduty.webhookSecret.secret", config.incidents.pagerduty.webhookSecret.secret],
  ["incidents.slack.token.secret", config.incidents.slack.token.secret],
];

/**
 * The incident secrets that hold a value PagerDuty or Slack issues (every routing key, the webhook signing secret,
 * the bot token), so `secrets[]` may not rotate them; SecretRotation refuses them by this list.
 *
 * @example
 * issuedIncidentSecrets(config).get("switchyard/slack-token"); // "the Slack token (incidents.slack.token), which Slack issues"
 */
export const issuedIncidentSecrets = (config: SwitchyardConfig): Map<string, string> =>
  new Map([
    ...levelRoutingKeyNames(config).map(
      (name) => [name, "a PagerDuty routing key of an escalation level, which PagerDuty issues"] as const,
    ),
    [
      config.incidents.pagerduty.routingKey.secret,
      "the PagerDuty routing key (incidents.pagerduty.routingKey), which PagerDuty issues",
    ],
    [
      config.incidents.pagerduty.webhookSecret.secret,
      "the PagerDuty webhook signing secret (incidents.pagerduty.webhookSecret), which PagerDuty issues",
    ],
    [config.incidents.slack.token.secret, "the Slack token (incidents.slack.token), which Slack issues"],
  ]);

/**
 * Refuses, before anything is bundled, what would fail at deploy or leak a secret at the first page: two created
 * secrets under one name (CloudFormation refuses the second), an escalation level's routing key that names another
 * of Switchyard's secrets (the page would send that value to PagerDuty), and e-mail targets with a sender SES cannot
 * verify. The stack calls it first; the construct again.
 *
 * @example validateIncidentSettings(loadConfig("switchyard.yaml"), "switchyard.yaml");
 */
export const validateIncidentSettings = (config: SwitchyardConfig, configFile: string): void => {
  const refuse = (what: string): never => {
    throw new ConfigError(`Invalid configuration in ${configFile}: ${what}`);
  };
  const others: (readonly [path: string, name: string])[] = [
    ["github.webhookSecret", config.github.webhookSecret],
    ["github.tokenSecret", config.github.tokenSecret],
    ["approvals.linkKeySecret", config.approvals.linkKeySecret],
  ];
  const seen = new Map<string, string>(others.map(([path, name]) => [name, path]));
  for (const [path, name] of createdIncidentSecrets(config)) {
    const clash = seen.get(name);
    if (clash !== undefined)
      refuse(`${path} and ${clash} both name the secret "${name}"; each needs its own`);
    seen.set(name, path);
  }
  const routingKey = config.incidents.pagerduty.routingKey.secret;
  config.incidents.escalation.levels.forEach((level, levelIndex) => {
    level.notify.forEach((target, targetIndex) => {
      if (!("pagerduty" in target)) return;
      const name = target.pagerduty.secret;
      const clash = seen.get(name);
      if (name !== routingKey && clash !== undefined) {
        refuse(
          `incidents.escalation.levels[${levelIndex}].notify[${targetIndex}].pagerduty.secret is "${name}", ` +
            `which ${clash} names: a page would send that secret to PagerDuty as a routing key`,
        );
      }
    });
  });
  const emails = emailTargets(config);
  const { sender } = config.approvals;
  const domain = sender.slice(sender.lastIndexOf("@") + 1).toLowerCase();
  if (emails.length > 0 && (!domain.includes(".") || domain.endsWith(".localhost"))) {
    refuse(
      `approvals.sender is "${sender}", which SES cannot verify, but incidents.escalation e-mails ` +
        `${emails.join(", ")}: set approvals.sender to an address you can receive mail at (SES sends it a ` +
        "verification link when the stack deploys)",
    );
  }
};

/** Whether an escalation level e-mails someone, so the sender's SES identity is needed. */
export const incidentsSendMail = (config: SwitchyardConfig): boolean => emailTargets(config).length > 0;

/** What the capability is wired to. */
export interface IncidentEscalationProps {
  /** The validated switchyard.yaml: secret names, escalation levels. */
  config: SwitchyardConfig;
  /** Where `config` was read from, for error messages. */
  configFile: string;
  /** The function registry, for construct ids. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** The function registered under a name. */
  function: (name: string) => lambda.Function;
  /** The state machine of a registry workflow. */
  workflow: (name: WorkflowName) => sfn.StateMachine;
  /** The state machines that wait on the task token `incidentAwaiter` is invoked with: answers wake them. */
  incidentWorkflows: readonly sfn.StateMachine[];
  /** The approval gate's link key, which signs acknowledge links too. */
  linkKey: secretsmanager.ISecret;
  /** The SES identity of `approvals.sender`; none when nothing is e-mailed. */
  sender: ses.EmailIdentity | undefined;
  /** The approval pages API's URL: acknowledge links open there. */
  pagesUrl: string;
  /** The approval gate's tables (freezes). */
  freezes: ApprovalTables;
  /** The promotion tables (recent changes). */
  promotions: PromotionTables;
  /** The buses: the variable of the switchyard bus for functions that never publish. */
  buses: EventBuses;
}

/**
 * Creates the incident table and the incident secrets, grants each function of `incidentNeeds` exactly its part
 * (setting the matching variables in the same call), and alarms on the errors that would otherwise go unnoticed:
 * notify-incident's (the workflow catches them and waits for an acknowledgement nobody was asked for) and the
 * Alertmanager webhook's (Alertmanager only retries and logs).
 *
 * @example
 * new IncidentEscalation(this, "IncidentEscalation", {
 *   config, configFile, definitions, function: (n) => fns.get(n), workflow: (n) => wfs.get(n),
 *   incidentWorkflows: [wfs.get("incident-escalation")], linkKey, sender, pagesUrl, freezes, promotions, buses,
 * });
 */
export class IncidentEscalation extends Construct {
  readonly table: IncidentTable;
  readonly secrets: IncidentSecrets;
  /** The Errors alarm of each function in `alarmedIncidentFunctions`. */
  readonly errorAlarms: ReadonlyMap<(typeof alarmedIncidentFunctions)[number], cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: IncidentEscalationProps) {
    super(scope, id);
    const { config } = props;
    validateIncidentSettings(config, props.configFile);
    this.table = new IncidentTable(this, "Table");
    this.secrets = new IncidentSecrets(this, "Secrets", {
      webhookTokenName: config.incidents.webhookToken.secret,
      routingKeyName: config.incidents.pagerduty.routingKey.secret,
      pagerdutyWebhookSecretName: config.incidents.pagerduty.webhookSecret.secret,
      slackTokenName: config.incidents.slack.token.secret,
      levelRoutingKeyNames: levelRoutingKeyNames(config),
      webhookTokenRotated: config.secrets.some((s) => s.name === config.incidents.webhookToken.secret),
    });
    const mails = incidentsSendMail(config);

    for (const [name, needs] of Object.entries(incidentNeeds) as [FunctionName, IncidentNeeds][]) {
      const fn = props.function(name);
      const fnId = props.definitions[name]!.id;
      if (needs.incidentTable) this.table.grant(fn, needs.incidentTable);
      if (needs.freezeTable) props.freezes.grantFreezes(fn, needs.freezeTable);
      if (needs.promotionTable) props.promotions.grantPromotions(fn, needs.promotionTable);
      if (needs.webhookToken) this.secrets.webhookToken.grantRead(fn);
      if (needs.pagerdutyWebhookSecret) this.secrets.pagerdutyWebhookSecret.grantRead(fn);
      if (needs.routingKeys) this.secrets.grantReadRoutingKeys(fn);
      if (needs.slackToken) this.secrets.slackToken.grantRead(fn);
      if (needs.linkKey) props.linkKey.grantRead(fn);
      if (needs.approvalPagesUrl) fn.addEnvironment(envNames.approvalPagesUrl, props.pagesUrl);
      if (needs.sendsMail && mails) props.sender?.grantSendEmail(fn);
      if (needs.answersIncidents) this.grantAnswers(fnId, fn, props.incidentWorkflows);
      for (const workflow of needs.startsWorkflows ?? []) grantStart(fn, workflow, props.workflow(workflow));
      for (const named of needs.variablesOnly ?? []) {
        const [variable, value] =
          named === "freezeTable"
            ? [envNames.freezeTable, props.freezes.freezes.tableName]
            : named === "promotionTable"
              ? [envNames.promotionTable, props.promotions.promotions.tableName]
              : [envNames.eventBusName, props.buses.switchyard.eventBusName];
        fn.addEnvironment(variable, value);
      }
    }

    const describe = {
      "notify-incident":
        "notify-incident failed outright: the incident's Slack post, page or e-mail of that level may not have gone " +
        "out, and the workflow went on to wait for an acknowledgement nobody was asked for. Failures of a single " +
        "channel do not count here: they are in the incident's timeline (GET /incidents/{id}).",
      "ingest-alertmanager-webhook":
        "The Alertmanager webhook failed (timeout or a crash before it could answer): the alerts of that delivery " +
        "opened no incident until Alertmanager's retry gets through. Its log says why.",
    } satisfies Record<(typeof alarmedIncidentFunctions)[number], string>;
    this.errorAlarms = new Map(
      alarmedIncidentFunctions.map((name) => {
        const fnId = props.definitions[name]!.id;
        // No action of its own, like every Switchyard alarm: its state change opens an incident on the default bus.
        const alarm = new cloudwatch.Alarm(this, `${fnId}Errors`, {
          alarmName: `${Stack.of(this).stackName}-${fnId}-Errors`,
          alarmDescription: describe[name],
          metric: props.function(name).metricErrors({
            period: Duration.minutes(alarmPeriodMinutes),
            statistic: cloudwatch.Stats.SUM,
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          // Lambda reports Errors only with invocations; no incident, no data.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        return [name, alarm] as const;
      }),
    );
  }

  /**
   * states:SendTaskSuccess on the incident workflows: acknowledging and resolving only ever report success (the
   * answer says which), so SendTaskFailure is not granted. Scoped to the state machine whose task issued the token,
   * as the approval gate's answers are. A policy of its own rather than the role's default policy: the workflow
   * invokes await-incident, and a Lambda function depends on its default policy, so naming the state machine there
   * would be a circular dependency.
   */
  private grantAnswers(fnId: string, fn: lambda.Function, machines: readonly sfn.StateMachine[]): void {
    if (machines.length === 0) return;
    new iam.Policy(this, `${fnId}AnswersIncidents`, {
      roles: [fn.role!],
      statements: [
        new iam.PolicyStatement({
          actions: ["states:SendTaskSuccess"],
          resources: machines.map((machine) => machine.stateMachineArn),
        }),
      ],
    });
  }
}

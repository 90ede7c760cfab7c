// The incident capability's secrets: Alertmanager's bearer token, PagerDuty's keys, the Slack token.

import { CfnOutput, Validations } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

/** Long enough that guessing is out of the question; Alertmanager sends any bearer token as it is. */
const generatedLength = 64;

/** The names, from switchyard.yaml `incidents`, which the functions read too. */
export interface IncidentSecretsProps {
  /** `incidents.webhookToken.secret`: the bearer token Alertmanager sends. */
  webhookTokenName: string;
  /** `incidents.pagerduty.routingKey.secret`: the integration key every incident pages first. */
  routingKeyName: string;
  /** `incidents.pagerduty.webhookSecret.secret`: the signing secret of PagerDuty's v3 webhook subscription. */
  pagerdutyWebhookSecretName: string;
  /** `incidents.slack.token.secret`: the Slack bot token (chat:write). */
  slackTokenName: string;
  /** Every `incidents.escalation.levels[].notify[].pagerduty.secret`: the routing keys of later levels. */
  levelRoutingKeyNames: readonly string[];
  /** switchyard.yaml's `secrets[]` rotates the webhook token (api-key): SecretRotation attaches the schedule. */
  webhookTokenRotated?: boolean;
}

/**
 * The secrets the incident functions read. Nothing secret is ever in the template or the repository:
 *
 * - The webhook token is Switchyard's own: its generated value is the real one, which the operator puts into
 *   Alertmanager's `http_config.authorization.credentials` (better `credentials_file`, from the same secret through
 *   External Secrets). It rotates only when `secrets[]` lists it (api-key); the function accepts AWSPENDING, and
 *   AWSPREVIOUS for `rotation.overlapHours`, meanwhile.
 * - The routing key, the PagerDuty webhook secret and the Slack token are issued by PagerDuty and Slack: each is
 *   created with a generated placeholder both services reject, and the operator puts the real value with
 *   `aws secretsmanager put-secret-value --secret-id <name> --secret-string <value>`. Until then every page or post
 *   fails, is recorded in the incident's timeline, and the other channel still works.
 * - The routing keys of later escalation levels are other teams' PagerDuty services: referenced by name
 *   (`fromSecretNameV2`), created by whoever owns them before the first escalation reaches their level.
 *
 * @example
 * const secrets = new IncidentSecrets(this, "Secrets", { webhookTokenName, routingKeyName, ... });
 * secrets.webhookToken.grantRead(fns.get("ingest-alertmanager-webhook"));
 */
export class IncidentSecrets extends Construct {
  readonly webhookToken: secretsmanager.Secret;
  readonly routingKey: secretsmanager.Secret;
  readonly pagerdutyWebhookSecret: secretsmanager.Secret;
  readonly slackToken: secretsmanager.Secret;
  /** The routing keys of later levels other than `routingKey`, by name. */
  readonly levelRoutingKeys: ReadonlyMap<string, secretsmanager.ISecret>;

  constructor(scope: Construct, id: string, props: IncidentSecretsProps) {
    super(scope, id);
    this.webhookToken = new secretsmanager.Secret(this, "WebhookToken", {
      secretName: props.webhookTokenName,
      description:
        "Bearer token Alertmanager sends to the Switchyard webhook (POST /webhooks/alertmanager); set the same " +
        "value in Alertmanager's webhook_config http_config.authorization",
      generateSecretString: { passwordLength: generatedLength, excludePunctuation: true },
    });
    const placeholder = (constructId: string, secretName: string, what: string) =>
      new secretsmanager.Secret(this, constructId, {
        secretName,
        description: `${what}; generated placeholder, replace it with aws secretsmanager put-secret-value`,
        generateSecretString: { passwordLength: generatedLength, excludePunctuation: true },
      });
    this.routingKey = placeholder(
      "RoutingKey",
      props.routingKeyName,
      "PagerDuty Events API v2 integration key (routing key) every Switchyard incident pages first",
    );
    this.pagerdutyWebhookSecret = placeholder(
      "PagerdutyWebhookSecret",
      props.pagerdutyWebhookSecretName,
      "Signing secret of the PagerDuty v3 webhook subscription that reports acknowledgements to Switchyard",
    );
    this.slackToken = placeholder(
      "SlackToken",
      props.slackTokenName,
      "Slack bot token (chat:write) Switchyard posts incidents with",
    );

    // A level may page the first level's service again; `validateIncidentSettings` refuses the other secrets.
    this.levelRoutingKeys = new Map(
      [...new Set(props.levelRoutingKeyNames)]
        .filter((name) => name !== props.routingKeyName)
        // A reference creates no resource: the index keeps construct ids apart whatever the names' punctuation.
        .map((name, index) => [
          name,
          secretsmanager.Secret.fromSecretNameV2(this, `LevelRoutingKey${index}`, name),
        ]),
    );

    if (!props.webhookTokenRotated) {
      Validations.of(this.webhookToken).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "A bearer token only works while Alertmanager sends the same value, and Secrets Manager cannot update " +
          "Alertmanager's configuration; it rotates when switchyard.yaml's secrets[] lists it (api-key) with " +
          "Alertmanager reading it through External Secrets, or by hand in both places, and the function accepts " +
          "AWSPENDING and AWSPREVIOUS meanwhile.",
      });
    }
    for (const [secret, issuer] of [
      [this.routingKey, "PagerDuty issues the integration key of a service"],
      [this.pagerdutyWebhookSecret, "PagerDuty issues the signing secret of a webhook subscription"],
      [this.slackToken, "Slack issues the bot token of an app installation"],
    ] as const) {
      Validations.of(secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          `The value is issued elsewhere (${issuer}); Secrets Manager cannot mint a new one. The operator puts ` +
          "each new value with put-secret-value, and the functions re-read it within five minutes.",
      });
    }

    new CfnOutput(this, "WebhookTokenName", {
      description:
        "Alertmanager's bearer token for POST /webhooks/alertmanager: put this secret's value into Alertmanager's " +
        "webhook_config (http_config.authorization.credentials)",
      value: props.webhookTokenName,
    });
    new CfnOutput(this, "IssuedSecretNames", {
      description:
        "Set each to the value PagerDuty or Slack issued (routing key, v3 webhook signing secret, bot token): aws " +
        "secretsmanager put-secret-value --secret-id <name> --secret-string <value>; until then pages and posts fail",
      value: [props.routingKeyName, props.pagerdutyWebhookSecretName, props.slackTokenName].join(", "),
    });
    if (this.levelRoutingKeys.size > 0) {
      new CfnOutput(this, "LevelRoutingKeyNames", {
        description:
          "Routing keys of later escalation levels, referenced by name and not created here: create each secret " +
          "(its value the PagerDuty integration key) before an escalation reaches its level",
        value: [...this.levelRoutingKeys.keys()].join(", "),
      });
    }
  }

  /** Lets `fn` page PagerDuty: read the routing key of level 1 and of every later level, and nothing else. */
  grantReadRoutingKeys(fn: lambda.IFunction): void {
    this.routingKey.grantRead(fn);
    for (const secret of this.levelRoutingKeys.values()) secret.grantRead(fn);
  }
}

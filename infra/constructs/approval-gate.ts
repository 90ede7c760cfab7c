// The approval gate of production changes: approval and freeze tables, link key, sender, pages API, DB snapshots.

import { CfnOutput, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as ses from "aws-cdk-lib/aws-ses";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { SwitchyardConfig } from "../../functions/core/config.ts";
import { ConfigError } from "../../functions/core/errors.ts";
import type { FunctionDefinition, FunctionName } from "../../functions/registry.ts";
import { envNames } from "../../functions/wiring/env.ts";
import { ApprovalPagesApi } from "./approval-pages-api.ts";
import { ApprovalTables, type TableAccess } from "./approval-tables.ts";
import { grantCreateSnapshots, optInTagOf } from "./database-snapshots.ts";

/**
 * What one function of the gate reaches (besides what `promotionNeeds` in promotion.ts grants it: the promotion
 * table, the GitHub token, the cluster, starting workflows).
 */
export interface ApprovalGateNeeds {
  approvalTable?: TableAccess;
  freezeTable?: TableAccess;
  /** Signs or verifies approval links with the key in Secrets Manager (`approvals.linkKeySecret`). */
  linkKey?: true;
  /** E-mails approvers through SES from `approvals.sender`. */
  sendsMail?: true;
  /** Answers the workflow step waiting for an approval's decision (states:SendTaskSuccess/SendTaskFailure). */
  answersApprovals?: true;
  /** Takes pre-change snapshots of the RDS databases opted in with `snapshots.selector`'s tag, and reads them back. */
  databaseSnapshots?: true;
  /** Puts the approval pages API's URL into the links it e-mails. */
  approvalPagesUrl?: true;
}

/**
 * Each gate function's needs, as its dependencies in `functions/wiring/aws.ts` show them: `approvalDeps()` builds
 * the approval store and the workflow callbacks, `requestApprovalDeps()` adds the mailer, the secret store (link
 * key) and the pages URL, `finishPromotionDeps()` reads the approval store to name the approval in its event.
 * `expire-approval` never answers a token: the step it closes has already timed out.
 */
export const approvalGateNeeds = {
  "finish-promotion": { approvalTable: "read" },
  "gate-promotion": { freezeTable: "read" },
  "snapshot-before-change": { databaseSnapshots: true },
  "request-approval": {
    approvalTable: "readWrite",
    linkKey: true,
    sendsMail: true,
    answersApprovals: true,
    approvalPagesUrl: true,
  },
  "expire-approval": { approvalTable: "readWrite" },
  approvals: { approvalTable: "readWrite", linkKey: true, answersApprovals: true },
  freezes: { freezeTable: "readWrite" },
} as const satisfies Partial<Record<FunctionName, ApprovalGateNeeds>>;

/** 64 hex digits (32 random bytes), the shape `ensureLinkKey` gives the local runtime's key. */
const linkKeyLength = 64;
/** Excluding these, upper case and punctuation leaves exactly the hex digits 0-9 and a-f. */
const nonHexLowercaseLetters = "ghijklmnopqrstuvwxyz";

/** What the gate is wired to. */
export interface ApprovalGateProps {
  /** The validated switchyard.yaml: gated environments, the sender and the link key's name. */
  config: SwitchyardConfig;
  /** Where `config` was read from, for error messages. */
  configFile: string;
  /** The function registry, for construct ids and the pages routes. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** The function registered under a name. */
  function: (name: string) => lambda.Function;
  /** The state machines that wait on the task token request-approval is invoked with: decisions answer them. */
  approvalWorkflows: readonly sfn.StateMachine[];
  /**
   * Incident escalation e-mails from `approvals.sender` too (a level with an `email` target): the sender's identity
   * is created even when no environment is gated.
   */
  incidentMail?: boolean;
}

/**
 * Creates the approval and freeze tables, the approval link key, the SES identity of `approvals.sender` (when an
 * environment is gated or an escalation level e-mails) and the approval pages API, and grants each function of
 * `approvalGateNeeds` exactly its part, setting the matching variables in the same call.
 *
 * @example
 * new ApprovalGate(this, "ApprovalGate", {
 *   config, configFile, definitions, function: (n) => fns.get(n), approvalWorkflows: [wfs.get("production-sync")],
 * });
 */
export class ApprovalGate extends Construct {
  readonly tables: ApprovalTables;
  readonly linkKey: secretsmanager.Secret;
  /** The sender's SES identity; none when no environment is gated and no escalation level e-mails anyone. */
  readonly sender: ses.EmailIdentity | undefined;
  readonly pages: ApprovalPagesApi;

  constructor(scope: Construct, id: string, props: ApprovalGateProps) {
    super(scope, id);
    const { approvals } = props.config;
    const gated = gatedEnvironments(props.config);
    validateApprovalSender(props.config, props.configFile);

    this.tables = new ApprovalTables(this, "Tables");
    this.linkKey = new secretsmanager.Secret(this, "LinkKey", {
      secretName: approvals.linkKeySecret,
      description: "HMAC-SHA256 key that signs the Switchyard approval links sent by e-mail (64 hex digits)",
      generateSecretString: {
        passwordLength: linkKeyLength,
        excludePunctuation: true,
        excludeUppercase: true,
        excludeCharacters: nonHexLowercaseLetters,
      },
    });
    // Rotated when switchyard.yaml's secrets[] lists it (api-key): SecretRotation attaches the schedule.
    if (!props.config.secrets.some((s) => s.name === approvals.linkKeySecret)) {
      Validations.of(this.linkKey).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "Rotation is opted into per secret in switchyard.yaml (secrets[] with strategy api-key), which this " +
          "configuration does not do for the link key; the functions verify links against AWSCURRENT and " +
          "AWSPREVIOUS, so a rotation keeps links sent before it valid. Until then the key is rotated by hand with " +
          "put-secret-value (a leaked key at once); a link also expires with its approval request.",
      });
    }

    this.sender =
      gated.length > 0 || props.incidentMail
        ? new ses.EmailIdentity(this, "Sender", { identity: ses.Identity.email(approvals.sender) })
        : undefined;
    if (this.sender) {
      new CfnOutput(this, "SenderAddress", {
        description:
          "SES e-mails this address a verification link; approval and escalation e-mails fail until it is " +
          "followed. While the account is in the SES sandbox, every recipient's address must be a verified " +
          "identity too.",
        value: approvals.sender,
      });
    }

    this.pages = new ApprovalPagesApi(this, "PagesApi", {
      definitions: props.definitions,
      function: props.function,
    });

    const optIn = optInTagOf(props.config);
    new CfnOutput(this, "DatabaseBackupTag", {
      description:
        "Tag each RDS DB instance or Aurora DB cluster that gated promotions and the scheduled snapshots snapshot " +
        "with this key=value (snapshots.selector); snapshots of any other database are denied",
      value: `${optIn.key}=${optIn.value}`,
    });

    for (const [name, needs] of Object.entries(approvalGateNeeds) as [FunctionName, ApprovalGateNeeds][]) {
      const fn = props.function(name);
      const fnId = props.definitions[name]!.id;
      if (needs.approvalTable) this.tables.grantApprovals(fn, needs.approvalTable);
      if (needs.freezeTable) this.tables.grantFreezes(fn, needs.freezeTable);
      if (needs.linkKey) this.linkKey.grantRead(fn);
      if (needs.sendsMail) this.sender?.grantSendEmail(fn);
      if (needs.answersApprovals) this.grantAnswers(fnId, fn, props.approvalWorkflows);
      if (needs.databaseSnapshots) grantCreateSnapshots(this, fnId, fn, optIn);
      if (needs.approvalPagesUrl) fn.addEnvironment(envNames.approvalPagesUrl, this.pages.stage.url);
    }
  }

  /**
   * states:SendTaskSuccess/SendTaskFailure on the workflows waiting for a decision. IAM evaluates these against the
   * state machine whose task issued the token (see `grantCallbacks` in the stack), so no `Resource: *` is needed.
   * A policy of its own rather than the role's default policy: the workflow invokes request-approval, and a Lambda
   * function depends on its default policy, so naming the state machine there would be a circular dependency.
   */
  private grantAnswers(fnId: string, fn: lambda.Function, machines: readonly sfn.StateMachine[]): void {
    if (machines.length === 0) return;
    new iam.Policy(this, `${fnId}AnswersApprovals`, {
      roles: [fn.role!],
      statements: [
        new iam.PolicyStatement({
          actions: ["states:SendTaskSuccess", "states:SendTaskFailure"],
          resources: machines.map((machine) => machine.stateMachineArn),
        }),
      ],
    });
  }
}

const gatedEnvironments = (config: SwitchyardConfig): string[] =>
  config.environments.filter((env) => env.approval !== "none").map((env) => env.name);

/**
 * Fails when an environment is gated but `approvals.sender` is an address SES cannot verify (it e-mails the address
 * a link, so the domain must receive mail): the local default `switchyard@localhost` above all. The stack calls it
 * before anything is bundled.
 *
 * @example validateApprovalSender(loadConfig("switchyard.yaml"), "switchyard.yaml");
 */
export const validateApprovalSender = (config: SwitchyardConfig, configFile: string): void => {
  const gated = gatedEnvironments(config);
  const { sender } = config.approvals;
  const domain = sender.slice(sender.lastIndexOf("@") + 1).toLowerCase();
  if (gated.length === 0 || (domain.includes(".") && !domain.endsWith(".localhost"))) return;
  throw new ConfigError(
    `Invalid configuration in ${configFile}: approvals.sender is "${sender}", which SES cannot verify, but ` +
      `${gated.map((name) => `environment "${name}"`).join(", ")} ${gated.length === 1 ? "needs" : "need"} ` +
      "approval e-mails: set approvals.sender to an address you can receive mail at (SES sends it a " +
      "verification link when the stack deploys)",
  );
};

// The schema of switchyard.yaml: one zod definition validates the platform's configuration for infra and runtime.

import semver from "semver";
import { z } from "zod";
import { parseScheduleExpression } from "../../events/schedules.ts";
import { ValidationError } from "./errors.ts";

/** ECR repository names: lowercase path segments separated by `/`, as ECR accepts them. */
const ecrRepositoryPattern = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** A GitHub `owner/name`. */
const githubRepositoryPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
/** Names used in Kubernetes objects and AWS resource names: DNS-1123 labels. */
const dnsLabelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** RDS DB instance and cluster identifiers: a letter first, then letters, digits and single hyphens. */
const rdsIdentifierPattern = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]$|^[a-zA-Z]$/;
const rdsIdentifierMessage =
  "expected an RDS identifier (a letter first, then letters, digits and single hyphens; no trailing hyphen)";
/** RDS's limit for a DB instance identifier. */
const maxRdsIdentifierLength = 63;
const awsRegionPattern = /^[a-z]{2}(?:-[a-z]+)+-\d$/;
/** A KMS key ARN (single- or multi-Region key); the capture is the key's region. */
const kmsKeyArnPattern =
  /^arn:aws(?:-[a-z]+)*:kms:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
/** RDS's limits for a tag key and a tag value. */
const maxTagKeyLength = 128;
const maxTagValueLength = 256;
const templatePlaceholderPattern = /\{([^}]*)\}/g;

const name = (what: string) =>
  z.string().regex(dnsLabelPattern, `expected a ${what} name of lowercase letters, digits and '-' (max 63)`);

/** A template such as "{service}-staging" may only use the placeholders named. */
const template = (allowed: readonly string[], what: string) =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      for (const match of value.matchAll(templatePlaceholderPattern)) {
        if (!allowed.includes(match[1] ?? "")) {
          ctx.addIssue({
            code: "custom",
            message: `unknown placeholder {${match[1]}} in ${what}; expected ${allowed.map((p) => `{${p}}`).join(" or ")}`,
          });
        }
      }
    });

const approvalSchema = z.union(
  [
    z.literal("none"),
    z
      .strictObject({
        approvers: z.array(z.string().regex(emailPattern, "expected an e-mail address")).min(1),
        minApprovals: z.number().int().min(1).default(1),
        timeoutHours: z
          .number()
          .positive()
          .max(24 * 365, "expected at most one year (Step Functions' limit)"),
      })
      .refine((a) => a.minApprovals <= new Set(a.approvers).size, {
        message: "minApprovals is larger than the number of distinct approvers",
        path: ["minApprovals"],
      }),
  ],
  { error: () => 'expected "none" or { approvers: [...], minApprovals, timeoutHours }' },
);

const environmentSchema = z.strictObject({
  name: name("environment"),
  approval: approvalSchema,
  argocd: z.strictObject({
    namespace: name("namespace"),
    application: template(["service", "environment"], "argocd.application"),
  }),
});

const semverPolicySchema = z.strictObject({
  semver: z.string().refine((range) => semver.validRange(range) !== null, "expected a valid semver range"),
  includePrerelease: z.boolean().default(false),
});
const patternPolicySchema = z.strictObject({
  pattern: z.string().refine((source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  }, "expected a valid regular expression"),
});
const tagPolicySchema = z.strictObject({
  tag: z.string().regex(/^[\w][\w.-]{0,127}$/, "expected a Docker tag"),
});

const policySchema = z.union([semverPolicySchema, patternPolicySchema, tagPolicySchema], {
  error: () => "expected exactly one of { semver: <range> }, { pattern: <regex> } or { tag: <name> }",
});

const serviceSchema = z.strictObject({
  name: name("service"),
  repository: z.string().regex(ecrRepositoryPattern, "expected an ECR repository name"),
  policy: policySchema,
  values: template(["environment", "service"], "values"),
  github: z.string().regex(githubRepositoryPattern, "expected a GitHub repository as owner/name").optional(),
  /** The RDS instance (or Aurora cluster) behind the service: gated environments snapshot it before a change. */
  database: z
    .string()
    .max(maxRdsIdentifierLength)
    .regex(rdsIdentifierPattern, rdsIdentifierMessage)
    .optional(),
});

/** Secrets Manager secret names: 1–512 of letters, digits and /_+=.@- */
const secretNamePattern = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

const rotationSchema = z
  .strictObject({
    /** EventBridge Scheduler / Secrets Manager expression: `rate(30 days)` or `cron(0 4 ? * SUN *)`. */
    schedule: z
      .string()
      .regex(/^(rate|cron)\(.+\)$/, 'expected rate(<n> <unit>) or cron(<6 fields>), e.g. "rate(30 days)"'),
    /**
     * `single-user`: the secret's own user changes its password. `alternating-users`: the master secret's user keeps
     * `<user>_clone` and the secret flips between the two, so the old credentials keep working during the rollout.
     * `api-key`: a random value with no database (signing keys, tokens).
     */
    strategy: z.enum(["single-user", "alternating-users", "api-key"]),
    /** The secret of the user that may change other users' passwords (alternating-users). */
    masterSecret: z.string().regex(secretNamePattern, "expected a secret name").optional(),
    /**
     * api-key: how long after a rotation the previous value still verifies (AWSPREVIOUS), so a signature made just
     * before the rotation — a webhook in flight, a sender not yet updated — is not refused.
     */
    overlapHours: z
      .number()
      .min(0)
      .max(24 * 30)
      .default(24),
  })
  .refine((r) => r.strategy !== "alternating-users" || r.masterSecret !== undefined, {
    message: "alternating-users needs masterSecret, the secret of the user that changes passwords",
    path: ["masterSecret"],
  });

const consumerSchema = z.strictObject({
  namespace: name("namespace"),
  /** The ExternalSecret that copies the secret into a Kubernetes Secret. */
  externalSecret: name("ExternalSecret"),
  /** Deployments that read the Kubernetes Secret at start, restarted one at a time. */
  deployments: z.array(name("Deployment")).min(1, "expected at least one Deployment"),
  /** The service in switchyard.yaml whose freeze holds these restarts. */
  service: name("service").optional(),
});

/** One entry of `secrets:`. */
export const secretSchema = z.strictObject({
  /** The secret's name in Secrets Manager (and in the local secret store). */
  name: z.string().regex(secretNamePattern, "expected a Secrets Manager secret name"),
  description: z.string().max(2048).optional(),
  rotation: rotationSchema,
  /** Generated passwords, as GetRandomPassword takes them. */
  password: z
    .strictObject({
      length: z.number().int().min(16).max(4096).default(32),
      /** Characters never used; the default leaves out those that break connection strings and shells. */
      excludeCharacters: z.string().default(`/@"'\\:;?#%&+=\`$ `),
    })
    .default({ length: 32, excludeCharacters: `/@"'\\:;?#%&+=\`$ ` }),
  consumers: z.array(consumerSchema).default([]),
});

/**
 * A recurring EventBridge Scheduler expression, checked by the same parser the local scheduler runs, so a schedule
 * that would fail CreateSchedule fails here first. A one-time `at()` is refused: these schedules repeat.
 */
const recurringSchedule = (example: string) =>
  z.string().superRefine((expression, ctx) => {
    try {
      if (parseScheduleExpression(expression).kind === "at") {
        ctx.addIssue({
          code: "custom",
          message: `expected a recurring cron(...) or rate(...), e.g. "${example}"`,
        });
      }
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      ctx.addIssue({ code: "custom", message: `${error.message}; e.g. "${example}"` });
    }
  });

const defaultSnapshotSchedule = "cron(0 3 * * ? *)";
const defaultDrillSchedule = "cron(0 5 1 * ? *)";
/** PagerDuty Events API v2 severities, which incidents use as they are. */
export const incidentSeverities = ["critical", "error", "warning", "info"] as const;
export type IncidentSeverity = (typeof incidentSeverities)[number];

/** A secret in Secrets Manager (locally, the local store) by name: its value never appears in switchyard.yaml. */
const secretRefSchema = z.strictObject({ secret: z.string().min(1, "expected a secret name") });

const durationUnits = { s: 1, m: 60, h: 3600 } as const;
/** The longest wait of one escalation level: Step Functions' task timeout allows a year, a page a day is plenty. */
const maxLevelDelaySeconds = 24 * 3600;

/** `30s`, `5m`, `1h` as whole seconds (at least one, at most a day). */
export const durationSeconds = z
  .string()
  .regex(/^[1-9]\d*(s|m|h)$/, 'expected a duration such as "30s", "5m" or "1h"')
  .transform((text) => Number(text.slice(0, -1)) * durationUnits[text.at(-1) as keyof typeof durationUnits])
  .refine((seconds) => seconds <= maxLevelDelaySeconds, { message: "expected at most 24h" });

/** Who one escalation level notifies: a PagerDuty service by its routing key's secret, a Slack channel or group, a mailbox. */
const notifyTargetSchema = z.union(
  [
    z.strictObject({ pagerduty: secretRefSchema }),
    z.strictObject({
      slack: z
        .string()
        .regex(
          /^(#[a-z0-9][a-z0-9._-]{0,79}|@[a-z0-9][a-z0-9._-]{0,79}|[CGS][A-Z0-9]{8,})$/,
          "expected a Slack channel (#incidents), a user group handle (@platform-oncall) or an id (C…, G…, S…)",
        ),
    }),
    z.strictObject({ email: z.string().regex(emailPattern, "expected an e-mail address") }),
  ],
  {
    error: "expected one of { pagerduty: { secret } }, { slack: <channel or @group> }, { email: <address> }",
  },
);

const defaultIncidents = {
  webhookToken: { secret: "switchyard/alertmanager-token" },
  pagerduty: {
    eventsUrl: "https://events.pagerduty.com/v2/enqueue",
    routingKey: { secret: "switchyard/pagerduty-routing-key" },
    webhookSecret: { secret: "switchyard/pagerduty-webhook-secret" },
  },
  slack: {
    apiUrl: "https://slack.com/api",
    token: { secret: "switchyard/slack-token" },
    channel: "#incidents",
  },
  escalation: { levels: [{ after: 300, notify: [] }], repeat: 0 },
  freezeSeverity: "critical" as const,
  recentChangesMinutes: 60,
  cloudwatch: { insufficientData: "ignore" as const, severity: "error" as const },
  domainEvents: {
    secretRolloutFailed: "error" as const,
    restoreDrillFailed: "error" as const,
    promotionRolledBack: "warning" as const,
  },
};

const incidentsSchema = z
  .strictObject({
    /** The bearer token Alertmanager sends (`http_config.authorization.credentials`). */
    webhookToken: secretRefSchema.default(defaultIncidents.webhookToken),
    pagerduty: z
      .strictObject({
        /** The Events API v2 endpoint; `https://events.eu.pagerduty.com/v2/enqueue` for the EU service region. */
        eventsUrl: z
          .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
          .default(defaultIncidents.pagerduty.eventsUrl),
        /** The integration key of the service every incident pages first. */
        routingKey: secretRefSchema.default(defaultIncidents.pagerduty.routingKey),
        /** Signs PagerDuty's v3 webhooks (acknowledgements made in PagerDuty). */
        webhookSecret: secretRefSchema.default(defaultIncidents.pagerduty.webhookSecret),
      })
      .default(defaultIncidents.pagerduty),
    slack: z
      .strictObject({
        /** The Web API base; a proxy or a test receiver may stand in. */
        apiUrl: z
          .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
          .default(defaultIncidents.slack.apiUrl),
        /** A bot token with chat:write. */
        token: secretRefSchema.default(defaultIncidents.slack.token),
        /** Where every incident is posted first, and where its thread lives. */
        channel: z
          .string()
          .regex(
            /^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,})$/,
            "expected a Slack channel (#incidents) or id",
          )
          .default(defaultIncidents.slack.channel),
      })
      .default(defaultIncidents.slack),
    /**
     * Level 1 is the first page (Slack channel and PagerDuty routing key). Each entry of `levels` is the next level:
     * `after` that long without an acknowledgement, `notify` these too. `repeat`: how many more times the levels are
     * gone through after the last one before escalation ends (the incident stays open until acknowledged or resolved).
     */
    escalation: z
      .strictObject({
        levels: z
          .array(z.strictObject({ after: durationSeconds, notify: z.array(notifyTargetSchema).default([]) }))
          .min(1, "expected at least one escalation level")
          .default(defaultIncidents.escalation.levels),
        repeat: z.number().int().min(0).max(100).default(0),
      })
      .default(defaultIncidents.escalation),
    /** Incidents of this severity or worse freeze the affected service until they resolve; `none` never does. */
    freezeSeverity: z.enum([...incidentSeverities, "none"]).default(defaultIncidents.freezeSeverity),
    /** How far back the Slack post lists the service's promotions, rotations and snapshots. */
    recentChangesMinutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .default(defaultIncidents.recentChangesMinutes),
    /** CloudWatch `Alarm State Change`: ALARM fires, OK resolves; INSUFFICIENT_DATA as configured. */
    cloudwatch: z
      .strictObject({
        insufficientData: z.enum(["ignore", "firing", "resolved"]).default("ignore"),
        severity: z.enum(incidentSeverities).default("error"),
      })
      .default(defaultIncidents.cloudwatch),
    /** The severity of the incidents Switchyard's own failures open. */
    domainEvents: z
      .strictObject({
        secretRolloutFailed: z.enum(incidentSeverities).default("error"),
        restoreDrillFailed: z.enum(incidentSeverities).default("error"),
        promotionRolledBack: z.enum(incidentSeverities).default("warning"),
      })
      .default(defaultIncidents.domainEvents),
    /** Where acknowledge links point; default: the API's own URL (locally the runtime's). */
    baseUrl: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
  })
  .default(defaultIncidents);

/** The tag that opts an RDS instance (or cluster) into the nightly snapshots. */
const defaultSnapshotSelector = { tagKey: "switchyard:backup", tagValue: "true" };
/** RDS's default quota of manual DB snapshots per region. */
const defaultSnapshotQuota = { limit: 100, warnAtPercent: 80 };
const defaultDrill = {
  schedule: defaultDrillSchedule,
  smokeQuery: "select count(*) from orders",
  timeoutMinutes: 60,
  masterSecrets: {},
};

const snapshotsSchema = z
  .strictObject({
    /** When the scheduled snapshots run (EventBridge Scheduler, UTC unless the infra says otherwise). */
    schedule: recurringSchedule(defaultSnapshotSchedule).default(defaultSnapshotSchedule),
    /** The instance tag that opts a database in. */
    selector: z
      .strictObject({
        tagKey: z.string().min(1).max(maxTagKeyLength),
        tagValue: z.string().max(maxTagValueLength),
      })
      .default(defaultSnapshotSelector),
    /** Switchyard's snapshots older than this are deleted (never below `minCount` per database). */
    retentionDays: z.number().int().min(1, "expected at least 1 day").default(7),
    /** The newest available Switchyard snapshots kept per database whatever their age. */
    minCount: z.number().int().min(0).default(3),
    /** How many databases are snapshotted at once: RDS serialises snapshots per instance and throttles the API. */
    maxConcurrency: z.number().int().min(1).max(20).default(2),
    /** How long a run waits for one snapshot to become available. */
    waitTimeoutMinutes: z
      .number()
      .positive()
      .max(24 * 60)
      .default(60),
    /** How often it asks RDS meanwhile. */
    pollIntervalSeconds: z.number().int().min(0).max(300).default(30),
    /** A copy of each snapshot in another region, so a regional outage does not take the backups with it. */
    copyTo: z
      .strictObject({
        region: z.string().regex(awsRegionPattern, "expected an AWS region such as eu-central-1"),
        /** Needed for an encrypted source: KMS keys do not leave their region, so the copy is re-encrypted. */
        kmsKeyArn: z
          .string()
          .regex(kmsKeyArnPattern, "expected a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id>")
          .optional(),
      })
      .refine(
        (copy) => {
          // A malformed ARN is reported by its own pattern; only a well-formed one has a region to compare.
          const keyRegion = kmsKeyArnPattern.exec(copy.kmsKeyArn ?? "")?.[1];
          return keyRegion === undefined || keyRegion === copy.region;
        },
        { message: "the KMS key must be in the region the snapshot is copied to", path: ["kmsKeyArn"] },
      )
      .optional(),
    /** The manual-snapshot quota, counted over every manual snapshot in the region, not only Switchyard's. */
    quota: z
      .strictObject({
        limit: z.number().int().min(1).default(defaultSnapshotQuota.limit),
        /** Snapshots warn once the count reaches this share of the limit. */
        warnAtPercent: z.number().int().min(1).max(100).default(defaultSnapshotQuota.warnAtPercent),
      })
      .default(defaultSnapshotQuota),
    /** The restore drill: a snapshot restored to a scratch instance, queried, and thrown away. */
    drill: z
      .strictObject({
        schedule: recurringSchedule(defaultDrillSchedule).default(defaultDrillSchedule),
        /** Must succeed on the restored database for the drill to pass. */
        smokeQuery: z.string().min(1).default(defaultDrill.smokeQuery),
        timeoutMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .default(defaultDrill.timeoutMinutes),
        /**
         * On AWS, per database identifier, the Secrets Manager secret with its master login (JSON `username`,
         * `password`, optionally `dbname`) the smoke query logs in with: a restored instance keeps the master
         * password the source had when the snapshot was taken. Locally the embedded server's superuser is used.
         */
        masterSecrets: z.record(z.string().min(1), z.string().min(1)).default({}),
        /** The drill instance's class; default: the source instance's. */
        instanceClass: z
          .string()
          .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "expected an instance class such as db.t4g.micro")
          .optional(),
        /** The drill instance's DB subnet group; default: the source instance's. */
        subnetGroupName: z.string().min(1).optional(),
        /** The drill instance's VPC security groups; default: the source instance's. */
        securityGroupIds: z
          .array(z.string().regex(/^sg-[0-9a-f]+$/, "expected a security group id sg-…"))
          .optional(),
      })
      .default(defaultDrill),
  })
  .default({
    schedule: defaultSnapshotSchedule,
    selector: defaultSnapshotSelector,
    retentionDays: 7,
    minCount: 3,
    maxConcurrency: 2,
    waitTimeoutMinutes: 60,
    pollIntervalSeconds: 30,
    quota: defaultSnapshotQuota,
    drill: defaultDrill,
  });

/** The tags a local database's instance carries unless it lists its own: opted into the scheduled snapshots. */
const defaultLocalDatabaseTags = { [defaultSnapshotSelector.tagKey]: defaultSnapshotSelector.tagValue };

const localDatabaseSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "expected a PostgreSQL database name"),
    user: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "expected a PostgreSQL role name"),
    secret: z.string().min(1),
    /** The RDS-style identifier the local snapshot service shows; default: `name` with `_` as `-`. */
    instance: z
      .string()
      .max(maxRdsIdentifierLength)
      .regex(rdsIdentifierPattern, rdsIdentifierMessage)
      .optional(),
    /** The instance's tags, matched against `snapshots.selector` as RDS's would be. */
    tags: z
      .record(z.string().min(1).max(maxTagKeyLength), z.string().max(maxTagValueLength))
      .default(defaultLocalDatabaseTags),
  })
  .transform((database, ctx) => {
    const instance = database.instance ?? database.name.replaceAll("_", "-");
    // A PostgreSQL name may start or end with `_` or hold `__`, none of which makes an RDS identifier.
    if (!rdsIdentifierPattern.test(instance)) {
      ctx.addIssue({
        code: "custom",
        path: ["instance"],
        message: `"${database.name}" with _ as - is "${instance}", not an RDS identifier (a letter first, then letters, digits and single hyphens); set instance`,
      });
      return z.NEVER;
    }
    return { ...database, instance };
  });

const duplicates = (values: readonly string[]): string[] =>
  [...new Set(values.filter((v, i) => values.indexOf(v) !== i))].sort();

/** The whole document. Cross-field rules (unique names, distinct values files) are checked here too. */
export const configSchema = z
  .strictObject({
    gitops: z.strictObject({
      repository: z.string().regex(githubRepositoryPattern, "expected a GitHub repository as owner/name"),
      branch: z.string().min(1).default("main"),
    }),
    aws: z
      .strictObject({
        region: z.string().regex(awsRegionPattern, "expected an AWS region such as eu-west-1").optional(),
        account: z
          .string()
          .regex(/^\d{12}$/, "expected a 12-digit AWS account id")
          .optional(),
      })
      // Without a region, `cdk deploy` uses the CLI profile's and the local runtime us-east-1.
      .default({}),
    promotion: z
      .strictObject({
        /** How long a promotion waits for Argo CD to report Synced + Healthy at the new revision. */
        syncTimeoutMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .default(15),
        /** How often it asks Argo CD meanwhile. */
        pollIntervalSeconds: z.number().int().min(0).max(300).default(10),
        /** How long a gated promotion waits for its pre-change snapshot to become available. */
        snapshotTimeoutMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .default(60),
        /** What a gated promotion does while its service is frozen. */
        freeze: z
          .strictObject({
            /** `wait`: hold until the freeze lifts (up to `maxWaitHours`); `fail`: end at once with the reason. */
            action: z.enum(["wait", "fail"]).default("wait"),
            /** How often a waiting promotion looks again. */
            pollIntervalSeconds: z.number().int().min(1).max(3600).default(60),
            maxWaitHours: z
              .number()
              .positive()
              .max(24 * 7)
              .default(24),
          })
          .default({ action: "wait", pollIntervalSeconds: 60, maxWaitHours: 24 }),
      })
      .default({
        syncTimeoutMinutes: 15,
        pollIntervalSeconds: 10,
        snapshotTimeoutMinutes: 60,
        freeze: { action: "wait", pollIntervalSeconds: 60, maxWaitHours: 24 },
      }),
    /** The rollout after a secret rotation: External Secrets re-sync, then one Deployment restart at a time. */
    rollout: z
      .strictObject({
        /** How long External Secrets may take to copy the new version into the Kubernetes Secret. */
        syncTimeoutMinutes: z.number().positive().max(60).default(5),
        /** How long one restarted Deployment may take until every replica is updated, ready and available. */
        rolloutTimeoutMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .default(15),
        /** How often the rollout looks at the ExternalSecret and at the Deployment meanwhile. */
        pollIntervalSeconds: z.number().int().min(0).max(300).default(5),
      })
      .default({ syncTimeoutMinutes: 5, rolloutTimeoutMinutes: 15, pollIntervalSeconds: 5 }),
    /** Approval requests for gated environments: the e-mails and their links. */
    approvals: z
      .strictObject({
        /** The From address of approval e-mails (an SES-verified identity on AWS). */
        sender: z.string().regex(emailPattern, "expected an e-mail address").default("switchyard@localhost"),
        /** Secret holding the HMAC key that signs approval links. */
        linkKeySecret: z.string().min(1).default("switchyard/approval-link-key"),
        /** Base URL of the approval pages in e-mails; default: the API's own URL (locally the runtime's). */
        baseUrl: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
      })
      .default({ sender: "switchyard@localhost", linkKeySecret: "switchyard/approval-link-key" }),
    github: z
      .strictObject({
        /** Secret (name in Secrets Manager / the local store) holding the webhook's HMAC secret. */
        webhookSecret: z.string().min(1).default("switchyard/github-webhook"),
        /** Secret holding the token the GitOps writer commits with. */
        tokenSecret: z.string().min(1).default("switchyard/github-token"),
      })
      .default({ webhookSecret: "switchyard/github-webhook", tokenSecret: "switchyard/github-token" }),
    /** Settings of the local runtime only; ignored by the CDK app. */
    local: z
      .strictObject({
        argo: z
          .strictObject({
            /** Seconds the simulated Argo CD takes to sync and become healthy. */
            syncDelaySeconds: z.number().min(0).max(3600).default(2),
            /**
             * What comes up Degraded after a sync (demos and tests of failure paths): a service name (any image), or
             * `{ service, tag?, digest?, environment? }` for one image and/or one environment.
             */
            degraded: z
              .array(
                z.union([
                  z.string().min(1),
                  z.strictObject({
                    service: z.string().min(1),
                    tag: z.string().min(1).optional(),
                    digest: z
                      .string()
                      .regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 hex>")
                      .optional(),
                    environment: z.string().min(1).optional(),
                  }),
                ]),
              )
              .default([]),
          })
          .default({ syncDelaySeconds: 2, degraded: [] }),
        /**
         * The embedded PostgreSQL holding the sample platform's databases, started when a database is listed. Each
         * database is owned by `user`, whose credentials the local secret store keeps under `secret`.
         */
        postgres: z
          .strictObject({
            /** 0 picks a free port. */
            port: z.number().int().min(0).max(65535).default(0),
            databases: z.array(localDatabaseSchema).default([]),
          })
          .default({ port: 0, databases: [] }),
      })
      .default({ argo: { syncDelaySeconds: 2, degraded: [] }, postgres: { port: 0, databases: [] } }),
    environments: z.array(environmentSchema).min(1, "expected at least one environment"),
    /** Secrets Switchyard rotates, and the workloads that must restart on the new version. */
    secrets: z.array(secretSchema).default([]),
    /** Scheduled RDS snapshots, their retention, the cross-region copy and the restore drill. */
    snapshots: snapshotsSchema,
    incidents: incidentsSchema,
    services: z.array(serviceSchema).min(1, "expected at least one service"),
  })
  .superRefine((config, ctx) => {
    for (const env of duplicates(config.environments.map((e) => e.name))) {
      ctx.addIssue({
        code: "custom",
        path: ["environments"],
        message: `environment "${env}" is defined twice`,
      });
    }
    for (const secret of duplicates(config.secrets.map((s) => s.name))) {
      ctx.addIssue({ code: "custom", path: ["secrets"], message: `secret "${secret}" is defined twice` });
    }
    config.secrets.forEach((secret, index) => {
      secret.consumers.forEach((consumer, c) => {
        if (consumer.service !== undefined && !config.services.some((s) => s.name === consumer.service)) {
          ctx.addIssue({
            code: "custom",
            path: ["secrets", index, "consumers", c, "service"],
            message: `service "${consumer.service}" is not in services`,
          });
        }
      });
    });
    for (const instance of duplicates(config.local.postgres.databases.map((d) => d.instance))) {
      ctx.addIssue({
        code: "custom",
        path: ["local", "postgres", "databases"],
        message: `instance "${instance}" is used by two databases`,
      });
    }
    for (const svc of duplicates(config.services.map((s) => s.name))) {
      ctx.addIssue({ code: "custom", path: ["services"], message: `service "${svc}" is defined twice` });
    }
    config.services.forEach((service, index) => {
      const files = config.environments.map((env) => valuesFile(service, env.name));
      if (config.environments.length > 1 && duplicates(files).length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["services", index, "values"],
          message: "every environment must have its own values file: use {environment} in the path",
        });
      }
    });
  });

export type SwitchyardConfig = z.infer<typeof configSchema>;
export type ServiceConfig = SwitchyardConfig["services"][number];
export type EnvironmentConfig = SwitchyardConfig["environments"][number];
export type TagPolicy = ServiceConfig["policy"];
export type SecretConfig = SwitchyardConfig["secrets"][number];
export type SecretConsumer = SecretConfig["consumers"][number];
export type SnapshotsConfig = SwitchyardConfig["snapshots"];
export type LocalDatabaseConfig = SwitchyardConfig["local"]["postgres"]["databases"][number];

const fill = (templateText: string, values: Record<string, string>): string =>
  templateText.replace(templatePlaceholderPattern, (_, key: string) => values[key] ?? `{${key}}`);

/**
 * The GitOps values file of a service in one environment.
 * @example valuesFile(checkout, "staging") // "envs/staging/checkout/values.yaml"
 */
export const valuesFile = (service: Pick<ServiceConfig, "name" | "values">, environment: string): string =>
  fill(service.values, { service: service.name, environment });

/**
 * The Argo CD Application of a service in one environment.
 * @example argoApplication(production, "checkout") // "checkout-production"
 */
export const argoApplication = (environment: EnvironmentConfig, service: string): string =>
  fill(environment.argocd.application, { service, environment: environment.name });

/** What the simulated Argo CD brings up Degraded (`local.argo.degraded`). */
export type DegradedRule = SwitchyardConfig["local"]["argo"]["degraded"][number];

/**
 * Whether a `local.argo.degraded` entry matches an application running an image.
 *
 * @example degradedMatches([{ service: "checkout", tag: "1.4.2", environment: "production" }], { service: "checkout", environment: "production", image: { tag: "1.4.2", digest } }) // true
 */
export const degradedMatches = (
  rules: readonly DegradedRule[],
  subject: { service: string; environment: string; image?: { tag?: string; digest?: string } },
): boolean =>
  rules.some((rule) =>
    typeof rule === "string"
      ? rule === subject.service
      : rule.service === subject.service &&
        (rule.environment === undefined || rule.environment === subject.environment) &&
        (rule.tag === undefined || rule.tag === subject.image?.tag) &&
        (rule.digest === undefined || rule.digest === subject.image?.digest),
  );

/** The hours a rotated signing secret's previous value still verifies: its `rotation.overlapHours`, 0 unless rotated. */
export const overlapHoursOf = (config: Pick<SwitchyardConfig, "secrets">, secretName: string): number =>
  config.secrets.find((s) => s.name === secretName)?.rotation.overlapHours ?? 0;

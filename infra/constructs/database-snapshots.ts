// The database-snapshot capability: who may snapshot, copy, prune and restore which RDS resources, and with what tags.

import { ArnFormat, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct, type IConstruct } from "constructs";
import type { SwitchyardConfig } from "../../functions/core/config.ts";
import { drillScratchPrefix } from "../../functions/core/drill-names.ts";
import { ConfigError } from "../../functions/core/errors.ts";
import { snapshotCreator, snapshotTagKeys } from "../../functions/core/snapshot-names.ts";
import type { FunctionDefinition, FunctionName } from "../../functions/registry.ts";
import type { WorkflowName } from "../../workflows/registry.ts";
import { nagResourceText } from "./nag-findings.ts";
import { extraCaCertsVariable, rdsCaBundlePath, referencedSecretArn } from "./secret-rotation.ts";
import { grantStart, type StartedWorkflow } from "./workflow-starts.ts";
import type { WorkflowPolicy } from "./workflows.ts";

/**
 * The default of `snapshots.selector`: the tag a database's owner puts on an RDS DB instance or Aurora DB cluster to
 * let Switchyard snapshot it. IAM checks the configured tag on every CreateDBSnapshot/CreateDBClusterSnapshot, so
 * naming a database in switchyard.yaml or in a request is not enough on its own.
 */
export const backupOptInTag = { key: "switchyard:backup", value: "true" } as const;

/** The names `snapshotName` (functions/core/snapshot-names.ts) gives every snapshot Switchyard takes. */
export const snapshotNamePattern = "switchyard-*";

/** The names `drillScratchName` (functions/core/drill-names.ts) gives every restore drill's throwaway instance. */
export const drillInstancePattern = `${drillScratchPrefix}*`;

/**
 * The tags `RdsSnapshotService.restoreForDrill` puts on a drill instance (besides `switchyard:created-by`): IAM
 * requires them on the restore, and only an instance that carries them may be deleted.
 */
export const drillTagKeys = {
  purpose: "switchyard:purpose",
  snapshot: "switchyard:drill-snapshot",
  source: "switchyard:drill-source",
} as const;
/** The value of `switchyard:purpose` on a drill instance. */
export const drillPurpose = "restore-drill";

/** The RDS actions of `RdsSnapshotService` and of the snapshot workflows' AWS SDK integrations. */
export const snapshotActions = {
  create: ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot"],
  /** Creating, copying and restoring with tags is authorized as AddTagsToResource too. */
  tag: ["rds:AddTagsToResource"],
  describe: ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"],
  describeDatabases: ["rds:DescribeDBInstances", "rds:DescribeDBClusters"],
  delete: ["rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot"],
  copy: ["rds:CopyDBSnapshot", "rds:CopyDBClusterSnapshot"],
  restore: ["rds:RestoreDBInstanceFromDBSnapshot"],
  deleteDrill: ["rds:DeleteDBInstance"],
} as const;

/** What RDS needs of the KMS key a disaster-recovery copy is encrypted with (`snapshots.copyTo.kmsKeyArn`). */
export const copyKeyActions = ["kms:CreateGrant", "kms:DescribeKey"] as const;

/** The function that logs in to a restored drill instance; it runs where the rotation function runs. */
export const smokeQueryFunction = "run-smoke-query" satisfies FunctionName;

/** What one function of the capability reaches besides its logs and its bus (which the generic constructs grant). */
export interface SnapshotNeeds {
  /** Lists DB instances and Aurora clusters (DescribeDBInstances, DescribeDBClusters), which RDS authorizes on `*`. */
  listsDatabases?: true;
  /** Lists and reads snapshots (DescribeDBSnapshots, DescribeDBClusterSnapshots) on `*`. */
  listsSnapshots?: true;
  /** Creates snapshots of the databases carrying `snapshots.selector`'s tag, as `snapshot-before-change` does. */
  creates?: true;
  /** Copies Switchyard's snapshots to `snapshots.copyTo` (only when configured). */
  copies?: true;
  /** Deletes Switchyard's snapshots, and only those. */
  prunes?: true;
  /** Restores Switchyard's snapshots into drill instances. */
  restoresDrills?: true;
  /** Reads a drill instance and logs in to it with the configured master secrets. */
  queriesDrills?: true;
  /** Starts executions of these workflows. */
  startsWorkflows?: readonly StartedWorkflow[];
}

/**
 * Each function's needs, as its use case's calls on `SnapshotService` show them (functions/core/snapshot-run.ts,
 * restore-drill.ts, handlers/snapshots.ts) and the adapter's doc comments map them to RDS calls: `listDatabases` →
 * DescribeDBInstances + DescribeDBClusters; `listSnapshots`, `listManualSnapshots` and every lookup by name →
 * DescribeDBSnapshots + DescribeDBClusterSnapshots; `createSnapshot` → Create*Snapshot with tags (and a lookup after a
 * repeat); `copySnapshot` → a lookup, then Copy*Snapshot with CopyTags in the target region; `deleteSnapshot` → a
 * lookup, then Delete*Snapshot; `restoreForDrill` → a lookup, DescribeDBInstances of the source, then
 * RestoreDBInstanceFromDBSnapshot with tags; `runSmokeQuery` → DescribeDBInstances of the drill instance, then the
 * master secret. finish-snapshot and finish-restore-drill only publish, which `publishesEvents` grants; deleting a
 * drill instance and polling snapshots and instances is the workflows' own (`snapshotWorkflowPolicies`).
 */
export const snapshotNeeds = {
  "plan-snapshots": { listsDatabases: true, listsSnapshots: true },
  "create-snapshot": { creates: true },
  "copy-snapshot": { copies: true },
  "prune-snapshots": { listsSnapshots: true, prunes: true },
  "plan-restore-drills": { listsDatabases: true, listsSnapshots: true },
  "start-restore-drill": { listsDatabases: true, listsSnapshots: true, restoresDrills: true },
  "run-smoke-query": { queriesDrills: true },
  snapshots: {
    listsDatabases: true,
    listsSnapshots: true,
    startsWorkflows: ["rds-snapshot", "restore-drill"],
  },
} as const satisfies Partial<Record<FunctionName, SnapshotNeeds>>;

/** `snapshots.selector` as the tag IAM checks. */
export const optInTagOf = (config: Pick<SwitchyardConfig, "snapshots">): { key: string; value: string } => ({
  key: config.snapshots.selector.tagKey,
  value: config.snapshots.selector.tagValue,
});

/** An RDS ARN in the stack's account, in the stack's region unless another is named. */
const rdsArn = (scope: IConstruct, resource: string, resourceName: string, region?: string): string =>
  Stack.of(scope).formatArn({
    service: "rds",
    resource,
    resourceName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    ...(region !== undefined && { region }),
  });

/** Acknowledges cdk-nag's finding on each wildcard resource of `policy` with the reason given for it. */
const acknowledgeWildcards = (
  policy: IConstruct,
  wildcards: readonly (readonly [resource: string, reason: string])[],
): void => {
  for (const [resource, reason] of wildcards) {
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResourceText(policy, resource)}]`,
      reason,
    });
  }
};

const snapshotNameReason =
  "Snapshot names carry the database and the time they are taken, so they are known only as the switchyard- prefix";

/**
 * Snapshots of opted-in databases only, under Switchyard's names and tags, in a policy of its own on `fn`'s role:
 *
 * - create on DB instances and clusters tagged with the configured `snapshots.selector` (`aws:ResourceTag`, which the
 *   `db` and `cluster` resource types support);
 * - create and tag only snapshots named `switchyard-*` whose request carries `switchyard:created-by=switchyard`
 *   and no tag keys but Switchyard's (`aws:RequestTag`, `aws:TagKeys`, supported on the `snapshot` and
 *   `cluster-snapshot` resources of both Create actions and AddTagsToResource);
 * - describe everywhere: listings without an identifier are authorized on `*`, and the adapter drops every
 *   snapshot without Switchyard's tag itself.
 *
 * A policy of its own, so its `Resource: *` is acknowledged for exactly these two Describe actions and not folded
 * into the default policy's X-Ray acknowledgement.
 *
 * @example grantCreateSnapshots(this, "SnapshotBeforeChange", fns.get("snapshot-before-change"), optInTagOf(config));
 */
export const grantCreateSnapshots = (
  scope: Construct,
  fnId: string,
  fn: lambda.Function,
  optIn: { key: string; value: string },
): iam.Policy => {
  const databases = [rdsArn(scope, "db", "*"), rdsArn(scope, "cluster", "*")];
  const snapshots = [
    rdsArn(scope, "snapshot", snapshotNamePattern),
    rdsArn(scope, "cluster-snapshot", snapshotNamePattern),
  ];
  const policy = new iam.Policy(scope, `${fnId}DatabaseSnapshots`, {
    roles: [fn.role!],
    statements: [
      new iam.PolicyStatement({
        actions: [...snapshotActions.create],
        resources: databases,
        conditions: { StringEquals: { [`aws:ResourceTag/${optIn.key}`]: optIn.value } },
      }),
      new iam.PolicyStatement({
        actions: [...snapshotActions.create, ...snapshotActions.tag],
        resources: snapshots,
        conditions: {
          StringEquals: { [`aws:RequestTag/${snapshotTagKeys.createdBy}`]: snapshotCreator },
          "ForAllValues:StringEquals": { "aws:TagKeys": Object.values(snapshotTagKeys) },
        },
      }),
      new iam.PolicyStatement({ actions: [...snapshotActions.describe], resources: ["*"] }),
    ],
  });
  acknowledgeWildcards(policy, [
    ...databases.map(
      (database) =>
        [
          database,
          `Databases are opted in by their owners with the ${optIn.key}=${optIn.value} tag (snapshots.selector), ` +
            "which an aws:ResourceTag condition checks on every create, rather than listed by name: an instance or " +
            "cluster without the tag is denied whatever switchyard.yaml or a request names.",
        ] as const,
    ),
    ...snapshots.map(
      (snapshot) =>
        [
          snapshot,
          `${snapshotNameReason}; creating and tagging also requires ${snapshotTagKeys.createdBy}=${snapshotCreator} ` +
            "and no tag keys but Switchyard's in the request.",
        ] as const,
    ),
    [
      "*",
      "Only rds:DescribeDBSnapshots and rds:DescribeDBClusterSnapshots: listing snapshots without naming one is " +
        "authorized on *, and they only read metadata; the adapter keeps only snapshots tagged as Switchyard's.",
    ],
  ]);
  return policy;
};

/**
 * What the snapshot workflows' AWS SDK integrations call, by workflow: rds-snapshot polls its snapshots
 * (DescribeDBSnapshots, DescribeDBClusterSnapshots, always by a `switchyard-*` name), restore-drill polls its drill
 * instance (DescribeDBInstances by a `switchyard-drill-*` name) and deletes it — DeleteDBInstance only on
 * `switchyard-drill-*` instances tagged `switchyard:purpose=restore-drill` and `switchyard:created-by=switchyard`
 * (`aws:ResourceTag`, which the `db` resource type supports), so no other database can be deleted whatever the
 * execution's input says. Other workflows: none.
 *
 * @example new Workflows(this, "Workflows", { ..., policies: (name) => snapshotWorkflowPolicies(this, name) });
 */
export const snapshotWorkflowPolicies = (scope: IConstruct, workflow: string): WorkflowPolicy[] => {
  if (workflow === ("rds-snapshot" satisfies WorkflowName)) {
    const snapshots = rdsArn(scope, "snapshot", snapshotNamePattern);
    const clusterSnapshots = rdsArn(scope, "cluster-snapshot", snapshotNamePattern);
    const reason = `${snapshotNameReason}; the workflow only reads the status of the snapshot it started.`;
    return [
      {
        id: "DatabaseAccess",
        statements: [
          new iam.PolicyStatement({ actions: ["rds:DescribeDBSnapshots"], resources: [snapshots] }),
          new iam.PolicyStatement({
            actions: ["rds:DescribeDBClusterSnapshots"],
            resources: [clusterSnapshots],
          }),
        ],
        wildcards: [
          [snapshots, reason],
          [clusterSnapshots, reason],
        ],
      },
    ];
  }
  if (workflow === ("restore-drill" satisfies WorkflowName)) {
    const drills = rdsArn(scope, "db", drillInstancePattern);
    return [
      {
        id: "DatabaseAccess",
        statements: [
          new iam.PolicyStatement({ actions: ["rds:DescribeDBInstances"], resources: [drills] }),
          new iam.PolicyStatement({
            actions: [...snapshotActions.deleteDrill],
            resources: [drills],
            conditions: { StringEquals: drillInstanceTagged("ResourceTag") },
          }),
        ],
        wildcards: [
          [
            drills,
            "Drill instances are named switchyard-drill-<database>-<time> when the drill starts, so they are known " +
              `only by that prefix; deleting also requires the ${drillTagKeys.purpose}=${drillPurpose} and ` +
              `${snapshotTagKeys.createdBy}=${snapshotCreator} tags the restore put on them.`,
          ],
        ],
      },
    ];
  }
  return [];
};

/** The tags that make an instance a drill instance, as `aws:RequestTag/…` or `aws:ResourceTag/…` conditions. */
const drillInstanceTagged = (kind: "RequestTag" | "ResourceTag"): Record<string, string> => ({
  [`aws:${kind}/${drillTagKeys.purpose}`]: drillPurpose,
  [`aws:${kind}/${snapshotTagKeys.createdBy}`]: snapshotCreator,
});

/** Secrets Manager's characters for a secret name, and `!` of the secrets RDS manages (`rds!db-…`). */
const secretNamePattern = /^[A-Za-z0-9/_+=.@!-]{1,512}$/;
/** RDS's characters for a DB subnet group name. */
const subnetGroupNamePattern = /^[A-Za-z0-9._ -]{1,255}$/;

/**
 * Refuses, before anything is bundled, `snapshots:` settings that would widen or break an IAM policy: a master secret
 * or subnet group name with characters IAM reads as wildcards (`*`, `?`) or AWS refuses. The stack calls it first.
 *
 * @example validateSnapshotSettings(loadConfig("switchyard.yaml"), "switchyard.yaml");
 */
export const validateSnapshotSettings = (
  config: Pick<SwitchyardConfig, "snapshots">,
  configFile: string,
): void => {
  const { drill } = config.snapshots;
  for (const [database, secret] of Object.entries(drill.masterSecrets)) {
    if (!secretNamePattern.test(secret)) {
      throw new ConfigError(
        `Invalid configuration in ${configFile}: snapshots.drill.masterSecrets.${database} is "${secret}"; ` +
          "expected a Secrets Manager secret name (letters, digits and / _ + = . @ -)",
      );
    }
  }
  if (drill.subnetGroupName !== undefined && !subnetGroupNamePattern.test(drill.subnetGroupName)) {
    throw new ConfigError(
      `Invalid configuration in ${configFile}: snapshots.drill.subnetGroupName is "${drill.subnetGroupName}"; ` +
        "expected a DB subnet group name (letters, digits, spaces and . _ -)",
    );
  }
};

/** What the capability is wired to. */
export interface DatabaseSnapshotsProps {
  /** The validated switchyard.yaml: `snapshots:`. */
  config: SwitchyardConfig;
  /** Where `config` was read from, for error messages. */
  configFile: string;
  /** The function registry, for construct ids. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** The function registered under a name. */
  function: (name: string) => lambda.Function;
  /** The state machine of a registry workflow. */
  workflow: (name: WorkflowName) => sfn.StateMachine;
}

/**
 * Grants each function of `snapshotNeeds` exactly its part of RDS, KMS, Secrets Manager and Step Functions, in one
 * policy of its own per function (starting workflows goes to the default policy, as the promotion functions' does),
 * and sets the matching variables in the same call. The schedules that start the two workflows are `Schedules`'; what
 * the workflows call themselves is `snapshotWorkflowPolicies`.
 *
 * Encrypted databases need nothing more while they use the AWS managed key `aws/rds`. Under a customer managed key,
 * restoring a drill needs kms:CreateGrant and kms:DescribeKey on that key for start-restore-drill (in the key policy,
 * or in IAM when the key policy delegates to IAM), and copying needs the same on the source key; master secrets under
 * a customer managed key need kms:Decrypt for run-smoke-query.
 *
 * @example
 * new DatabaseSnapshots(this, "DatabaseSnapshots", {
 *   config, configFile, definitions, function: (n) => fns.get(n), workflow: (n) => wfs.get(n),
 * });
 */
export class DatabaseSnapshots extends Construct {
  /** Each function's database policy, by registry name; none for a function that needs nothing here. */
  readonly policies = new Map<string, iam.Policy>();

  constructor(scope: Construct, id: string, props: DatabaseSnapshotsProps) {
    super(scope, id);
    validateSnapshotSettings(props.config, props.configFile);
    for (const [name, needs] of Object.entries(snapshotNeeds) as [FunctionName, SnapshotNeeds][]) {
      const fn = props.function(name);
      const fnId = props.definitions[name]!.id;
      if (needs.creates)
        this.policies.set(name, grantCreateSnapshots(this, fnId, fn, optInTagOf(props.config)));
      const access = this.access(needs, props.config);
      if (access.statements.length > 0) {
        const policy = new iam.Policy(this, `${fnId}DatabaseAccess`, {
          roles: [fn.role!],
          statements: access.statements,
        });
        acknowledgeWildcards(policy, access.wildcards);
        this.policies.set(name, policy);
      }
      if (needs.queriesDrills) fn.addEnvironment(extraCaCertsVariable, rdsCaBundlePath);
      for (const workflow of needs.startsWorkflows ?? []) grantStart(fn, workflow, props.workflow(workflow));
    }
  }

  /** The statements of one function's needs besides creating snapshots, and the reasons for their wildcards. */
  private access(
    needs: SnapshotNeeds,
    config: SwitchyardConfig,
  ): { statements: iam.PolicyStatement[]; wildcards: (readonly [string, string])[] } {
    const statements: iam.PolicyStatement[] = [];
    const wildcards: (readonly [string, string])[] = [];
    const listed = [
      ...(needs.listsDatabases ? snapshotActions.describeDatabases : []),
      ...(needs.listsSnapshots || needs.copies ? snapshotActions.describe : []),
    ];
    const copyTo = needs.copies ? config.snapshots.copyTo : undefined;
    if (needs.copies && !copyTo) return { statements, wildcards };
    if (listed.length > 0) {
      statements.push(new iam.PolicyStatement({ actions: listed, resources: ["*"] }));
      wildcards.push([
        "*",
        `Only ${listed.join(", ")}: listing databases and snapshots without naming one is authorized on *, and ` +
          "they only read metadata; which databases are snapshotted is decided by the opt-in tag IAM checks on " +
          "create, and the adapter keeps only snapshots tagged as Switchyard's.",
      ]);
    }
    if (needs.prunes) this.prune(statements, wildcards);
    if (copyTo) this.copy(copyTo, statements, wildcards);
    if (needs.restoresDrills) this.restore(config, statements, wildcards);
    if (needs.queriesDrills) this.query(config, statements, wildcards);
    return { statements, wildcards };
  }

  /** Delete*Snapshot only on `switchyard-*` snapshots that carry `switchyard:created-by=switchyard`. */
  private prune(statements: iam.PolicyStatement[], wildcards: (readonly [string, string])[]): void {
    const snapshots = [
      rdsArn(this, "snapshot", snapshotNamePattern),
      rdsArn(this, "cluster-snapshot", snapshotNamePattern),
    ];
    statements.push(
      new iam.PolicyStatement({
        actions: [...snapshotActions.delete],
        resources: snapshots,
        conditions: { StringEquals: { [`aws:ResourceTag/${snapshotTagKeys.createdBy}`]: snapshotCreator } },
      }),
    );
    for (const snapshot of snapshots) {
      wildcards.push([
        snapshot,
        `${snapshotNameReason}; deleting also requires the ${snapshotTagKeys.createdBy}=${snapshotCreator} tag ` +
          "(aws:ResourceTag), so a snapshot someone else took under such a name is never deleted.",
      ]);
    }
  }

  /**
   * Copy*Snapshot of `switchyard-*` snapshots from this region (the SDK presigns the source-region request with the
   * function's own credentials) to the same names in `copyTo.region`, AddTagsToResource there (CopyTags), and
   * kms:CreateGrant/DescribeKey on `copyTo.kmsKeyArn` only when RDS asks on the function's behalf (kms:ViaService).
   */
  private copy(
    copyTo: NonNullable<SwitchyardConfig["snapshots"]["copyTo"]>,
    statements: iam.PolicyStatement[],
    wildcards: (readonly [string, string])[],
  ): void {
    const inRegion = (region?: string) => [
      rdsArn(this, "snapshot", snapshotNamePattern, region),
      rdsArn(this, "cluster-snapshot", snapshotNamePattern, region),
    ];
    const sources = inRegion();
    const copies = inRegion(copyTo.region);
    statements.push(
      new iam.PolicyStatement({ actions: [...snapshotActions.copy], resources: [...sources, ...copies] }),
      new iam.PolicyStatement({ actions: [...snapshotActions.tag], resources: copies }),
    );
    if (copyTo.kmsKeyArn !== undefined) {
      statements.push(
        new iam.PolicyStatement({
          actions: [...copyKeyActions],
          resources: [copyTo.kmsKeyArn],
          conditions: { StringEquals: { "kms:ViaService": `rds.${copyTo.region}.amazonaws.com` } },
        }),
      );
    }
    for (const snapshot of [...sources, ...copies]) {
      wildcards.push([
        snapshot,
        `${snapshotNameReason}; a copy keeps its source's name in ${copyTo.region} (snapshots.copyTo), and only ` +
          "those names may be copied or tagged there.",
      ]);
    }
  }

  /**
   * RestoreDBInstanceFromDBSnapshot from `switchyard-*` snapshots into `switchyard-drill-*` instances, only when the
   * request tags the instance `switchyard:purpose=restore-drill` and `switchyard:created-by=switchyard` with no other
   * tag keys than a drill's and keeps it private (`rds:PubliclyAccessible`); the same tags for AddTagsToResource. RDS
   * also authorizes the option group, the parameter group and the subnet group the instance joins (the snapshot's and
   * the engine's defaults, named by engine and version, and the configured or source's subnet group).
   */
  private restore(
    config: SwitchyardConfig,
    statements: iam.PolicyStatement[],
    wildcards: (readonly [string, string])[],
  ): void {
    const drills = rdsArn(this, "db", drillInstancePattern);
    const snapshots = rdsArn(this, "snapshot", snapshotNamePattern);
    const optionGroups = rdsArn(this, "og", "*");
    const parameterGroups = rdsArn(this, "pg", "*");
    const subnetGroup = rdsArn(this, "subgrp", config.snapshots.drill.subnetGroupName ?? "*");
    const tagged = {
      StringEquals: drillInstanceTagged("RequestTag"),
      "ForAllValues:StringEquals": {
        "aws:TagKeys": [snapshotTagKeys.createdBy, ...Object.values(drillTagKeys)],
      },
    };
    statements.push(
      new iam.PolicyStatement({
        actions: [...snapshotActions.restore],
        resources: [drills, snapshots, optionGroups, parameterGroups, subnetGroup],
        conditions: { ...tagged, Bool: { "rds:PubliclyAccessible": "false" } },
      }),
      new iam.PolicyStatement({ actions: [...snapshotActions.tag], resources: [drills], conditions: tagged }),
    );
    wildcards.push(
      [
        drills,
        "Drill instances are named switchyard-drill-<database>-<time> when the drill starts, so they are known only " +
          `by that prefix; restoring and tagging also require the ${drillTagKeys.purpose}=${drillPurpose} and ` +
          `${snapshotTagKeys.createdBy}=${snapshotCreator} tags, no other tag keys, and no public access.`,
      ],
      [snapshots, `${snapshotNameReason}; only Switchyard's own snapshots are restored in a drill.`],
      [
        optionGroups,
        "A restored instance joins its snapshot's option group, whose name depends on the engine and version of " +
          "each database (default:postgres-16 and the like); RestoreDBInstanceFromDBSnapshot authorizes it, and " +
          "the grant allows no change to any option group.",
      ],
      [
        parameterGroups,
        "A restored instance gets the default DB parameter group of its engine and version, named after them " +
          "(default.postgres16 and the like); RestoreDBInstanceFromDBSnapshot authorizes it, and the grant allows " +
          "no change to any parameter group.",
      ],
    );
    if (config.snapshots.drill.subnetGroupName === undefined) {
      wildcards.push([
        subnetGroup,
        "Without snapshots.drill.subnetGroupName a drill instance joins its source database's DB subnet group, which " +
          "differs per database and is only known at run time; set it to name one group here.",
      ]);
    }
  }

  /** DescribeDBInstances of drill instances, and GetSecretValue on exactly the configured master secrets. */
  private query(
    config: SwitchyardConfig,
    statements: iam.PolicyStatement[],
    wildcards: (readonly [string, string])[],
  ): void {
    const drills = rdsArn(this, "db", drillInstancePattern);
    statements.push(new iam.PolicyStatement({ actions: ["rds:DescribeDBInstances"], resources: [drills] }));
    wildcards.push([
      drills,
      "Drill instances are named switchyard-drill-<database>-<time> when the drill starts, so they are known only " +
        "by that prefix; this reads their endpoint and tags (the adapter refuses an instance without the drill tags).",
    ]);
    const secrets = [...new Set(Object.values(config.snapshots.drill.masterSecrets))].sort();
    if (secrets.length > 0) {
      statements.push(
        new iam.PolicyStatement({
          actions: ["secretsmanager:GetSecretValue"],
          resources: secrets.map((name) => referencedSecretArn(this, name)),
        }),
      );
    }
  }
}

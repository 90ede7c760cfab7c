// The DynamoDB table behind the incident store, with grants that set its variable.

import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { incidentTableKeys } from "../../functions/adapters/aws/dynamodb-incident-store.ts";
import { envNames } from "../../functions/wiring/env.ts";
import { stringKey, tableDefaults } from "./promotion-tables.ts";

/**
 * How much of the incident table a function may touch: `read` lists and reads incidents, `update` also changes
 * them (status, level, timeline, the wait token), `open` also records new ones.
 */
export type IncidentTableAccess = "read" | "update" | "open";

/**
 * The DynamoDB actions behind the incident store's commands: `GetCommand`/`QueryCommand` to read, `UpdateCommand`
 * (alone, or two in a `TransactWriteCommand` when the TTL changes) to update, and for `open` a transaction of two
 * conditional `Put`s plus a `DeleteCommand` that frees a firing whose incident TTL already removed. IAM evaluates
 * each action of a transaction as the single-item action it is (there is no TransactWriteItems permission), and the
 * store sends no ConditionCheck, so dynamodb:ConditionCheckItem is not granted.
 */
export const incidentTableActions = {
  read: ["dynamodb:GetItem", "dynamodb:Query"],
  update: ["dynamodb:UpdateItem"],
  open: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
} as const;

const incidentIndexes = [
  incidentTableKeys.byStatusIndex,
  incidentTableKeys.byActiveFingerprintIndex,
] as const;

const projection = (index: (typeof incidentIndexes)[number]): Partial<dynamodb.GlobalSecondaryIndexProps> =>
  index.projection === "INCLUDE"
    ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.nonKeyAttributes] }
    : { projectionType: dynamodb.ProjectionType.KEYS_ONLY };

/**
 * The incident table (layout of `incidentTableKeys`: key `pk`, the `byStatus` index projecting the record and its
 * version, the sparse keys-only `byActiveFingerprint` index, TTL on `purgeAtEpochSeconds`). Neither index projects
 * the wait token. On-demand, with point-in-time recovery, encrypted with the AWS managed key and retained when the
 * stack goes, like the approval table: incidents and their timelines are what a post-incident review reads.
 *
 * @example
 * const table = new IncidentTable(this, "Table");
 * table.grant(fns.get("notify-incident"), "update");
 */
export class IncidentTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, "Incidents", {
      ...tableDefaults,
      partitionKey: stringKey(incidentTableKeys.partitionKey),
      timeToLiveAttribute: incidentTableKeys.timeToLive,
    });
    for (const index of incidentIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        ...projection(index),
      });
    }
  }

  /**
   * Lets `fn` read (get, query the table and both indexes), update, or also open incidents, and names the table in
   * its environment. Index ARNs are listed one by one rather than as `index/*`; writes go to the table only.
   */
  grant(fn: lambda.Function, access: IncidentTableAccess): void {
    const table = this.table.tableArn;
    const indexes = incidentIndexes.map((index) => `${table}/index/${index.indexName}`);
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...incidentTableActions.read], resources: [table, ...indexes] }),
    );
    const writes = [
      ...(access === "read" ? [] : incidentTableActions.update),
      ...(access === "open" ? incidentTableActions.open : []),
    ];
    if (writes.length > 0) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: writes, resources: [table] }));
    }
    fn.addEnvironment(envNames.incidentTable, this.table.tableName);
  }
}

// The DynamoDB tables behind the approval store and the freeze store, with grants that set their variables.

import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { approvalTableKeys } from "../../functions/adapters/aws/dynamodb-approval-store.ts";
import { freezeTableKeys } from "../../functions/adapters/aws/dynamodb-freeze-store.ts";
import { envNames } from "../../functions/wiring/env.ts";
import { stringKey, tableDefaults } from "./promotion-tables.ts";

/** How much of a table a function may touch. */
export type TableAccess = "read" | "readWrite";

/**
 * The DynamoDB actions behind the approval store's commands: `GetCommand`/`QueryCommand` to read, a conditional
 * `PutCommand` to create and a conditional `UpdateCommand` for everything after. It never deletes (TTL does), so
 * DeleteItem is not granted.
 */
export const approvalTableActions = {
  read: ["dynamodb:GetItem", "dynamodb:Query"],
  write: ["dynamodb:PutItem", "dynamodb:UpdateItem"],
} as const;

/**
 * The freeze store's: `QueryCommand` for a service's freezes and `ScanCommand` for all of them (a handful), then
 * `PutCommand` to set and `DeleteCommand` to lift one.
 */
export const freezeTableActions = {
  read: ["dynamodb:Query", "dynamodb:Scan"],
  write: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
} as const;

const approvalIndexes = [approvalTableKeys.byStateIndex, approvalTableKeys.byPromotionIndex] as const;

const projection = (index: (typeof approvalIndexes)[number]): Partial<dynamodb.GlobalSecondaryIndexProps> =>
  index.projection === "INCLUDE"
    ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.nonKeyAttributes] }
    : { projectionType: dynamodb.ProjectionType.KEYS_ONLY };

/**
 * The approval table (layout of `approvalTableKeys`: key `id`, the `byState` index projecting the record and its
 * version, the keys-only `byPromotion` index, TTL on `purgeAtEpochSeconds`) and the freeze table (`service` and
 * `id`, no index). Neither index projects the task token, so listing requests never reads one. Both on-demand, with
 * point-in-time recovery, encrypted with the AWS managed key, and retained when the stack goes: approvals are the
 * audit trail of production changes.
 *
 * @example
 * const tables = new ApprovalTables(this, "Tables");
 * tables.grantApprovals(fns.get("request-approval"), "readWrite");
 */
export class ApprovalTables extends Construct {
  readonly approvals: dynamodb.Table;
  readonly freezes: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.approvals = new dynamodb.Table(this, "Approvals", {
      ...tableDefaults,
      partitionKey: stringKey(approvalTableKeys.partitionKey),
      timeToLiveAttribute: approvalTableKeys.timeToLive,
    });
    for (const index of approvalIndexes) {
      this.approvals.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        ...projection(index),
      });
    }

    this.freezes = new dynamodb.Table(this, "Freezes", {
      ...tableDefaults,
      partitionKey: stringKey(freezeTableKeys.partitionKey),
      sortKey: stringKey(freezeTableKeys.sortKey),
    });
  }

  /**
   * Lets `fn` read (get, query the table and both indexes) or also write the approval table, and names the table
   * in its environment. Index ARNs are listed one by one rather than as `index/*`.
   */
  grantApprovals(fn: lambda.Function, access: TableAccess): void {
    const table = this.approvals.tableArn;
    const indexes = approvalIndexes.map((index) => `${table}/index/${index.indexName}`);
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...approvalTableActions.read], resources: [table, ...indexes] }),
    );
    if (access === "readWrite") {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: [...approvalTableActions.write], resources: [table] }),
      );
    }
    fn.addEnvironment(envNames.approvalTable, this.approvals.tableName);
  }

  /** Lets `fn` list or also set and lift freezes, and names the table in its environment. */
  grantFreezes(fn: lambda.Function, access: TableAccess): void {
    const table = this.freezes.tableArn;
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...freezeTableActions.read], resources: [table] }),
    );
    if (access === "readWrite") {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: [...freezeTableActions.write], resources: [table] }),
      );
    }
    fn.addEnvironment(envNames.freezeTable, this.freezes.tableName);
  }
}

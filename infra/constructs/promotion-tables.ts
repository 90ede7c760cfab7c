// The DynamoDB tables behind the promotion store and the idempotency store, with grants that set their variables.

import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { idempotencyTableKeys } from "../../functions/adapters/aws/dynamodb-idempotency-store.ts";
import { promotionTableKeys } from "../../functions/adapters/aws/dynamodb-promotion-store.ts";
import { envNames } from "../../functions/wiring/env.ts";

/** How much of the promotion table a function may touch. */
export type PromotionTableAccess = "read" | "readWrite";

/**
 * The DynamoDB actions behind the document-client commands the stores send: `GetCommand`/`QueryCommand` to read,
 * `PutCommand`/`UpdateCommand`/`DeleteCommand` to write. Nothing batch, scan or transactional is used, so nothing of
 * the kind is granted.
 */
export const promotionTableActions = {
  read: ["dynamodb:GetItem", "dynamodb:Query"],
  write: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
} as const;

/** The idempotency store claims a key with a conditional put and releases it with a delete; it never reads. */
export const idempotencyTableActions = ["dynamodb:PutItem", "dynamodb:DeleteItem"] as const;

/**
 * A string key attribute: every key of Switchyard's tables is a string.
 *
 * @example table.addGlobalSecondaryIndex({ indexName: "byState", partitionKey: stringKey("state") });
 */
export const stringKey = (name: string): dynamodb.Attribute => ({
  name,
  type: dynamodb.AttributeType.STRING,
});

/**
 * What every Switchyard table shares: on-demand, point-in-time recovery, the AWS managed key, retained.
 *
 * @example new dynamodb.Table(this, "Freezes", { ...tableDefaults, partitionKey: stringKey("service") });
 */
export const tableDefaults = {
  // Traffic is a few promotions an hour with bursts on a release: on-demand costs nothing while idle.
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  // The AWS managed key: every use shows in CloudTrail, with no key policy to keep in step with the functions.
  encryption: dynamodb.TableEncryption.AWS_MANAGED,
  // Records of what runs where and who approved it; a stack deletion or replacement must never take them along.
  removalPolicy: RemovalPolicy.RETAIN,
} as const;

/**
 * The promotion table (single-table layout of `promotionTableKeys`: promotions, deployments, quarantined digests,
 * two GSIs projecting ALL) and the idempotency table (key `pk`, TTL on `expiresAt`). Both on-demand, with
 * point-in-time recovery, encrypted with the AWS managed key, and retained when the stack goes.
 *
 * @example
 * const tables = new PromotionTables(this, "Tables");
 * tables.grantPromotions(fns.get("get-promotions"), "read");
 */
export class PromotionTables extends Construct {
  readonly promotions: dynamodb.Table;
  readonly idempotency: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const keys = promotionTableKeys;
    this.promotions = new dynamodb.Table(this, "Promotions", {
      ...tableDefaults,
      partitionKey: stringKey(keys.partitionKey),
      sortKey: stringKey(keys.sortKey),
    });
    for (const index of [keys.byServiceIndex, keys.byTypeIndex]) {
      this.promotions.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    this.idempotency = new dynamodb.Table(this, "Idempotency", {
      ...tableDefaults,
      partitionKey: stringKey(idempotencyTableKeys.partitionKey),
      timeToLiveAttribute: idempotencyTableKeys.timeToLive,
    });
  }

  /**
   * Lets `fn` read (get, query the table and its two indexes) or also write the promotion table, and names the
   * table in its environment. Index ARNs are listed one by one rather than as `index/*`.
   */
  grantPromotions(fn: lambda.Function, access: PromotionTableAccess): void {
    const table = this.promotions.tableArn;
    const indexes = [promotionTableKeys.byServiceIndex, promotionTableKeys.byTypeIndex].map(
      (index) => `${table}/index/${index.indexName}`,
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...promotionTableActions.read], resources: [table, ...indexes] }),
    );
    if (access === "readWrite") {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: [...promotionTableActions.write], resources: [table] }),
      );
    }
    fn.addEnvironment(envNames.promotionTable, this.promotions.tableName);
  }

  /** Lets `fn` claim and release idempotency keys, and names the table in its environment. */
  grantIdempotency(fn: lambda.Function): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...idempotencyTableActions],
        resources: [this.idempotency.tableArn],
      }),
    );
    fn.addEnvironment(envNames.idempotencyTable, this.idempotency.tableName);
  }
}

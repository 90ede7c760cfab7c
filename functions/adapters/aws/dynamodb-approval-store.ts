// The production ApprovalStore: one DynamoDB item per approval request, its task token kept out of every read path.

import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../core/errors.ts";
import type { ApprovalRecord, ApprovalState, ApprovalStore } from "../../core/ports.ts";
import {
  isConditionFailure,
  queryNewestFirst,
  recordNotFound,
  staleWrite,
  withoutUndefined,
} from "./dynamodb-versioned-items.ts";

/**
 * The table's keys, for the CDK construct that creates it: every key attribute is a string. One item per request:
 *
 * | attribute             | holds                                                            |
 * |-----------------------|------------------------------------------------------------------|
 * | `id`                  | the approval id (partition key; no sort key)                     |
 * | `promotionId`         | copied from the record, for `byPromotion`                        |
 * | `state`               | copied from the record, for `byState`                            |
 * | `requestedAtKey`      | `<requestedAt as toISOString()>#<id>`: both indexes' sort key    |
 * | `record`              | the record without its version, as a map                         |
 * | `version`             | the record's version (a number): what `update` is conditional on |
 * | `taskToken`           | the waiting execution's task token                               |
 * | `purgeAtEpochSeconds` | the TTL: `expiresAt` + 90 days, in epoch seconds                 |
 *
 * `byState` (partition `state`, sort `requestedAtKey`) lists the requests in one state newest first; it projects
 * only `record` and `version`. `byPromotion` (partition `promotionId`, sort `requestedAtKey`) projects keys only:
 * it finds the id, and the record is then read from the table. Neither index carries the task token, so a role
 * that may only query the indexes can never read one.
 */
export const approvalTableKeys = {
  partitionKey: "id",
  byStateIndex: {
    indexName: "byState",
    partitionKey: "state",
    sortKey: "requestedAtKey",
    projection: "INCLUDE",
    nonKeyAttributes: ["record", "version"],
  },
  byPromotionIndex: {
    indexName: "byPromotion",
    partitionKey: "promotionId",
    sortKey: "requestedAtKey",
    projection: "KEYS_ONLY",
  },
  timeToLive: "purgeAtEpochSeconds",
} as const;

/** How many requests a listing returns when the caller names no limit: a screenful for the API and the CLI. */
export const defaultApprovalListLimit = 100;

/** How long a request outlives its expiry before DynamoDB deletes it: long enough to audit a quarter's changes. */
export const approvalRetentionDays = 90;

const secondsPerDay = 86_400;
const millisecondsPerSecond = 1_000;

const approvalStates: readonly ApprovalState[] = ["pending", "approved", "rejected", "expired"];

type ApprovalFilter = NonNullable<Parameters<ApprovalStore["list"]>[0]>;
type Item = Record<string, unknown>;
type StoredRecord = Omit<ApprovalRecord, "version">;

export interface DynamoDbApprovalStoreOptions {
  /** A document client; no marshalling options are needed, the store never sends an undefined value. */
  client: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * The instant a record's time names, as `toISOString()`; `ValidationError` when it is not a time. Both stores sort
 * by it, so a request written with an offset sorts by when it happened.
 *
 * @example
 * approvalInstant("2026-05-01T14:00:00+02:00", "approval a-1 requestedAt"); // "2026-05-01T12:00:00.000Z"
 */
export const approvalInstant = (value: string, field: string): string => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError(`${field} "${value}" is not an ISO 8601 time`);
  return new Date(ms).toISOString();
};

/**
 * The number of requests a listing returns: the caller's limit, or `defaultApprovalListLimit`.
 *
 * @example
 * approvalListLimit(undefined); // 100
 */
export const approvalListLimit = (limit: number | undefined): number => {
  if (limit === undefined) return defaultApprovalListLimit;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError(`limit must be a positive integer, got ${limit}`);
  }
  return limit;
};

/**
 * Refuses a record whose times are not times, before anything is written.
 *
 * @example
 * checkApprovalTimes(record); // throws ValidationError on `requestedAt: "yesterday"`
 */
export const checkApprovalTimes = (record: ApprovalRecord): { requestedAt: string; expiresAt: string } => ({
  requestedAt: approvalInstant(record.requestedAt, `approval ${record.id} requestedAt`),
  expiresAt: approvalInstant(record.expiresAt, `approval ${record.id} expiresAt`),
});

/** Rebuilt from `record` and `version` alone, so nothing else on the item (the token above all) can slip out. */
const toRecord = (item: Item): ApprovalRecord => ({
  ...(item.record as StoredRecord),
  version: item.version as number,
});

/**
 * The attributes the indexes and the TTL read, derived from the record so every write keeps them in step with it.
 * Returns the record as stored (no version, no undefined member) beside them.
 */
const indexedAttributes = (record: ApprovalRecord) => {
  const { requestedAt, expiresAt } = checkApprovalTimes(record);
  const { version: _version, ...rest } = record;
  return {
    promotionId: record.promotionId,
    state: record.state,
    requestedAtKey: `${requestedAt}#${record.id}`,
    record: withoutUndefined(rest),
    purgeAtEpochSeconds:
      Math.floor(Date.parse(expiresAt) / millisecondsPerSecond) + approvalRetentionDays * secondsPerDay,
  };
};

/**
 * The ApprovalStore port on one DynamoDB table (layout in `approvalTableKeys`). Creation is a conditional put
 * (`attribute_not_exists`); `update` is one UpdateItem conditional on the version, so of two writers that read the
 * same version exactly one wins and the other gets `ConflictError`. Record reads name the attributes they want
 * (`ProjectionExpression`), so the task token travels only when `taskToken()` asks for it. `get` and
 * `findByPromotion` read the table strongly consistently; `list` reads the `byState` index, which DynamoDB keeps
 * eventually consistent, so a request written a moment ago may be missing from it or show its previous version.
 * Errors other than the conditions it checks are the SDK's, untouched.
 *
 * @example
 * const store = new DynamoDbApprovalStore({
 *   client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
 *   tableName: env.approvalsTable,
 * });
 * const approval = await store.get(id);
 * if (approval) await store.update({ ...approval, decisions: [...approval.decisions, decision] });
 */
export class DynamoDbApprovalStore implements ApprovalStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoDbApprovalStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async create(record: ApprovalRecord, taskToken: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { id: record.id, ...indexedAttributes(record), version: 1, taskToken },
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": approvalTableKeys.partitionKey },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const output = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { id },
        ConsistentRead: true,
        ProjectionExpression: "#record, #version",
        ExpressionAttributeNames: { "#record": "record", "#version": "version" },
      }),
    );
    return output.Item && toRecord(output.Item);
  }

  async findByPromotion(promotionId: string): Promise<ApprovalRecord | undefined> {
    const { byPromotionIndex } = approvalTableKeys;
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: byPromotionIndex.indexName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": byPromotionIndex.partitionKey },
        ExpressionAttributeValues: { ":pk": promotionId },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const id = output.Items?.[0]?.[approvalTableKeys.partitionKey];
    // The index only finds the id: the record comes from the table, so its version is the latest one.
    return typeof id === "string" ? this.get(id) : undefined;
  }

  async list(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const limit = approvalListLimit(filter.limit);
    const states = filter.state === undefined ? approvalStates : [filter.state];
    const { byStateIndex } = approvalTableKeys;
    const items = await queryNewestFirst(this.client, this.tableName, byStateIndex, states, limit);
    return items.map(toRecord);
  }

  async update(record: ApprovalRecord): Promise<ApprovalRecord> {
    const {
      promotionId,
      state,
      requestedAtKey,
      record: stored,
      purgeAtEpochSeconds,
    } = indexedAttributes(record);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: record.id },
          UpdateExpression:
            "SET #record = :record, #version = :next, #promotionId = :promotionId, #state = :state, " +
            "#requestedAtKey = :requestedAtKey, #purgeAt = :purgeAt",
          ConditionExpression: "attribute_exists(#id) AND #version = :expected",
          ExpressionAttributeNames: {
            "#id": approvalTableKeys.partitionKey,
            "#record": "record",
            "#version": "version",
            "#promotionId": "promotionId",
            "#state": "state",
            "#requestedAtKey": "requestedAtKey",
            "#purgeAt": approvalTableKeys.timeToLive,
          },
          ExpressionAttributeValues: {
            ":record": stored,
            ":next": record.version + 1,
            ":expected": record.version,
            ":promotionId": promotionId,
            ":state": state,
            ":requestedAtKey": requestedAtKey,
            ":purgeAt": purgeAtEpochSeconds,
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw staleWrite(`approval ${record.id}`, error.Item, record.version, error);
    }
    return toRecord({ record: stored, version: record.version + 1 });
  }

  async taskToken(id: string): Promise<string | undefined> {
    const output = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { id },
        ConsistentRead: true,
        ProjectionExpression: "#taskToken",
        ExpressionAttributeNames: { "#taskToken": "taskToken" },
      }),
    );
    const token = output.Item?.taskToken;
    return typeof token === "string" ? token : undefined;
  }

  async replaceTaskToken(id: string, taskToken: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: "SET #taskToken = :taskToken",
          ConditionExpression: "attribute_exists(#id)",
          ExpressionAttributeNames: { "#id": approvalTableKeys.partitionKey, "#taskToken": "taskToken" },
          ExpressionAttributeValues: { ":taskToken": taskToken },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw recordNotFound(`approval ${id}`, error);
      }
      throw error;
    }
  }
}

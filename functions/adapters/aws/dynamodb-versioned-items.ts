// What the DynamoDB stores of versioned records share: marshalling, version-conditional write failures, listings.

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { ConflictError, NotFoundError } from "../../core/errors.ts";

type Item = Record<string, unknown>;

/**
 * The same value without undefined members, at any depth, which the document client refuses to marshal.
 *
 * @example
 * withoutUndefined({ id: "a-1", note: undefined, tags: [{ name: "x", value: undefined }] }) // { id: "a-1", tags: [{ name: "x" }] }
 */
export const withoutUndefined = <T>(value: T): T => {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .map(([name, member]) => [name, withoutUndefined(member)]),
  ) as T;
};

/**
 * Whether a write failed on its condition. By name as well as class: a bundle may carry a second copy of the SDK,
 * whose classes `instanceof` would miss.
 *
 * @example
 * if (isConditionFailure(error)) return false; // the item already existed
 */
export const isConditionFailure = (error: unknown): error is ConditionalCheckFailedException =>
  error instanceof ConditionalCheckFailedException ||
  (error instanceof Error && error.name === "ConditionalCheckFailedException");

/**
 * `NotFoundError` for a record that does not exist; `subject` names it ("incident i-1").
 *
 * @example
 * throw recordNotFound(`approval ${id}`, error); // "approval a-1 does not exist"
 */
export const recordNotFound = (subject: string, cause?: unknown): NotFoundError =>
  new NotFoundError(`${subject} does not exist`, cause === undefined ? undefined : { cause });

/**
 * `ConflictError` for a record that is not at the version the writer read.
 *
 * @example
 * throw versionConflict(`incident ${id}`, 3, 2); // "incident i-1 is at version 3, not 2: re-read it and …"
 */
export const versionConflict = (
  subject: string,
  stored: string | number,
  expected: number,
  cause?: unknown,
): ConflictError =>
  new ConflictError(
    `${subject} is at version ${stored}, not ${expected}: re-read it and apply the change again`,
    cause === undefined ? undefined : { cause },
  );

/**
 * What a write conditional on `attribute_exists(...) AND #version = :expected` failed on, from the item the condition
 * saw (`ReturnValuesOnConditionCheckFailure: "ALL_OLD"`): no item, a `NotFoundError`; another version, a
 * `ConflictError`. The item comes in the low-level shape (`{ version: { N: "3" } }`): the document client does not
 * unmarshal errors.
 *
 * @example
 * if (isConditionFailure(error)) throw staleWrite(`approval ${record.id}`, error.Item, record.version, error);
 */
export const staleWrite = (
  subject: string,
  seen: { version?: { N?: string } } | undefined,
  expected: number,
  cause: unknown,
): NotFoundError | ConflictError => {
  const version = seen?.version?.N;
  return version === undefined
    ? recordNotFound(subject, cause)
    : versionConflict(subject, version, expected, cause);
};

/** An index that lists items newest first: partitioned by a status, sorted by a key that starts with a time. */
export interface NewestFirstIndex {
  indexName: string;
  partitionKey: string;
  sortKey: string;
}

/** Up to `limit` items of one partition, newest first, following `LastEvaluatedKey` across pages. */
const queryPartition = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  index: NewestFirstIndex,
  value: string,
  limit: number,
): Promise<Item[]> => {
  const items: Item[] = [];
  let startKey: QueryCommandInput["ExclusiveStartKey"];
  do {
    const output = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: index.indexName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": index.partitionKey },
        ExpressionAttributeValues: { ":pk": value },
        ScanIndexForward: false,
        Limit: limit - items.length,
        ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
      }),
    );
    items.push(...(output.Items ?? []));
    startKey = output.LastEvaluatedKey;
  } while (startKey !== undefined && items.length < limit);
  return items;
};

/**
 * Up to `limit` items of the index's partitions `values` (one query each, in parallel), newest first by the
 * index's sort key.
 *
 * @example
 * const items = await queryNewestFirst(client, tableName, approvalTableKeys.byStateIndex, ["pending", "approved"], 100);
 */
export const queryNewestFirst = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  index: NewestFirstIndex,
  values: readonly string[],
  limit: number,
): Promise<Item[]> => {
  const pages = await Promise.all(
    values.map((value) => queryPartition(client, tableName, index, value, limit)),
  );
  const newestFirst = (a: Item, b: Item): number => {
    const x = String(a[index.sortKey]);
    const y = String(b[index.sortKey]);
    return x < y ? 1 : x > y ? -1 : 0;
  };
  return pages.flat().sort(newestFirst).slice(0, limit);
};

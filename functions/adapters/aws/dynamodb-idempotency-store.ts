// The production IdempotencyStore: one DynamoDB item per key, claimed with a conditional put, expired by TTL.

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../core/errors.ts";
import type { Clock, IdempotencyStore } from "../../core/ports.ts";

/** DynamoDB's limit for a partition key value, in bytes of UTF-8; the local store holds to it too. */
export const maxIdempotencyKeyBytes = 2_048;

const millisecondsPerSecond = 1_000;

/** The table's key attribute and its TTL attribute (epoch seconds), as infra/ creates the table. */
export const idempotencyTableKeys = { partitionKey: "pk", timeToLive: "expiresAt" } as const;

/** A claim's time in whole epoch seconds: the unit of DynamoDB TTL, used by both stores so they expire alike. */
export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / millisecondsPerSecond);

/**
 * Refuses a key no store could keep: empty, or longer than DynamoDB accepts.
 *
 * @example checkKey("github-delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958");
 */
export const checkKey = (key: string): void => {
  if (key === "") throw new ValidationError("An idempotency key must not be empty");
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes > maxIdempotencyKeyBytes) {
    throw new ValidationError(
      `An idempotency key is at most ${maxIdempotencyKeyBytes} bytes; this one is ${bytes}`,
    );
  }
};

/**
 * Refuses a claim no store could keep: a bad key, or a TTL that is not a positive whole number of seconds.
 *
 * @example checkClaim("github-delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958", 604_800);
 */
export const checkClaim = (key: string, ttlSeconds: number): void => {
  checkKey(key);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new ValidationError(`ttlSeconds must be a positive whole number of seconds; got ${ttlSeconds}`);
  }
};

/** By name as well as class: a bundle may carry a second copy of the SDK, whose classes `instanceof` would miss. */
const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error instanceof Error && error.name === "ConditionalCheckFailedException");

export interface DynamoDbIdempotencyStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock?: Clock;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * The IdempotencyStore port on DynamoDB. A claim is one conditional PutItem that succeeds when the key is absent
 * or its `expiresAt` has passed: DynamoDB's TTL deletes expired items only eventually (often hours later), so the
 * condition, not the deletion, is what makes a key claimable again after `ttlSeconds`. A key is held for at least
 * `ttlSeconds` (whole seconds, rounded in the holder's favour). Errors other than the failed condition are the
 * SDK's, untouched.
 *
 * @example
 * const store = new DynamoDbIdempotencyStore({ client: DynamoDBDocumentClient.from(new DynamoDBClient({})), tableName });
 * if (!(await store.claim(`github-delivery:${id}`, 7 * 24 * 60 * 60))) return duplicate;
 */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;

  constructor(options: DynamoDbIdempotencyStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    checkClaim(key, ttlSeconds);
    const now = epochSeconds(this.clock.now());
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: key, expiresAt: now + ttlSeconds },
          ConditionExpression: "attribute_not_exists(pk) OR expiresAt < :now",
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async release(key: string): Promise<void> {
    checkKey(key);
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: key } }));
  }

  async complete(key: string, ttlSeconds: number): Promise<void> {
    checkClaim(key, ttlSeconds);
    const expiresAt = epochSeconds(this.clock.now()) + ttlSeconds;
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { pk: key, expiresAt } }));
  }
}

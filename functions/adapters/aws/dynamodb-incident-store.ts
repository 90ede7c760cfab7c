// The production IncidentStore: one DynamoDB item per incident and one per alert firing, written together.

import { setTimeout as sleep } from "node:timers/promises";
import { type CancellationReason, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { ConflictError, TransientError, ValidationError } from "../../core/errors.ts";
import type {
  Clock,
  IncidentRecord,
  IncidentStatus,
  IncidentStore,
  IncidentTimelineEntry,
  NewIncident,
} from "../../core/ports.ts";
import {
  isConditionFailure,
  queryNewestFirst,
  recordNotFound,
  staleWrite,
  versionConflict,
  withoutUndefined,
} from "./dynamodb-versioned-items.ts";

/**
 * The table's keys, for the CDK construct that creates it: every key attribute is a string; partition key only,
 * no sort key. Two kinds of item share the table:
 *
 * | item     | `pk`                                | other attributes                                                     |
 * |----------|-------------------------------------|----------------------------------------------------------------------|
 * | incident | `INCIDENT#<id>`                     | `record`, `version`, `status`, `openedAtKey`, `activeFingerprint`, `waitToken`, `purgeAtEpochSeconds` |
 * | alert    | `ALERT#<fingerprint>#<startsAt>`    | `incidentId`, `purgeAtEpochSeconds`                                  |
 *
 * - `record`: the incident without its version, as a map (timeline included, capped at `incidentTimelineLimit`);
 *   `version`: a number, what `update` is conditional on.
 * - `status`: copied from the record, the `byStatus` partition; `openedAtKey`: `<openedAt as toISOString()>#<id>`,
 *   both indexes' sort key.
 * - `activeFingerprint`: the fingerprint while the incident is open or acknowledged, removed when it resolves, so
 *   `byActiveFingerprint` is a sparse index of the incidents still active.
 * - `waitToken`: the task token the incident's workflow waits on, when one is set.
 * - `purgeAtEpochSeconds`: the TTL, set on both items when the incident resolves (`resolvedAt` +
 *   `incidentRetentionDays`), removed if it ever reopens.
 * - The alert item makes `open` idempotent: `<startsAt>` is the instant as `toISOString()`, so one firing is one
 *   key whatever offset it was written with. It is written in the same transaction as the incident item.
 *
 * `byStatus` (partition `status`, sort `openedAtKey`) lists one status newest first and projects only `record` and
 * `version`. `byActiveFingerprint` (partition `activeFingerprint`, sort `openedAtKey`) projects keys only: it finds
 * ids, and records are then read from the table. Neither index carries the wait token.
 */
export const incidentTableKeys = {
  partitionKey: "pk",
  byStatusIndex: {
    indexName: "byStatus",
    partitionKey: "status",
    sortKey: "openedAtKey",
    projection: "INCLUDE",
    nonKeyAttributes: ["record", "version"],
  },
  byActiveFingerprintIndex: {
    indexName: "byActiveFingerprint",
    partitionKey: "activeFingerprint",
    sortKey: "openedAtKey",
    projection: "KEYS_ONLY",
  },
  timeToLive: "purgeAtEpochSeconds",
} as const;

/** How many incidents a listing returns when the caller names no limit: a screenful for the API and the CLI. */
export const defaultIncidentListLimit = 100;

/** The most incidents one listing returns, whatever the caller asks for. */
export const maxIncidentListLimit = 1_000;

/**
 * How many timeline entries an incident keeps: the newest ones. A DynamoDB item holds at most 400 KB; 200 entries
 * of a few hundred bytes stay far below it, and cover a week of escalation every 5 minutes with room to spare.
 */
export const incidentTimelineLimit = 200;

/** How long a resolved incident is kept before DynamoDB deletes it: long enough for a quarter's reviews. */
export const incidentRetentionDays = 90;

/** Where every incident's escalation starts. */
export const firstIncidentLevel = 1;

/** PagerDuty's limit for a dedup_key, which the fingerprint is. */
export const maxFingerprintLength = 255;

const secondsPerDay = 86_400;
const millisecondsPerSecond = 1_000;
/** Tries of `open` when its transaction collides with another write in flight (or with a stale alert item). */
const openAttempts = 5;
const transactionConflictBackoffMs = 25;
/** Candidates `findActive` reads per index page: normally one fingerprint has one active incident. */
const findActivePageItems = 10;

const incidentStatuses: readonly IncidentStatus[] = ["open", "acknowledged", "resolved"];
const incidentPrefix = "INCIDENT#";
const alertPrefix = "ALERT#";

type IncidentFilter = NonNullable<Parameters<IncidentStore["list"]>[0]>;
/** What `update` may change. */
export type IncidentChanges = Parameters<IncidentStore["update"]>[2];
type Item = Record<string, unknown>;
type StoredRecord = Omit<IncidentRecord, "version">;

export interface DynamoDbIncidentStoreOptions {
  /** A document client; no marshalling options are needed, the store never sends an undefined value. */
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Dates the TTL of an incident resolved without a `resolvedAt`. */
  clock?: Clock;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * The instant a time names, as `toISOString()`; `ValidationError` when it is not a time. Both stores key and sort by
 * it, so a time written with an offset means the instant it names.
 *
 * @example
 * incidentInstant("2026-05-01T14:00:00+02:00", "incident i-1 startsAt"); // "2026-05-01T12:00:00.000Z"
 */
export const incidentInstant = (value: string, field: string): string => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError(`${field} "${value}" is not an ISO 8601 time`);
  return new Date(ms).toISOString();
};

/**
 * The number of incidents a listing returns: the caller's limit (at most `maxIncidentListLimit`), or
 * `defaultIncidentListLimit`.
 *
 * @example
 * incidentListLimit(undefined); // 100
 * incidentListLimit(5_000); // 1000
 */
export const incidentListLimit = (limit: number | undefined): number => {
  if (limit === undefined) return defaultIncidentListLimit;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError(`limit must be a positive integer, got ${limit}`);
  }
  return Math.min(limit, maxIncidentListLimit);
};

const checkTimeline = (id: string, timeline: readonly IncidentTimelineEntry[]): void => {
  for (const entry of timeline) incidentInstant(entry.at, `incident ${id} timeline entry at`);
};

/**
 * The record `open` stores for a new incident: open, at the first level, version 1, with an empty timeline, no
 * routing key paged, no freeze and no Slack message yet. `ValidationError` for an empty id, a fingerprint that is
 * empty or longer than PagerDuty takes, or a time that is not a time.
 *
 * @example
 * newIncidentRecord(alert); // { ...alert, status: "open", level: 1, version: 1, timeline: [], ... }
 */
export const newIncidentRecord = (incident: NewIncident): IncidentRecord => {
  if (incident.id === "") throw new ValidationError("an incident id must not be empty");
  const { fingerprint } = incident;
  if (fingerprint === "" || fingerprint.length > maxFingerprintLength) {
    throw new ValidationError(
      `incident ${incident.id} fingerprint must be 1 to ${maxFingerprintLength} characters, got ${fingerprint.length}`,
    );
  }
  for (const field of ["startsAt", "openedAt", "acknowledgedAt", "resolvedAt"] as const) {
    const value = incident[field];
    if (value !== undefined) incidentInstant(value, `incident ${incident.id} ${field}`);
  }
  // Built member by member over the input, so a caller passing a whole record cannot smuggle in a status or a version.
  const { slack: _slack, ...rest } = incident as NewIncident & { slack?: unknown };
  return withoutUndefined({
    ...rest,
    status: "open",
    level: firstIncidentLevel,
    pagedRoutingKeys: [],
    froze: false,
    timeline: [],
    version: 1,
  });
};

/**
 * The record `update` writes: `changes` applied (an undefined member changes nothing), `timeline` appended after
 * the stored entries with only the newest `incidentTimelineLimit` kept, the version one on. `ValidationError` for a
 * time that is not a time or a level below the one reached.
 *
 * @example
 * applyIncidentChanges(current, { status: "acknowledged", acknowledgedAt }, [entry]); // version: current.version + 1
 */
export const applyIncidentChanges = (
  current: IncidentRecord,
  changes: IncidentChanges,
  timeline: readonly IncidentTimelineEntry[] = [],
): IncidentRecord => {
  const given = withoutUndefined(changes);
  for (const field of ["acknowledgedAt", "resolvedAt"] as const) {
    const value = given[field];
    if (value !== undefined) incidentInstant(value, `incident ${current.id} ${field}`);
  }
  if (given.level !== undefined && (!Number.isInteger(given.level) || given.level < current.level)) {
    throw new ValidationError(
      `incident ${current.id} level only grows: it is at ${current.level}, got ${given.level}`,
    );
  }
  checkTimeline(current.id, timeline);
  return {
    ...current,
    ...given,
    timeline: [...current.timeline, ...withoutUndefined(timeline)].slice(-incidentTimelineLimit),
    version: current.version + 1,
  };
};

/** The alert item's key: one per (fingerprint, instant of startsAt); startsAt has no `#`, so the key is unambiguous. */
const alertKey = (record: Pick<IncidentRecord, "id" | "fingerprint" | "startsAt">): string =>
  `${alertPrefix}${record.fingerprint}#${incidentInstant(record.startsAt, `incident ${record.id} startsAt`)}`;

const incidentKey = (id: string) => ({ [incidentTableKeys.partitionKey]: `${incidentPrefix}${id}` });

const openedAtKey = (record: IncidentRecord): string =>
  `${incidentInstant(record.openedAt, `incident ${record.id} openedAt`)}#${record.id}`;

/** Rebuilt from `record` and `version` alone, so nothing else on the item (the wait token above all) can slip out. */
const toRecord = (item: Item): IncidentRecord => ({
  ...(item.record as StoredRecord),
  version: item.version as number,
});

const stored = (record: IncidentRecord): StoredRecord => {
  const { version: _version, ...rest } = record;
  return withoutUndefined(rest);
};

const isTransactionCanceled = (error: unknown): error is TransactionCanceledException =>
  error instanceof TransactionCanceledException ||
  (error instanceof Error && error.name === "TransactionCanceledException");

const reasonCodes = (error: TransactionCanceledException): string[] =>
  (error.CancellationReasons ?? []).map((reason: CancellationReason) => reason.Code ?? "None");

/**
 * The IncidentStore port on one DynamoDB table (layout in `incidentTableKeys`).
 *
 * - `open` writes the incident item and its alert item in one TransactWriteItems, each conditional on not existing:
 *   of any number of concurrent opens of one firing exactly one creates, the others read the winner back
 *   (`created: false`). A different `startsAt` is a different firing, so a flapping alert opens a new incident.
 * - `update` reads the record (strongly consistent), applies the changes and writes it back in one UpdateItem
 *   conditional on the version it read, so of two writers exactly one wins and the other gets `ConflictError`.
 *   When the TTL changes (the incident resolves) the alert item's TTL is written in the same transaction.
 * - Record reads name the attributes they want (`ProjectionExpression`) and the indexes do not project the wait
 *   token, so it travels only when `waitToken()` asks for it.
 * - `get`, `update` and `waitToken` read the table strongly consistently. `list` reads `byStatus` and `findActive`
 *   reads `byActiveFingerprint`, which DynamoDB keeps eventually consistent: an incident opened a moment ago may be
 *   missing from them. `findActive` re-reads each candidate from the table, so it never answers a resolved one.
 *
 * Errors other than the conditions it checks are the SDK's, untouched.
 *
 * @example
 * const store = new DynamoDbIncidentStore({
 *   client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
 *   tableName: env.incidentsTable,
 * });
 * const { created, incident } = await store.open(alert);
 * await store.update(incident.id, incident.version, { status: "acknowledged", acknowledgedAt }, [entry]);
 */
export class DynamoDbIncidentStore implements IncidentStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;

  constructor(options: DynamoDbIncidentStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  async open(incident: NewIncident): Promise<{ created: boolean; incident: IncidentRecord }> {
    const record = newIncidentRecord(incident);
    const alert = alertKey(record);
    const { partitionKey } = incidentTableKeys;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: { [partitionKey]: alert, incidentId: record.id },
                  ConditionExpression: "attribute_not_exists(#pk)",
                  ExpressionAttributeNames: { "#pk": partitionKey },
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: {
                    ...incidentKey(record.id),
                    record: stored(record),
                    version: record.version,
                    status: record.status,
                    openedAtKey: openedAtKey(record),
                    activeFingerprint: record.fingerprint,
                  },
                  ConditionExpression: "attribute_not_exists(#pk)",
                  ExpressionAttributeNames: { "#pk": partitionKey },
                },
              },
            ],
          }),
        );
        return { created: true, incident: record };
      } catch (error) {
        if (!isTransactionCanceled(error)) throw error;
        const existing = await this.openedBefore(record, alert);
        if (existing !== undefined) return { created: false, incident: existing };
        if (attempt === openAttempts) {
          throw new TransientError(
            `incident ${record.id} could not be opened: its transaction kept colliding with other writes`,
            { cause: error },
          );
        }
        if (reasonCodes(error).includes("TransactionConflict")) {
          await sleep(transactionConflictBackoffMs * attempt);
        }
      }
    }
  }

  async get(id: string): Promise<IncidentRecord | undefined> {
    const item = await this.readIncident(id);
    return item && toRecord(item);
  }

  async findActive(fingerprint: string): Promise<IncidentRecord | undefined> {
    const { byActiveFingerprintIndex, partitionKey } = incidentTableKeys;
    let startKey: QueryCommandInput["ExclusiveStartKey"];
    do {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: byActiveFingerprintIndex.indexName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": byActiveFingerprintIndex.partitionKey },
          ExpressionAttributeValues: { ":pk": fingerprint },
          ScanIndexForward: false,
          Limit: findActivePageItems,
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      for (const candidate of output.Items ?? []) {
        const id = String(candidate[partitionKey]).slice(incidentPrefix.length);
        // The index lags the table: the record read from the table is the one that says whether it is still active.
        const record = await this.get(id);
        if (record !== undefined && record.status !== "resolved" && record.fingerprint === fingerprint) {
          return record;
        }
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return undefined;
  }

  async list(filter: IncidentFilter = {}): Promise<IncidentRecord[]> {
    const limit = incidentListLimit(filter.limit);
    const statuses = filter.status === undefined ? incidentStatuses : [filter.status];
    const { byStatusIndex } = incidentTableKeys;
    const items = await queryNewestFirst(this.client, this.tableName, byStatusIndex, statuses, limit);
    return items.map(toRecord);
  }

  async update(
    id: string,
    expectedVersion: number,
    changes: IncidentChanges,
    timeline: readonly IncidentTimelineEntry[] = [],
  ): Promise<IncidentRecord> {
    const item = await this.readIncident(id, [incidentTableKeys.timeToLive]);
    if (item === undefined) throw recordNotFound(`incident ${id}`);
    const current = toRecord(item);
    if (current.version !== expectedVersion) {
      throw versionConflict(`incident ${id}`, current.version, expectedVersion);
    }
    const next = applyIncidentChanges(current, changes, timeline);
    const storedPurgeAt = item[incidentTableKeys.timeToLive] as number | undefined;
    const purgeAt = this.purgeAt(next, storedPurgeAt);
    const incidentUpdate = this.incidentUpdate(next, expectedVersion, purgeAt);
    try {
      if (purgeAt === storedPurgeAt) {
        await this.client.send(
          new UpdateCommand({ ...incidentUpdate, ReturnValuesOnConditionCheckFailure: "ALL_OLD" }),
        );
      } else {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Update: { ...incidentUpdate, ReturnValuesOnConditionCheckFailure: "ALL_OLD" } },
              { Update: this.alertPurgeUpdate(next, purgeAt) },
            ],
          }),
        );
      }
    } catch (error) {
      throw this.updateFailure(id, expectedVersion, error);
    }
    return next;
  }

  async setWaitToken(id: string, token: string | null): Promise<void> {
    if (token === "") throw new ValidationError(`incident ${id} wait token must not be empty`);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: incidentKey(id),
          UpdateExpression: token === null ? "REMOVE #waitToken" : "SET #waitToken = :token",
          ConditionExpression: "attribute_exists(#pk)",
          ExpressionAttributeNames: { "#pk": incidentTableKeys.partitionKey, "#waitToken": "waitToken" },
          ...(token !== null && { ExpressionAttributeValues: { ":token": token } }),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw recordNotFound(`incident ${id}`, error);
      throw error;
    }
  }

  async waitToken(id: string): Promise<string | undefined> {
    const output = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: incidentKey(id),
        ConsistentRead: true,
        ProjectionExpression: "#waitToken",
        ExpressionAttributeNames: { "#waitToken": "waitToken" },
      }),
    );
    const token = output.Item?.waitToken;
    return typeof token === "string" ? token : undefined;
  }

  /**
   * After a cancelled `open`: the incident already recorded for the same firing, or undefined when the transaction
   * should be tried again (it collided with a write in flight, or the alert item outlived its incident's TTL).
   */
  private async openedBefore(record: IncidentRecord, alert: string): Promise<IncidentRecord | undefined> {
    const { partitionKey } = incidentTableKeys;
    const claim = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [partitionKey]: alert },
        ConsistentRead: true,
      }),
    );
    const ownerId = claim.Item?.incidentId;
    if (typeof ownerId === "string") {
      const owner = await this.get(ownerId);
      if (owner !== undefined) return owner;
      // DynamoDB deletes expired items one by one: the incident went first. Free the firing and try again.
      await this.client
        .send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { [partitionKey]: alert },
            ConditionExpression: "#incidentId = :incidentId",
            ExpressionAttributeNames: { "#incidentId": "incidentId" },
            ExpressionAttributeValues: { ":incidentId": ownerId },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error;
        });
      return undefined;
    }
    const sameId = await this.get(record.id);
    if (sameId === undefined) return undefined;
    if (alertKey(sameId) === alert) return sameId;
    throw new ValidationError(`incident id ${record.id} is already taken by another alert`);
  }

  /** The incident item's record, version and any `extra` attributes; never the wait token unless asked. */
  private async readIncident(id: string, extra: readonly string[] = []): Promise<Item | undefined> {
    const attributes = ["record", "version", ...extra];
    const names = Object.fromEntries(attributes.map((name, index) => [`#a${index}`, name]));
    const output = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: incidentKey(id),
        ConsistentRead: true,
        ProjectionExpression: Object.keys(names).join(", "),
        ExpressionAttributeNames: names,
      }),
    );
    return output.Item;
  }

  /** The TTL in epoch seconds: only a resolved incident has one; without a `resolvedAt`, the one it had or now. */
  private purgeAt(record: IncidentRecord, storedPurgeAt: number | undefined): number | undefined {
    if (record.status !== "resolved") return undefined;
    if (record.resolvedAt === undefined && storedPurgeAt !== undefined) return storedPurgeAt;
    const resolvedMs =
      record.resolvedAt === undefined ? this.clock.now().getTime() : Date.parse(record.resolvedAt);
    return Math.floor(resolvedMs / millisecondsPerSecond) + incidentRetentionDays * secondsPerDay;
  }

  private incidentUpdate(
    next: IncidentRecord,
    expectedVersion: number,
    purgeAt: number | undefined,
  ): UpdateCommandInput & { UpdateExpression: string } {
    const active = next.status !== "resolved";
    const set = ["#record = :record", "#version = :next", "#status = :status"];
    const remove: string[] = [];
    const values: Item = {
      ":record": stored(next),
      ":next": next.version,
      ":status": next.status,
      ":expected": expectedVersion,
    };
    if (active) {
      set.push("#active = :fingerprint");
      values[":fingerprint"] = next.fingerprint;
    } else {
      remove.push("#active");
    }
    if (purgeAt === undefined) {
      remove.push("#purgeAt");
    } else {
      set.push("#purgeAt = :purgeAt");
      values[":purgeAt"] = purgeAt;
    }
    return {
      TableName: this.tableName,
      Key: incidentKey(next.id),
      UpdateExpression: `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`,
      ConditionExpression: "attribute_exists(#pk) AND #version = :expected",
      ExpressionAttributeNames: {
        "#pk": incidentTableKeys.partitionKey,
        "#record": "record",
        "#version": "version",
        "#status": incidentTableKeys.byStatusIndex.partitionKey,
        "#active": incidentTableKeys.byActiveFingerprintIndex.partitionKey,
        "#purgeAt": incidentTableKeys.timeToLive,
      },
      ExpressionAttributeValues: values,
    };
  }

  /** The alert item follows its incident's TTL, so the firing stays taken exactly as long as the incident exists. */
  private alertPurgeUpdate(
    next: IncidentRecord,
    purgeAt: number | undefined,
  ): UpdateCommandInput & { UpdateExpression: string } {
    return {
      TableName: this.tableName,
      Key: { [incidentTableKeys.partitionKey]: alertKey(next) },
      UpdateExpression:
        purgeAt === undefined
          ? "SET #incidentId = :incidentId REMOVE #purgeAt"
          : "SET #incidentId = :incidentId, #purgeAt = :purgeAt",
      ExpressionAttributeNames: { "#incidentId": "incidentId", "#purgeAt": incidentTableKeys.timeToLive },
      ExpressionAttributeValues: {
        ":incidentId": next.id,
        ...(purgeAt !== undefined && { ":purgeAt": purgeAt }),
      },
    };
  }

  /** A failed conditional write as the port names it; anything else untouched. */
  private updateFailure(id: string, expectedVersion: number, error: unknown): unknown {
    if (isConditionFailure(error)) return staleWrite(`incident ${id}`, error.Item, expectedVersion, error);
    if (isTransactionCanceled(error)) {
      const [incidentReason] = error.CancellationReasons ?? [];
      if (incidentReason?.Code === "ConditionalCheckFailed") {
        return staleWrite(`incident ${id}`, incidentReason.Item, expectedVersion, error);
      }
      if (reasonCodes(error).includes("TransactionConflict")) {
        return new ConflictError(
          `incident ${id} was being written by someone else: re-read it and apply the change again`,
          { cause: error },
        );
      }
    }
    return error;
  }
}

// Runs the PromotionStore contract against SQLite and against DynamoDB (an in-memory fake behind the SDK).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DynamoDbPromotionStore,
  promotionTableKeys,
} from "../../functions/adapters/aws/dynamodb-promotion-store.ts";
import type { Clock, PromotionRecord } from "../../functions/core/ports.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { openDatabase } from "../../local/db.ts";
import { type FakeTableSchema, fakeDynamoDb } from "../support/dynamodb-fake.ts";
import { describePromotionStoreContract, ManualClock } from "./promotion-store.contract.ts";

const tableName = "switchyard-promotions";

const tempHome = (): string => mkdtempSync(join(tmpdir(), "switchyard-promotions-"));

const tableSchema: FakeTableSchema = {
  partitionKey: promotionTableKeys.partitionKey,
  sortKey: promotionTableKeys.sortKey,
  indexes: [promotionTableKeys.byServiceIndex, promotionTableKeys.byTypeIndex],
};

describePromotionStoreContract("SqlitePromotionStore (file database)", async (clock) => {
  const home = tempHome();
  const file = join(home, "state.db");
  const connections = [openDatabase(file)];
  return {
    store: new SqlitePromotionStore({ db: connections[0]!, clock }),
    reopen: async () => {
      connections[0]?.close();
      const db = openDatabase(file);
      connections.push(db);
      return new SqlitePromotionStore({ db, clock });
    },
    cleanup: async () => {
      for (const db of connections) if (db.open) db.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
});

describePromotionStoreContract(
  "DynamoDbPromotionStore (document client against a DynamoDB fake)",
  async (clock) => {
    const { client, mock } = fakeDynamoDb(tableName, tableSchema);
    return {
      store: new DynamoDbPromotionStore({ client, tableName, clock }),
      reopen: async () => new DynamoDbPromotionStore({ client, tableName, clock }),
      cleanup: async () => {
        mock.restore();
      },
    };
  },
);

const record = (overrides: Partial<PromotionRecord> = {}): PromotionRecord => ({
  id: "p-1",
  service: "checkout",
  environment: "staging",
  image: {
    repository: "checkout",
    tag: "1.4.0",
    digest: `sha256:${"b".repeat(64)}`,
    pushedAt: "2026-05-01T11:59:30Z",
  },
  phase: "Pending",
  reasons: ["first"],
  trigger: { kind: "ecr", eventId: "evt-1" },
  createdAt: "2026-05-01T14:00:00+02:00",
  updatedAt: "2026-05-01T12:00:00.000Z",
  ...overrides,
});

const clock: Clock = new ManualClock(new Date("2026-05-01T12:00:00.000Z"));

describe("SqlitePromotionStore", () => {
  let home: string;

  beforeEach(() => {
    home = tempHome();
  });

  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it("keeps its tables under the promotion_ prefix", () => {
    const db = openDatabase(join(home, "state.db"));
    new SqlitePromotionStore({ db });

    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();

    expect(tables).toEqual([
      "promotion_deployments",
      "promotion_promotions",
      "promotion_quarantine",
      "promotion_reasons",
    ]);
    db.close();
  });

  it("refuses, in the schema itself, to rewrite or drop a recorded reason", async () => {
    const db = openDatabase(join(home, "state.db"));
    const store = new SqlitePromotionStore({ db });
    await store.createPromotion(record());

    expect(() => db.prepare("UPDATE promotion_reasons SET reason = 'edited'").run()).toThrow(
      "promotion reasons are append-only",
    );
    expect(() => db.prepare("DELETE FROM promotion_reasons").run()).toThrow(
      "promotion reasons are append-only",
    );
    expect((await store.getPromotion("p-1"))?.reasons).toEqual(["first"]);
    db.close();
  });

  it("rolls back a create whose reasons fail part-way, leaving no half promotion", async () => {
    const db = openDatabase(join(home, "state.db"));
    const store = new SqlitePromotionStore({ db });
    db.exec(`CREATE TRIGGER refuse_reason BEFORE INSERT ON promotion_reasons WHEN NEW.reason = 'refused'
             BEGIN SELECT RAISE(ABORT, 'reason refused'); END`);

    await expect(store.createPromotion(record({ reasons: ["fine", "refused"] }))).rejects.toThrow(
      "reason refused",
    );

    expect(await store.getPromotion("p-1")).toBeUndefined();
    expect(db.prepare("SELECT count(*) FROM promotion_reasons").pluck().get()).toBe(0);
    db.close();
  });

  it("rolls back an update whose reason fails, keeping the phase it had", async () => {
    const db = openDatabase(join(home, "state.db"));
    const store = new SqlitePromotionStore({ db, clock });
    await store.createPromotion(record());
    db.exec(`CREATE TRIGGER refuse_reason BEFORE INSERT ON promotion_reasons WHEN NEW.reason = 'refused'
             BEGIN SELECT RAISE(ABORT, 'reason refused'); END`);

    await expect(store.updatePromotion("p-1", { phase: "Succeeded", reason: "refused" })).rejects.toThrow(
      "reason refused",
    );

    expect(await store.getPromotion("p-1")).toStrictEqual(record());
    db.close();
  });

  it("lets two connections (the CLI and the runtime) share the file and see each other's writes", async () => {
    const file = join(home, "state.db");
    const cliDb = openDatabase(file);
    const runtimeDb = openDatabase(file);
    const cli = new SqlitePromotionStore({ db: cliDb });
    const runtime = new SqlitePromotionStore({ db: runtimeDb, clock });

    await runtime.createPromotion(record());
    await cli.quarantine("checkout", record().image.digest, "rolled back");
    await runtime.updatePromotion("p-1", { phase: "Skipped", reason: "quarantined" });

    expect(await runtime.isQuarantined("checkout", record().image.digest)).toBe(true);
    expect((await cli.getPromotion("p-1"))?.phase).toBe("Skipped");
    cliDb.close();
    runtimeDb.close();
  });
});

describe("DynamoDbPromotionStore requests", () => {
  let fake: ReturnType<typeof fakeDynamoDb>;
  let store: DynamoDbPromotionStore;

  beforeEach(() => {
    fake = fakeDynamoDb(tableName, tableSchema);
    store = new DynamoDbPromotionStore({ client: fake.client, tableName, clock });
  });

  afterEach(() => {
    fake.mock.restore();
  });

  it("creates a promotion once, with attribute_not_exists on the partition key", async () => {
    await store.createPromotion(record());

    const [put] = fake.mock.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(put).toMatchObject({
      TableName: tableName,
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": "PK" },
    });
  });

  it("stores each kind of item under the keys the table and its indexes are documented with", async () => {
    await store.createPromotion(record());
    await store.putDeployment({
      service: "checkout",
      environment: "staging",
      digest: record().image.digest,
      pushedAt: record().image.pushedAt,
      revision: "r1",
      promotionId: "p-1",
      deployedAt: "2026-05-01T12:03:00.000Z",
    });
    await store.quarantine("checkout", record().image.digest, "rolled back");

    const keys = fake.table
      .snapshot()
      .map(({ PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK }) => ({ PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK }));
    expect(keys).toEqual([
      {
        PK: "PROMOTION#p-1",
        SK: "PROMOTION",
        GSI1PK: "SERVICE#checkout",
        // createdAt was written with +02:00; the key carries the UTC instant so the index sorts by time.
        GSI1SK: "PROMOTION#2026-05-01T12:00:00.000Z#p-1",
        GSI2PK: "PROMOTION",
        GSI2SK: "2026-05-01T12:00:00.000Z#p-1",
      },
      {
        PK: "DEPLOYMENT#checkout",
        SK: "ENV#staging",
        GSI1PK: undefined,
        GSI1SK: undefined,
        GSI2PK: "DEPLOYMENT",
        GSI2SK: "checkout#staging",
      },
      {
        PK: "QUARANTINE#checkout",
        SK: `DIGEST#${record().image.digest}`,
        GSI1PK: undefined,
        GSI1SK: undefined,
        GSI2PK: "QUARANTINE",
        GSI2SK: `checkout#${record().image.digest}`,
      },
    ]);
  });

  it("updates in one UpdateItem: list_append for the reason, the terminal-phase guard in the condition", async () => {
    await store.createPromotion(record());
    fake.mock.resetHistory();

    await store.updatePromotion("p-1", { phase: "Committing", reason: "committing" });

    expect(fake.mock.calls()).toHaveLength(1);
    const [update] = fake.mock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(update?.UpdateExpression).toContain(
      "#reasons = list_append(if_not_exists(#reasons, :noReasons), :reason)",
    );
    expect(update?.ConditionExpression).toBe(
      "attribute_exists(#pk) AND (NOT (#phase IN (:terminal0, :terminal1, :terminal2, :terminal3, :terminal4)) OR #phase = :phase)",
    );
    expect(update?.ExpressionAttributeValues).toMatchObject({
      ":terminal0": "Succeeded",
      ":terminal1": "Skipped",
      ":terminal2": "Failed",
      ":terminal3": "RolledBack",
      ":terminal4": "Errored",
      ":phase": "Committing",
    });
  });

  it("loses no reason when two writers append at once", async () => {
    await store.createPromotion(record());
    const other = new DynamoDbPromotionStore({ client: fake.client, tableName, clock });

    await Promise.all([
      store.updatePromotion("p-1", { reason: "from the workflow" }),
      other.updatePromotion("p-1", { reason: "from the API" }),
    ]);

    expect((await store.getPromotion("p-1"))?.reasons.slice().sort()).toEqual([
      "first",
      "from the API",
      "from the workflow",
    ]);
  });

  it("lets an SDK error other than a failed condition through untouched", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    fake.mock.on(GetCommand).rejects(throttled);

    await expect(store.getPromotion("p-1")).rejects.toBe(throttled);
  });

  it("names the failed condition's cause on the error it throws", async () => {
    await store.createPromotion(record({ phase: "Succeeded" }));

    const error = await store.updatePromotion("p-1", { phase: "Failed" }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "ValidationError" });
    expect((error as Error).cause).toBeInstanceOf(ConditionalCheckFailedException);
  });
});

describe("the DynamoDB fake refuses what DynamoDB refuses", () => {
  let fake: ReturnType<typeof fakeDynamoDb>;

  beforeEach(() => {
    fake = fakeDynamoDb(tableName, tableSchema);
  });

  afterEach(() => {
    fake.mock.restore();
  });

  it.each<[string, () => Promise<unknown>, string]>([
    [
      "an unused attribute name",
      () =>
        fake.client.send(
          new PutCommand({
            TableName: tableName,
            Item: { PK: "a", SK: "b" },
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": "PK", "#extra": "extra" },
          }),
        ),
      "Value provided in ExpressionAttributeNames unused in expressions: keys: {#extra}",
    ],
    [
      "an undefined attribute value",
      () =>
        fake.client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { PK: "a", SK: "b" },
            UpdateExpression: "SET #x = :missing",
            ExpressionAttributeNames: { "#x": "x" },
          }),
        ),
      "An expression attribute value used in expression is not defined; attribute value: :missing",
    ],
    [
      "an undefined member of an item",
      () =>
        fake.client.send(
          new PutCommand({ TableName: tableName, Item: { PK: "a", SK: "b", tag: undefined } }),
        ),
      "Pass options.removeUndefinedValues=true",
    ],
    [
      "an update of a key attribute",
      () =>
        fake.client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { PK: "a", SK: "b" },
            UpdateExpression: "SET #pk = :v",
            ExpressionAttributeNames: { "#pk": "PK" },
            ExpressionAttributeValues: { ":v": "c" },
          }),
        ),
      "Cannot update attribute PK",
    ],
    [
      "a consistent read on an index",
      () =>
        fake.client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: "GSI2",
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": "GSI2PK" },
            ExpressionAttributeValues: { ":pk": "PROMOTION" },
            ConsistentRead: true,
          }),
        ),
      "Consistent reads are not supported on global secondary indexes",
    ],
    [
      "a filter on a key attribute",
      () =>
        fake.client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: "GSI2",
            KeyConditionExpression: "#pk = :pk",
            FilterExpression: "#sk = :sk",
            ExpressionAttributeNames: { "#pk": "GSI2PK", "#sk": "GSI2SK" },
            ExpressionAttributeValues: { ":pk": "PROMOTION", ":sk": "x" },
          }),
        ),
      "Filter Expression can only contain non-primary key attributes",
    ],
    [
      "another table",
      () => fake.client.send(new GetCommand({ TableName: "other", Key: { PK: "a", SK: "b" } })),
      "Requested resource not found",
    ],
  ])("%s", async (_, send, message) => {
    await expect(send()).rejects.toThrow(message);
  });

  it("evaluates the condition of a write, and leaves the item alone when it fails", async () => {
    await fake.client.send(
      new PutCommand({ TableName: tableName, Item: { PK: "a", SK: "b", phase: "Succeeded" } }),
    );
    const guarded = new UpdateCommand({
      TableName: tableName,
      Key: { PK: "a", SK: "b" },
      UpdateExpression: "SET #phase = :phase",
      ConditionExpression: "attribute_exists(#pk) AND (NOT (#phase IN (:done)) OR #phase = :phase)",
      ExpressionAttributeNames: { "#pk": "PK", "#phase": "phase" },
      ExpressionAttributeValues: { ":phase": "Pending", ":done": "Succeeded" },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });

    const error = await fake.client.send(guarded).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect((error as ConditionalCheckFailedException).Item).toEqual({
      PK: { S: "a" },
      SK: { S: "b" },
      phase: { S: "Succeeded" },
    });
    expect(fake.table.snapshot()).toEqual([{ PK: "a", SK: "b", phase: "Succeeded" }]);
  });

  it("pages a query and resumes after LastEvaluatedKey, in either direction", async () => {
    for (let n = 0; n < 10; n++) {
      await fake.client.send(
        new PutCommand({
          TableName: tableName,
          Item: { PK: `p${n}`, SK: "s", GSI2PK: "T", GSI2SK: `k${n}` },
        }),
      );
    }
    const page = (forward: boolean, start?: Record<string, unknown>) =>
      fake.client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: "GSI2",
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": "GSI2PK" },
          ExpressionAttributeValues: { ":pk": "T" },
          ScanIndexForward: forward,
          Limit: 4,
          ...(start !== undefined && { ExclusiveStartKey: start }),
        }),
      );

    const first = await page(false);
    const second = await page(false, first.LastEvaluatedKey);

    expect(first.Items?.map((item) => item.GSI2SK)).toEqual(["k9", "k8", "k7", "k6"]);
    expect(first.LastEvaluatedKey).toEqual({ PK: "p6", SK: "s", GSI2PK: "T", GSI2SK: "k6" });
    expect(second.Items?.map((item) => item.GSI2SK)).toEqual(["k5", "k4", "k3", "k2"]);
    expect((await page(true)).Items?.map((item) => item.GSI2SK)).toEqual(["k0", "k1", "k2", "k3"]);
  });
});

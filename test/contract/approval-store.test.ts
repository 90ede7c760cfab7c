// Runs the ApprovalStore contract against SQLite and against DynamoDB (an in-memory fake behind the SDK).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  approvalTableKeys,
  DynamoDbApprovalStore,
} from "../../functions/adapters/aws/dynamodb-approval-store.ts";
import type { ApprovalRecord } from "../../functions/core/ports.ts";
import { SqliteApprovalStore } from "../../local/adapters/sqlite-approval-store.ts";
import { openDatabase } from "../../local/db.ts";
import { type FakeTableSchema, fakeDynamoDb } from "../support/dynamodb-fake.ts";
import { describeApprovalStoreContract } from "./approval-store.contract.ts";

const tableName = "switchyard-approvals";

const tempHome = (): string => mkdtempSync(join(tmpdir(), "switchyard-approvals-"));

const tableSchema: FakeTableSchema = {
  partitionKey: approvalTableKeys.partitionKey,
  indexes: [approvalTableKeys.byStateIndex, approvalTableKeys.byPromotionIndex],
};

describeApprovalStoreContract("SqliteApprovalStore (file database)", async () => {
  const home = tempHome();
  const file = join(home, "state.db");
  const connections = [openDatabase(file)];
  return {
    store: new SqliteApprovalStore({ db: connections[0]! }),
    reopen: async () => {
      connections[0]?.close();
      const db = openDatabase(file);
      connections.push(db);
      return new SqliteApprovalStore({ db });
    },
    cleanup: async () => {
      for (const db of connections) if (db.open) db.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
});

describeApprovalStoreContract("DynamoDbApprovalStore (document client against a DynamoDB fake)", async () => {
  const { client, mock } = fakeDynamoDb(tableName, tableSchema);
  return {
    store: new DynamoDbApprovalStore({ client, tableName }),
    reopen: async () => new DynamoDbApprovalStore({ client, tableName }),
    cleanup: async () => {
      mock.restore();
    },
  };
});

const token = "AQCEAAAAKgAAAAMAAAAAAAAAAfG3Kx+token-one==";

const record = (overrides: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: "a-1",
  promotionId: "p-1",
  service: "checkout",
  environment: "production",
  to: { repository: "checkout", tag: "1.4.0", digest: `sha256:${"b".repeat(64)}` },
  requestedBy: "maria.lopez@example.com",
  approvers: ["ana.silva@example.com"],
  minApprovals: 1,
  requestedAt: "2026-05-01T14:00:00+02:00",
  expiresAt: "2026-05-02T12:00:00.000Z",
  decisions: [],
  state: "pending",
  version: 1,
  ...overrides,
});

describe("SqliteApprovalStore", () => {
  let home: string;

  beforeEach(() => {
    home = tempHome();
  });

  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it("keeps its one table, approval_requests", () => {
    const db = openDatabase(join(home, "state.db"));
    new SqliteApprovalStore({ db });

    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();

    expect(tables).toEqual(["approval_requests"]);
    db.close();
  });

  it("lets one of two connections (the CLI and the runtime) win a decision both read at the same version", async () => {
    const file = join(home, "state.db");
    const cliDb = openDatabase(file);
    const runtimeDb = openDatabase(file);
    const cli = new SqliteApprovalStore({ db: cliDb });
    const runtime = new SqliteApprovalStore({ db: runtimeDb });
    await runtime.create(record(), token);
    const read = (await cli.get("a-1"))!;

    await runtime.update({ ...read, state: "expired" });
    const error = await cli.update({ ...read, state: "approved" }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "ConflictError" });
    expect((await cli.get("a-1"))?.state).toBe("expired");
    cliDb.close();
    runtimeDb.close();
  });
});

describe("DynamoDbApprovalStore requests", () => {
  let fake: ReturnType<typeof fakeDynamoDb>;
  let store: DynamoDbApprovalStore;

  beforeEach(() => {
    fake = fakeDynamoDb(tableName, tableSchema);
    store = new DynamoDbApprovalStore({ client: fake.client, tableName });
  });

  afterEach(() => {
    fake.mock.restore();
  });

  it("stores one item under the documented keys, with a TTL 90 days after expiresAt", async () => {
    await store.create(record(), token);

    const { version: _version, ...stored } = record();
    expect(fake.table.snapshot()).toEqual([
      {
        id: "a-1",
        promotionId: "p-1",
        state: "pending",
        // requestedAt was written with +02:00; the key carries the UTC instant so the indexes sort by time.
        requestedAtKey: "2026-05-01T12:00:00.000Z#a-1",
        record: stored,
        version: 1,
        taskToken: token,
        purgeAtEpochSeconds: Date.parse("2026-05-02T12:00:00.000Z") / 1_000 + 90 * 86_400,
      },
    ]);
    expect(approvalTableKeys.timeToLive).toBe("purgeAtEpochSeconds");
  });

  it("creates a request once, with attribute_not_exists on the partition key", async () => {
    await store.create(record(), token);

    const [put] = fake.mock.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(put).toMatchObject({
      TableName: tableName,
      ConditionExpression: "attribute_not_exists(#id)",
      ExpressionAttributeNames: { "#id": "id" },
    });
  });

  it("updates in one UpdateItem conditional on the version, leaving the task token out of it", async () => {
    await store.create(record(), token);
    fake.mock.resetHistory();

    await store.update({ ...record(), state: "approved", expiresAt: "2026-05-03T12:00:00.000Z" });

    expect(fake.mock.calls()).toHaveLength(1);
    const [update] = fake.mock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(update?.ConditionExpression).toBe("attribute_exists(#id) AND #version = :expected");
    expect(update?.ExpressionAttributeValues).toMatchObject({ ":expected": 1, ":next": 2 });
    expect(Object.values(update?.ExpressionAttributeNames ?? {})).not.toContain("taskToken");
    expect(fake.table.snapshot()[0]).toMatchObject({
      state: "approved",
      version: 2,
      taskToken: token,
      purgeAtEpochSeconds: Date.parse("2026-05-03T12:00:00.000Z") / 1_000 + 90 * 86_400,
    });
  });

  it("names the failed condition as the cause of a ConflictError", async () => {
    await store.create(record(), token);
    await store.update(record());

    const error = await store.update(record()).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "ConflictError" });
    expect((error as Error).cause).toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("reads a record without fetching its task token", async () => {
    await store.create(record(), token);
    fake.mock.resetHistory();

    await store.get("a-1");
    await store.findByPromotion("p-1");

    const gets = fake.mock.commandCalls(GetCommand).map((call) => call.args[0].input);
    expect(gets).toHaveLength(2);
    for (const get of gets) {
      expect(get.ConsistentRead).toBe(true);
      expect(get.ProjectionExpression).toBe("#record, #version");
      expect(Object.values(get.ExpressionAttributeNames ?? {})).toEqual(["record", "version"]);
    }
  });

  it("projects no task token into either index", () => {
    const { byStateIndex, byPromotionIndex } = approvalTableKeys;

    expect(byStateIndex).toMatchObject({ projection: "INCLUDE", nonKeyAttributes: ["record", "version"] });
    expect(byPromotionIndex.projection).toBe("KEYS_ONLY");
  });

  it("lists one state with a Query on the byState index, newest first, and never scans", async () => {
    await store.create(record(), token);
    fake.mock.resetHistory();

    await store.list({ state: "pending", limit: 5 });

    expect(fake.mock.commandCalls(ScanCommand)).toHaveLength(0);
    const queries = fake.mock.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toEqual([
      {
        TableName: tableName,
        IndexName: "byState",
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": "state" },
        ExpressionAttributeValues: { ":pk": "pending" },
        ScanIndexForward: false,
        Limit: 5,
      },
    ]);
  });

  it("lists every state by querying each of the four and merging them, never scanning", async () => {
    await store.create(record(), token);
    fake.mock.resetHistory();

    await store.list();

    expect(fake.mock.commandCalls(ScanCommand)).toHaveLength(0);
    const states = fake.mock
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input.ExpressionAttributeValues?.[":pk"]);
    expect(states.sort()).toEqual(["approved", "expired", "pending", "rejected"]);
  });

  it("lets an SDK error other than a failed condition through untouched", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    fake.mock.on(UpdateCommand).rejects(throttled);
    await store.create(record(), token);

    await expect(store.update(record())).rejects.toBe(throttled);
    await expect(store.replaceTaskToken("a-1", "other")).rejects.toBe(throttled);
  });
});

// Runs the IncidentStore contract against SQLite and against DynamoDB (an in-memory fake behind the SDK).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DynamoDbIncidentStore,
  incidentTableKeys,
} from "../../functions/adapters/aws/dynamodb-incident-store.ts";
import type { IncidentRecord, NewIncident } from "../../functions/core/ports.ts";
import { SqliteIncidentStore } from "../../local/adapters/sqlite-incident-store.ts";
import { openDatabase } from "../../local/db.ts";
import { type FakeTableSchema, fakeDynamoDb } from "../support/dynamodb-fake.ts";
import { describeIncidentStoreContract } from "./incident-store.contract.ts";

const tableName = "switchyard-incidents";

const tempHome = (): string => mkdtempSync(join(tmpdir(), "switchyard-incidents-"));

const tableSchema: FakeTableSchema = {
  partitionKey: incidentTableKeys.partitionKey,
  indexes: [incidentTableKeys.byStatusIndex, incidentTableKeys.byActiveFingerprintIndex],
};

describeIncidentStoreContract("SqliteIncidentStore (file database)", async () => {
  const home = tempHome();
  const file = join(home, "state.db");
  const connections = [openDatabase(file)];
  return {
    store: new SqliteIncidentStore({ db: connections[0]! }),
    reopen: async () => {
      connections[0]?.close();
      const db = openDatabase(file);
      connections.push(db);
      return new SqliteIncidentStore({ db });
    },
    cleanup: async () => {
      for (const db of connections) if (db.open) db.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
});

describeIncidentStoreContract("DynamoDbIncidentStore (document client against a DynamoDB fake)", async () => {
  const { client, mock } = fakeDynamoDb(tableName, tableSchema);
  return {
    store: new DynamoDbIncidentStore({ client, tableName }),
    reopen: async () => new DynamoDbIncidentStore({ client, tableName }),
    cleanup: async () => {
      mock.restore();
    },
  };
});

const token = "AQCEAAAAKgAAAAMAAAAAAAAAAfG3Kx+wait-one==";
const secondsPerDay = 86_400;

const alert = (overrides: Partial<NewIncident> = {}): NewIncident => ({
  id: "i-1",
  fingerprint: "3f9a1c0d5e7b2a64",
  startsAt: "2026-05-01T14:00:00+02:00",
  alertSource: "alertmanager",
  severity: "critical",
  summary: "checkout 5xx rate above 5%",
  labels: { alertname: "CheckoutErrorRate" },
  openedAt: "2026-05-01T12:01:00.000Z",
  ...overrides,
});

const storedRecord = (record: IncidentRecord) => {
  const { version: _version, ...rest } = record;
  return rest;
};

describe("SqliteIncidentStore", () => {
  let home: string;

  beforeEach(() => {
    home = tempHome();
  });

  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it("keeps two tables: incidents, and the wait tokens apart from them", () => {
    const db = openDatabase(join(home, "state.db"));
    new SqliteIncidentStore({ db });

    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();

    expect(tables).toEqual(["incident_wait_tokens", "incidents"]);
    db.close();
  });

  it("opens one incident for one firing from two connections (the CLI and the runtime)", async () => {
    const file = join(home, "state.db");
    const cliDb = openDatabase(file);
    const runtimeDb = openDatabase(file);
    const cli = new SqliteIncidentStore({ db: cliDb });
    const runtime = new SqliteIncidentStore({ db: runtimeDb });

    const first = await runtime.open(alert());
    const second = await cli.open(alert({ id: "i-2" }));

    expect(first.created).toBe(true);
    expect(second).toStrictEqual({ created: false, incident: first.incident });
    cliDb.close();
    runtimeDb.close();
  });

  it("lets one of two connections win an update both read at the same version", async () => {
    const file = join(home, "state.db");
    const cliDb = openDatabase(file);
    const runtimeDb = openDatabase(file);
    const cli = new SqliteIncidentStore({ db: cliDb });
    const runtime = new SqliteIncidentStore({ db: runtimeDb });
    await runtime.open(alert());

    await runtime.update("i-1", 1, { status: "acknowledged" });
    const error = await cli.update("i-1", 1, { status: "resolved" }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "ConflictError" });
    expect((await cli.get("i-1"))?.status).toBe("acknowledged");
    cliDb.close();
    runtimeDb.close();
  });
});

describe("DynamoDbIncidentStore requests", () => {
  let fake: ReturnType<typeof fakeDynamoDb>;
  let store: DynamoDbIncidentStore;
  const now = new Date("2026-06-01T00:00:00.000Z");

  beforeEach(() => {
    fake = fakeDynamoDb(tableName, tableSchema);
    store = new DynamoDbIncidentStore({ client: fake.client, tableName, clock: { now: () => now } });
  });

  afterEach(() => {
    fake.mock.restore();
  });

  const item = (pk: string) => fake.table.snapshot().find((candidate) => candidate.pk === pk);

  it("stores an incident item and an alert item under the documented keys", async () => {
    const { incident } = await store.open(alert());

    expect(fake.table.snapshot()).toEqual(
      expect.arrayContaining([
        {
          pk: "INCIDENT#i-1",
          record: storedRecord(incident),
          version: 1,
          status: "open",
          openedAtKey: "2026-05-01T12:01:00.000Z#i-1",
          activeFingerprint: "3f9a1c0d5e7b2a64",
        },
        // startsAt was written with +02:00: the key carries the UTC instant, so every offset names one firing.
        { pk: "ALERT#3f9a1c0d5e7b2a64#2026-05-01T12:00:00.000Z", incidentId: "i-1" },
      ]),
    );
    expect(fake.table.snapshot()).toHaveLength(2);
  });

  it("opens in one transaction of two puts, each conditional on its item not existing", async () => {
    await store.open(alert());

    const [transaction] = fake.mock.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);
    expect(transaction?.TransactItems).toHaveLength(2);
    for (const action of transaction?.TransactItems ?? []) {
      expect(action.Put).toMatchObject({
        TableName: tableName,
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": "pk" },
      });
    }
  });

  it("sets a TTL 90 days after resolvedAt on both items when the incident resolves, and removes it on reopening", async () => {
    await store.open(alert());
    await store.setWaitToken("i-1", token);
    const purgeAt = Date.parse("2026-05-01T13:00:00.000Z") / 1_000 + 90 * secondsPerDay;

    await store.update("i-1", 1, { status: "resolved", resolvedAt: "2026-05-01T15:00:00+02:00" });

    expect(item("INCIDENT#i-1")).toMatchObject({ status: "resolved", purgeAtEpochSeconds: purgeAt });
    expect(item("INCIDENT#i-1")).not.toHaveProperty("activeFingerprint");
    expect(item("ALERT#3f9a1c0d5e7b2a64#2026-05-01T12:00:00.000Z")).toEqual({
      pk: "ALERT#3f9a1c0d5e7b2a64#2026-05-01T12:00:00.000Z",
      incidentId: "i-1",
      purgeAtEpochSeconds: purgeAt,
    });
    expect(incidentTableKeys.timeToLive).toBe("purgeAtEpochSeconds");

    await store.update("i-1", 2, { status: "open" });

    expect(item("INCIDENT#i-1")).not.toHaveProperty("purgeAtEpochSeconds");
    expect(item("INCIDENT#i-1")).toMatchObject({ activeFingerprint: "3f9a1c0d5e7b2a64", waitToken: token });
    expect(item("ALERT#3f9a1c0d5e7b2a64#2026-05-01T12:00:00.000Z")).not.toHaveProperty("purgeAtEpochSeconds");
  });

  it("dates the TTL from the clock when an incident resolves without resolvedAt, and keeps it afterwards", async () => {
    await store.open(alert());
    const purgeAt = now.getTime() / 1_000 + 90 * secondsPerDay;

    await store.update("i-1", 1, { status: "resolved" });
    fake.mock.resetHistory();
    await store.update("i-1", 2, { froze: false });

    expect(item("INCIDENT#i-1")?.purgeAtEpochSeconds).toBe(purgeAt);
    // The TTL did not move, so the second update needs no transaction.
    expect(fake.mock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(fake.mock.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it("updates an active incident in one UpdateItem conditional on the version, leaving the wait token out", async () => {
    await store.open(alert());
    await store.setWaitToken("i-1", token);
    fake.mock.resetHistory();

    await store.update("i-1", 1, { level: 2 });

    expect(fake.mock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    const [update] = fake.mock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(update?.ConditionExpression).toBe("attribute_exists(#pk) AND #version = :expected");
    expect(update?.ExpressionAttributeValues).toMatchObject({ ":expected": 1, ":next": 2 });
    expect(Object.values(update?.ExpressionAttributeNames ?? {})).not.toContain("waitToken");
    expect(item("INCIDENT#i-1")).toMatchObject({ version: 2, waitToken: token });
  });

  it("names the failed condition as the cause of a ConflictError, in a transaction too", async () => {
    await store.open(alert());

    const results = await Promise.allSettled([
      store.update("i-1", 1, { status: "resolved", resolvedAt: "2026-05-01T13:00:00.000Z" }),
      store.update("i-1", 1, { status: "resolved", resolvedAt: "2026-05-01T13:05:00.000Z" }),
    ]);

    const lost = results.flatMap((result) => (result.status === "rejected" ? [result.reason as Error] : []));
    expect(lost).toMatchObject([{ name: "ConflictError" }]);
    expect(lost[0]?.cause).toBeInstanceOf(TransactionCanceledException);
  });

  it("reads records without fetching the wait token, strongly consistently", async () => {
    await store.open(alert());
    await store.setWaitToken("i-1", token);
    fake.mock.resetHistory();

    await store.get("i-1");
    await store.findActive("3f9a1c0d5e7b2a64");

    const gets = fake.mock.commandCalls(GetCommand).map((call) => call.args[0].input);
    expect(gets).toHaveLength(2);
    for (const get of gets) {
      expect(get.ConsistentRead).toBe(true);
      expect(Object.values(get.ExpressionAttributeNames ?? {})).toEqual(["record", "version"]);
    }
  });

  it("projects no wait token into either index", () => {
    const { byStatusIndex, byActiveFingerprintIndex } = incidentTableKeys;

    expect(byStatusIndex).toMatchObject({ projection: "INCLUDE", nonKeyAttributes: ["record", "version"] });
    expect(byActiveFingerprintIndex.projection).toBe("KEYS_ONLY");
  });

  it("lists one status with a Query on the byStatus index, newest first, and never scans", async () => {
    await store.open(alert());
    fake.mock.resetHistory();

    await store.list({ status: "open", limit: 5 });

    expect(fake.mock.commandCalls(ScanCommand)).toHaveLength(0);
    expect(fake.mock.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: tableName,
        IndexName: "byStatus",
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": "status" },
        ExpressionAttributeValues: { ":pk": "open" },
        ScanIndexForward: false,
        Limit: 5,
      },
    ]);
  });

  it("lists every status by querying each of the three and merging them, never scanning", async () => {
    await store.open(alert());
    fake.mock.resetHistory();

    await store.list();

    expect(fake.mock.commandCalls(ScanCommand)).toHaveLength(0);
    const statuses = fake.mock
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input.ExpressionAttributeValues?.[":pk"]);
    expect(statuses.sort()).toEqual(["acknowledged", "open", "resolved"]);
  });

  it("finds the active incident through the sparse byActiveFingerprint index, never scanning", async () => {
    await store.open(alert());
    fake.mock.resetHistory();

    await store.findActive("3f9a1c0d5e7b2a64");

    expect(fake.mock.commandCalls(ScanCommand)).toHaveLength(0);
    expect(fake.mock.commandCalls(QueryCommand).map((call) => call.args[0].input)).toMatchObject([
      {
        IndexName: "byActiveFingerprint",
        ExpressionAttributeNames: { "#pk": "activeFingerprint" },
        ExpressionAttributeValues: { ":pk": "3f9a1c0d5e7b2a64" },
        ScanIndexForward: false,
      },
    ]);
  });

  it("answers from the table, not the lagging index: an incident the index still shows as active is skipped", async () => {
    await store.open(alert());
    await store.open(
      alert({ id: "i-2", startsAt: "2026-05-01T12:30:00.000Z", openedAt: "2026-05-01T12:31:00.000Z" }),
    );
    await store.update("i-2", 1, { status: "resolved", resolvedAt: "2026-05-01T12:40:00.000Z" });
    // As if the index had not caught up with the resolution yet: it still lists i-2, keys only.
    const lagging = {
      pk: "INCIDENT#i-2",
      activeFingerprint: "3f9a1c0d5e7b2a64",
      openedAtKey: item("INCIDENT#i-2")?.openedAtKey,
    };
    let queries = 0;
    fake.mock.on(QueryCommand).callsFake(async (input: QueryCommandInput) => {
      queries++;
      return queries === 1 ? { Items: [lagging], LastEvaluatedKey: lagging } : fake.table.query(input);
    });

    expect((await store.findActive("3f9a1c0d5e7b2a64"))?.id).toBe("i-1");
  });

  it("retries an open whose transaction collided with another write in flight", async () => {
    const collided = new TransactionCanceledException({
      message:
        "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]",
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: [{ Code: "TransactionConflict" }, { Code: "None" }],
    });
    let transactions = 0;
    fake.mock.on(TransactWriteCommand).callsFake(async (input: TransactWriteCommandInput) => {
      transactions++;
      if (transactions === 1) throw collided;
      return fake.table.transactWrite(input);
    });

    const result = await store.open(alert());

    expect(result.created).toBe(true);
    expect(fake.mock.commandCalls(TransactWriteCommand)).toHaveLength(2);
    expect(await store.get("i-1")).toStrictEqual(result.incident);
  });

  it("frees a firing whose incident TTL deleted before its alert item, and opens a new incident", async () => {
    await store.open(alert());
    await fake.client.send(new DeleteCommand({ TableName: tableName, Key: { pk: "INCIDENT#i-1" } }));

    const result = await store.open(alert({ id: "i-2" }));

    expect(result.created).toBe(true);
    expect(result.incident.id).toBe("i-2");
    expect(item("ALERT#3f9a1c0d5e7b2a64#2026-05-01T12:00:00.000Z")?.incidentId).toBe("i-2");
  });

  it("lets an SDK error other than a failed condition through untouched", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    await store.open(alert());
    fake.mock.on(UpdateCommand).rejects(throttled);
    fake.mock.on(TransactWriteCommand).rejects(throttled);

    await expect(store.update("i-1", 1, { level: 2 })).rejects.toBe(throttled);
    await expect(store.update("i-1", 1, { status: "resolved" })).rejects.toBe(throttled);
    await expect(store.setWaitToken("i-1", token)).rejects.toBe(throttled);
    await expect(store.open(alert({ id: "i-2", startsAt: "2026-05-02T00:00:00Z" }))).rejects.toBe(throttled);
  });
});

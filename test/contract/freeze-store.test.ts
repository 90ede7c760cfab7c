// Runs the FreezeStore contract against SQLite and against DynamoDB (an in-memory fake behind the SDK).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DynamoDbFreezeStore, freezeTableKeys } from "../../functions/adapters/aws/dynamodb-freeze-store.ts";
import type { Freeze } from "../../functions/core/ports.ts";
import { SqliteFreezeStore } from "../../local/adapters/sqlite-freeze-store.ts";
import { openDatabase } from "../../local/db.ts";
import { fakeDynamoDb } from "../support/dynamodb-fake.ts";
import { describeFreezeStoreContract } from "./freeze-store.contract.ts";

const tableName = "switchyard-freezes";

const tempHome = (): string => mkdtempSync(join(tmpdir(), "switchyard-freezes-"));

describeFreezeStoreContract("SqliteFreezeStore (file database)", async () => {
  const home = tempHome();
  const file = join(home, "state.db");
  const connections = [openDatabase(file)];
  return {
    store: new SqliteFreezeStore({ db: connections[0]! }),
    reopen: async () => {
      connections[0]?.close();
      const db = openDatabase(file);
      connections.push(db);
      return new SqliteFreezeStore({ db });
    },
    cleanup: async () => {
      for (const db of connections) if (db.open) db.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
});

describeFreezeStoreContract("DynamoDbFreezeStore (document client against a DynamoDB fake)", async () => {
  const { client, mock } = fakeDynamoDb(tableName, freezeTableKeys);
  return {
    store: new DynamoDbFreezeStore({ client, tableName }),
    reopen: async () => new DynamoDbFreezeStore({ client, tableName }),
    cleanup: async () => {
      mock.restore();
    },
  };
});

const freeze = (overrides: Partial<Freeze> = {}): Freeze => ({
  service: "checkout",
  id: "INC-042",
  reason: "payments degraded",
  setBy: "pagerduty",
  setAt: "2026-05-01T12:00:00.000Z",
  until: "2026-05-01T14:00:00.000Z",
  source: "incident",
  ...overrides,
});

describe("SqliteFreezeStore", () => {
  let home: string;

  beforeEach(() => {
    home = tempHome();
  });

  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it("keeps its one table, freezes", () => {
    const db = openDatabase(join(home, "state.db"));
    new SqliteFreezeStore({ db });

    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();

    expect(tables).toEqual(["freezes"]);
    db.close();
  });

  it("lets two connections (the CLI and the runtime) share the file and see each other's writes", async () => {
    const file = join(home, "state.db");
    const cliDb = openDatabase(file);
    const runtimeDb = openDatabase(file);
    const cli = new SqliteFreezeStore({ db: cliDb });
    const runtime = new SqliteFreezeStore({ db: runtimeDb });

    await runtime.put(freeze());
    expect(await cli.list("checkout")).toStrictEqual([freeze()]);
    expect(await cli.remove("checkout")).toBe(1);
    expect(await runtime.list()).toEqual([]);
    cliDb.close();
    runtimeDb.close();
  });
});

describe("DynamoDbFreezeStore requests", () => {
  let fake: ReturnType<typeof fakeDynamoDb>;
  let store: DynamoDbFreezeStore;

  beforeEach(() => {
    fake = fakeDynamoDb(tableName, freezeTableKeys);
    store = new DynamoDbFreezeStore({ client: fake.client, tableName });
  });

  afterEach(() => {
    fake.mock.restore();
  });

  it("stores the freeze itself as the item, under the keys freezeTableKeys names", async () => {
    await store.put(freeze());

    expect(freezeTableKeys).toEqual({ partitionKey: "service", sortKey: "id" });
    expect(fake.table.snapshot()).toEqual([freeze()]);
  });

  it("reads a service's freezes with a strongly consistent Query, never a Scan", async () => {
    await store.put(freeze());
    fake.mock.resetHistory();

    await store.list("checkout");
    await store.remove("checkout");

    expect(fake.mock.commandCalls(ScanCommand)).toHaveLength(0);
    const queries = fake.mock.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(2);
    for (const query of queries) {
      expect(query).toMatchObject({ TableName: tableName, ConsistentRead: true });
      expect(query.IndexName).toBeUndefined();
    }
  });

  it("lists every freeze with a strongly consistent Scan", async () => {
    await store.put(freeze());
    fake.mock.resetHistory();

    await store.list();

    const [scan] = fake.mock.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(scan).toMatchObject({ TableName: tableName, ConsistentRead: true });
  });

  it("removes one freeze with one DeleteItem and counts it by the item the delete returned", async () => {
    await store.put(freeze());
    fake.mock.resetHistory();

    expect(await store.remove("checkout", "INC-042")).toBe(1);

    expect(fake.mock.calls()).toHaveLength(1);
    const [deleted] = fake.mock.commandCalls(DeleteCommand).map((call) => call.args[0].input);
    expect(deleted).toEqual({
      TableName: tableName,
      Key: { service: "checkout", id: "INC-042" },
      ReturnValues: "ALL_OLD",
    });
  });

  it("lets an SDK error through untouched", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    fake.mock.on(QueryCommand).rejects(throttled);

    await expect(store.list("checkout")).rejects.toBe(throttled);
  });
});

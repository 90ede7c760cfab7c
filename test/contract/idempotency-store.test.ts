// Runs the IdempotencyStore contract against SQLite and against DynamoDB (an in-memory fake behind the SDK).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DeleteCommandInput,
  DynamoDBDocumentClient,
  PutCommand,
  type PutCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoDbIdempotencyStore } from "../../functions/adapters/aws/dynamodb-idempotency-store.ts";
import { SqliteIdempotencyStore } from "../../local/adapters/sqlite-idempotency-store.ts";
import { openDatabase } from "../../local/db.ts";
import { describeIdempotencyStoreContract } from "./idempotency-store.contract.ts";

const tableName = "switchyard-idempotency";

type Item = Record<string, unknown>;

/**
 * Evaluates a DynamoDB condition expression against an item, as DynamoDB would for the subset it supports here:
 * OR, AND, NOT, parentheses, attribute_exists / attribute_not_exists, and = <> < <= > >= between attributes
 * (`name` or `#name`) and `:values`. A comparison with a missing attribute is false. Anything else throws, so the
 * fake can never pass a condition it did not understand.
 */
const evaluateCondition = (
  expression: string,
  item: Item | undefined,
  names: Record<string, string> = {},
  values: Record<string, unknown> = {},
): boolean => {
  const tokens = expression.match(/\(|\)|,|<>|<=|>=|=|<|>|[#:]?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
  if (tokens.join("").replace(/\s/g, "") !== expression.replace(/\s/g, "")) {
    throw new Error(`Condition the fake cannot read: ${expression}`);
  }
  let at = 0;
  const peek = (): string | undefined => tokens[at];
  const next = (): string => {
    const token = tokens[at++];
    if (token === undefined) throw new Error(`Condition ends early: ${expression}`);
    return token;
  };
  const expect_ = (token: string): void => {
    if (next() !== token) throw new Error(`Expected ${token} in condition: ${expression}`);
  };
  const attributeName = (token: string): string => {
    if (!token.startsWith("#")) return token;
    const name = names[token];
    if (name === undefined) throw new Error(`${token} is not in ExpressionAttributeNames`);
    return name;
  };
  const operand = (token: string): { present: boolean; value: unknown } => {
    if (token.startsWith(":")) {
      if (!(token in values)) throw new Error(`${token} is not in ExpressionAttributeValues`);
      return { present: true, value: values[token] };
    }
    const name = attributeName(token);
    return { present: item !== undefined && name in item, value: item?.[name] };
  };
  const compare = (op: string, left: unknown, right: unknown): boolean => {
    if (typeof left !== typeof right || (typeof left !== "number" && typeof left !== "string")) {
      return op === "<>";
    }
    const [a, b] = [left as number | string, right as number | string];
    const results: Record<string, boolean> = {
      "=": a === b,
      "<>": a !== b,
      "<": a < b,
      "<=": a <= b,
      ">": a > b,
      ">=": a >= b,
    };
    const result = results[op];
    if (result === undefined) throw new Error(`Operator ${op} in condition: ${expression}`);
    return result;
  };
  const factor = (): boolean => {
    const token = next();
    if (token.toUpperCase() === "NOT") return !factor();
    if (token === "(") {
      const value = disjunction();
      expect_(")");
      return value;
    }
    if (token === "attribute_exists" || token === "attribute_not_exists") {
      expect_("(");
      const name = attributeName(next());
      expect_(")");
      const exists = item !== undefined && name in item;
      return token === "attribute_exists" ? exists : !exists;
    }
    const left = operand(token);
    const op = next();
    const right = operand(next());
    return left.present && right.present && compare(op, left.value, right.value);
  };
  const conjunction = (): boolean => {
    let value = factor();
    while (peek()?.toUpperCase() === "AND") {
      next();
      value = factor() && value;
    }
    return value;
  };
  const disjunction = (): boolean => {
    let value = conjunction();
    while (peek()?.toUpperCase() === "OR") {
      next();
      value = conjunction() || value;
    }
    return value;
  };
  const result = disjunction();
  if (at !== tokens.length) throw new Error(`Condition the fake cannot read: ${expression}`);
  return result;
};

/** A DynamoDB table of items keyed by `pk`, behind the document client, answering PutItem and DeleteItem. */
const dynamoDbFake = () => {
  const items = new Map<string, Item>();
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } }),
  );
  const mock = mockClient(client);
  const checkTable = (input: { TableName?: string }): void => {
    if (input.TableName !== tableName) throw new Error(`Requested table ${input.TableName} does not exist`);
  };
  mock.on(PutCommand).callsFake((input: PutCommandInput) => {
    checkTable(input);
    const item = input.Item ?? {};
    const key = String(item.pk);
    if (
      input.ConditionExpression !== undefined &&
      !evaluateCondition(
        input.ConditionExpression,
        items.get(key),
        input.ExpressionAttributeNames,
        input.ExpressionAttributeValues,
      )
    ) {
      throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
    }
    items.set(key, { ...item });
    return {};
  });
  mock.on(DeleteCommand).callsFake((input: DeleteCommandInput) => {
    checkTable(input);
    items.delete(String(input.Key?.pk));
    return {};
  });
  return { client, mock, items };
};

describeIdempotencyStoreContract("SqliteIdempotencyStore (local)", async (clock) => {
  const db = openDatabase(":memory:");
  return {
    store: new SqliteIdempotencyStore({ db, clock }),
    cleanup: async () => {
      db.close();
    },
  };
});

describeIdempotencyStoreContract(
  "DynamoDbIdempotencyStore (AWS SDK against a DynamoDB fake)",
  async (clock) => {
    const { client, mock } = dynamoDbFake();
    return {
      store: new DynamoDbIdempotencyStore({ client, tableName, clock }),
      cleanup: async () => {
        mock.restore();
      },
    };
  },
);

describe("the DynamoDB fake's condition evaluation", () => {
  it.each([
    ["attribute_not_exists(pk)", undefined, true],
    ["attribute_not_exists(pk)", { pk: "k" }, false],
    ["attribute_exists(#p)", { pk: "k" }, true],
    ["expiresAt < :now", { pk: "k", expiresAt: 5 }, true],
    ["expiresAt < :now", { pk: "k", expiresAt: 10 }, false],
    ["expiresAt < :now", { pk: "k" }, false],
    ["attribute_not_exists(pk) OR expiresAt < :now", { pk: "k", expiresAt: 11 }, false],
    ["NOT (attribute_exists(pk) AND expiresAt >= :now)", { pk: "k", expiresAt: 9 }, true],
  ])("%s on %j → %s", (expression, item, expected) => {
    expect(evaluateCondition(expression, item, { "#p": "pk" }, { ":now": 10 })).toBe(expected);
  });

  it("refuses what it does not understand rather than guessing", () => {
    expect(() => evaluateCondition("begins_with(pk, :p)", undefined, {}, { ":p": "a" })).toThrow();
    expect(() => evaluateCondition("size(pk) > :n", undefined, {}, { ":n": 1 })).toThrow();
  });
});

describe("DynamoDbIdempotencyStore requests", () => {
  const { client, mock, items } = dynamoDbFake();
  const now = new Date("2026-05-01T12:00:00.750Z");
  const store = new DynamoDbIdempotencyStore({ client, tableName, clock: { now: () => now } });
  const nowSeconds = Math.floor(now.getTime() / 1_000);

  beforeEach(() => {
    mock.resetHistory();
    items.clear();
  });

  it("claims with one conditional PutItem whose expiresAt is the TTL attribute, in epoch seconds", async () => {
    await store.claim("github-delivery:d-1", 604_800);

    expect(mock.commandCalls(PutCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: tableName,
        Item: { pk: "github-delivery:d-1", expiresAt: nowSeconds + 604_800 },
        ConditionExpression: "attribute_not_exists(pk) OR expiresAt < :now",
        ExpressionAttributeValues: { ":now": nowSeconds },
      },
    ]);
  });

  it("releases with DeleteItem on the key", async () => {
    await store.release("github-delivery:d-1");

    expect(mock.commandCalls(DeleteCommand).map((call) => call.args[0].input)).toEqual([
      { TableName: tableName, Key: { pk: "github-delivery:d-1" } },
    ]);
  });

  it("lets any other SDK error through untouched", async () => {
    const throttled = Object.assign(new Error("Rate of requests exceeds the allowed throughput"), {
      name: "ProvisionedThroughputExceededException",
    });
    mock.on(PutCommand).rejects(throttled);

    await expect(store.claim("k", 60)).rejects.toBe(throttled);
  });
});

describe("SqliteIdempotencyStore on a shared file", () => {
  it("is one store for every process that opens the file (the CLI and the runtime)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idempotency-"));
    const first = openDatabase(join(dir, "state.db"));
    const second = openDatabase(join(dir, "state.db"));
    try {
      const a = new SqliteIdempotencyStore({ db: first });
      const b = new SqliteIdempotencyStore({ db: second });

      expect(await a.claim("k", 60)).toBe(true);
      expect(await b.claim("k", 60)).toBe(false);
      await b.release("k");
      expect(await a.claim("k", 60)).toBe(true);
    } finally {
      first.close();
      second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

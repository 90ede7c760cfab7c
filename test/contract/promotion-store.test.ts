// Runs the PromotionStore contract against SQLite and against DynamoDB (an in-memory fake behind the SDK).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DeleteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DynamoDbPromotionStore,
  promotionTableKeys,
} from "../../functions/adapters/aws/dynamodb-promotion-store.ts";
import type { Clock, PromotionRecord } from "../../functions/core/ports.ts";
import { SqlitePromotionStore } from "../../local/adapters/sqlite-promotion-store.ts";
import { openDatabase } from "../../local/db.ts";
import { describePromotionStoreContract, ManualClock } from "./promotion-store.contract.ts";

const region = "eu-west-1";
const tableName = "switchyard-promotions";

/**
 * Items a fake Query evaluates per page. DynamoDB stops a page at 1 MB; a small page makes every listing in the
 * contract cross page boundaries, so the adapter's `LastEvaluatedKey` loop is always exercised.
 */
const fakeQueryPageItems = 7;

const tempHome = (): string => mkdtempSync(join(tmpdir(), "switchyard-promotions-"));

type Item = Record<string, unknown>;

const validation = (message: string): DynamoDBServiceException =>
  new DynamoDBServiceException({ name: "ValidationException", $fault: "client", $metadata: {}, message });

const unsupported = (what: string): Error => new Error(`the DynamoDB fake does not implement ${what}`);

/** What the document client's marshalling does by default with an undefined member. */
const refuseUndefined = (value: unknown, path: string): void => {
  if (value === undefined) {
    throw new Error(
      `Pass options.removeUndefinedValues=true to remove undefined values from map/array/set (at ${path}).`,
    );
  }
  if (Array.isArray(value)) {
    for (const [index, member] of value.entries()) refuseUndefined(member, `${path}[${index}]`);
  } else if (value !== null && typeof value === "object") {
    for (const [key, member] of Object.entries(value)) refuseUndefined(member, `${path}.${key}`);
  }
};

/** The low-level shape DynamoDB returns an item in on a failed condition (the document client leaves errors alone). */
const toAttributeValue = (value: unknown): AttributeValue => {
  if (typeof value === "string") return { S: value };
  if (typeof value === "number") return { N: String(value) };
  if (typeof value === "boolean") return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  if (typeof value === "object") {
    return {
      M: Object.fromEntries(Object.entries(value).map(([key, member]) => [key, toAttributeValue(member)])),
    };
  }
  throw unsupported(`marshalling ${typeof value}`);
};

type Operand =
  | { kind: "path"; name: string }
  | { kind: "value"; value: unknown }
  | { kind: "if_not_exists"; name: string; fallback: Operand }
  | { kind: "list_append"; first: Operand; second: Operand };

type Condition =
  | { kind: "and" | "or"; left: Condition; right: Condition }
  | { kind: "not"; operand: Condition }
  | { kind: "equals"; left: Operand; right: Operand }
  | { kind: "in"; left: Operand; options: Operand[] }
  | { kind: "attribute_exists" | "attribute_not_exists"; name: string }
  | { kind: "begins_with"; name: string; prefix: Operand };

type UpdateAction = { kind: "set"; name: string; value: Operand } | { kind: "remove"; name: string };

const tokenPattern = /\s*(#[A-Za-z0-9_]+|:[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*|=|<>|<=|>=|<|>|\(|\)|,|\S)/y;

/** Parses one request's expressions, resolving and accounting for its placeholders. */
class ExpressionParser {
  private tokens: string[] = [];
  private position = 0;
  private readonly usedNames = new Set<string>();
  private readonly usedValues = new Set<string>();

  constructor(
    private readonly names: Record<string, string> = {},
    private readonly values: Record<string, unknown> = {},
  ) {
    if (Object.keys(names).length === 0 && Object.keys(values).length === 0) return;
    refuseUndefined(values, "ExpressionAttributeValues");
  }

  condition(expression: string): Condition {
    this.start(expression);
    const condition = this.or();
    this.end(expression);
    return condition;
  }

  update(expression: string): UpdateAction[] {
    this.start(expression);
    const actions: UpdateAction[] = [];
    const seen = new Set<string>();
    while (this.peek() !== undefined) {
      const clause = this.next().toUpperCase();
      if (seen.has(clause))
        throw validation(`The "${clause}" section can only be used once in an update expression`);
      seen.add(clause);
      do {
        if (clause === "SET") {
          const name = this.path();
          this.expect("=");
          actions.push({ kind: "set", name, value: this.updateOperand() });
        } else if (clause === "REMOVE") {
          actions.push({ kind: "remove", name: this.path() });
        } else {
          throw unsupported(`the ${clause} update clause`);
        }
      } while (this.accept(","));
    }
    const targets = actions.map((action) => action.name);
    if (new Set(targets).size !== targets.length) {
      throw validation(
        "Two document paths overlap with each other; must remove or rewrite one of these paths",
      );
    }
    return actions;
  }

  /** DynamoDB refuses a request whose placeholders are not all used. */
  checkAllUsed(): void {
    const unusedNames = Object.keys(this.names).filter((name) => !this.usedNames.has(name));
    if (unusedNames.length > 0) {
      throw validation(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames}}`,
      );
    }
    const unusedValues = Object.keys(this.values).filter((value) => !this.usedValues.has(value));
    if (unusedValues.length > 0) {
      throw validation(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues}}`,
      );
    }
  }

  private start(expression: string): void {
    this.tokens = [];
    this.position = 0;
    tokenPattern.lastIndex = 0;
    for (let match = tokenPattern.exec(expression); match; match = tokenPattern.exec(expression)) {
      this.tokens.push(match[1]!);
    }
    if (tokenPattern.lastIndex !== 0 && expression.slice(tokenPattern.lastIndex).trim() !== "") {
      throw validation(`Invalid expression: ${expression}`);
    }
    const odd = this.tokens.find((token) => token === "." || token === "[" || token === "]");
    if (odd !== undefined) throw unsupported("nested document paths");
  }

  private end(expression: string): void {
    if (this.peek() !== undefined) {
      throw validation(`Invalid expression: unexpected "${this.peek()}" in ${expression}`);
    }
  }

  private peek(): string | undefined {
    return this.tokens[this.position];
  }

  private next(): string {
    const token = this.tokens[this.position++];
    if (token === undefined) throw validation("Invalid expression: unexpected end");
    return token;
  }

  private accept(token: string): boolean {
    if (this.peek()?.toUpperCase() !== token) return false;
    this.position++;
    return true;
  }

  private expect(token: string): void {
    const found = this.next();
    if (found.toUpperCase() !== token)
      throw validation(`Invalid expression: expected "${token}", found "${found}"`);
  }

  private or(): Condition {
    let left = this.and();
    while (this.accept("OR")) left = { kind: "or", left, right: this.and() };
    return left;
  }

  private and(): Condition {
    let left = this.not();
    while (this.accept("AND")) left = { kind: "and", left, right: this.not() };
    return left;
  }

  private not(): Condition {
    if (this.accept("NOT")) return { kind: "not", operand: this.not() };
    return this.primary();
  }

  private primary(): Condition {
    if (this.accept("(")) {
      const inner = this.or();
      this.expect(")");
      return inner;
    }
    const word = this.peek()?.toLowerCase();
    if (word === "attribute_exists" || word === "attribute_not_exists") {
      this.next();
      this.expect("(");
      const name = this.path();
      this.expect(")");
      return { kind: word, name };
    }
    if (word === "begins_with") {
      this.next();
      this.expect("(");
      const name = this.path();
      this.expect(",");
      const prefix = this.operand();
      this.expect(")");
      return { kind: "begins_with", name, prefix };
    }
    if (word === "contains" || word === "size" || word === "attribute_type") throw unsupported(word);
    const left = this.operand();
    if (this.accept("=")) return { kind: "equals", left, right: this.operand() };
    if (this.accept("IN")) {
      this.expect("(");
      const options = [this.operand()];
      while (this.accept(",")) options.push(this.operand());
      this.expect(")");
      return { kind: "in", left, options };
    }
    throw unsupported(`the comparison "${this.peek()}"`);
  }

  private operand(): Operand {
    const token = this.peek();
    if (token?.startsWith(":")) {
      this.next();
      if (!(token in this.values)) {
        throw validation(
          `An expression attribute value used in expression is not defined; attribute value: ${token}`,
        );
      }
      this.usedValues.add(token);
      return { kind: "value", value: this.values[token] };
    }
    return { kind: "path", name: this.path() };
  }

  private updateOperand(): Operand {
    const word = this.peek()?.toLowerCase();
    if (word === "if_not_exists") {
      this.next();
      this.expect("(");
      const name = this.path();
      this.expect(",");
      const fallback = this.updateOperand();
      this.expect(")");
      return { kind: "if_not_exists", name, fallback };
    }
    if (word === "list_append") {
      this.next();
      this.expect("(");
      const first = this.updateOperand();
      this.expect(",");
      const second = this.updateOperand();
      this.expect(")");
      return { kind: "list_append", first, second };
    }
    const operand = this.operand();
    if (this.peek() === "+" || this.peek() === "-") throw unsupported("arithmetic in SET");
    return operand;
  }

  private path(): string {
    const token = this.next();
    if (token.startsWith("#")) {
      const name = this.names[token];
      if (name === undefined) {
        throw validation(
          `An expression attribute name used in the document path is not defined; attribute name: ${token}`,
        );
      }
      this.usedNames.add(token);
      return name;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(token))
      throw validation(`Invalid expression: unexpected "${token}"`);
    return token;
  }
}

const resolve = (operand: Operand, item: Item): unknown => {
  switch (operand.kind) {
    case "value":
      return operand.value;
    case "path":
      return item[operand.name];
    case "if_not_exists":
      return item[operand.name] ?? resolve(operand.fallback, item);
    case "list_append": {
      const first = resolve(operand.first, item);
      const second = resolve(operand.second, item);
      if (!Array.isArray(first) || !Array.isArray(second)) {
        throw validation(
          "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append",
        );
      }
      return [...first, ...second];
    }
  }
};

/** A comparison with a missing attribute is false, as in DynamoDB. */
const holds = (condition: Condition, item: Item): boolean => {
  switch (condition.kind) {
    case "and":
      return holds(condition.left, item) && holds(condition.right, item);
    case "or":
      return holds(condition.left, item) || holds(condition.right, item);
    case "not":
      return !holds(condition.operand, item);
    case "equals": {
      const left = resolve(condition.left, item);
      const right = resolve(condition.right, item);
      return left !== undefined && right !== undefined && isDeepStrictEqual(left, right);
    }
    case "in": {
      const left = resolve(condition.left, item);
      return (
        left !== undefined &&
        condition.options.some((option) => isDeepStrictEqual(left, resolve(option, item)))
      );
    }
    case "attribute_exists":
      return item[condition.name] !== undefined;
    case "attribute_not_exists":
      return item[condition.name] === undefined;
    case "begins_with": {
      const value = item[condition.name];
      const prefix = resolve(condition.prefix, item);
      return typeof value === "string" && typeof prefix === "string" && value.startsWith(prefix);
    }
  }
};

const pathsOf = (condition: Condition): string[] => {
  switch (condition.kind) {
    case "and":
    case "or":
      return [...pathsOf(condition.left), ...pathsOf(condition.right)];
    case "not":
      return pathsOf(condition.operand);
    case "equals":
      return [condition.left, condition.right].flatMap((o) => (o.kind === "path" ? [o.name] : []));
    case "in":
      return [condition.left, ...condition.options].flatMap((o) => (o.kind === "path" ? [o.name] : []));
    default:
      return [condition.name];
  }
};

interface KeySchema {
  partitionKey: string;
  sortKey: string;
}

/**
 * An in-memory DynamoDB table behind the document client. It evaluates the expressions it is sent (conditions, key
 * conditions, filters, updates) for the subset of the grammar the adapter uses, throws on the rest, and refuses what
 * DynamoDB refuses (unused or undefined placeholders, undefined values, key updates, filters on keys), so a passing
 * contract means the requests themselves are right, not only the adapter's reading of the answers.
 */
class FakeDynamoDbTable {
  /** Items by `PK \0 SK`. */
  private readonly items = new Map<string, Item>();
  private readonly table: KeySchema = {
    partitionKey: promotionTableKeys.partitionKey,
    sortKey: promotionTableKeys.sortKey,
  };
  private readonly indexes: Record<string, KeySchema> = {
    [promotionTableKeys.byServiceIndex.indexName]: promotionTableKeys.byServiceIndex,
    [promotionTableKeys.byTypeIndex.indexName]: promotionTableKeys.byTypeIndex,
  };

  constructor(readonly name: string) {}

  /** Every item, as stored: for tests that check the key layout infra must create. */
  snapshot(): Item[] {
    return [...this.items.values()].map((item) => structuredClone(item));
  }

  get(input: GetCommandInput) {
    this.checkTable(input.TableName);
    if (input.ProjectionExpression !== undefined) throw unsupported("ProjectionExpression");
    const item = this.items.get(this.storageKey(input.Key));
    return item === undefined ? {} : { Item: structuredClone(item) };
  }

  put(input: PutCommandInput) {
    this.checkTable(input.TableName);
    const item = input.Item ?? {};
    refuseUndefined(item, "Item");
    const key = this.storageKey(this.keyOf(item));
    this.checkIndexKeys(item);
    const existing = this.items.get(key);
    this.checkCondition(input, existing);
    this.items.set(key, structuredClone(item));
    return this.returnValues(input.ReturnValues, existing, undefined);
  }

  update(input: UpdateCommandInput) {
    this.checkTable(input.TableName);
    const key = this.storageKey(input.Key);
    const parser = new ExpressionParser(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    if (input.UpdateExpression === undefined) throw unsupported("AttributeUpdates");
    const actions = parser.update(input.UpdateExpression);
    const condition =
      input.ConditionExpression === undefined ? undefined : parser.condition(input.ConditionExpression);
    parser.checkAllUsed();
    const existing = this.items.get(key);
    this.failUnless(condition, existing, input.ReturnValuesOnConditionCheckFailure);

    const old = existing ?? { ...input.Key };
    const assigned = actions.map((action) =>
      action.kind === "set"
        ? ([action.name, resolve(action.value, old)] as const)
        : ([action.name, undefined] as const),
    );
    const updated: Item = structuredClone(old);
    for (const [name, value] of assigned) {
      if (name === this.table.partitionKey || name === this.table.sortKey) {
        throw validation(
          `One or more parameter values were invalid: Cannot update attribute ${name}. This attribute is part of the key`,
        );
      }
      if (value === undefined) delete updated[name];
      else updated[name] = structuredClone(value);
    }
    this.checkIndexKeys(updated);
    this.items.set(key, updated);
    return this.returnValues(input.ReturnValues, existing, updated);
  }

  delete(input: DeleteCommandInput) {
    this.checkTable(input.TableName);
    const key = this.storageKey(input.Key);
    const existing = this.items.get(key);
    this.checkCondition(input, existing);
    this.items.delete(key);
    return this.returnValues(input.ReturnValues, existing, undefined);
  }

  query(input: QueryCommandInput) {
    this.checkTable(input.TableName);
    for (const option of ["ProjectionExpression", "Select", "KeyConditions", "QueryFilter"] as const) {
      if (input[option] !== undefined) throw unsupported(option);
    }
    const schema = input.IndexName === undefined ? this.table : this.indexes[input.IndexName];
    if (schema === undefined)
      throw validation(`The table does not have the specified index: ${input.IndexName}`);
    if (input.IndexName !== undefined && input.ConsistentRead) {
      throw validation("Consistent reads are not supported on global secondary indexes");
    }
    if (input.Limit !== undefined && (!Number.isInteger(input.Limit) || input.Limit < 1)) {
      throw validation("1 validation error detected: Value at 'limit' failed to satisfy constraint");
    }
    const parser = new ExpressionParser(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    if (input.KeyConditionExpression === undefined) throw validation("KeyConditionExpression is required");
    const keyCondition = parser.condition(input.KeyConditionExpression);
    this.checkKeyCondition(keyCondition, schema);
    const filter =
      input.FilterExpression === undefined ? undefined : parser.condition(input.FilterExpression);
    parser.checkAllUsed();
    if (filter !== undefined) {
      const keys = [schema.partitionKey, schema.sortKey, this.table.partitionKey, this.table.sortKey];
      const onKey = pathsOf(filter).find((path) => keys.includes(path));
      if (onKey !== undefined) {
        throw validation(
          `Filter Expression can only contain non-primary key attributes: Primary key attribute: ${onKey}`,
        );
      }
    }

    const order = (a: Item, b: Item): number => {
      for (const attribute of [schema.sortKey, this.table.partitionKey, this.table.sortKey]) {
        const x = String(a[attribute]);
        const y = String(b[attribute]);
        if (x !== y) return x < y ? -1 : 1;
      }
      return 0;
    };
    const forward = input.ScanIndexForward !== false;
    const direction = (a: Item, b: Item): number => (forward ? order(a, b) : order(b, a));
    const startKey = input.ExclusiveStartKey;
    const matching = [...this.items.values()]
      .filter(
        (item) => typeof item[schema.partitionKey] === "string" && typeof item[schema.sortKey] === "string",
      )
      .filter((item) => holds(keyCondition, item))
      .sort(direction)
      .filter((item) => startKey === undefined || direction(item, startKey) > 0);

    const pageSize = Math.min(input.Limit ?? Number.POSITIVE_INFINITY, fakeQueryPageItems);
    const evaluated = matching.slice(0, pageSize);
    const stoppedByLimit = input.Limit !== undefined && evaluated.length === input.Limit;
    const last = evaluated.at(-1);
    const lastEvaluatedKey =
      last !== undefined && (stoppedByLimit || matching.length > evaluated.length)
        ? Object.fromEntries(
            [
              ...new Set([this.table.partitionKey, this.table.sortKey, schema.partitionKey, schema.sortKey]),
            ].map((attribute) => [attribute, last[attribute]]),
          )
        : undefined;
    const items = evaluated.filter((item) => filter === undefined || holds(filter, item));
    return {
      Items: items.map((item) => structuredClone(item)),
      Count: items.length,
      ScannedCount: evaluated.length,
      ...(lastEvaluatedKey !== undefined && { LastEvaluatedKey: lastEvaluatedKey }),
    };
  }

  private checkTable(name: string | undefined): void {
    if (name !== this.name) {
      throw new ResourceNotFoundException({ message: "Requested resource not found", $metadata: {} });
    }
  }

  private keyOf(item: Item): Item {
    return {
      [this.table.partitionKey]: item[this.table.partitionKey],
      [this.table.sortKey]: item[this.table.sortKey],
    };
  }

  private storageKey(key: Item | undefined): string {
    const { partitionKey, sortKey } = this.table;
    const pk = key?.[partitionKey];
    const sk = key?.[sortKey];
    if (
      key === undefined ||
      Object.keys(key).length !== 2 ||
      typeof pk !== "string" ||
      typeof sk !== "string"
    ) {
      throw validation("The provided key element does not match the schema");
    }
    if (pk === "" || sk === "") {
      throw validation(
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value.",
      );
    }
    return `${pk}\u0000${sk}`;
  }

  private checkIndexKeys(item: Item): void {
    for (const index of Object.values(this.indexes)) {
      for (const attribute of [index.partitionKey, index.sortKey]) {
        const value = item[attribute];
        if (value !== undefined && (typeof value !== "string" || value === "")) {
          throw validation(
            `One or more parameter values were invalid: Type mismatch or empty value for Index Key ${attribute}`,
          );
        }
      }
    }
  }

  private checkCondition(
    input: {
      ConditionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
      ReturnValuesOnConditionCheckFailure?: string;
    },
    existing: Item | undefined,
  ): void {
    const parser = new ExpressionParser(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const condition =
      input.ConditionExpression === undefined ? undefined : parser.condition(input.ConditionExpression);
    parser.checkAllUsed();
    this.failUnless(condition, existing, input.ReturnValuesOnConditionCheckFailure);
  }

  private failUnless(condition: Condition | undefined, existing: Item | undefined, returnOld?: string): void {
    if (condition === undefined || holds(condition, existing ?? {})) return;
    throw new ConditionalCheckFailedException({
      message: "The conditional request failed",
      $metadata: { httpStatusCode: 400 },
      ...(returnOld === "ALL_OLD" &&
        existing !== undefined && {
          Item: Object.fromEntries(
            Object.entries(existing).map(([name, value]) => [name, toAttributeValue(value)]),
          ),
        }),
    });
  }

  private checkKeyCondition(condition: Condition, schema: KeySchema): void {
    const parts = condition.kind === "and" ? [condition.left, condition.right] : [condition];
    const [partition, sort, ...rest] = parts;
    const onPartition =
      partition?.kind === "equals" &&
      partition.left.kind === "path" &&
      partition.left.name === schema.partitionKey &&
      partition.right.kind === "value";
    const onSort =
      sort === undefined ||
      (sort.kind === "begins_with" && sort.name === schema.sortKey && sort.prefix.kind === "value") ||
      (sort.kind === "equals" && sort.left.kind === "path" && sort.left.name === schema.sortKey);
    if (!onPartition || !onSort || rest.length > 0) {
      throw validation("Query key condition not supported");
    }
  }

  private returnValues(returnValues: string | undefined, old: Item | undefined, updated: Item | undefined) {
    switch (returnValues ?? "NONE") {
      case "NONE":
        return {};
      case "ALL_OLD":
        return old === undefined ? {} : { Attributes: structuredClone(old) };
      case "ALL_NEW":
        return updated === undefined ? {} : { Attributes: structuredClone(updated) };
      default:
        throw unsupported(`ReturnValues ${returnValues}`);
    }
  }
}

/** A document client whose every request is served by a `FakeDynamoDbTable`. */
const fakeDynamoDb = () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region }));
  const table = new FakeDynamoDbTable(tableName);
  const mock = mockClient(client);
  // Each call runs on a later tick, as a network round trip would, so interleavings are not hidden by the fake.
  const serve =
    <TInput, TOutput>(operation: (input: TInput) => TOutput) =>
    async (input: TInput): Promise<TOutput> => {
      await Promise.resolve();
      return operation(input);
    };
  mock.on(GetCommand).callsFake(serve((input: GetCommandInput) => table.get(input)));
  mock.on(PutCommand).callsFake(serve((input: PutCommandInput) => table.put(input)));
  mock.on(UpdateCommand).callsFake(serve((input: UpdateCommandInput) => table.update(input)));
  mock.on(DeleteCommand).callsFake(serve((input: DeleteCommandInput) => table.delete(input)));
  mock.on(QueryCommand).callsFake(serve((input: QueryCommandInput) => table.query(input)));
  return { client, table, mock };
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
    const { client, mock } = fakeDynamoDb();
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
    fake = fakeDynamoDb();
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
      "attribute_exists(#pk) AND (NOT (#phase IN (:terminal0, :terminal1, :terminal2, :terminal3)) OR #phase = :phase)",
    );
    expect(update?.ExpressionAttributeValues).toMatchObject({
      ":terminal0": "Succeeded",
      ":terminal1": "Skipped",
      ":terminal2": "Failed",
      ":terminal3": "Errored",
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
    fake = fakeDynamoDb();
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

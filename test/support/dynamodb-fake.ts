// An in-memory DynamoDB table behind a mocked document client, for the contract tests of the DynamoDB adapters.

import { isDeepStrictEqual } from "node:util";
import {
  type AttributeValue,
  type CancellationReason,
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  ResourceNotFoundException,
  TransactionCanceledException,
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
  ScanCommand,
  type ScanCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";

const region = "eu-west-1";

/**
 * Items a fake Query evaluates per page. DynamoDB stops a page at 1 MB; a small page makes every listing in the
 * contract cross page boundaries, so the adapter's `LastEvaluatedKey` loop is always exercised.
 */
export const fakeQueryPageItems = 7;

/** DynamoDB's limit on the actions of one TransactWriteItems. */
const maxTransactionItems = 100;

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

  projection(expression: string): string[] {
    this.start(expression);
    const names = [this.path()];
    while (this.accept(",")) names.push(this.path());
    this.end(expression);
    return names;
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

/** The key attributes of a table or an index; without `sortKey`, the partition key alone. */
export interface FakeKeySchema {
  partitionKey: string;
  sortKey?: string;
}

/** A global secondary index, as its table's `...TableKeys` describe it; it projects ALL unless told otherwise. */
export interface FakeIndexSchema extends FakeKeySchema {
  indexName: string;
  projection?: "ALL" | "KEYS_ONLY" | "INCLUDE";
  nonKeyAttributes?: readonly string[];
}

export interface FakeTableSchema extends FakeKeySchema {
  indexes?: readonly FakeIndexSchema[];
}

const keyAttributesOf = (...schemas: FakeKeySchema[]): string[] => [
  ...new Set(
    schemas.flatMap((schema) =>
      schema.sortKey === undefined ? [schema.partitionKey] : [schema.partitionKey, schema.sortKey],
    ),
  ),
];

const pick = (item: Item, attributes: readonly string[]): Item =>
  Object.fromEntries(attributes.filter((name) => item[name] !== undefined).map((name) => [name, item[name]]));

/**
 * An in-memory DynamoDB table behind the document client. It evaluates the expressions it is sent (conditions, key
 * conditions, filters, updates, projections) for the subset of the grammar the adapters use, throws on the rest, and
 * refuses what DynamoDB refuses (unused or undefined placeholders, undefined values, key updates, filters on keys),
 * so a passing contract means the requests themselves are right, not only the adapter's reading of the answers.
 * An index returns only what it projects, so an adapter that reads an attribute its index lacks is caught.
 */
export class FakeDynamoDbTable {
  /** Items by their key values joined with `\0`. */
  private readonly items = new Map<string, Item>();
  private readonly table: FakeKeySchema;
  private readonly indexes: Record<string, FakeIndexSchema>;

  constructor(
    readonly name: string,
    schema: FakeTableSchema,
  ) {
    this.table = { partitionKey: schema.partitionKey, sortKey: schema.sortKey };
    this.indexes = Object.fromEntries((schema.indexes ?? []).map((index) => [index.indexName, index]));
  }

  /** Every item, as stored: for tests that check the key layout infra must create. */
  snapshot(): Item[] {
    return [...this.items.values()].map((item) => structuredClone(item));
  }

  get(input: GetCommandInput) {
    this.checkTable(input.TableName);
    const parser = new ExpressionParser(input.ExpressionAttributeNames);
    const projection =
      input.ProjectionExpression === undefined ? undefined : parser.projection(input.ProjectionExpression);
    parser.checkAllUsed();
    const item = this.items.get(this.storageKey(input.Key));
    if (item === undefined) return {};
    return { Item: structuredClone(projection === undefined ? item : pick(item, projection)) };
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
      if (keyAttributesOf(this.table).includes(name)) {
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

  /**
   * TransactWriteItems on this table: every action's condition holds and all are applied, or none is and a
   * `TransactionCanceledException` lists one reason per action (`None` or `ConditionalCheckFailed`, with the old
   * item when `ReturnValuesOnConditionCheckFailure` is `ALL_OLD`). Calls are served one at a time, so no
   * `TransactionConflict` ever arises.
   */
  transactWrite(input: TransactWriteCommandInput) {
    const actions = input.TransactItems ?? [];
    if (actions.length === 0 || actions.length > maxTransactionItems) {
      throw validation(`TransactItems must have between 1 and ${maxTransactionItems} items`);
    }
    const targets = actions.map((action) => {
      const [kind, ...others] = Object.keys(action).filter(
        (name) => action[name as keyof typeof action] !== undefined,
      );
      if (kind === undefined || others.length > 0) {
        throw validation("A TransactWriteItem must hold exactly one of ConditionCheck, Put, Delete, Update");
      }
      const request = action[kind as keyof typeof action] as { TableName?: string; Key?: Item; Item?: Item };
      this.checkTable(request.TableName);
      return this.storageKey(request.Item === undefined ? request.Key : this.keyOf(request.Item));
    });
    if (new Set(targets).size !== targets.length) {
      throw validation("Transaction request cannot include multiple operations on one item");
    }
    const before = new Map(this.items);
    const restore = (): void => {
      this.items.clear();
      for (const [key, item] of before) this.items.set(key, item);
    };
    const reasons: CancellationReason[] = [];
    try {
      for (const action of actions) {
        try {
          if (action.Put !== undefined) this.put(action.Put);
          else if (action.Update !== undefined) this.update(action.Update);
          else if (action.Delete !== undefined) this.delete(action.Delete);
          else if (action.ConditionCheck !== undefined) {
            const { Key, ...condition } = action.ConditionCheck;
            this.checkCondition(condition, this.items.get(this.storageKey(Key)));
          }
          reasons.push({ Code: "None" });
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          reasons.push({
            Code: "ConditionalCheckFailed",
            Message: "The conditional request failed",
            ...(error.Item !== undefined && { Item: error.Item }),
          });
        }
      }
    } catch (error) {
      restore();
      throw error;
    }
    if (reasons.some((reason) => reason.Code !== "None")) {
      restore();
      throw new TransactionCanceledException({
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons
          .map((reason) => reason.Code)
          .join(", ")}]`,
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: reasons,
      });
    }
    return {};
  }

  query(input: QueryCommandInput) {
    this.checkTable(input.TableName);
    for (const option of ["ProjectionExpression", "Select", "KeyConditions", "QueryFilter"] as const) {
      if (input[option] !== undefined) throw unsupported(option);
    }
    const index = input.IndexName === undefined ? undefined : this.indexes[input.IndexName];
    if (input.IndexName !== undefined && index === undefined) {
      throw validation(`The table does not have the specified index: ${input.IndexName}`);
    }
    const schema: FakeKeySchema = index ?? this.table;
    if (index !== undefined && input.ConsistentRead) {
      throw validation("Consistent reads are not supported on global secondary indexes");
    }
    this.checkLimit(input.Limit);
    const parser = new ExpressionParser(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    if (input.KeyConditionExpression === undefined) throw validation("KeyConditionExpression is required");
    const keyCondition = parser.condition(input.KeyConditionExpression);
    this.checkKeyCondition(keyCondition, schema);
    const filter =
      input.FilterExpression === undefined ? undefined : parser.condition(input.FilterExpression);
    parser.checkAllUsed();
    if (filter !== undefined) {
      const keys = keyAttributesOf(schema, this.table);
      const onKey = pathsOf(filter).find((path) => keys.includes(path));
      if (onKey !== undefined) {
        throw validation(
          `Filter Expression can only contain non-primary key attributes: Primary key attribute: ${onKey}`,
        );
      }
    }

    const ordering = [
      ...new Set([schema.sortKey, ...keyAttributesOf(this.table)].filter((name) => name !== undefined)),
    ];
    const order = (a: Item, b: Item): number => {
      for (const attribute of ordering) {
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
      .filter((item) => keyAttributesOf(schema).every((attribute) => typeof item[attribute] === "string"))
      .filter((item) => holds(keyCondition, item))
      .sort(direction)
      .filter((item) => startKey === undefined || direction(item, startKey) > 0);
    const { evaluated, lastEvaluatedKey } = this.page(
      matching,
      input.Limit,
      keyAttributesOf(this.table, schema),
    );
    const items = evaluated
      .filter((item) => filter === undefined || holds(filter, item))
      .map((item) => (index === undefined ? item : this.projected(item, index)));
    return {
      Items: items.map((item) => structuredClone(item)),
      Count: items.length,
      ScannedCount: evaluated.length,
      ...(lastEvaluatedKey !== undefined && { LastEvaluatedKey: lastEvaluatedKey }),
    };
  }

  scan(input: ScanCommandInput) {
    this.checkTable(input.TableName);
    for (const option of [
      "IndexName",
      "ProjectionExpression",
      "Select",
      "ScanFilter",
      "Segment",
      "TotalSegments",
    ] as const) {
      if (input[option] !== undefined) throw unsupported(option);
    }
    this.checkLimit(input.Limit);
    const parser = new ExpressionParser(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const filter =
      input.FilterExpression === undefined ? undefined : parser.condition(input.FilterExpression);
    parser.checkAllUsed();

    // DynamoDB scans in the order of its partitions' hashes, not the order items were written: key order stands
    // in for it, so an adapter that relies on write order is caught.
    const ordered = [...this.items.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const startKey = input.ExclusiveStartKey;
    const start = startKey === undefined ? undefined : this.storageKey(startKey);
    const matching = ordered.filter(([key]) => start === undefined || key > start).map(([, item]) => item);
    const { evaluated, lastEvaluatedKey } = this.page(matching, input.Limit, keyAttributesOf(this.table));
    const items = evaluated.filter((item) => filter === undefined || holds(filter, item));
    return {
      Items: items.map((item) => structuredClone(item)),
      Count: items.length,
      ScannedCount: evaluated.length,
      ...(lastEvaluatedKey !== undefined && { LastEvaluatedKey: lastEvaluatedKey }),
    };
  }

  private page(matching: Item[], limit: number | undefined, keyAttributes: string[]) {
    const pageSize = Math.min(limit ?? Number.POSITIVE_INFINITY, fakeQueryPageItems);
    const evaluated = matching.slice(0, pageSize);
    const stoppedByLimit = limit !== undefined && evaluated.length === limit;
    const last = evaluated.at(-1);
    const lastEvaluatedKey =
      last !== undefined && (stoppedByLimit || matching.length > evaluated.length)
        ? pick(last, keyAttributes)
        : undefined;
    return { evaluated, lastEvaluatedKey };
  }

  private projected(item: Item, index: FakeIndexSchema): Item {
    const keys = keyAttributesOf(this.table, index);
    if (index.projection === "KEYS_ONLY") return pick(item, keys);
    if (index.projection === "INCLUDE") return pick(item, [...keys, ...(index.nonKeyAttributes ?? [])]);
    return item;
  }

  private checkTable(name: string | undefined): void {
    if (name !== this.name) {
      throw new ResourceNotFoundException({ message: "Requested resource not found", $metadata: {} });
    }
  }

  private checkLimit(limit: number | undefined): void {
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw validation("1 validation error detected: Value at 'limit' failed to satisfy constraint");
    }
  }

  private keyOf(item: Item): Item {
    return Object.fromEntries(keyAttributesOf(this.table).map((attribute) => [attribute, item[attribute]]));
  }

  private storageKey(key: Item | undefined): string {
    const attributes = keyAttributesOf(this.table);
    const values = attributes.map((attribute) => key?.[attribute]);
    if (
      key === undefined ||
      Object.keys(key).length !== attributes.length ||
      values.some((value) => typeof value !== "string")
    ) {
      throw validation("The provided key element does not match the schema");
    }
    if (values.includes("")) {
      throw validation(
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value.",
      );
    }
    return values.join("\u0000");
  }

  private checkIndexKeys(item: Item): void {
    for (const index of Object.values(this.indexes)) {
      for (const attribute of keyAttributesOf(index)) {
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

  private checkKeyCondition(condition: Condition, schema: FakeKeySchema): void {
    const parts = condition.kind === "and" ? [condition.left, condition.right] : [condition];
    const [partition, sort, ...rest] = parts;
    const onPartition =
      partition?.kind === "equals" &&
      partition.left.kind === "path" &&
      partition.left.name === schema.partitionKey &&
      partition.right.kind === "value";
    const onSort =
      sort === undefined ||
      (schema.sortKey !== undefined &&
        ((sort.kind === "begins_with" && sort.name === schema.sortKey && sort.prefix.kind === "value") ||
          (sort.kind === "equals" && sort.left.kind === "path" && sort.left.name === schema.sortKey)));
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

/**
 * A document client whose every request is served by a new, empty `FakeDynamoDbTable` named `tableName`.
 * `mock.restore()` hands the client back to the SDK.
 *
 * @example
 * const { client, table, mock } = fakeDynamoDb("switchyard-freezes", freezeTableKeys);
 * const store = new DynamoDbFreezeStore({ client, tableName: "switchyard-freezes" });
 */
export const fakeDynamoDb = (tableName: string, schema: FakeTableSchema) => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region }));
  const table = new FakeDynamoDbTable(tableName, schema);
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
  mock.on(ScanCommand).callsFake(serve((input: ScanCommandInput) => table.scan(input)));
  mock
    .on(TransactWriteCommand)
    .callsFake(serve((input: TransactWriteCommandInput) => table.transactWrite(input)));
  return { client, table, mock };
};

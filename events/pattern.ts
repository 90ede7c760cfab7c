// EventBridge event patterns: validated once and compiled into closures that match events, as EventBridge does.
//
// Where the EventBridge user guide is silent or vague, behaviour follows aws/event-ruler, the open-source engine
// EventBridge matches with; each such choice is noted where it is made.

import {
  CidrSyntaxError,
  type IpAddressValue,
  looksLikeIpAddress,
  parseCidr,
  parseIpAddress,
} from "./cidr.ts";
import { InvalidEventPatternError, type PatternPathSegment } from "./pattern-errors.ts";

export { InvalidEventPatternError, type PatternPathSegment } from "./pattern-errors.ts";

/** EventBridge's default quota on the length of an event pattern, in characters (adjustable up to 4,096). */
export const DEFAULT_MAX_PATTERN_LENGTH = 2048;

/** Numeric matching only knows numbers in [-5e9, 5e9] with at most six decimal places. */
const NUMERIC_LIMIT = 5e9;
const MAX_NUMERIC_DECIMALS = 6;

const OR_KEY = "$or";
const EQUALS_IGNORE_CASE = "equals-ignore-case";

// event-ruler refuses these as field names anywhere inside a $or branch (its RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
const RESERVED_IN_OR = new Set([
  "exactly",
  EQUALS_IGNORE_CASE,
  "prefix",
  "suffix",
  "anything-but",
  "exists",
  "wildcard",
  "numeric",
  "cidr",
  "html",
  "=",
  "<",
  "<=",
  ">",
  ">=",
  "regex",
  "not-wildcard",
  "not-equals-ignore-case",
  "date-after",
  "date-on-or-after",
  "date-before",
  "date-on-or-before",
  "in-date-range",
  "ip-address-in-range",
  "ip-address-not-in-range",
]);

/** Options for {@link compilePattern}. */
export interface CompilePatternOptions {
  /** Longest pattern accepted, in characters of its JSON text; EventBridge's default quota unless raised. */
  maxPatternLength?: number;
}

/** A validated event pattern, ready to match any number of events. */
export interface CompiledPattern {
  /** The pattern's JSON text, as given or as serialised from the object given. */
  readonly source: string;
  /** The pattern as an object. */
  readonly pattern: Readonly<Record<string, unknown>>;
  /** Whether the event (an object, or its JSON text) matches the pattern; malformed JSON text throws. */
  matches(event: string | object): boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation: the pattern becomes a tree of node and leaf specifications.

type Path = readonly PatternPathSegment[];
type StringTest = (value: string) => boolean;
type NumberTest = (value: number) => boolean;

interface LeafSpec {
  readonly kind: "leaf";
  /** Field names from the event root to this field. */
  readonly fieldPath: readonly string[];
  /** The field path as event-ruler names it (joined with dots); its sort order decides array consistency. */
  readonly flatName: string;
  /** `orId:branch` for every $or branch this leaf sits in. */
  readonly orBranches: readonly string[];
  readonly stringTest: StringTest;
  readonly numberTest: NumberTest;
  readonly matchesTrue: boolean;
  readonly matchesFalse: boolean;
  readonly matchesNull: boolean;
  /** Whether the list holds `{"exists": false}`. */
  readonly matchesAbsence: boolean;
  /** The values, when the list is nothing but plain strings: the commonest leaf, given a fast path. */
  readonly onlyStrings: ReadonlySet<string> | undefined;
  /** Set after validation: the depth of the array scope an absence is judged in (see `resolveAbsenceScopes`). */
  absenceDepth: number;
}

interface NodeSpec {
  readonly kind: "node";
  readonly fieldPath: readonly string[];
  readonly fields: readonly { readonly key: string; readonly child: LeafSpec | NodeSpec }[];
  /** Each entry is one `$or`: the node matches when every field and at least one branch of each `$or` match. */
  readonly ors: readonly (readonly NodeSpec[])[];
}

const ALWAYS = (): boolean => true;
const NEVER = (): boolean => false;

function fail(reason: string, path: Path, cause?: unknown): never {
  throw new InvalidEventPatternError(reason, path, cause === undefined ? undefined : { cause });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function anyOf<T>(tests: readonly ((value: T) => boolean)[]): (value: T) => boolean {
  const [first, second] = tests;
  if (first === undefined) return NEVER;
  if (second === undefined) return first;
  if (tests.length === 2) return (value) => first(value) || second(value);
  return (value) => {
    for (const test of tests) if (test(value)) return true;
    return false;
  };
}

/** Decimal places of a number as its shortest round-trip text shows them (`1e-7` has seven). */
function decimalPlaces(value: number): number {
  if (Number.isInteger(value)) return 0;
  const text = String(value);
  const exponentAt = text.indexOf("e");
  const mantissa = exponentAt === -1 ? text : text.slice(0, exponentAt);
  const exponent = exponentAt === -1 ? 0 : Number(text.slice(exponentAt + 1));
  const dotAt = mantissa.indexOf(".");
  const fractionDigits = dotAt === -1 ? 0 : mantissa.length - dotAt - 1;
  return Math.max(0, fractionDigits - exponent);
}

/** Whether a number is precise enough for event-ruler to compare (its ComparableNumber keeps six decimals). */
function hasComparablePrecision(value: number): boolean {
  return Number.isInteger(value) || decimalPlaces(value) <= MAX_NUMERIC_DECIMALS;
}

function requireComparable(value: number, path: Path): void {
  if (decimalPlaces(value) > MAX_NUMERIC_DECIMALS) fail("Only values up to 6 decimals are supported", path);
  if (value < -NUMERIC_LIMIT || value > NUMERIC_LIMIT) {
    fail("Value must be between -5000000000 and 5000000000, inclusive", path);
  }
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/** A wildcard pattern split at its unescaped `*`s; validation follows event-ruler's WildcardParser. */
function parseWildcard(pattern: string, path: Path): string[] {
  const segments: string[] = [];
  let current = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "*") {
      if (pattern[i + 1] === "*") fail(`Consecutive wildcard characters at pos ${i}`, path);
      segments.push(current);
      current = "";
    } else if (char === "\\") {
      const next = pattern[i + 1];
      if (next !== "*" && next !== "\\") fail(`Invalid escape character at pos ${i}`, path);
      current += next;
      i++;
    } else {
      current += char;
    }
  }
  segments.push(current);
  return segments;
}

function compileWildcard(pattern: string, path: Path): StringTest {
  const segments = parseWildcard(pattern, path);
  const first = segments[0] ?? "";
  if (segments.length === 1) return (value) => value === first;
  const last = segments[segments.length - 1] ?? "";
  const middle = segments.slice(1, -1).filter((segment) => segment !== "");
  const fixedLength = first.length + last.length;
  return (value) => {
    if (value.length < fixedLength || !value.startsWith(first) || !value.endsWith(last)) return false;
    // Taking each middle segment at its leftmost occurrence is enough when the only wildcard is `*`.
    let from = first.length;
    const end = value.length - last.length;
    for (const segment of middle) {
      const at = value.indexOf(segment, from);
      if (at === -1 || at + segment.length > end) return false;
      from = at + segment.length;
    }
    return true;
  };
}

/** Collects the alternatives of one leaf list, then turns them into one test per JSON type. */
class LeafBuilder {
  readonly exactStrings = new Set<string>();
  readonly exactNumbers = new Set<number>();
  readonly ipv4 = new Set<number>();
  readonly ipv6 = new Set<bigint>();
  readonly ipv4Ranges: { lo: number; hi: number }[] = [];
  readonly ipv6Ranges: { lo: bigint; hi: bigint }[] = [];
  readonly stringTests: StringTest[] = [];
  readonly numberTests: NumberTest[] = [];
  anyString = false;
  anyNumber = false;
  matchesTrue = false;
  matchesFalse = false;
  matchesNull = false;
  matchesAbsence = false;

  /** Matches every value that is not a string (for anything-but over strings). */
  allButStrings(): void {
    this.anyNumber = true;
    this.matchesTrue = true;
    this.matchesFalse = true;
    this.matchesNull = true;
  }

  /** Matches every value that is not a number (for anything-but over numbers). */
  allButNumbers(): void {
    this.anyString = true;
    this.matchesTrue = true;
    this.matchesFalse = true;
    this.matchesNull = true;
  }

  stringTest(): StringTest {
    if (this.anyString) return ALWAYS;
    const tests: StringTest[] = [];
    const exact = this.exactStrings;
    const [only] = exact;
    if (exact.size === 1 && only !== undefined) tests.push((value) => value === only);
    else if (exact.size > 1) tests.push((value) => exact.has(value));
    if (this.ipv4.size + this.ipv6.size + this.ipv4Ranges.length + this.ipv6Ranges.length > 0) {
      tests.push(this.ipTest());
    }
    tests.push(...this.stringTests);
    return anyOf(tests);
  }

  numberTest(): NumberTest {
    if (this.anyNumber) return ALWAYS;
    const tests: NumberTest[] = [];
    const exact = this.exactNumbers;
    const [only] = exact;
    if (exact.size === 1 && only !== undefined) tests.push((value) => value === only);
    else if (exact.size > 1) tests.push((value) => exact.has(value));
    tests.push(...this.numberTests);
    return anyOf(tests);
  }

  /** The exact strings, when they are all the list holds (an IP-valued string needs the address test). */
  onlyStrings(): ReadonlySet<string> | undefined {
    const otherValues = this.exactNumbers.size + this.ipv4.size + this.ipv6.size;
    const otherTests =
      this.ipv4Ranges.length + this.ipv6Ranges.length + this.stringTests.length + this.numberTests.length;
    const otherFlags =
      this.anyString || this.anyNumber || this.matchesTrue || this.matchesFalse || this.matchesNull;
    const plain =
      this.exactStrings.size > 0 && otherValues + otherTests === 0 && !otherFlags && !this.matchesAbsence;
    return plain ? this.exactStrings : undefined;
  }

  private ipTest(): StringTest {
    const { ipv4, ipv6, ipv4Ranges, ipv6Ranges } = this;
    return (value) => {
      const ip: IpAddressValue | undefined = parseIpAddress(value);
      if (ip === undefined) return false;
      if (typeof ip === "number") {
        if (ipv4.has(ip)) return true;
        for (const range of ipv4Ranges) if (ip >= range.lo && ip <= range.hi) return true;
        return false;
      }
      if (ipv6.has(ip)) return true;
      for (const range of ipv6Ranges) if (ip >= range.lo && ip <= range.hi) return true;
      return false;
    };
  }
}

class PatternParser {
  private orCount = 0;
  readonly leaves: LeafSpec[] = [];

  parseNode(
    object: Record<string, unknown>,
    path: Path,
    fieldPath: readonly string[],
    orBranches: readonly string[],
    insideOr: boolean,
  ): NodeSpec {
    const keys = Object.keys(object);
    if (keys.length === 0) fail("Empty objects are not allowed", path);
    const fields: { key: string; child: LeafSpec | NodeSpec }[] = [];
    const ors: NodeSpec[][] = [];
    for (const key of keys) {
      const value = object[key];
      const here = [...path, key];
      if (key === OR_KEY) {
        ors.push(this.parseOr(value, here, fieldPath, orBranches));
        continue;
      }
      if (insideOr && RESERVED_IN_OR.has(key)) {
        fail(`${key} is a reserved field name which cannot be used inside ${OR_KEY}`, here);
      }
      if (Array.isArray(value)) {
        fields.push({ key, child: this.parseLeaf(value, here, [...fieldPath, key], orBranches) });
      } else if (isPlainObject(value)) {
        fields.push({ key, child: this.parseNode(value, here, [...fieldPath, key], orBranches, insideOr) });
      } else {
        fail(`"${key}" must be an object or an array`, here);
      }
    }
    return { kind: "node", fieldPath, fields, ors };
  }

  private parseOr(
    value: unknown,
    path: Path,
    fieldPath: readonly string[],
    orBranches: readonly string[],
  ): NodeSpec[] {
    // event-ruler once read a non-array "$or" as an ordinary field name; its current compiler refuses it.
    if (!Array.isArray(value)) fail(`${OR_KEY} must be followed by an array`, path);
    const orId = this.orCount++;
    const branches = value.map((branch, index) => {
      if (!isPlainObject(branch)) {
        fail(`Only JSON objects are allowed in an array of ${OR_KEY}`, [...path, index]);
      }
      return this.parseNode(branch, [...path, index], fieldPath, [...orBranches, `${orId}:${index}`], true);
    });
    if (branches.length < 2) fail(`There must be at least 2 objects in ${OR_KEY}`, path);
    return branches;
  }

  private parseLeaf(
    values: readonly unknown[],
    path: Path,
    fieldPath: readonly string[],
    orBranches: readonly string[],
  ): LeafSpec {
    if (values.length === 0) fail("Empty arrays are not allowed", path);
    const builder = new LeafBuilder();
    values.forEach((value, index) => {
      const here = [...path, index];
      if (typeof value === "string") this.addExactString(builder, value);
      else if (typeof value === "number") {
        if (!Number.isFinite(value)) fail("Match value must be a finite number", here);
        // Numbers match numerically (300 matches 300.0): event-ruler adds a numeric-equality matcher next to the
        // literal one. Once JSON is parsed the two cannot be told apart anyway.
        builder.exactNumbers.add(value);
      } else if (value === true) builder.matchesTrue = true;
      else if (value === false) builder.matchesFalse = true;
      else if (value === null) builder.matchesNull = true;
      else if (isPlainObject(value)) this.parseMatchExpression(builder, value, here);
      else fail("Match value must be String, number, true, false, or null", here);
    });
    const leaf: LeafSpec = {
      kind: "leaf",
      fieldPath,
      flatName: fieldPath.join("."),
      orBranches,
      stringTest: builder.stringTest(),
      numberTest: builder.numberTest(),
      matchesTrue: builder.matchesTrue,
      matchesFalse: builder.matchesFalse,
      matchesNull: builder.matchesNull,
      matchesAbsence: builder.matchesAbsence,
      onlyStrings: builder.onlyStrings(),
      absenceDepth: 0,
    };
    this.leaves.push(leaf);
    return leaf;
  }

  private addExactString(builder: LeafBuilder, value: string): void {
    builder.exactStrings.add(value);
    // event-ruler turns an exact value that is an IP address into an address match, so "::1" matches "0:0::1".
    if (!looksLikeIpAddress(value)) return;
    const ip = parseIpAddress(value);
    if (typeof ip === "number") builder.ipv4.add(ip);
    else if (typeof ip === "bigint") builder.ipv6.add(ip);
  }

  private parseMatchExpression(builder: LeafBuilder, expression: Record<string, unknown>, path: Path): void {
    const [operator, ...others] = Object.keys(expression);
    if (operator === undefined) fail("Match expression name not found", path);
    const here = [...path, operator];
    const operand = expression[operator];
    switch (operator) {
      case "prefix":
      case "suffix":
        this.parseAffix(builder, operator, operand, here);
        break;
      case EQUALS_IGNORE_CASE: {
        if (typeof operand !== "string") fail(`${EQUALS_IGNORE_CASE} match pattern must be a string`, here);
        const lower = operand.toLowerCase();
        builder.stringTests.push((value) => value.toLowerCase() === lower);
        break;
      }
      case "wildcard":
        if (typeof operand !== "string") fail("wildcard match pattern must be a string", here);
        builder.stringTests.push(compileWildcard(operand, here));
        break;
      case "anything-but":
        this.parseAnythingBut(builder, operand, here);
        break;
      case "numeric":
        builder.numberTests.push(parseNumeric(operand, here));
        break;
      case "exists":
        if (operand === true) {
          builder.anyString = true;
          builder.allButStrings();
        } else if (operand === false) builder.matchesAbsence = true;
        else fail("exists match pattern must be either true or false", here);
        break;
      case "cidr":
        this.parseCidrOperand(builder, operand, here);
        break;
      default:
        fail(`Unrecognized match type ${operator}`, here);
    }
    if (others.length > 0) fail("Only one key allowed in match expression", [...path, others[0] ?? ""]);
  }

  private parseAffix(
    builder: LeafBuilder,
    operator: "prefix" | "suffix",
    operand: unknown,
    path: Path,
  ): void {
    const atStart = operator === "prefix";
    if (typeof operand === "string") {
      builder.stringTests.push(
        atStart ? (value) => value.startsWith(operand) : (value) => value.endsWith(operand),
      );
      return;
    }
    if (!isPlainObject(operand)) fail(`${operator} match pattern must be a string`, path);
    const [inner, ...others] = Object.keys(operand);
    const name = atStart ? "Prefix" : "Suffix";
    if (inner === undefined) fail(`${name} expression name not found`, path);
    if (inner !== EQUALS_IGNORE_CASE) fail(`Unsupported ${operator} pattern: ${inner}`, [...path, inner]);
    const text = operand[inner];
    if (typeof text !== "string") {
      fail(`${EQUALS_IGNORE_CASE} match pattern must be a string`, [...path, inner]);
    }
    if (others.length > 0) fail("Only one key allowed in match expression", [...path, others[0] ?? ""]);
    const lower = text.toLowerCase();
    builder.stringTests.push(
      atStart
        ? (value) => value.toLowerCase().startsWith(lower)
        : (value) => value.toLowerCase().endsWith(lower),
    );
  }

  private parseCidrOperand(builder: LeafBuilder, operand: unknown, path: Path): void {
    if (typeof operand !== "string") fail("cidr match pattern must be a string", path);
    try {
      const range = parseCidr(operand);
      if (typeof range.lo === "number") builder.ipv4Ranges.push(range as { lo: number; hi: number });
      else builder.ipv6Ranges.push(range as { lo: bigint; hi: bigint });
    } catch (error) {
      if (error instanceof CidrSyntaxError) fail(error.message, path, error);
      throw error;
    }
  }

  private parseAnythingBut(builder: LeafBuilder, operand: unknown, path: Path): void {
    if (isPlainObject(operand)) {
      this.parseAnythingButOperator(builder, operand, path);
      return;
    }
    // anything-but excludes values of its own type only: a number is "anything but" any string and vice versa
    // (event-ruler's ByteMachine compares the value's type before it fails an anything-but).
    if (typeof operand === "string") {
      builder.stringTests.push((value) => value !== operand);
      builder.allButStrings();
    } else if (typeof operand === "number") {
      requireComparable(operand, path);
      builder.numberTests.push((value) => value !== operand);
      builder.allButNumbers();
    } else if (Array.isArray(operand)) {
      const strings = new Set<string>();
      const numbers = new Set<number>();
      operand.forEach((item, index) => {
        if (typeof item === "string") strings.add(item);
        else if (typeof item === "number") {
          requireComparable(item, [...path, index]);
          numbers.add(item);
        } else fail("Inside anything-but list, start|null|boolean is not supported.", [...path, index]);
      });
      const hasStrings = strings.size > 0;
      if (hasStrings === numbers.size > 0) {
        fail(
          "Inside anything-but list, either all values are number or string, mixed type is not supported",
          path,
        );
      }
      if (hasStrings) {
        builder.stringTests.push((value) => !strings.has(value));
        builder.allButStrings();
      } else {
        builder.numberTests.push((value) => !numbers.has(value));
        builder.allButNumbers();
      }
    } else {
      fail("Value of anything-but must be an array or single string/number value.", path);
    }
  }

  private parseAnythingButOperator(builder: LeafBuilder, operand: Record<string, unknown>, path: Path): void {
    const [operator, ...others] = Object.keys(operand);
    if (operator === undefined) fail("Anything-but expression name not found", path);
    const here = [...path, operator];
    if (
      operator !== "prefix" &&
      operator !== "suffix" &&
      operator !== EQUALS_IGNORE_CASE &&
      operator !== "wildcard"
    ) {
      fail(`Unsupported anything-but pattern: ${operator}`, here);
    }
    const value = operand[operator];
    if (!(typeof value === "string" || Array.isArray(value))) {
      if (typeof value === "number" || value === null || typeof value === "boolean") {
        fail(operandTypeMessage(operator), here);
      }
      fail("Value of anything-but must be an array or single string/number value.", here);
    }
    const texts = (Array.isArray(value) ? value : [value]).map((text: unknown, index) => {
      const at = Array.isArray(value) ? [...here, index] : here;
      if (typeof text !== "string") fail(operandTypeMessage(operator), at);
      if ((operator === "prefix" || operator === "suffix") && text === "") {
        fail("Null prefix/suffix not allowed", at);
      }
      return { text, at };
    });
    if (others.length > 0) fail("Only one key allowed in match expression", [...path, others[0] ?? ""]);
    let excluded: StringTest;
    if (operator === "prefix") {
      const prefixes = texts.map(({ text }) => text);
      excluded = (candidate) => prefixes.some((prefix) => candidate.startsWith(prefix));
    } else if (operator === "suffix") {
      const suffixes = texts.map(({ text }) => text);
      excluded = (candidate) => suffixes.some((suffix) => candidate.endsWith(suffix));
    } else if (operator === EQUALS_IGNORE_CASE) {
      const lowered = new Set(texts.map(({ text }) => text.toLowerCase()));
      excluded = (candidate) => lowered.has(candidate.toLowerCase());
    } else {
      excluded = anyOf(texts.map(({ text, at }) => compileWildcard(text, at)));
    }
    builder.stringTests.push((candidate) => !excluded(candidate));
    builder.allButStrings();
  }
}

function operandTypeMessage(operator: string): string {
  if (operator === EQUALS_IGNORE_CASE) {
    return "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.";
  }
  if (operator === "wildcard") return "wildcard match pattern must be a string";
  return "prefix/suffix match pattern must be a string";
}

/** `numeric` operands: `["=", n]`, `["<" | "<=", n]`, or `[">" | ">=", n]` optionally followed by `"<" | "<=", m`. */
function parseNumeric(operand: unknown, path: Path): NumberTest {
  if (!Array.isArray(operand)) fail("Value of numeric must be an array.", path);
  const items: readonly unknown[] = operand;
  const [operator, value] = items;
  if (typeof operator !== "string") {
    fail(`Invalid member in numeric match: ${describe(operator)}`, [...path, 0]);
  }
  const requireNumber = (item: unknown, op: string, index: number): number => {
    if (typeof item !== "number" || !Number.isFinite(item)) {
      fail(`Value of ${op} must be numeric`, [...path, index]);
    }
    requireComparable(item, [...path, index]);
    return item;
  };
  switch (operator) {
    case "=": {
      const expected = requireNumber(value, operator, 1);
      if (items.length > 2) fail("Too many elements in numeric expression", [...path, 2]);
      return (candidate) => candidate === expected;
    }
    case "<":
    case "<=": {
      const top = requireNumber(value, operator, 1);
      if (items.length > 2) fail("Too many elements in numeric expression", [...path, 2]);
      return numericRange(-NUMERIC_LIMIT, false, top, operator === "<", path);
    }
    case ">":
    case ">=": {
      const bottom = requireNumber(value, operator, 1);
      if (items.length === 2) return numericRange(bottom, operator === ">", NUMERIC_LIMIT, false, path);
      const upper = items[2];
      if (typeof upper !== "string") fail(`Bad value in numeric range: ${describe(upper)}`, [...path, 2]);
      if (upper !== "<" && upper !== "<=") fail(`Bad numeric range operator: ${upper}`, [...path, 2]);
      const top = requireNumber(items[3], upper, 3);
      if (items.length > 4) fail("Too many terms in numeric range expression", [...path, 4]);
      return numericRange(bottom, operator === ">", top, upper === "<", path);
    }
    default:
      return fail(`Unrecognized numeric range operator: ${operator}`, [...path, 0]);
  }
}

// event-ruler cannot place a number with more than six decimals, so such a value matches no range at all; the
// bounds already keep the magnitude within ±5e9.
function numericRange(
  bottom: number,
  openBottom: boolean,
  top: number,
  openTop: boolean,
  path: Path,
): NumberTest {
  // event-ruler's Range refuses empty and single-point ranges, so [">", 5e9] and ["<=", -5e9] are invalid.
  if (bottom >= top) fail("Bottom must be less than top", path);
  const fine = hasComparablePrecision;
  if (openBottom && openTop) return (value) => value > bottom && value < top && fine(value);
  if (openBottom) return (value) => value > bottom && value <= top && fine(value);
  if (openTop) return (value) => value >= bottom && value < top && fine(value);
  return (value) => value >= bottom && value <= top && fine(value);
}

/**
 * Decides, for each leaf with `{"exists": false}`, how far up the pattern the absence is judged when the event
 * holds arrays of objects.
 *
 * event-ruler matches array elements consistently: fields matched together must come from the same element.
 * An absence, though, is checked against the fields consistent with what has matched *so far*, and it walks
 * field names in sorted order. So an absence is pinned to one array element only if a positive condition on a
 * field that sorts before it, below that array, has already chosen the element; otherwise the field must be
 * absent from every element. The absence depth is the deepest level at which such a positive condition shares
 * the path; arrays deeper than it are searched as a whole.
 *
 * Simplification: a leaf that mixes values with `{"exists": false}` does not pin other absences, and a positive
 * inside one `$or` branch pins only absences in that same branch.
 */
function resolveAbsenceScopes(leaves: readonly LeafSpec[]): void {
  const positives = leaves.filter((leaf) => !leaf.matchesAbsence);
  for (const leaf of leaves) {
    if (!leaf.matchesAbsence) continue;
    let depth = 0;
    for (const positive of positives) {
      if (positive.flatName >= leaf.flatName) continue;
      if (!positive.orBranches.every((branch) => leaf.orBranches.includes(branch))) continue;
      let shared = 0;
      while (
        shared < positive.fieldPath.length &&
        shared < leaf.fieldPath.length &&
        positive.fieldPath[shared] === leaf.fieldPath[shared]
      ) {
        shared++;
      }
      depth = Math.max(depth, shared);
    }
    leaf.absenceDepth = Math.min(depth, leaf.fieldPath.length - 1);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Matching: closures specialised for each node and leaf.

type ValueMatcher = (value: unknown) => boolean;
type ObjectMatcher = (object: Readonly<Record<string, unknown>>) => boolean;

const EMPTY_OBJECT: Readonly<Record<string, unknown>> = Object.freeze(Object.create(null));

// Arrays of objects entered on the way down to the leaf being matched, outermost first. Matching is synchronous
// and never calls out, so one module-level stack serves every pattern.
const anchorDepths: number[] = [];
const anchorArrays: (readonly unknown[])[] = [];
let anchorCount = 0;

function flattenArray(values: readonly unknown[]): unknown[] {
  const flat: unknown[] = [];
  const pending: (readonly unknown[])[] = [values];
  const positions: number[] = [0];
  while (pending.length > 0) {
    const current = pending[pending.length - 1] as readonly unknown[];
    const position = positions[positions.length - 1] as number;
    if (position >= current.length) {
      pending.pop();
      positions.pop();
      continue;
    }
    positions[positions.length - 1] = position + 1;
    const item = current[position];
    if (Array.isArray(item)) {
      pending.push(item);
      positions.push(0);
    } else {
      flat.push(item);
    }
  }
  return flat;
}

function hasNestedArray(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (Array.isArray(values[i])) return true;
  return false;
}

function ownField(object: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Whether any value sits at `fieldPath[from…]` below `value`, looking through arrays at every level. */
function hasValueAt(value: unknown, fieldPath: readonly string[], from: number): boolean {
  let frontier: unknown[] = [value];
  for (let depth = from; depth < fieldPath.length; depth++) {
    const key = fieldPath[depth] as string;
    const next: unknown[] = [];
    for (const item of flattenArray(frontier)) {
      if (isPlainObject(item)) {
        const child = ownField(item, key);
        if (child !== undefined) next.push(child);
      }
    }
    if (next.length === 0) return false;
    frontier = next;
  }
  return flattenArray(frontier).some((item) => item === null || typeof item !== "object");
}

function compileAbsence(leaf: LeafSpec): () => boolean {
  if (!leaf.matchesAbsence) return NEVER;
  const { fieldPath, absenceDepth } = leaf;
  return () => {
    for (let i = 0; i < anchorCount; i++) {
      const depth = anchorDepths[i] as number;
      if (depth > absenceDepth) return !hasValueAt(anchorArrays[i], fieldPath, depth);
    }
    return true;
  };
}

function compileLeaf(leaf: LeafSpec): ValueMatcher {
  const { stringTest, numberTest, matchesTrue, matchesFalse, matchesNull } = leaf;
  const absent = compileAbsence(leaf);
  const matchScalar = (value: unknown): boolean => {
    switch (typeof value) {
      case "string":
        return stringTest(value);
      case "number":
        return numberTest(value);
      case "boolean":
        return value ? matchesTrue : matchesFalse;
      default:
        return value === null && matchesNull;
    }
  };
  // A field holding an array matches when any of its values does; objects inside it are not values of this field.
  const matchArray = (values: readonly unknown[]): boolean => {
    const flat = hasNestedArray(values) ? flattenArray(values) : values;
    let sawValue = false;
    for (let i = 0; i < flat.length; i++) {
      const value = flat[i];
      if (value !== null && typeof value === "object") continue;
      if (matchScalar(value)) return true;
      sawValue = true;
    }
    return !sawValue && absent();
  };
  return (value) => {
    switch (typeof value) {
      case "string":
        return stringTest(value);
      case "number":
        return numberTest(value);
      case "boolean":
        return value ? matchesTrue : matchesFalse;
      case "undefined":
        return absent();
      case "object":
        if (value === null) return matchesNull;
        // An object is not a value of this field (exists matching works on leaves only): it counts as absent.
        return Array.isArray(value) ? matchArray(value) : absent();
      default:
        return false;
    }
  };
}

interface CompiledNode {
  readonly matchObject: ObjectMatcher;
  readonly matchValue: ValueMatcher;
}

function containsAbsence(spec: LeafSpec | NodeSpec, below?: number): boolean {
  if (spec.kind === "leaf") return spec.matchesAbsence && (below === undefined || spec.absenceDepth < below);
  return (
    spec.fields.some(({ child }) => containsAbsence(child, below)) ||
    spec.ors.some((branches) => branches.some((branch) => containsAbsence(branch, below)))
  );
}

/** Cheap, selective checks run first: a rule usually fails on `source` or `detail-type`. */
function checkCost(child: LeafSpec | NodeSpec): number {
  return child.kind === "leaf" ? 0 : 1;
}

function allOf(checks: readonly ObjectMatcher[]): ObjectMatcher {
  const [first, second, third] = checks;
  if (first === undefined) return ALWAYS;
  if (second === undefined) return first;
  if (third === undefined) return (object) => first(object) && second(object);
  if (checks.length === 3) return (object) => first(object) && second(object) && third(object);
  return (object) => {
    for (let i = 0; i < checks.length; i++) if (!(checks[i] as ObjectMatcher)(object)) return false;
    return true;
  };
}

/** A field holding one of a few plain strings, checked without a call per value (arrays take the full path). */
function compileStringsCheck(key: string, values: ReadonlySet<string>, leaf: ValueMatcher): ObjectMatcher {
  const [only] = values;
  if (values.size === 1 && only !== undefined) {
    return (object) => {
      const value = object[key];
      return value === only || (Array.isArray(value) && leaf(value));
    };
  }
  return (object) => {
    const value = object[key];
    return typeof value === "string" ? values.has(value) : Array.isArray(value) && leaf(value);
  };
}

function compileFieldCheck(key: string, child: LeafSpec | NodeSpec): ObjectMatcher {
  const match = child.kind === "leaf" ? compileLeaf(child) : compileNode(child).matchValue;
  // Keys such as "constructor" would otherwise find Object.prototype's members.
  if (key in Object.prototype) return (object) => match(ownField(object, key));
  if (child.kind === "leaf" && child.onlyStrings !== undefined) {
    return compileStringsCheck(key, child.onlyStrings, match);
  }
  return (object) => match(object[key]);
}

function compileNode(spec: NodeSpec): CompiledNode {
  const fields = [...spec.fields].sort((a, b) => checkCost(a.child) - checkCost(b.child));
  const checks: ObjectMatcher[] = fields.map(({ key, child }) => compileFieldCheck(key, child));
  for (const branches of spec.ors) {
    checks.push(anyOf(branches.map((branch) => compileNode(branch).matchObject)));
  }
  const matchObject = allOf(checks);

  const depth = spec.fieldPath.length;
  const canMatchEmpty = containsAbsence(spec);
  const needsAnchor = containsAbsence(spec, depth);
  const matchElements = (values: readonly unknown[]): boolean => {
    let sawObject = false;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (isPlainObject(value)) {
        sawObject = true;
        if (matchObject(value)) return true;
      }
    }
    return !sawObject && canMatchEmpty && matchObject(EMPTY_OBJECT);
  };
  // Array elements are matched one at a time, so fields matched together come from the same element.
  const matchArray = (values: readonly unknown[]): boolean => {
    const elements = hasNestedArray(values) ? flattenArray(values) : values;
    if (!needsAnchor) return matchElements(elements);
    anchorDepths[anchorCount] = depth;
    anchorArrays[anchorCount] = values;
    anchorCount++;
    try {
      return matchElements(elements);
    } finally {
      anchorCount--;
    }
  };
  const matchValue: ValueMatcher = (value) => {
    if (value === null || typeof value !== "object") return canMatchEmpty && matchObject(EMPTY_OBJECT);
    return Array.isArray(value) ? matchArray(value) : matchObject(value as Readonly<Record<string, unknown>>);
  };
  return { matchObject, matchValue };
}

/**
 * The `source` values an event must have for the pattern to match, when the pattern says (directly, or in every
 * branch of a top-level `$or`). Nearly every EventBridge rule names its source and most events fail a rule right
 * there, so checking it before anything else makes a non-matching rule cost one property read.
 */
function sourceGuard(spec: NodeSpec): ReadonlySet<string> | undefined {
  for (const { key, child } of spec.fields) {
    if (key === "source" && child.kind === "leaf" && child.onlyStrings !== undefined) {
      return child.onlyStrings;
    }
  }
  for (const branches of spec.ors) {
    const sources = new Set<string>();
    const guarded = branches.every((branch) => {
      const guard = sourceGuard(branch);
      if (guard !== undefined) for (const source of guard) sources.add(source);
      return guard !== undefined;
    });
    if (guarded) return sources;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API.

// The same JSON text is often matched against every rule on a bus in turn: parse it once, not once per rule.
let lastEventText: string | undefined;
let lastEventValue: unknown;

function parseEvent(text: string): unknown {
  if (text !== lastEventText) {
    lastEventValue = JSON.parse(text);
    lastEventText = text;
  }
  return lastEventValue;
}

function readPattern(pattern: string | object, maxLength: number): { source: string; object: unknown } {
  if (typeof pattern === "string") {
    if (pattern.length > maxLength) {
      fail(`Event pattern is ${pattern.length} characters long, the limit is ${maxLength}`, []);
    }
    try {
      return { source: pattern, object: JSON.parse(pattern) };
    } catch (error) {
      return fail(`Filter is not valid JSON: ${(error as Error).message}`, [], error);
    }
  }
  if (pattern === null || typeof pattern !== "object") fail("Filter is not an object", []);
  let source: string;
  try {
    source = JSON.stringify(pattern);
  } catch (error) {
    return fail(`Filter is not valid JSON: ${(error as Error).message}`, [], error);
  }
  if (source.length > maxLength) {
    fail(`Event pattern is ${source.length} characters long, the limit is ${maxLength}`, []);
  }
  return { source, object: pattern };
}

/**
 * Validates an EventBridge event pattern and compiles it for fast, repeated matching. Throws
 * {@link InvalidEventPatternError} for a pattern EventBridge would reject, naming the offending place.
 *
 * Supported: exact values (strings, numbers, booleans, null, ""), `prefix`, `suffix` (both also with
 * `equals-ignore-case`), `equals-ignore-case`, `wildcard`, `anything-but` (value, list, `prefix`, `suffix`,
 * `equals-ignore-case`, `wildcard`), `numeric`, `exists`, `cidr` and `$or`, at any depth; arrays in events
 * match when any element does.
 *
 * @example
 * const rule = compilePattern({
 *   source: ["aws.ecr"],
 *   "detail-type": ["ECR Image Action"],
 *   detail: { "action-type": ["PUSH"], "image-tag": [{ "anything-but": { prefix: "sha-" } }] },
 * });
 * rule.matches({
 *   source: "aws.ecr",
 *   "detail-type": "ECR Image Action",
 *   detail: { "action-type": "PUSH", "image-tag": "v1.4.0" },
 * }); // true
 */
export function compilePattern(
  pattern: string | object,
  options: CompilePatternOptions = {},
): CompiledPattern {
  const { source, object } = readPattern(pattern, options.maxPatternLength ?? DEFAULT_MAX_PATTERN_LENGTH);
  if (!isPlainObject(object)) fail("Filter is not an object", []);
  const parser = new PatternParser();
  const spec = parser.parseNode(object, [], [], [], false);
  resolveAbsenceScopes(parser.leaves);
  const root = compileNode(spec);
  const guard = sourceGuard(spec);
  return Object.freeze({
    source,
    pattern: object,
    matches: (event: string | object): boolean => {
      const value = typeof event === "string" ? parseEvent(event) : event;
      anchorCount = 0;
      if (value === null || typeof value !== "object" || Array.isArray(value)) return root.matchValue(value);
      const eventSource = (value as { source?: unknown }).source;
      // Only a string source can be ruled out here; an array of sources takes the full path.
      if (guard !== undefined && typeof eventSource === "string" && !guard.has(eventSource)) return false;
      return root.matchObject(value as Readonly<Record<string, unknown>>);
    },
  });
}

const compiledByObject = new WeakMap<object, CompiledPattern>();
const compiledByText = new Map<string, CompiledPattern>();
const MAX_CACHED_TEXT_PATTERNS = 256;

function cachedPattern(pattern: string | object): CompiledPattern {
  if (typeof pattern === "string") {
    let compiled = compiledByText.get(pattern);
    if (compiled === undefined) {
      compiled = compilePattern(pattern);
      if (compiledByText.size >= MAX_CACHED_TEXT_PATTERNS) compiledByText.clear();
      compiledByText.set(pattern, compiled);
    }
    return compiled;
  }
  let compiled = compiledByObject.get(pattern);
  if (compiled === undefined) {
    compiled = compilePattern(pattern);
    compiledByObject.set(pattern, compiled);
  }
  return compiled;
}

/**
 * One-off form of {@link compilePattern}: whether the event matches the pattern. Compiled patterns are cached
 * (by identity for objects, by text for strings), but code on a hot path should hold a {@link CompiledPattern}.
 *
 * @example
 * matchesPattern({ detail: { state: [{ "anything-but": "OK" }] } }, { detail: { state: "ALARM" } }); // true
 */
export function matchesPattern(pattern: string | object, event: string | object): boolean {
  return cachedPattern(pattern).matches(event);
}

// Reads and rewrites the image of a Helm values file by splicing its text, so every other byte stays as a human left it.

import { isDeepStrictEqual } from "node:util";
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  type Node,
  type Pair,
  parse,
  parseAllDocuments,
  Scalar,
  type YAMLMap,
} from "yaml";
import { ValidationError } from "./errors.ts";

/** The image fields a values file carries; charts render `{{ .Values.image.repository }}@{{ .Values.image.digest }}`. */
export interface ValuesImage {
  repository?: string;
  tag?: string;
  digest?: string;
}

/** What `setImage` did to a values file. */
export interface SetImageResult {
  /** The new file text: the old one with only `image.tag` and `image.digest` changed. */
  content: string;
  /** The image the file named before the change. */
  previous: { tag?: string; digest?: string };
  /** False when the file already named this image; `content` is then the input, byte for byte. */
  changed: boolean;
}

const digestPattern = /^sha256:[0-9a-f]{64}$/;
/** Docker's tag grammar: what a registry accepts, and therefore all a promotion can carry. */
const tagPattern = /^[\w][\w.-]{0,127}$/;
/** When a file has no nested block mapping to learn from, children are indented by this many spaces. */
const defaultIndentWidth = 2;
/** Helm reads values as YAML 1.1 (go-yaml); this library defaults to 1.2. A plain scalar must be a string in both. */
const yamlVersions = ["1.1", "1.2"] as const;

type ScalarStyle = "PLAIN" | "QUOTE_DOUBLE" | "QUOTE_SINGLE";
type ImageKey = "tag" | "digest";

/** A replacement of `text[start, end)`; an insertion has `start === end`. */
interface Splice {
  start: number;
  end: number;
  text: string;
}

interface ParsedValues {
  root: YAMLMap | undefined;
  /** The `image` pair of the top-level mapping, when there is one. */
  imagePair: Pair | undefined;
  /** The `image` mapping; undefined when the key is missing or its value is empty (`image:` / `image: null`). */
  image: YAMLMap | undefined;
  current: ValuesImage;
  /** Where the first document's text ends (before a following `---`): where a new top-level key goes. */
  end: number;
}

const problem = (file: string, message: string, cause?: unknown): ValidationError =>
  new ValidationError(`${file}: ${message}`, cause === undefined ? undefined : { cause });

/**
 * Parses a values file and locates its image. A file with more than one YAML document is refused: Helm reads only the
 * first, so the others are almost certainly a mistake, and editing one of several would be a guess. An empty trailing
 * document (a closing `---`) is allowed.
 */
const parseValues = (content: string, file: string): ParsedValues => {
  const documents = parseAllDocuments(content);
  const [document, ...rest] = documents;
  for (const doc of documents) {
    const [error] = doc.errors;
    if (error) throw problem(file, `invalid YAML: ${firstLine(error.message)}`, error);
  }
  if (rest.some((doc) => !isNullScalar(doc.contents))) {
    throw problem(file, "holds more than one YAML document; a Helm values file must be a single document");
  }
  const end = document?.range[2] ?? content.length;
  const root = document?.contents ?? null;
  if (isNullScalar(root)) {
    return { root: undefined, imagePair: undefined, image: undefined, current: {}, end };
  }
  if (!isMap(root)) throw problem(file, "the top level is not a mapping of values");

  const imagePair = findPair(root, "image");
  const imageNode = imagePair?.value ?? null;
  if (imagePair === undefined || isNullScalar(imageNode)) {
    return { root, imagePair, image: undefined, current: {}, end };
  }
  if (!isMap(imageNode)) {
    throw problem(file, "`image` is not a mapping (expected image.repository, image.tag and image.digest)");
  }
  return {
    root,
    imagePair,
    image: imageNode,
    end,
    current: definedOnly({
      repository: scalarText(imageNode, "repository", file),
      tag: scalarText(imageNode, "tag", file),
      digest: scalarText(imageNode, "digest", file),
    }),
  };
};

/** Drops absent fields, so a result prints and compares as just what the file holds. */
const definedOnly = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

const firstLine = (message: string): string => message.split("\n", 1)[0] ?? message;

const isNullScalar = (node: unknown): boolean => node === null || (isScalar(node) && node.value === null);

const findPair = (map: YAMLMap, key: string): Pair | undefined =>
  map.items.find((pair): pair is Pair => isPair(pair) && isScalar(pair.key) && pair.key.value === key);

/** A field's text as written: a plain `1.10` is the tag "1.10" a human meant, not the float YAML makes of it. */
const scalarText = (map: YAMLMap, key: string, file: string): string | undefined => {
  const value = findPair(map, key)?.value ?? null;
  if (isNullScalar(value)) return undefined;
  if (!isScalar(value)) throw problem(file, `image.${key} is not a single value`);
  if (value.type === Scalar.PLAIN && typeof value.source === "string") return value.source;
  return String(value.value);
};

/**
 * The image a values file names, read without changing anything.
 *
 * @example
 * readImage("image:\n  repository: checkout\n  tag: \"1.4.1\"\n", "envs/staging/checkout/values.yaml")
 * // { repository: "checkout", tag: "1.4.1" }
 */
export const readImage = (content: string, file: string): ValuesImage => parseValues(content, file).current;

/**
 * Sets `image.tag` and `image.digest` in a Helm values file, changing no other byte: comments, key order, blank lines,
 * indentation, line endings and the quoting of the replaced values stay as they were. A plain value stays plain unless
 * YAML would read the new one as something other than a string (`1.10`, `true`, `null`), which is then double-quoted.
 * Missing keys are added to the `image` block (after `repository` when there is one); a missing `image` is appended.
 *
 * Without a `tag` (a digest-only promotion) an existing tag is kept when the digest is unchanged, and removed when the
 * digest changes, because it would then name a different image than the one deployed.
 *
 * Throws `ValidationError` naming the file for invalid YAML, several documents, a top level or `image` that is not a
 * mapping, or a tag or digest that is not well-formed.
 *
 * @example
 * const { content, previous, changed } = setImage(
 *   'image:\n  tag: "1.4.1" # pinned\n  digest: sha256:aa…\n',
 *   { tag: "1.5.0", digest: "sha256:bb…" },
 *   "envs/staging/checkout/values.yaml",
 * );
 * // content: 'image:\n  tag: "1.5.0" # pinned\n  digest: sha256:bb…\n'
 * // previous: { tag: "1.4.1", digest: "sha256:aa…" }, changed: true
 */
export const setImage = (
  content: string,
  image: { tag?: string; digest: string },
  file: string,
): SetImageResult => {
  if (!digestPattern.test(image.digest)) {
    throw problem(file, `digest "${image.digest}" is not of the form sha256:<64 lowercase hex digits>`);
  }
  if (image.tag !== undefined && !tagPattern.test(image.tag)) {
    throw problem(file, `tag "${image.tag}" is not a valid image tag`);
  }
  const parsed = parseValues(content, file);
  const previous = definedOnly({ tag: parsed.current.tag, digest: parsed.current.digest });
  const digestChanged = previous.digest !== image.digest;
  const wanted: Partial<Record<ImageKey, string | null>> = {};
  if (digestChanged) wanted.digest = image.digest;
  if (image.tag !== undefined && image.tag !== previous.tag) wanted.tag = image.tag;
  if (image.tag === undefined && digestChanged && previous.tag !== undefined) wanted.tag = null;
  if (wanted.tag === undefined && wanted.digest === undefined) return { content, previous, changed: false };

  const layout = new Layout(content);
  const splices = parsed.image
    ? editImageMap(layout, parsed.image, wanted)
    : addImageMap(layout, parsed, { tag: image.tag, digest: image.digest });
  const next = applySplices(content, splices);
  verify(
    content,
    next,
    { tag: image.tag ?? (digestChanged ? undefined : previous.tag), digest: image.digest },
    file,
  );
  return { content: next, previous, changed: true };
};

/** The parts of the text a splice needs: line breaks, indentation and the width children are indented by. */
class Layout {
  readonly eol: string;

  constructor(readonly text: string) {
    const firstBreak = text.indexOf("\n");
    this.eol = firstBreak > 0 && text[firstBreak - 1] === "\r" ? "\r\n" : "\n";
  }

  lineStart(position: number): number {
    return this.text.lastIndexOf("\n", position - 1) + 1;
  }

  /** Where the line holding `position` ends (after its break); a block scalar's range already ends after one. */
  lineEnd(position: number): { at: number; needsBreak: boolean } {
    if (position > 0 && this.text[position - 1] === "\n") return { at: position, needsBreak: false };
    const next = this.text.indexOf("\n", position);
    return next === -1 ? { at: this.text.length, needsBreak: true } : { at: next + 1, needsBreak: false };
  }

  /** The column of a key, when only spaces stand before it on its line (a block mapping's key). */
  keyColumn(key: Node): number | undefined {
    const start = key.range?.[0];
    if (start === undefined) return undefined;
    const before = this.text.slice(this.lineStart(start), start);
    return /^ *$/.test(before) ? before.length : undefined;
  }

  /** How far this file indents a nested block mapping, learnt from the first one found. */
  indentWidth(root: YAMLMap | undefined): number {
    const rootColumn = root?.items[0] ? this.keyColumn(root.items[0].key as Node) : undefined;
    for (const pair of root?.items ?? []) {
      const child = pair.value;
      if (isMap(child) && !child.flow && child.items[0]) {
        const column = this.keyColumn(child.items[0].key as Node);
        if (column !== undefined && rootColumn !== undefined && column > rootColumn) {
          return column - rootColumn;
        }
      }
    }
    return defaultIndentWidth;
  }
}

const rangeOf = (node: Node | null | undefined): [number, number] | undefined => {
  const range = node?.range;
  return range ? [range[0], range[1]] : undefined;
};

/** Where a pair's text ends: after its value, or after its key when the value is empty. */
const pairEnd = (pair: Pair): number => {
  const end = rangeOf(pair.value as Node | null)?.[1] ?? rangeOf(pair.key as Node)?.[1];
  if (end === undefined) throw new Error("a parsed pair has no source range");
  return end;
};

const pairStart = (pair: Pair): number => {
  const start = rangeOf(pair.key as Node)?.[0];
  if (start === undefined) throw new Error("a parsed pair has no source range");
  return start;
};

/** Renders a value in a style, falling back to double quotes when a plain scalar would not read back as this string. */
const renderScalar = (value: string, style: ScalarStyle, flow: boolean): string => {
  if (style === "QUOTE_SINGLE") return `'${value.replaceAll("'", "''")}'`;
  if (style === "PLAIN" && readsBackAsString(value, flow)) return value;
  return JSON.stringify(value);
};

/** True when `value` written plain reads back as the same string under YAML 1.1 and 1.2, in this context. */
const readsBackAsString = (value: string, flow: boolean): boolean => {
  if (value.trim() !== value || value === "") return false;
  // go-yaml, which Helm uses, has treated `:` inside a plain flow scalar as an indicator.
  if (flow && /[,[\]{}:]/.test(value)) return false;
  const probe = flow ? `{k: ${value}}` : `k: ${value}`;
  return yamlVersions.every((version) => {
    try {
      const read: unknown = parse(probe, { version });
      return typeof read === "object" && read !== null && (read as { k?: unknown }).k === value;
    } catch {
      return false;
    }
  });
};

const styleOf = (node: unknown): ScalarStyle => {
  if (isScalar(node) && (node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE)) {
    return node.type;
  }
  return "PLAIN";
};

/** The splices that update, add or remove `tag` / `digest` inside an existing `image` mapping. */
const editImageMap = (
  layout: Layout,
  image: YAMLMap,
  wanted: Partial<Record<ImageKey, string | null>>,
): Splice[] => {
  const flow = image.flow === true;
  const splices: Splice[] = [];
  const missing: [ImageKey, string][] = [];
  const removed = new Set<Pair>();

  for (const key of ["tag", "digest"] as const) {
    const value = wanted[key];
    if (value === undefined) continue;
    const pair = findPair(image, key);
    if (value === null) {
      if (pair) {
        splices.push(removePair(layout, image, pair));
        removed.add(pair);
      }
    } else if (pair && !isNullScalar(pair.value)) {
      splices.push(replaceScalar(layout, pair.value as Scalar, value, flow));
    } else if (pair) {
      splices.push(fillEmptyValue(layout, pair, value, flow));
    } else {
      missing.push([key, value]);
    }
  }
  if (missing.length > 0) splices.push(insertPairs(layout, image, missing, removed));
  return splices;
};

/** Replaces a scalar's text in place; a block scalar (`|`, `>`) becomes a one-line scalar on the same line. */
const replaceScalar = (layout: Layout, node: Scalar, value: string, flow: boolean): Splice => {
  const [start, end] = rangeOf(node) ?? [0, 0];
  const isBlock = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
  const rendered = renderScalar(value, styleOf(node), flow);
  return { start, end, text: isBlock ? `${rendered}${layout.eol}` : rendered };
};

/** Writes a value after a key whose value is empty (`tag:` or `tag: null`). */
const fillEmptyValue = (layout: Layout, pair: Pair, value: string, flow: boolean): Splice => {
  const rendered = renderScalar(value, "PLAIN", flow);
  const node = pair.value as Scalar | null;
  const range = rangeOf(node);
  if (range && range[1] > range[0]) return { start: range[0], end: range[1], text: rendered };
  const keyEnd = rangeOf(pair.key as Node)?.[1] ?? 0;
  const colon = layout.text.indexOf(":", keyEnd);
  return { start: colon + 1, end: colon + 1, text: ` ${rendered}` };
};

/** Removes a pair: its whole line in a block mapping, the item and one separating comma in a flow mapping. */
const removePair = (layout: Layout, map: YAMLMap, pair: Pair): Splice => {
  if (!map.flow) {
    const start = layout.lineStart(pairStart(pair));
    return { start, end: layout.lineEnd(pairEnd(pair)).at, text: "" };
  }
  const index = map.items.indexOf(pair);
  const next = map.items[index + 1];
  if (next) return { start: pairStart(pair), end: pairStart(next), text: "" };
  const before = map.items[index - 1];
  return { start: before ? pairEnd(before) : pairStart(pair), end: pairEnd(pair), text: "" };
};

/**
 * Adds missing `tag`/`digest` pairs to a mapping: after `tag` or `repository` when present, else before `digest`,
 * else after the last pair, so the image block keeps reading repository → tag → digest.
 */
const insertPairs = (
  layout: Layout,
  map: YAMLMap,
  pairs: [ImageKey, string][],
  removed: Set<Pair>,
): Splice => {
  const flow = map.flow === true;
  const present = (key: string): Pair | undefined => {
    const pair = findPair(map, key);
    return pair && !removed.has(pair) ? pair : undefined;
  };
  const after =
    present("tag") ?? present("repository") ?? map.items.filter((pair) => !removed.has(pair)).at(-1);
  const before = present("tag") || present("repository") ? undefined : present("digest");
  const rendered = pairs.map(([key, value]) => `${key}: ${renderScalar(value, "PLAIN", flow)}`);
  const insertAt = (at: number, text: string): Splice => ({ start: at, end: at, text });

  if (flow) {
    if (before) return insertAt(pairStart(before), `${rendered.join(", ")}, `);
    if (after) return insertAt(pairEnd(after), `, ${rendered.join(", ")}`);
    // Only pairs being removed are left: the new ones take the place of the first.
    const [first] = map.items;
    if (first) return insertAt(pairStart(first), rendered.join(", "));
    const open = rangeOf(map)?.[0] ?? 0;
    if (layout.text[open] !== "{") throw new Error("a flow mapping that does not start with {");
    return insertAt(open + 1, ` ${rendered.join(", ")} `);
  }

  const column = map.items.map((pair) => layout.keyColumn(pair.key as Node)).find((c) => c !== undefined);
  if (column === undefined) throw new Error("a block mapping without a key at the start of a line");
  const lines = rendered.map((line) => `${" ".repeat(column)}${line}${layout.eol}`).join("");
  if (before) return insertAt(layout.lineStart(pairStart(before)), lines);
  if (after) {
    const { at, needsBreak } = layout.lineEnd(pairEnd(after));
    return insertAt(at, `${needsBreak ? layout.eol : ""}${lines}`);
  }
  const [first] = map.items;
  if (first === undefined) throw new Error("an empty block mapping");
  return insertAt(layout.lineStart(pairStart(first)), lines);
};

/** Adds an `image` mapping: under an empty `image:` key, or as a new top-level key at the end. */
const addImageMap = (
  layout: Layout,
  parsed: ParsedValues,
  image: { tag?: string; digest: string },
): Splice[] => {
  const entries: [ImageKey, string][] = image.tag === undefined ? [] : [["tag", image.tag]];
  entries.push(["digest", image.digest]);
  const { root, imagePair } = parsed;
  const width = layout.indentWidth(root);
  const flowMap = () =>
    `{ ${entries.map(([key, value]) => `${key}: ${renderScalar(value, "PLAIN", true)}`).join(", ")} }`;
  const blockLines = (column: number) =>
    entries
      .map(
        ([key, value]) => `${" ".repeat(column)}${key}: ${renderScalar(value, "PLAIN", false)}${layout.eol}`,
      )
      .join("");

  const at = parsed.end;
  const separator = at > 0 && layout.text[at - 1] !== "\n" ? layout.eol : "";
  if (root === undefined) {
    return [{ start: at, end: at, text: `${separator}image:${layout.eol}${blockLines(width)}` }];
  }
  if (imagePair) {
    return fillEmptyImage(layout, root, imagePair, root.flow ? flowMap() : undefined, blockLines, width);
  }
  if (root.flow) {
    const last = root.items.at(-1);
    if (last) return [{ start: pairEnd(last), end: pairEnd(last), text: `, image: ${flowMap()}` }];
    const open = rangeOf(root)?.[0] ?? 0;
    return [{ start: open + 1, end: open + 1, text: ` image: ${flowMap()} ` }];
  }
  const first = root.items[0];
  const column = first ? (layout.keyColumn(first.key as Node) ?? 0) : 0;
  const text = `${separator}${" ".repeat(column)}image:${layout.eol}${blockLines(column + width)}`;
  return [{ start: at, end: at, text }];
};

/** `image:` or `image: ~` becomes a mapping: nested lines in a block mapping, `{ … }` in a flow one. */
const fillEmptyImage = (
  layout: Layout,
  root: YAMLMap,
  imagePair: Pair,
  flowMap: string | undefined,
  blockLines: (column: number) => string,
  width: number,
): Splice[] => {
  const valueRange = rangeOf(imagePair.value as Node | null);
  const keyEnd = rangeOf(imagePair.key as Node)?.[1] ?? 0;
  if (flowMap !== undefined) {
    if (valueRange && valueRange[1] > valueRange[0]) {
      return [{ start: valueRange[0], end: valueRange[1], text: flowMap }];
    }
    const colon = layout.text.indexOf(":", keyEnd);
    return [{ start: colon + 1, end: colon + 1, text: ` ${flowMap}` }];
  }
  const column = layout.keyColumn(imagePair.key as Node) ?? layout.keyColumn(root.items[0]?.key as Node) ?? 0;
  const splices: Splice[] = [];
  let lineFrom = keyEnd;
  if (valueRange && valueRange[1] > valueRange[0]) {
    // Drop the explicit null and the spaces before it, keeping a trailing comment where it was.
    let start = valueRange[0];
    while (start > keyEnd && layout.text[start - 1] === " ") start--;
    splices.push({ start, end: valueRange[1], text: "" });
    lineFrom = valueRange[1];
  }
  const { at, needsBreak } = layout.lineEnd(lineFrom);
  splices.push({ start: at, end: at, text: `${needsBreak ? layout.eol : ""}${blockLines(column + width)}` });
  return splices;
};

/** Applies non-overlapping splices to the original text; an insertion at a removal's start goes before it. */
const applySplices = (text: string, splices: readonly Splice[]): string => {
  const ordered = [...splices].sort((a, b) => a.start - b.start || a.end - a.start - (b.end - b.start));
  let result = "";
  let position = 0;
  for (const splice of ordered) {
    if (splice.start < position) throw new Error("overlapping edits of a values file");
    result += text.slice(position, splice.start) + splice.text;
    position = splice.end;
  }
  return result + text.slice(position);
};

const toPlain = (content: string): unknown => {
  const [document] = parseAllDocuments(content) as Document[];
  return document?.toJS() ?? null;
};

const withoutImageFields = (values: unknown): unknown => {
  // An empty file and an empty mapping hold the same values.
  if (values === null) return {};
  if (typeof values !== "object" || Array.isArray(values)) return values;
  const { image, ...rest } = values as Record<string, unknown>;
  if (typeof image !== "object" || image === null) return rest;
  const { tag: _tag, digest: _digest, ...other } = image as Record<string, unknown>;
  return Object.keys(other).length > 0 ? { ...rest, image: other } : rest;
};

/**
 * The splice is checked, not trusted: the result must parse, name exactly the new image, and hold the same values as
 * before everywhere else. A file shape the splicing did not foresee fails here instead of reaching a cluster.
 */
const verify = (
  before: string,
  after: string,
  expected: { tag?: string; digest: string },
  file: string,
): void => {
  let read: ValuesImage;
  try {
    read = readImage(after, file);
  } catch (error) {
    throw problem(file, "the image could not be set without breaking the file's YAML", error);
  }
  const same =
    read.tag === expected.tag &&
    read.digest === expected.digest &&
    isDeepStrictEqual(withoutImageFields(toPlain(before)), withoutImageFields(toPlain(after)));
  if (!same) throw problem(file, "the image could not be set without changing other values; edit it by hand");
};

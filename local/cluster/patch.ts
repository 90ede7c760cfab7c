// PATCH bodies the simulated API server applies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge.

import { KubernetesApiError, statusErrors } from "./kubernetes-status.ts";

/** Content types of PATCH requests, as client-node's `PatchStrategy` names them. */
export const patchContentTypes = {
  jsonPatch: "application/json-patch+json",
  mergePatch: "application/merge-patch+json",
  strategicMergePatch: "application/strategic-merge-patch+json",
  applyPatch: "application/apply-patch+yaml",
} as const;

export type PatchContentType = (typeof patchContentTypes)[keyof typeof patchContentTypes];

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (value: Json): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Sets an own property even for `__proto__`, which plain assignment would treat as the prototype. */
const setOwn = (target: JsonObject, key: string, value: Json): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
};

/**
 * RFC 7386: objects merge key by key, `null` deletes, anything else (arrays included) replaces.
 *
 * @example
 * mergePatch({ a: 1, b: { c: 2 } }, { b: { c: null, d: 3 } }) // { a: 1, b: { d: 3 } }
 */
export const mergePatch = (target: Json, patch: Json): Json => {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = {};
  if (isObject(target)) for (const [key, value] of Object.entries(target)) setOwn(result, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
};

interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: Json;
}

const operations = new Set(["add", "remove", "replace", "move", "copy", "test"]);

/** The reasons a JSON patch cannot apply: the document is malformed (400) or does not fit the object (422). */
const malformed = (message: string): KubernetesApiError => statusErrors.badRequest(message);
const unappliable = (message: string): KubernetesApiError =>
  new KubernetesApiError(
    422,
    "Invalid",
    `the server rejected our request due to an error in our request: ${message}`,
  );

const parseOperations = (patch: Json): JsonPatchOperation[] => {
  if (!Array.isArray(patch)) throw malformed("a JSON patch must be an array of operations");
  return patch.map((entry, index) => {
    if (
      !isObject(entry) ||
      typeof entry.op !== "string" ||
      !operations.has(entry.op) ||
      typeof entry.path !== "string"
    ) {
      throw malformed(
        `operation ${index} needs an "op" (add, remove, replace, move, copy, test) and a "path"`,
      );
    }
    if ((entry.op === "move" || entry.op === "copy") && typeof entry.from !== "string") {
      throw malformed(`operation ${index} (${entry.op}) needs a "from"`);
    }
    if (
      (entry.op === "add" || entry.op === "replace" || entry.op === "test") &&
      !Object.hasOwn(entry, "value")
    ) {
      throw malformed(`operation ${index} (${entry.op}) needs a "value"`);
    }
    return entry as unknown as JsonPatchOperation;
  });
};

/** RFC 6901 pointer → tokens (`~1` is `/`, `~0` is `~`). */
const tokens = (pointer: string): string[] => {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw malformed(`"${pointer}" is not a JSON pointer`);
  return pointer
    .slice(1)
    .split("/")
    .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"));
};

const arrayIndex = (array: Json[], token: string, pointer: string, allowEnd: boolean): number => {
  if (allowEnd && token === "-") return array.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw unappliable(`"${pointer}": "${token}" is not an array index`);
  const index = Number(token);
  if (index > array.length || (!allowEnd && index === array.length))
    throw unappliable(`"${pointer}": index out of range`);
  return index;
};

/** The container that holds the pointer's last token, and that token. */
const parentOf = (document: Json, pointer: string): { parent: Json; last: string } => {
  const path = tokens(pointer);
  const last = path.pop();
  if (last === undefined) throw unappliable("the whole document cannot be the target of this operation");
  let parent = document;
  for (const token of path) {
    if (Array.isArray(parent)) parent = parent[arrayIndex(parent, token, pointer, false)];
    else if (isObject(parent) && Object.hasOwn(parent, token)) parent = parent[token];
    else throw unappliable(`"${pointer}": path does not exist`);
  }
  return { parent, last };
};

const read = (document: Json, pointer: string): Json => {
  let current = document;
  for (const token of tokens(pointer)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, pointer, false)];
    else if (isObject(current) && Object.hasOwn(current, token)) current = current[token];
    else throw unappliable(`"${pointer}": path does not exist`);
  }
  return current;
};

const add = (document: Json, pointer: string, value: Json): Json => {
  if (pointer === "") return structuredClone(value);
  const { parent, last } = parentOf(document, pointer);
  if (Array.isArray(parent))
    parent.splice(arrayIndex(parent, last, pointer, true), 0, structuredClone(value));
  else if (isObject(parent)) setOwn(parent, last, structuredClone(value));
  else throw unappliable(`"${pointer}": parent is not an object or array`);
  return document;
};

const remove = (document: Json, pointer: string): Json => {
  const { parent, last } = parentOf(document, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, false), 1);
  else if (isObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw unappliable(`"${pointer}": path does not exist`);
  return document;
};

const deepEqual = (a: Json, b: Json): boolean => {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
};

/**
 * RFC 6902, applied to a copy: all operations or none.
 *
 * @example
 * jsonPatch({ a: [1] }, [{ op: "add", path: "/a/-", value: 2 }]) // { a: [1, 2] }
 */
export const jsonPatch = (target: Json, patch: Json): Json => {
  let document = structuredClone(target);
  for (const operation of parseOperations(patch)) {
    switch (operation.op) {
      case "add":
        document = add(document, operation.path, operation.value);
        break;
      case "remove":
        document = remove(document, operation.path);
        break;
      case "replace":
        read(document, operation.path);
        document = add(
          operation.path === "" ? document : remove(document, operation.path),
          operation.path,
          operation.value,
        );
        break;
      case "move": {
        const from = operation.from ?? "";
        const value = read(document, from);
        document = add(remove(document, from), operation.path, value);
        break;
      }
      case "copy":
        document = add(document, operation.path, read(document, operation.from ?? ""));
        break;
      case "test":
        if (!deepEqual(read(document, operation.path), operation.value)) {
          throw unappliable(`test failed at "${operation.path}"`);
        }
        break;
    }
  }
  return document;
};

/**
 * How a strategic merge patch treats one list field of a built-in type (the Go types' `patchStrategy` tags): items
 * merged by a key (`containers` by `name`), or a list of primitives merged as a set (`finalizers`). Lists not named
 * are replaced whole, as with a merge patch.
 */
export type ListMergeStrategy = { mergeKey: string } | "set";

/** List fields by dotted path from the object's root, list positions left out: `spec.template.spec.containers.env`. */
export type StrategicMergeSchema = Readonly<Record<string, ListMergeStrategy>>;

const patchDirective = "$patch";
const retainKeysDirective = "$retainKeys";
const setElementOrderPrefix = "$setElementOrder/";
const deleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/";

/** What `$patch: delete` leaves of a field: nothing, so the caller removes it. */
const deleted = Symbol("deleted");

const childPath = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`);

const sameItem = (strategy: ListMergeStrategy, a: Json, b: Json): boolean =>
  strategy === "set"
    ? deepEqual(a, b)
    : isObject(a) && isObject(b) && deepEqual(a[strategy.mergeKey], b[strategy.mergeKey]);

/** `$setElementOrder/<field>`: listed items first, in that order; the others keep their relative order after them. */
const ordered = (list: Json[], order: Json, strategy: ListMergeStrategy, path: string): Json[] => {
  if (!Array.isArray(order)) throw malformed(`${setElementOrderPrefix}${path} must be a list`);
  const rank = (item: Json): number => {
    const index = order.findIndex((entry) => sameItem(strategy, entry, item));
    return index < 0 ? order.length : index;
  };
  return list
    .map((item, index) => ({ item, index, rank: rank(item) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ item }) => item);
};

const mergeList = (target: Json, patch: Json[], schema: StrategicMergeSchema, path: string): Json => {
  const strategy = schema[path];
  if (strategy === undefined) return structuredClone(patch);
  const replacing = patch.some((item) => isObject(item) && item[patchDirective] === "replace");
  if (replacing) return patch.filter((item) => !(isObject(item) && item[patchDirective] === "replace"));
  const result = Array.isArray(target) ? structuredClone(target) : [];
  for (const item of patch) {
    if (strategy === "set") {
      if (!result.some((existing) => deepEqual(existing, item))) result.push(structuredClone(item));
      continue;
    }
    if (!isObject(item) || item[strategy.mergeKey] === undefined) {
      throw malformed(`${path}: every item must be a map with the merge key "${strategy.mergeKey}"`);
    }
    const index = result.findIndex((existing) => sameItem(strategy, existing, item));
    if (item[patchDirective] === "delete") {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    const merged = mergeMap(index >= 0 ? result[index] : undefined, item, schema, path);
    if (merged === deleted) continue;
    if (index >= 0) result[index] = merged;
    else result.push(merged);
  }
  return result;
};

const mergeValue = (target: Json, patch: Json, schema: StrategicMergeSchema, path: string): Json =>
  isObject(patch)
    ? mergeMap(target, patch, schema, path)
    : Array.isArray(patch)
      ? mergeList(target, patch, schema, path)
      : structuredClone(patch);

function mergeMap(
  target: Json,
  patch: JsonObject,
  schema: StrategicMergeSchema,
  path: string,
): Json | typeof deleted {
  const mode = patch[patchDirective];
  if (mode === "delete") return deleted;
  if (mode !== undefined && mode !== "replace" && mode !== "merge") {
    throw malformed(`${childPath(path, patchDirective)}: unknown patch type ${JSON.stringify(mode)}`);
  }
  const result: JsonObject = {};
  if (mode !== "replace" && isObject(target)) {
    for (const [key, value] of Object.entries(target)) setOwn(result, key, value);
  }
  const retain = patch[retainKeysDirective];
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((key) => typeof key === "string")) {
      throw malformed(`${childPath(path, retainKeysDirective)} must be a list of field names`);
    }
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  const orders: [string, Json][] = [];
  const removals: [string, Json][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === patchDirective || key === retainKeysDirective) continue;
    if (key.startsWith(setElementOrderPrefix)) orders.push([key.slice(setElementOrderPrefix.length), value]);
    else if (key.startsWith(deleteFromPrimitiveListPrefix)) {
      removals.push([key.slice(deleteFromPrimitiveListPrefix.length), value]);
    } else if (key.startsWith("$")) throw malformed(`${childPath(path, key)}: unknown directive`);
    else if (value === null) delete result[key];
    else {
      const merged = mergeValue(
        Object.hasOwn(result, key) ? result[key] : undefined,
        value,
        schema,
        childPath(path, key),
      );
      if (merged === deleted) delete result[key];
      else setOwn(result, key, merged);
    }
  }
  for (const [key, values] of removals) {
    if (!Array.isArray(values)) throw malformed(`${deleteFromPrimitiveListPrefix}${key} must be a list`);
    const list = result[key];
    if (Array.isArray(list)) result[key] = list.filter((item) => !values.some((v) => deepEqual(v, item)));
  }
  for (const [key, order] of orders) {
    const list = result[key];
    const strategy = schema[childPath(path, key)];
    if (Array.isArray(list) && strategy !== undefined) {
      result[key] = ordered(list, order, strategy, childPath(path, key));
    }
  }
  return result;
}

/**
 * Kubernetes' strategic merge patch, for the built-in types: maps merge as with a merge patch (`null` deletes),
 * lists named in `schema` merge item by item, and the directives `$patch` (merge, replace, delete), `$retainKeys`,
 * `$setElementOrder/…` and `$deleteFromPrimitiveList/…` apply; any other `$` key is a 400.
 *
 * @example
 * strategicMergePatch(deployment, { spec: { template: { spec: { containers: [{ name: "app", image: "app:2" }] } } } }, deploymentMergeKeys)
 */
export const strategicMergePatch = (target: Json, patch: Json, schema: StrategicMergeSchema): Json => {
  if (!isObject(patch)) throw malformed("a strategic merge patch must be a JSON object");
  const merged = mergeMap(target, patch, schema, "");
  if (merged === deleted) throw unappliable("$patch: delete cannot remove the whole object");
  return merged;
};

/**
 * Applies a PATCH body of `contentType` to `target`, for the types in `accepted`; a 415 like kube-apiserver's for
 * any other. Custom resources never accept strategic merge patch: they carry no patch-strategy metadata; built-in
 * types pass their list merge keys as `schema`.
 *
 * @example
 * applyPatch(app, { metadata: { labels: { team: "payments" } } }, "application/merge-patch+json", [patchContentTypes.mergePatch]);
 */
export const applyPatch = (
  target: Json,
  body: Json,
  contentType: string,
  accepted: readonly PatchContentType[],
  schema: StrategicMergeSchema = {},
): Json => {
  const type = accepted.find((candidate) => candidate === contentType);
  if (type === patchContentTypes.mergePatch) return mergePatch(target, body);
  if (type === patchContentTypes.jsonPatch) return jsonPatch(target, body);
  if (type === patchContentTypes.strategicMergePatch) return strategicMergePatch(target, body, schema);
  throw statusErrors.unsupportedMediaType(contentType, accepted);
};

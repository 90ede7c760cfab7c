// PATCH bodies the simulated API server applies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

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
 * Applies a PATCH body of `contentType` to `target`, for the types in `accepted`; a 415 like kube-apiserver's for
 * any other. Custom resources never accept strategic merge patch: they carry no patch-strategy metadata.
 *
 * @example
 * applyPatch(app, { metadata: { labels: { team: "payments" } } }, "application/merge-patch+json", [patchContentTypes.mergePatch]);
 */
export const applyPatch = (
  target: Json,
  body: Json,
  contentType: string,
  accepted: readonly PatchContentType[],
): Json => {
  const type = accepted.find((candidate) => candidate === contentType);
  if (type === patchContentTypes.mergePatch) return mergePatch(target, body);
  if (type === patchContentTypes.jsonPatch) return jsonPatch(target, body);
  throw statusErrors.unsupportedMediaType(contentType, accepted);
};

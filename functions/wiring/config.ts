// Reads switchyard.yaml, validates it with the one schema, and reports each problem with file, line and path.

import { readFileSync } from "node:fs";
import { isNode, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { configSchema, type SwitchyardConfig } from "../core/config.ts";
import { ConfigError } from "../core/errors.ts";

/** Renders a zod path the way people write it: `services[1].policy.semver`. */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((out, key) => {
    if (typeof key === "number") return `${out}[${key}]`;
    return out === "" ? String(key) : `${out}.${String(key)}`;
  }, "");

/**
 * Parses and validates configuration text. Throws `ConfigError` whose message lists every problem as
 * `file:line:column path: expected ...` — never a stack trace.
 *
 * @example
 * const config = parseConfig(readFileSync("switchyard.yaml", "utf8"), "switchyard.yaml");
 */
export const parseConfig = (text: string, file: string): SwitchyardConfig => {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((err) => {
      const pos = err.linePos?.[0];
      const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
      return `${where}: YAML syntax error: ${err.message.split("\n")[0]}`;
    });
    throw new ConfigError(`Invalid configuration in ${file}:\n  ${issues.join("\n  ")}`, issues);
  }
  const result = configSchema.safeParse(doc.toJS());
  if (result.success) return result.data;

  const issues = result.error.issues.map((issue: z.core.$ZodIssue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const node = locate(doc, path);
    const range = node && isNode(node) ? node.range : undefined;
    const pos = range ? lineCounter.linePos(range[0]) : undefined;
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    const at = formatPath(path) || "(document)";
    return `${where} ${at}: ${describeIssue(issue)}`;
  });
  throw new ConfigError(`Invalid configuration in ${file}:\n  ${issues.join("\n  ")}`, issues);
};

/** The deepest node of the document that exists along `path` (a missing key points at its parent). */
const locate = (doc: ReturnType<typeof parseDocument>, path: readonly (string | number)[]): unknown => {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (node !== undefined && node !== null) return node;
  }
  return undefined;
};

const describeIssue = (issue: z.core.$ZodIssue): string => {
  if (issue.code === "invalid_type" && issue.input === undefined)
    return `required, expected ${issue.expected}`;
  if (issue.code === "unrecognized_keys") {
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  return issue.message;
};

/**
 * Loads and validates a configuration file.
 *
 * @example
 * const config = loadConfig(process.env.SWITCHYARD_CONFIG ?? "switchyard.yaml");
 */
export const loadConfig = (file: string): SwitchyardConfig => {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : "cannot be read";
    throw new ConfigError(`Configuration ${file}: ${reason}`, [`${file}: ${reason}`], { cause });
  }
  return parseConfig(text, file);
};

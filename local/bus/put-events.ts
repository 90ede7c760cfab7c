// Validates a PutEvents request exactly as EventBridge answers it: whole-request errors versus per-entry failures.

import { z } from "zod";

/** PutEvents accepts at most 10 entries per call. */
export const maxEntriesPerRequest = 10;
/** PutEvents' request size limit (total of the entries), also the local gateway's body limit. */
export const maxRequestBytes = 256 * 1024;
/** Each entry's `Time` counts as 14 bytes in EventBridge's size calculation. */
const timeFieldBytes = 14;

export interface PutEventsRequestEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  Resources?: unknown;
  Time?: unknown;
  EventBusName?: unknown;
  TraceHeader?: unknown;
}

/** An entry that passed validation, ready to become an event on a bus. */
export interface AcceptedEntry {
  index: number;
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  resources: string[];
  time?: Date;
  busName: string;
}

export interface RejectedEntry {
  index: number;
  errorCode: string;
  errorMessage: string;
}

/** The request as a whole is invalid (EventBridge's ValidationException): nothing is accepted. */
export class PutEventsValidationError extends Error {
  override readonly name = "ValidationException";
}

const requestSchema = z.object({
  Entries: z.array(z.unknown()).min(1).max(maxEntriesPerRequest),
});

const entryShape = z.object({
  Source: z.string().min(1).max(256).optional(),
  DetailType: z.string().min(1).max(128).optional(),
  Detail: z.string().optional(),
  Resources: z.array(z.string().min(1).max(2048)).optional(),
  Time: z.union([z.string(), z.number()]).optional(),
  EventBusName: z.string().min(1).max(1600).optional(),
  TraceHeader: z.string().max(500).optional(),
});

const parseTime = (value: string | number | undefined): Date | undefined | "invalid" => {
  if (value === undefined) return undefined;
  // The AWS JSON protocol sends timestamps as epoch seconds; people send ISO 8601 strings.
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? "invalid" : date;
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Bus names are accepted as a name or an ARN, like PutEvents' `EventBusName`. */
const busNameOf = (value: string | undefined): string => {
  if (!value) return "default";
  const arn = /^arn:aws[\w-]*:events:[\w-]+:\d{12}:event-bus\/(.+)$/.exec(value);
  return arn?.[1] ?? value;
};

const byteLength = (value: string): number => Buffer.byteLength(value, "utf8");

const validateEntry = (
  raw: unknown,
  index: number,
  knownBuses: ReadonlySet<string>,
): AcceptedEntry | RejectedEntry => {
  const reject = (errorCode: string, errorMessage: string): RejectedEntry => ({
    index,
    errorCode,
    errorMessage,
  });
  if (!isPlainObject(raw)) return reject("InvalidArgument", "Entry must be an object.");
  const shape = entryShape.safeParse(raw);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    const field = String(issue?.path[0] ?? "entry");
    return reject(
      "InvalidArgument",
      `Parameter ${field} is not valid. Reason: ${issue?.message ?? "invalid"}.`,
    );
  }
  const entry = shape.data;
  if (entry.Source === undefined) {
    return reject("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.");
  }
  if (entry.DetailType === undefined) {
    return reject(
      "InvalidArgument",
      "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
    );
  }
  if (entry.Detail === undefined) {
    return reject("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.");
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    return reject("MalformedDetail", "Detail is malformed.");
  }
  if (!isPlainObject(detail)) return reject("MalformedDetail", "Detail is malformed.");
  const time = parseTime(entry.Time);
  if (time === "invalid") {
    return reject("InvalidArgument", "Parameter Time is not valid. Reason: expected an ISO 8601 timestamp.");
  }
  const busName = busNameOf(entry.EventBusName);
  if (!knownBuses.has(busName)) {
    return reject("InvalidArgument", `Event bus ${busName} does not exist.`);
  }
  return {
    index,
    source: entry.Source,
    detailType: entry.DetailType,
    detail,
    resources: entry.Resources ?? [],
    ...(time ? { time } : {}),
    busName,
  };
};

/** EventBridge's entry size: Time (14 bytes), Source, DetailType, Detail and each Resource as UTF-8. */
const entrySize = (raw: unknown): number => {
  if (!isPlainObject(raw)) return 0;
  const text = (v: unknown) => (typeof v === "string" ? byteLength(v) : 0);
  const resources = Array.isArray(raw.Resources) ? raw.Resources.reduce((n: number, r) => n + text(r), 0) : 0;
  return (
    (raw.Time === undefined ? 0 : timeFieldBytes) +
    text(raw.Source) +
    text(raw.DetailType) +
    text(raw.Detail) +
    resources
  );
};

/**
 * Splits a PutEvents request into accepted and rejected entries, preserving their order. Throws
 * `PutEventsValidationError` when the request itself is invalid.
 *
 * @example
 * const { accepted, rejected } = validatePutEvents(body, new Set(["default", "switchyard"]));
 */
export const validatePutEvents = (
  body: unknown,
  knownBuses: ReadonlySet<string>,
): { accepted: AcceptedEntry[]; rejected: RejectedEntry[] } => {
  const request = requestSchema.safeParse(body);
  if (!request.success) {
    const entries = isPlainObject(body) ? body.Entries : undefined;
    if (!Array.isArray(entries)) {
      throw new PutEventsValidationError("Request body must be a JSON object with an Entries array.");
    }
    throw new PutEventsValidationError(
      `Entries must hold between 1 and ${maxEntriesPerRequest} entries; got ${entries.length}.`,
    );
  }
  const total = request.data.Entries.reduce((n: number, e) => n + entrySize(e), 0);
  if (total > maxRequestBytes) {
    throw new PutEventsValidationError(
      `Total size of the entries in the request is over the limit: ${total} bytes, at most ${maxRequestBytes}.`,
    );
  }
  const accepted: AcceptedEntry[] = [];
  const rejected: RejectedEntry[] = [];
  request.data.Entries.forEach((raw, index) => {
    const result = validateEntry(raw, index, knownBuses);
    if ("errorCode" in result) rejected.push(result);
    else accepted.push(result);
  });
  return { accepted, rejected };
};

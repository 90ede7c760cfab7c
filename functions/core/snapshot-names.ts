// Names and tags of the database snapshots Switchyard takes, shared by the RDS and the local snapshot services.

import { ValidationError } from "./errors.ts";
import type { Snapshot } from "./ports.ts";

export type SnapshotReason = Snapshot["reason"];

/** The tag keys that mark a snapshot as Switchyard's and say why it was taken. */
export const snapshotTagKeys = {
  createdBy: "switchyard:created-by",
  reason: "switchyard:reason",
  promotionId: "switchyard:promotion-id",
  note: "switchyard:note",
} as const;

/** The value of `switchyard:created-by`: listings show only snapshots carrying it. */
export const snapshotCreator = "switchyard";

/** The tags Switchyard puts on a snapshot it takes. */
export type SnapshotTags = {
  [snapshotTagKeys.createdBy]: typeof snapshotCreator;
  /** `scheduled`, `manual`, or `pre-change:<promotion id>`. */
  [snapshotTagKeys.reason]: string;
  [snapshotTagKeys.promotionId]?: string;
  /** Why a manual snapshot was asked for, as the caller wrote it. */
  [snapshotTagKeys.note]?: string;
};

/** RDS's limit for a DB snapshot and a DB cluster snapshot identifier. */
const maxIdentifierLength = 255;
/** RDS's limit for a tag value. */
const maxTagValueLength = 256;
const prefix = "switchyard";
const preChangePrefix = "pre-change:";
/** The characters RDS accepts in a tag value. */
const tagValuePattern = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const identifierPattern = /^[a-z](?:[a-z0-9]|-(?!-))*$/;
const nameTimePattern = /-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})-(?:scheduled|pre-change|manual)$/;
const reasons: readonly SnapshotReason[] = ["scheduled", "pre-change", "manual"];

/**
 * Whether `id` is a valid RDS snapshot identifier: 1–255 characters, a letter first, then letters, digits and
 * hyphens, never two hyphens in a row nor one at the end. Lower case only, because RDS stores identifiers lower-cased
 * and a mixed-case name would not read back as it was written.
 *
 * @example
 * isSnapshotIdentifier("switchyard-orders-20260501120000-manual"); // true
 * isSnapshotIdentifier("orders--manual"); // false
 */
export const isSnapshotIdentifier = (id: string): boolean =>
  id.length <= maxIdentifierLength && identifierPattern.test(id) && !id.endsWith("-");

/** `YYYYMMDDHHMMSS` in UTC. */
const compactTimestamp = (at: Date): string => {
  if (Number.isNaN(at.getTime()))
    throw new ValidationError("a snapshot needs a valid time to be named after");
  return at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
};

/**
 * The identifier of a snapshot Switchyard takes: `switchyard-<db>-<UTC YYYYMMDDHHMMSS>-<reason>`. The database part
 * is lower-cased, every run of characters RDS refuses becomes one hyphen, and it is shortened when the whole would
 * pass RDS's 255 characters, so any database identifier yields a valid snapshot identifier.
 *
 * @example
 * snapshotName("Orders_DB", "pre-change", new Date("2026-05-01T12:00:00.750Z"));
 * // "switchyard-orders-db-20260501120000-pre-change"
 */
export const snapshotName = (database: string, reason: SnapshotReason, at: Date): string => {
  const suffix = `-${compactTimestamp(at)}-${reason}`;
  const room = maxIdentifierLength - prefix.length - suffix.length - 1;
  const databasePart = database
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, room)
    .replace(/^-+|-+$/g, "");
  return databasePart === "" ? `${prefix}${suffix}` : `${prefix}-${databasePart}${suffix}`;
};

/**
 * The time a Switchyard snapshot name carries (whole seconds, UTC); undefined for any other name. RDS reports no
 * creation time while a snapshot is being created, and this one is stable across reads, unlike "now".
 *
 * @example
 * snapshotNameTime("switchyard-orders-20260501120000-manual"); // Date 2026-05-01T12:00:00.000Z
 */
export const snapshotNameTime = (id: string): Date | undefined => {
  const match = nameTimePattern.exec(id);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match;
  const at = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
};

/**
 * The tags of a snapshot Switchyard takes. A pre-change snapshot names the promotion it guards twice: in its reason,
 * so the console's tag column tells the story, and on its own key, so it can be searched by tag.
 *
 * @example
 * snapshotTags({ reason: "pre-change", promotionId: "9f1c2d3e" });
 * // { "switchyard:created-by": "switchyard", "switchyard:reason": "pre-change:9f1c2d3e", "switchyard:promotion-id": "9f1c2d3e" }
 */
export const snapshotTags = (input: {
  reason: SnapshotReason;
  promotionId?: string;
  note?: string;
}): SnapshotTags => {
  const { reason, promotionId, note } = input;
  if (note !== undefined && (note === "" || note.length > maxTagValueLength || !tagValuePattern.test(note))) {
    throw new ValidationError(
      `the note "${note}" cannot be a snapshot tag value (1-${maxTagValueLength} of letters, digits, spaces and _.:/=+-@)`,
    );
  }
  if (reason === "pre-change" && (promotionId === undefined || promotionId === "")) {
    throw new ValidationError("a pre-change snapshot needs the id of the promotion it guards");
  }
  if (promotionId !== undefined) {
    if (
      !tagValuePattern.test(promotionId) ||
      preChangePrefix.length + promotionId.length > maxTagValueLength
    ) {
      throw new ValidationError(
        `promotion id "${promotionId}" cannot be a snapshot tag value (at most ${maxTagValueLength - preChangePrefix.length} of letters, digits, spaces and _.:/=+-@)`,
      );
    }
  }
  return {
    [snapshotTagKeys.createdBy]: snapshotCreator,
    [snapshotTagKeys.reason]: reason === "pre-change" ? `${preChangePrefix}${promotionId}` : reason,
    ...(promotionId !== undefined && { [snapshotTagKeys.promotionId]: promotionId }),
    ...(note !== undefined && { [snapshotTagKeys.note]: note }),
  };
};

/**
 * Reads back what `snapshotTags` wrote: the reason and the promotion, or undefined when the tags are not those of a
 * snapshot Switchyard took (no `switchyard:created-by`, or a reason it never writes).
 *
 * @example
 * readSnapshotTags({ "switchyard:created-by": "switchyard", "switchyard:reason": "pre-change:9f1c2d3e" });
 * // { reason: "pre-change", promotionId: "9f1c2d3e" }
 */
export const readSnapshotTags = (
  tags: Readonly<Record<string, string>>,
): { reason: SnapshotReason; promotionId?: string } | undefined => {
  if (tags[snapshotTagKeys.createdBy] !== snapshotCreator) return undefined;
  const written = tags[snapshotTagKeys.reason] ?? "";
  const reason = written.startsWith(preChangePrefix) ? "pre-change" : reasons.find((r) => r === written);
  if (reason === undefined) return undefined;
  const promotionId =
    tags[snapshotTagKeys.promotionId] ??
    (reason === "pre-change" ? written.slice(preChangePrefix.length) : undefined);
  return promotionId === undefined || promotionId === "" ? { reason } : { reason, promotionId };
};

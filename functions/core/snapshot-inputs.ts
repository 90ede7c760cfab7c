// The input contracts of the rds-snapshot and restore-drill workflows, shared by their triggers (the schedules, the
// API and the CLI) and by the steps that read them.

import { z } from "zod";

/** At most this many characters of a note on a manual snapshot (RDS tag values hold 256). */
export const maxSnapshotNoteLength = 200;
/** The characters RDS accepts in a tag value. */
const tagValuePattern = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** A free-text note on a manual snapshot ("before the orders migration"), kept as its `switchyard:note` tag. */
export const snapshotNoteSchema = z
  .string()
  .trim()
  .min(1, "expected a non-empty note")
  .max(maxSnapshotNoteLength, `expected at most ${maxSnapshotNoteLength} characters`)
  .regex(tagValuePattern, "expected letters, digits, spaces and _ . : / = + - @ only (an RDS tag value)");

/**
 * What starts `rds-snapshot`. Every key is present (null when not given): the workflow reads them with JSONPath,
 * and a path to a missing key fails the execution.
 */
export const snapshotRunInputSchema = z.strictObject({
  /** `scheduled` from the schedule, `manual` from the API and the CLI, `pre-change` before a major change. */
  reason: z.enum(["scheduled", "manual", "pre-change"]),
  /** One database (instance or Aurora cluster identifier); null: every database the selector picks. */
  database: z.string().min(1).max(63).nullable(),
  /** The promotion or change a pre-change snapshot guards; required for `pre-change`, null otherwise. */
  promotionId: z.uuid().nullable(),
  /** Why a manual snapshot was asked for. */
  note: snapshotNoteSchema.nullable(),
  /** Who asked (the API caller); null for the schedule. */
  requestedBy: z.string().min(1).nullable(),
});

export type SnapshotRunInput = z.infer<typeof snapshotRunInputSchema>;

/** What starts `restore-drill`; every key present, as above. */
export const restoreDrillInputSchema = z.strictObject({
  /** One database; null: every database the selector picks. */
  database: z.string().min(1).max(63).nullable(),
  requestedBy: z.string().min(1).nullable(),
});

export type RestoreDrillInput = z.infer<typeof restoreDrillInputSchema>;

/** The scheduled runs' inputs. */
export const scheduledSnapshotRun: SnapshotRunInput = {
  reason: "scheduled",
  database: null,
  promotionId: null,
  note: null,
  requestedBy: null,
};
export const scheduledRestoreDrill: RestoreDrillInput = { database: null, requestedBy: null };

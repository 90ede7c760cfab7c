// Names of restore-drill scratch databases: one shape both snapshot services accept, and refuse anything else by.

import { ValidationError } from "./errors.ts";

/** Every scratch database of a restore drill starts with it; deleting a drill target refuses any other name. */
export const drillScratchPrefix = "switchyard-drill-";

/** RDS's limit for a DB instance identifier (and PostgreSQL's for a database name, once `-` becomes `_`). */
const maxScratchNameLength = 63;
const scratchNamePattern = /^switchyard-drill-[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** `YYYYMMDDHHMMSS` in UTC. */
const compactTimestamp = (at: Date): string => {
  if (Number.isNaN(at.getTime())) throw new ValidationError("a drill needs a valid time to be named after");
  return at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
};

/**
 * Whether `name` is a restore drill's scratch name: `switchyard-drill-` then lower-case letters and digits in
 * hyphen-separated runs, at most 63 characters, so it is a valid RDS instance identifier and, with `_` for `-`, a
 * valid PostgreSQL database name.
 *
 * @example
 * isDrillScratchName("switchyard-drill-orders-20260501120000"); // true
 * isDrillScratchName("orders"); // false
 */
export const isDrillScratchName = (name: string): boolean =>
  name.length <= maxScratchNameLength && scratchNamePattern.test(name);

/**
 * The scratch name of a drill of `database` started at `at`: `switchyard-drill-<db>-<UTC YYYYMMDDHHMMSS>`, the
 * database part lower-cased, every run of other characters one hyphen, shortened to fit 63 characters.
 *
 * @example
 * drillScratchName("Orders_DB", new Date("2026-05-01T12:00:00Z")); // "switchyard-drill-orders-db-20260501120000"
 */
export const drillScratchName = (database: string, at: Date): string => {
  const suffix = `-${compactTimestamp(at)}`;
  const room = maxScratchNameLength - drillScratchPrefix.length - suffix.length;
  const databasePart = database
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, room)
    .replace(/^-+|-+$/g, "");
  return `${drillScratchPrefix}${databasePart === "" ? "db" : databasePart}${suffix}`;
};

/**
 * Throws a `ValidationError` naming the rule unless `name` is a drill scratch name.
 *
 * @example
 * assertDrillScratchName("switchyard-drill-orders-20260501120000");
 */
export const assertDrillScratchName = (name: string): void => {
  if (!isDrillScratchName(name)) {
    throw new ValidationError(
      `"${name}" is not a restore-drill scratch name: expected ${drillScratchPrefix}<lower-case letters, digits ` +
        `and single hyphens>, at most ${maxScratchNameLength} characters`,
    );
  }
};

// Pure decisions of the scheduled snapshots: which of Switchyard's snapshots expire, and whether the quota allows more.

import { ValidationError } from "./errors.ts";
import { snapshotCreator, snapshotTagKeys } from "./snapshot-names.ts";

/** A DB snapshot as retention sees it: RDS's listing reduced to what the decision needs. */
export interface RetentionSnapshot {
  id: string;
  /** The DB instance (or cluster) identifier; each database keeps its own floor. */
  database: string;
  /** ISO 8601. Needed for Switchyard's manual snapshots; others are only ordered by it. */
  createdAt: string;
  /** RDS's status: `available`, `creating`, `failed`, `deleting`, `copying`, … */
  status: string;
  type: "manual" | "automated";
  /** Whether the snapshot carries `switchyard:created-by` = `switchyard`. */
  createdBySwitchyard: boolean;
}

export interface RetentionInput {
  snapshots: readonly RetentionSnapshot[];
  now: Date;
  retentionDays: number;
  minCount: number;
}

export interface KeptSnapshot {
  snapshot: RetentionSnapshot;
  reason: string;
}

export interface RetentionPlan {
  /** Newest first. */
  delete: RetentionSnapshot[];
  /** Newest first, each with why it stays. */
  keep: KeptSnapshot[];
}

export type QuotaState = "ok" | "warn" | "refuse";

export interface QuotaInput {
  /** Every manual DB snapshot in the region, whoever took it: RDS's quota counts them all. */
  manualSnapshotCount: number;
  /** The snapshots about to be started. */
  creating: number;
  limit: number;
  warnAtPercent: number;
}

export interface QuotaCheck {
  state: QuotaState;
  message: string;
}

const msPerDay = 24 * 60 * 60 * 1000;
/** The only states RDS lets a snapshot be deleted from; any other (creating, copying, deleting) is left alone. */
const deletableStatuses: ReadonlySet<string> = new Set(["available", "failed"]);
const percent = 100;

const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;

const timeOf = (snapshot: RetentionSnapshot): number => Date.parse(snapshot.createdAt);

/** Newest first; ties (one run, many databases, one second) by database, then id, whatever the input order. */
const newestFirst = (a: RetentionSnapshot, b: RetentionSnapshot): number => {
  // Only snapshots retention never deletes may lack a readable time (RDS reports none while creating): last.
  const at = (s: RetentionSnapshot) => {
    const ms = timeOf(s);
    return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
  };
  const byTime = at(b) - at(a);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
  if (a.database !== b.database) return a.database < b.database ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
};

const isSwitchyards = (snapshot: RetentionSnapshot): boolean =>
  snapshot.type === "manual" && snapshot.createdBySwitchyard;

const checkCount = (value: number, what: string, min: number): void => {
  if (!Number.isInteger(value) || value < min) {
    throw new ValidationError(`${what} must be a whole number of at least ${min}, not ${value}`);
  }
};

/**
 * Which snapshots a retention run deletes. Only manual snapshots Switchyard took are ever deleted; automated
 * snapshots (RDS expires them by the instance's backup retention) and anyone else's are kept, and neither counts
 * toward `minCount`.
 *
 * A snapshot expires when it is strictly older than `retentionDays`: one exactly `retentionDays` old is kept, as
 * RDS's backup retention and most tools read "keep 7 days", so a daily schedule that drifts by a second never
 * leaves a day uncovered.
 *
 * Per database, the `minCount` newest `available` snapshots are kept whatever their age, so a database whose
 * snapshots stopped (a failing schedule, an instance left untagged) still has something to restore. Snapshots
 * that are not available never count toward that floor: a `failed` one past retention is deleted, and one that is
 * `creating`, `copying` or `deleting` is left alone, since RDS refuses to delete it. Databases are independent.
 *
 * @example
 * planRetention({
 *   snapshots: [{ id: "switchyard-orders-20260401030000-scheduled", database: "orders",
 *     createdAt: "2026-04-01T03:00:00Z", status: "available", type: "manual", createdBySwitchyard: true }],
 *   now: new Date("2026-05-01T03:00:00Z"), retentionDays: 7, minCount: 0,
 * });
 * // { delete: [that snapshot], keep: [] }
 */
export const planRetention = (input: RetentionInput): RetentionPlan => {
  const { snapshots, now, retentionDays, minCount } = input;
  if (Number.isNaN(now.getTime())) throw new ValidationError("retention needs a valid time for now");
  if (!Number.isFinite(retentionDays) || retentionDays < 0) {
    throw new ValidationError(`retentionDays must be a number of days of at least 0, not ${retentionDays}`);
  }
  checkCount(minCount, "minCount", 0);
  for (const snapshot of snapshots) {
    if (isSwitchyards(snapshot) && Number.isNaN(timeOf(snapshot))) {
      throw new ValidationError(
        `snapshot ${snapshot.id} has createdAt "${snapshot.createdAt}", not an ISO 8601 time`,
      );
    }
  }

  const sorted = [...snapshots].sort(newestFirst);
  const retentionMs = retentionDays * msPerDay;
  const days = plural(retentionDays, "day", "days");
  const availableSeen = new Map<string, number>();
  const plan: RetentionPlan = { delete: [], keep: [] };
  const keep = (snapshot: RetentionSnapshot, reason: string) => plan.keep.push({ snapshot, reason });

  // Walking newest first, the floor is simply the first `minCount` available snapshots met per database.
  for (const snapshot of sorted) {
    if (snapshot.type === "automated") {
      keep(snapshot, "automated: RDS deletes it when the instance's backup retention period ends");
      continue;
    }
    if (!snapshot.createdBySwitchyard) {
      keep(
        snapshot,
        `not Switchyard's: no ${snapshotTagKeys.createdBy}=${snapshotCreator} tag, so someone else owns it`,
      );
      continue;
    }
    if (!deletableStatuses.has(snapshot.status)) {
      keep(snapshot, `status ${snapshot.status}: only available and failed snapshots are deleted`);
      continue;
    }
    const expired = now.getTime() - timeOf(snapshot) > retentionMs;
    let inFloor = false;
    if (snapshot.status === "available") {
      const seen = availableSeen.get(snapshot.database) ?? 0;
      availableSeen.set(snapshot.database, seen + 1);
      inFloor = seen < minCount;
    }
    if (!expired) keep(snapshot, `within retention: not older than ${days}`);
    else if (inFloor) {
      const which =
        minCount === 1
          ? "the newest available snapshot"
          : `one of the ${minCount} newest available snapshots`;
      keep(snapshot, `minCount floor: ${which} of ${snapshot.database}`);
    } else plan.delete.push(snapshot);
  }
  return plan;
};

/**
 * Whether RDS's manual-snapshot quota leaves room for `creating` more. The count is every manual snapshot in the
 * region, not only Switchyard's, because RDS refuses a snapshot past the quota whoever owns the others. Warns once
 * the count after creating reaches `warnAtPercent` of the limit (reaching the limit exactly is still a warning);
 * refuses when it would pass the limit.
 *
 * @example
 * checkQuota({ manualSnapshotCount: 98, creating: 3, limit: 100, warnAtPercent: 80 });
 * // { state: "refuse", message: "RDS allows 100 manual snapshots per region; 98 exist and 3 more were asked for" }
 */
export const checkQuota = (input: QuotaInput): QuotaCheck => {
  const { manualSnapshotCount, creating, limit, warnAtPercent } = input;
  checkCount(manualSnapshotCount, "manualSnapshotCount", 0);
  checkCount(creating, "creating", 0);
  checkCount(limit, "limit", 1);
  if (!Number.isFinite(warnAtPercent) || warnAtPercent <= 0 || warnAtPercent > percent) {
    throw new ValidationError(`warnAtPercent must be above 0 and at most ${percent}, not ${warnAtPercent}`);
  }

  const after = manualSnapshotCount + creating;
  const allows = `RDS allows ${plural(limit, "manual snapshot", "manual snapshots")} per region`;
  if (after > limit) {
    const exist = manualSnapshotCount === 1 ? "1 exists" : `${manualSnapshotCount} exist`;
    const asked = creating === 1 ? "1 more was asked for" : `${creating} more were asked for`;
    return { state: "refuse", message: `${allows}; ${exist} and ${asked}` };
  }
  // Compared as products rather than as a divided share, so 80 % of 100 is exactly 80 and never 79.99999.
  const share = `${Math.floor((after * percent) / limit)} %`;
  const summary = `${allows}; ${after} after this run (${share})`;
  if (after * percent >= limit * warnAtPercent) {
    return { state: "warn", message: `${summary}, at or past the ${warnAtPercent} % warning level` };
  }
  return { state: "ok", message: summary };
};

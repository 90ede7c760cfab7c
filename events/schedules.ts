// Schedules as data: EventBridge Scheduler schedules, read by the CDK app and by the local scheduler alike.

import type { SwitchyardConfig } from "../functions/core/config.ts";
import { ValidationError } from "../functions/core/errors.ts";
import { scheduledRestoreDrill, scheduledSnapshotRun } from "../functions/core/snapshot-inputs.ts";
import type { RuleTarget } from "./rules.ts";

export interface Schedule {
  /** EventBridge Scheduler schedule name: 1–64 of [0-9A-Za-z-_.]. */
  name: string;
  description: string;
  /**
   * An EventBridge Scheduler expression: `cron(min hour day-of-month month day-of-week year)`, e.g.
   * `cron(0 3 * * ? *)`; `rate(5 minutes)`; or the one-time `at(2026-12-01T10:00:00)`.
   */
  expression: string;
  /** IANA time zone the cron and at expressions are read in (`ScheduleExpressionTimezone`); default UTC. */
  timezone?: string;
  target: RuleTarget;
  /** The JSON the target receives on every run. */
  input: Record<string, unknown>;
}

/**
 * The schedules of a configuration: the nightly snapshot run (`snapshots.schedule`) and the restore drill
 * (`snapshots.drill.schedule`). Each is deployed as an EventBridge Scheduler schedule and run by `npm start` alike.
 *
 * @example
 * for (const schedule of schedulesFor(config)) console.log(schedule.name, schedule.expression);
 */
export const schedulesFor = (config: Pick<SwitchyardConfig, "snapshots">): Schedule[] => [
  {
    name: "rds-snapshot",
    description: "Snapshots every RDS database tagged for backup, then applies retention",
    expression: config.snapshots.schedule,
    target: { kind: "workflow", workflow: "rds-snapshot" },
    input: { ...scheduledSnapshotRun },
  },
  {
    name: "restore-drill",
    description: "Restores the newest snapshot of every database tagged for backup and runs the smoke query",
    expression: config.snapshots.drill.schedule,
    target: { kind: "workflow", workflow: "restore-drill" },
    input: { ...scheduledRestoreDrill },
  },
];

/** The six fields of an EventBridge cron expression, in order. */
export const cronFieldNames = ["minutes", "hours", "dayOfMonth", "month", "dayOfWeek", "year"] as const;
export type CronFieldName = (typeof cronFieldNames)[number];

export type ParsedScheduleExpression =
  | {
      kind: "cron";
      /** Each field as written, names upper-cased; `?` marks the day field left open. */
      fields: Record<CronFieldName, string>;
    }
  | { kind: "rate"; value: number; unit: RateUnit; periodMs: number }
  | {
      kind: "at";
      /** `yyyy-mm-ddThh:mm:ss`, a wall-clock time in the schedule's time zone. */
      localDateTime: string;
    };

export type RateUnit = "minute" | "hour" | "day";

const msPerMinute = 60_000;
const rateUnitMs: Record<RateUnit, number> = {
  minute: msPerMinute,
  hour: 60 * msPerMinute,
  day: 24 * 60 * msPerMinute,
};

const scheduleNamePattern = /^[0-9A-Za-z_.-]{1,64}$/;
const cronPattern = /^cron\((.*)\)$/;
const ratePattern = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const atPattern = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;

/** `#` picks the nth weekday of a month; a month has at most five of each. */
const maxNthWeekday = 5;

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  /** Names standing for min, min + 1, …; day-of-week 1 is SUN as in Quartz, not 0 as in Unix cron. */
  names?: readonly string[];
  step: boolean;
}

const fieldSpecs: Record<CronFieldName, FieldSpec> = {
  minutes: { label: "minutes", min: 0, max: 59, step: true },
  hours: { label: "hours", min: 0, max: 23, step: true },
  dayOfMonth: { label: "day-of-month", min: 1, max: 31, step: true },
  month: {
    label: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    step: true,
  },
  dayOfWeek: {
    label: "day-of-week",
    min: 1,
    max: 7,
    names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    step: false,
  },
  year: { label: "year", min: 1970, max: 2199, step: true },
};

class ExpressionError extends Error {}

const fieldValue = (spec: FieldSpec, text: string): number => {
  const nameIndex = spec.names?.indexOf(text) ?? -1;
  const value = nameIndex >= 0 ? spec.min + nameIndex : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isNaN(value)) {
    const hint = spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : "";
    throw new ExpressionError(`${spec.label}: "${text}" is not a number${hint}`);
  }
  if (value < spec.min || value > spec.max) {
    const note = spec === fieldSpecs.dayOfWeek ? " (1 = SUN … 7 = SAT)" : "";
    throw new ExpressionError(`${spec.label}: ${value} is out of range ${spec.min}-${spec.max}${note}`);
  }
  return value;
};

const checkStep = (spec: FieldSpec, text: string): void => {
  const step = Number(text);
  const span = spec.max - spec.min + 1;
  if (!/^\d+$/.test(text) || step < 1 || step > span) {
    throw new ExpressionError(
      `${spec.label}: the increment after / must be a whole number from 1 to ${span}`,
    );
  }
};

/** One comma-separated item: `*`, `*\/n`, `v`, `a-b`, `v/n` or `a-b/n`. */
const checkItem = (spec: FieldSpec, item: string): void => {
  const [base = "", step, extra] = item.split("/");
  if (extra !== undefined) throw new ExpressionError(`${spec.label}: "${item}" has more than one /`);
  if (step !== undefined) {
    if (!spec.step) throw new ExpressionError(`${spec.label}: increments (/) are not allowed here`);
    checkStep(spec, step);
  }
  if (base === "*") return;
  const [low = "", high, more] = base.split("-");
  if (more !== undefined) throw new ExpressionError(`${spec.label}: "${item}" is not a valid range`);
  const lowValue = fieldValue(spec, low);
  if (high !== undefined && fieldValue(spec, high) < lowValue) {
    throw new ExpressionError(`${spec.label}: the range "${base}" must run from low to high`);
  }
};

const checkField = (name: CronFieldName, text: string): void => {
  const spec = fieldSpecs[name];
  if (text === "?") {
    if (name !== "dayOfMonth" && name !== "dayOfWeek") {
      throw new ExpressionError(`${spec.label}: ? is only allowed in day-of-month and day-of-week`);
    }
    return;
  }
  if (name === "dayOfMonth") {
    if (text === "L") return;
    const weekday = /^(\d+)W$/.exec(text);
    if (weekday) {
      fieldValue(spec, weekday[1] ?? "");
      return;
    }
  }
  if (name === "dayOfWeek") {
    if (text === "L") return;
    const last = /^(\w+)L$/.exec(text);
    if (last) {
      fieldValue(spec, last[1] ?? "");
      return;
    }
    const nth = /^(\w+)#(\d+)$/.exec(text);
    if (nth) {
      fieldValue(spec, nth[1] ?? "");
      const n = Number(nth[2]);
      if (n < 1 || n > maxNthWeekday) {
        throw new ExpressionError(`${spec.label}: the occurrence after # must be 1 to ${maxNthWeekday}`);
      }
      return;
    }
    if (text.includes("#")) {
      throw new ExpressionError(
        `${spec.label}: # takes one weekday and one occurrence and cannot be in a list`,
      );
    }
  }
  // Names are taken out first: JUL and WED hold letters that are wildcards elsewhere.
  const withoutNames = spec.names ? text.replace(new RegExp(spec.names.join("|"), "g"), "") : text;
  if (/[LW#?]/.test(withoutNames)) {
    throw new ExpressionError(`${spec.label}: "${text}" uses L, W, # or ? where it is not allowed`);
  }
  for (const item of text.split(",")) checkItem(spec, item);
};

const parseCron = (body: string): ParsedScheduleExpression => {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== cronFieldNames.length) {
    throw new ExpressionError(
      `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found ${parts.length}`,
    );
  }
  const fields = Object.fromEntries(
    cronFieldNames.map((name, i) => [name, (parts[i] ?? "").toUpperCase()]),
  ) as Record<CronFieldName, string>;
  for (const name of cronFieldNames) checkField(name, fields[name]);
  const openDays = [fields.dayOfMonth, fields.dayOfWeek].filter((field) => field === "?").length;
  if (openDays === 0) {
    throw new ExpressionError("day-of-month and day-of-week cannot both be set: use ? in one of them");
  }
  if (openDays === 2)
    throw new ExpressionError("day-of-month and day-of-week cannot both be ?: set one of them");
  return { kind: "cron", fields };
};

const parseRate = (match: RegExpExecArray): ParsedScheduleExpression => {
  const [, valueText = "", unitText = ""] = match;
  const value = Number(valueText);
  if (value < 1 || valueText.startsWith("0"))
    throw new ExpressionError("the rate value must be a positive whole number");
  const plural = unitText.endsWith("s");
  const unit = (plural ? unitText.slice(0, -1) : unitText) as RateUnit;
  if (value === 1 && plural)
    throw new ExpressionError(`a value of 1 takes the singular unit: rate(1 ${unit})`);
  if (value > 1 && !plural)
    throw new ExpressionError(`a value above 1 takes the plural unit: rate(${value} ${unit}s)`);
  return { kind: "rate", value, unit, periodMs: value * rateUnitMs[unit] };
};

const parseAt = (match: RegExpExecArray): ParsedScheduleExpression => {
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const asUtc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const roundTrips =
    asUtc.getUTCFullYear() === year &&
    asUtc.getUTCMonth() === month - 1 &&
    asUtc.getUTCDate() === day &&
    asUtc.getUTCHours() === hour &&
    asUtc.getUTCMinutes() === minute &&
    asUtc.getUTCSeconds() === second;
  if (!roundTrips) throw new ExpressionError("not a real date and time");
  return { kind: "at", localDateTime: match[0].slice("at(".length, -1) };
};

/**
 * Parses an EventBridge Scheduler expression, applying the service's rules: six cron fields with exactly one of
 * day-of-month / day-of-week set to `?`, day-of-week 1–7 = SUN–SAT, `L`, `W` and `#` only where AWS allows
 * them, years 1970–2199; `rate()` in whole minutes, hours or days with singular/plural agreement; `at()` to the
 * second.
 *
 * @example
 * parseScheduleExpression("rate(5 minutes)"); // { kind: "rate", value: 5, unit: "minute", periodMs: 300000 }
 * parseScheduleExpression("cron(0 18 ? * MON-FRI *)").kind; // "cron"
 */
export const parseScheduleExpression = (expression: string): ParsedScheduleExpression => {
  try {
    const cron = cronPattern.exec(expression);
    if (cron) return parseCron(cron[1] ?? "");
    if (expression.startsWith("rate(")) {
      const rate = ratePattern.exec(expression);
      if (!rate) {
        throw new ExpressionError("expected rate(value unit) with unit minute(s), hour(s) or day(s)");
      }
      return parseRate(rate);
    }
    if (expression.startsWith("at(")) {
      const at = atPattern.exec(expression);
      if (!at) throw new ExpressionError("expected at(yyyy-mm-ddThh:mm:ss)");
      return parseAt(at);
    }
    throw new ExpressionError("expected cron(...), rate(...) or at(...)");
  } catch (error) {
    if (error instanceof ExpressionError) {
      throw new ValidationError(`invalid schedule expression "${expression}": ${error.message}`);
    }
    throw error;
  }
};

/**
 * Throws a ValidationError that says what is wrong with an EventBridge Scheduler expression.
 *
 * @example
 * validateScheduleExpression("cron(0 10 * * ? *)"); // fine
 * validateScheduleExpression("rate(1 minutes)"); // throws: a value of 1 takes the singular unit: rate(1 minute)
 */
export const validateScheduleExpression = (expression: string): void => {
  parseScheduleExpression(expression);
};

/**
 * Checks a whole schedule as CreateSchedule would: its name, its expression and its time zone.
 *
 * @example
 * for (const schedule of schedules) validateSchedule(schedule);
 */
export const validateSchedule = (schedule: Schedule): void => {
  if (!scheduleNamePattern.test(schedule.name)) {
    throw new ValidationError(`schedule name "${schedule.name}" must be 1-64 of [0-9A-Za-z-_.]`);
  }
  validateScheduleExpression(schedule.expression);
  if (schedule.timezone !== undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: schedule.timezone });
    } catch (error) {
      throw new ValidationError(`schedule "${schedule.name}": unknown time zone "${schedule.timezone}"`, {
        cause: error,
      });
    }
  }
};

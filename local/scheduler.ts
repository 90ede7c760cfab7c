// The local runtime's scheduler: runs the schedules of events/schedules.ts with EventBridge Scheduler's timing.

import { Cron } from "croner";
import {
  type CronFieldName,
  type ParsedScheduleExpression,
  parseScheduleExpression,
  type Schedule,
  validateSchedule,
} from "../events/schedules.ts";
import { NotFoundError, ValidationError } from "../functions/core/errors.ts";
import type { Clock } from "../functions/core/ports.ts";

/** Where the scheduler reports; the Powertools logger and `console` both fit. */
export interface SchedulerLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/**
 * How often a failed run is tried again before it is given up, with an exponential back-off. Smaller than
 * EventBridge Scheduler's default (185 retries over 24 hours) because a laptop should say so quickly.
 */
export interface FireRetryPolicy {
  maximumRetryAttempts: number;
  initialBackoffMs: number;
  backoffRate: number;
}

export interface LocalSchedulerOptions {
  schedules: readonly Schedule[];
  /** Delivers one run to the schedule's target; a rejection is logged and retried, never thrown. */
  fire: (schedule: Schedule, scheduledTime: Date) => Promise<void>;
  clock?: Clock;
  logger?: SchedulerLogger;
  retryPolicy?: FireRetryPolicy;
}

export const defaultFireRetryPolicy: FireRetryPolicy = {
  maximumRetryAttempts: 2,
  initialBackoffMs: 1_000,
  backoffRate: 2,
};

const defaultTimezone = "UTC";

/** setTimeout's ceiling (2^31 − 1 ms, about 24.8 days): longer waits are taken in several steps. */
const maxTimerDelayMs = 2_147_483_647;

/** The sizes of daylight-saving shifts in use: 30 minutes (Lord Howe Island), one hour, two (historically). */
const dstShiftsMs = [30, 60, 120].map((minutes) => minutes * 60_000);

/** Bounds the search past DST-skipped candidates; a real pattern needs a handful at most. */
const maxCandidatesPerLookup = 10_000;

const systemClock: Clock = { now: () => new Date() };

/** When a schedule runs next: the first run strictly after `after`, or null when there is none. */
interface RunPlan {
  nextAfter(after: Date): Date | null;
}

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

const wallClock = (date: Date, timezone: string): string => {
  let format = wallClockFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    wallClockFormats.set(timezone, format);
  }
  return format.format(date);
};

/** True for the second pass through a wall-clock time that the fall-back of daylight saving time repeats. */
const isRepeatedWallTime = (date: Date, timezone: string): boolean => {
  const wall = wallClock(date, timezone);
  return dstShiftsMs.some((shift) => wallClock(new Date(date.getTime() - shift), timezone) === wall);
};

const fieldMax: Partial<Record<CronFieldName, number>> = {
  minutes: 59,
  hours: 23,
  dayOfMonth: 31,
  month: 12,
  year: 2199,
};

/**
 * Rewrites an AWS cron field for croner. AWS's `a/n` means "from a, every n", which croner spells `a-max/n`;
 * `?` is croner's `*`; day-of-week `L` alone is the last day of the week (7 = SAT) and `dL` is croner's `d#L`.
 */
const toCronerField = (name: CronFieldName, field: string): string => {
  if (field === "?") return "*";
  if (name === "dayOfWeek") {
    if (field === "L") return "7";
    return field.replace(/^(\w+)L$/, "$1#L");
  }
  const max = fieldMax[name];
  return field
    .split(",")
    .map((item) => (max !== undefined && /^\w+\/\d+$/.test(item) ? item.replace("/", `-${max}/`) : item))
    .join(",");
};

/** A croner pattern (seconds, then AWS's six fields) that fires exactly when the AWS expression does. */
export const toCronerPattern = (fields: Record<CronFieldName, string>): string =>
  [
    "0",
    toCronerField("minutes", fields.minutes),
    toCronerField("hours", fields.hours),
    toCronerField("dayOfMonth", fields.dayOfMonth),
    toCronerField("month", fields.month),
    toCronerField("dayOfWeek", fields.dayOfWeek),
    toCronerField("year", fields.year),
  ].join(" ");

const cronPlan = (fields: Record<CronFieldName, string>, timezone: string): RunPlan => {
  // Quartz weekday numbering (1 = SUN) and OR-ed day fields (one of them is always `*`) are AWS's reading.
  const job = new Cron(toCronerPattern(fields), {
    mode: "7-part",
    alternativeWeekdays: true,
    domAndDow: false,
    timezone,
    paused: true,
  });
  return {
    nextAfter(after) {
      let cursor = after;
      for (let i = 0; i < maxCandidatesPerLookup; i++) {
        const candidate = job.nextRun(cursor);
        if (!candidate) return null;
        // EventBridge Scheduler skips a time that spring-forward removes (croner would run it after the gap)
        // and runs a time that fall-back repeats only once (croner runs interval patterns twice).
        if (job.match(candidate) && !isRepeatedWallTime(candidate, timezone)) return candidate;
        cursor = candidate;
      }
      return null;
    },
  };
};

/** Rate schedules count whole periods from when they start, regardless of time zone or daylight saving. */
const ratePlan = (periodMs: number, anchor: Date): RunPlan => ({
  nextAfter(after) {
    const sinceAnchorMs = after.getTime() - anchor.getTime();
    if (sinceAnchorMs < 0) return anchor;
    return new Date(anchor.getTime() + (Math.floor(sinceAnchorMs / periodMs) + 1) * periodMs);
  },
});

const atPlan = (localDateTime: string, timezone: string): RunPlan => {
  const at = new Cron(localDateTime, { timezone, paused: true }).getOnce();
  if (!at) throw new ValidationError(`at(${localDateTime}) does not name a time in ${timezone}`);
  return { nextAfter: (after) => (at.getTime() > after.getTime() ? at : null) };
};

const planFor = (parsed: ParsedScheduleExpression, timezone: string, startedAt: Date): RunPlan => {
  switch (parsed.kind) {
    case "cron":
      return cronPlan(parsed.fields, timezone);
    case "rate":
      return ratePlan(parsed.periodMs, startedAt);
    case "at":
      return atPlan(parsed.localDateTime, timezone);
  }
};

const describeError = (error: unknown): Record<string, unknown> =>
  error instanceof Error ? { name: error.name, message: error.message } : { message: String(error) };

interface Entry {
  schedule: Schedule;
  parsed: ParsedScheduleExpression;
  timezone: string;
  plan?: RunPlan;
  next: Date | null;
  timer?: ReturnType<typeof setTimeout>;
}

interface Backoff {
  timer: ReturnType<typeof setTimeout>;
  resolve: (proceed: boolean) => void;
}

/**
 * Runs schedules in-process as EventBridge Scheduler runs them in AWS: cron expressions with AWS's six fields in
 * the schedule's time zone (a time skipped by daylight saving does not run, a repeated one runs once), rate
 * expressions from the moment the scheduler starts (the first run is immediate, as a schedule without a
 * StartDate), and one-time `at()` expressions. A run whose `fire` rejects is logged and retried per the retry
 * policy; it never stops the scheduler or other schedules.
 *
 * Not modelled: the flexible time window (runs are on the minute), and catching up. Runs due while the scheduler
 * is stopped are skipped; after the process sleeps through several runs, the overdue run fires once.
 *
 * @example
 * const scheduler = new LocalScheduler({ schedules, fire: (schedule, at) => targets.deliver(schedule, at) });
 * scheduler.start();
 * scheduler.nextRuns("nightly-snapshots", 3); // the next three run times
 * await scheduler.stop();
 */
export class LocalScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly fire: LocalSchedulerOptions["fire"];
  private readonly clock: Clock;
  private readonly logger: SchedulerLogger;
  private readonly retryPolicy: FireRetryPolicy;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly backoffs = new Set<Backoff>();
  private running = false;

  constructor(options: LocalSchedulerOptions) {
    this.fire = options.fire;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? console;
    this.retryPolicy = options.retryPolicy ?? defaultFireRetryPolicy;
    for (const schedule of options.schedules) {
      validateSchedule(schedule);
      if (this.entries.has(schedule.name))
        throw new ValidationError(`schedule "${schedule.name}" is defined twice`);
      const timezone = schedule.timezone ?? defaultTimezone;
      const parsed = parseScheduleExpression(schedule.expression);
      // Building the plan once here surfaces an expression croner cannot read at construction, not at start.
      planFor(parsed, timezone, this.clock.now());
      this.entries.set(schedule.name, { schedule, parsed, timezone, next: null });
    }
  }

  /** Arms every schedule from now on; runs that fell due before are not made up. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const startedAt = this.clock.now();
    for (const entry of this.entries.values()) {
      entry.plan = planFor(entry.parsed, entry.timezone, startedAt);
      entry.next = entry.plan.nextAfter(new Date(startedAt.getTime() - 1));
      this.logger.info("schedule armed", {
        schedule: entry.schedule.name,
        expression: entry.schedule.expression,
        timezone: entry.timezone,
        nextRun: entry.next?.toISOString() ?? null,
      });
      this.arm(entry);
    }
  }

  /** Disarms every schedule, abandons pending retries and waits for runs already delivering. */
  async stop(): Promise<void> {
    this.running = false;
    for (const entry of this.entries.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      entry.plan = undefined;
      entry.next = null;
    }
    for (const backoff of this.backoffs) {
      clearTimeout(backoff.timer);
      backoff.resolve(false);
    }
    this.backoffs.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * The next `count` run times of a schedule: the armed ones while running, else those a start now would give.
   *
   * @example
   * scheduler.nextRuns("weekday-report", 2); // [2026-03-02T18:00:00.000Z, 2026-03-03T18:00:00.000Z]
   */
  nextRuns(name: string, count: number): Date[] {
    const entry = this.entries.get(name);
    if (!entry) throw new NotFoundError(`no schedule named "${name}"`);
    let plan = entry.plan;
    let next = entry.next;
    if (!this.running || !plan) {
      const now = this.clock.now();
      plan = planFor(entry.parsed, entry.timezone, now);
      next = plan.nextAfter(new Date(now.getTime() - 1));
    }
    const runs: Date[] = [];
    while (next && runs.length < count) {
      runs.push(next);
      next = plan.nextAfter(next);
    }
    return runs;
  }

  private arm(entry: Entry): void {
    if (!this.running || !entry.next) return;
    const delayMs = Math.min(Math.max(entry.next.getTime() - this.clock.now().getTime(), 0), maxTimerDelayMs);
    entry.timer = setTimeout(() => this.onTimer(entry), delayMs);
    // The scheduler alone must not keep a process (a CLI command, a test) alive.
    entry.timer.unref?.();
  }

  private onTimer(entry: Entry): void {
    entry.timer = undefined;
    if (!this.running || !entry.plan || !entry.next) return;
    const now = this.clock.now();
    if (now.getTime() < entry.next.getTime()) {
      this.arm(entry);
      return;
    }
    const scheduledTime = entry.next;
    entry.next = entry.plan.nextAfter(now);
    this.arm(entry);
    if (!entry.next) this.logger.info("schedule has no further runs", { schedule: entry.schedule.name });
    const delivery = this.deliver(entry.schedule, scheduledTime).finally(() =>
      this.inFlight.delete(delivery),
    );
    this.inFlight.add(delivery);
  }

  private async deliver(schedule: Schedule, scheduledTime: Date): Promise<void> {
    const { maximumRetryAttempts, initialBackoffMs, backoffRate } = this.retryPolicy;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.fire(schedule, scheduledTime);
        return;
      } catch (error) {
        const attributes = {
          schedule: schedule.name,
          scheduledTime: scheduledTime.toISOString(),
          attempt,
          error: describeError(error),
        };
        if (attempt > maximumRetryAttempts) {
          this.logger.error("schedule run failed; giving up on it", attributes);
          return;
        }
        const backoffMs = initialBackoffMs * backoffRate ** (attempt - 1);
        this.logger.warn("schedule run failed; retrying", { ...attributes, retryInMs: backoffMs });
        if (!(await this.backOff(backoffMs))) {
          this.logger.warn("schedule run abandoned: the scheduler stopped", attributes);
          return;
        }
      }
    }
  }

  /** Resolves true after the delay, or false at once if the scheduler stops first. */
  private backOff(delayMs: number): Promise<boolean> {
    if (!this.running) return Promise.resolve(false);
    return new Promise((resolve) => {
      const backoff: Backoff = {
        timer: setTimeout(() => {
          this.backoffs.delete(backoff);
          resolve(true);
        }, delayMs),
        resolve,
      };
      backoff.timer.unref?.();
      this.backoffs.add(backoff);
    });
  }
}

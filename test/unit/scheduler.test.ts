// Schedule expressions and the local scheduler: AWS's cron/rate/at rules, run times, time zones and failed runs.

import { afterEach, beforeEach, describe, expect, it, type Mock, vi } from "vitest";
import {
  parseScheduleExpression,
  type Schedule,
  schedulesFor,
  validateSchedule,
  validateScheduleExpression,
} from "../../events/schedules.ts";
import { NotFoundError, ValidationError } from "../../functions/core/errors.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { LocalScheduler, type SchedulerLogger, toCronerPattern } from "../../local/scheduler.ts";

const schedule = (expression: string, overrides: Partial<Schedule> = {}): Schedule => ({
  name: "test-schedule",
  description: "a schedule under test",
  expression,
  target: { kind: "workflow", workflow: "promote-image" },
  input: { reason: "test" },
  ...overrides,
});

const iso = (dates: readonly Date[]): string[] => dates.map((date) => date.toISOString());

const silentLogger = (): { [Level in keyof SchedulerLogger]: Mock<SchedulerLogger[Level]> } => ({
  info: vi.fn(),
  warn: vi.fn(),
  error: vi.fn(),
});

const recordingFire = () => vi.fn<(s: Schedule, at: Date) => Promise<void>>(async () => {});

describe("validateScheduleExpression", () => {
  it.each([
    // The examples of the EventBridge Scheduler user guide ("Schedule types").
    ["cron(0 10 * * ? *)", "10:00 every day"],
    ["cron(15 12 * * ? *)", "12:15 every day"],
    ["cron(0 18 ? * MON-FRI *)", "18:00 Monday to Friday"],
    ["cron(0 8 1 * ? *)", "08:00 on the first of every month"],
    ["cron(0/15 * * * ? *)", "every 15 minutes"],
    ["cron(0/10 * ? * MON-FRI *)", "every 10 minutes Monday to Friday"],
    ["cron(0/5 8-17 ? * MON-FRI *)", "every 5 minutes from 08:00 to 17:55 on weekdays"],
    ["cron(0 9 ? * 2#1 *)", "09:00 on the first Monday of the month"],
    // The rest of the grammar.
    ["cron(15 10 ? * 6L 2026-2030)", "the last Friday of the month, some years"],
    ["cron(0 12 ? * L *)", "L alone in day-of-week (Saturday)"],
    ["cron(0 12 L * ? *)", "the last day of the month"],
    ["cron(0 12 15W * ? *)", "the weekday nearest the 15th"],
    ["cron(0 0 1 JAN,JUL ? 2027)", "month names in a list"],
    ["cron(0 0 ? * sun *)", "names in any case"],
    ["cron(0 9 ? * MON,WED,FRI *)", "weekday names in a list (WED holds a W)"],
    ["cron(1/10 * * * ? *)", "every 10th minute from minute 1"],
    ["cron(0 0 1/7 * ? *)", "an increment in day-of-month"],
    ["cron(0 0 1 * ? 2026/2)", "an increment in the year"],
    ["cron(59 23 31 12 ? 2199)", "every field at its maximum"],
    ["rate(1 minute)", "the singular unit for 1"],
    ["rate(5 minutes)", "the plural unit above 1"],
    ["rate(1 hour)", "hours"],
    ["rate(12 hours)", "hours"],
    ["rate(1 day)", "days"],
    ["rate(7 days)", "days"],
    ["at(2026-12-01T10:00:00)", "a one-time schedule"],
    ["at(2028-02-29T23:59:59)", "a leap day"],
  ])("accepts %s (%s)", (expression) => {
    expect(() => validateScheduleExpression(expression)).not.toThrow();
  });

  it.each([
    ["cron(0 10 * * *)", "a cron expression has 6 fields"],
    ["cron(0 10 * * ? * *)", "found 7"],
    ["cron(0 10 * * * *)", "cannot both be set: use ? in one of them"],
    ["cron(0 10 15 * MON *)", "cannot both be set"],
    ["cron(0 10 ? * ? *)", "cannot both be ?"],
    ["cron(60 10 * * ? *)", "minutes: 60 is out of range 0-59"],
    ["cron(0 24 * * ? *)", "hours: 24 is out of range 0-23"],
    ["cron(0 10 32 * ? *)", "day-of-month: 32 is out of range 1-31"],
    ["cron(0 10 * 13 ? *)", "month: 13 is out of range 1-12"],
    ["cron(0 10 ? * 0 *)", "day-of-week: 0 is out of range 1-7 (1 = SUN … 7 = SAT)"],
    ["cron(0 10 ? * 8 *)", "day-of-week: 8 is out of range"],
    ["cron(0 10 * * ? 1969)", "year: 1969 is out of range 1970-2199"],
    ["cron(0 10 * * ? 2200)", "year: 2200 is out of range"],
    ["cron(0 10 * FOO ? *)", '"FOO" is not a number or JAN-DEC'],
    ["cron(0 10 ? * 3#1,6#3 *)", "# takes one weekday and one occurrence"],
    ["cron(0 10 ? * 2#6 *)", "the occurrence after # must be 1 to 5"],
    ["cron(0 10 ? * MON/2 *)", "day-of-week: increments (/) are not allowed"],
    ["cron(0/0 * * * ? *)", "the increment after / must be a whole number from 1 to 60"],
    ["cron(? 10 * * ? *)", "minutes: ? is only allowed in day-of-month and day-of-week"],
    ["cron(0 17-9 * * ? *)", 'the range "17-9" must run from low to high'],
    ["cron(0 10 LW * ? *)", "uses L, W, # or ? where it is not allowed"],
    ["cron(0 10 1,L * ? *)", "uses L, W, # or ? where it is not allowed"],
    ["cron(0 10 * * L *)", "cannot both be set"],
    ["cron(L 10 * * ? *)", 'minutes: "L" uses L, W, # or ?'],
    ["rate(1 minutes)", "a value of 1 takes the singular unit: rate(1 minute)"],
    ["rate(5 minute)", "a value above 1 takes the plural unit: rate(5 minutes)"],
    ["rate(1 days)", "singular unit: rate(1 day)"],
    ["rate(0 minutes)", "the rate value must be a positive whole number"],
    ["rate(05 minutes)", "positive whole number"],
    ["rate(30 seconds)", "expected rate(value unit) with unit minute(s), hour(s) or day(s)"],
    ["rate(1.5 hours)", "expected rate(value unit)"],
    ["rate(2 weeks)", "expected rate(value unit)"],
    ["at(2026-02-30T10:00:00)", "not a real date and time"],
    ["at(2026-12-01T24:00:00)", "not a real date and time"],
    ["at(2026-12-01 10:00:00)", "expected at(yyyy-mm-ddThh:mm:ss)"],
    ["at(2026-12-01T10:00)", "expected at(yyyy-mm-ddThh:mm:ss)"],
    ["0 10 * * ? *", "expected cron(...), rate(...) or at(...)"],
    ["", "expected cron(...), rate(...) or at(...)"],
  ])("rejects %s: %s", (expression, reason) => {
    let caught: unknown;
    try {
      validateScheduleExpression(expression);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as Error).message).toContain(`invalid schedule expression "${expression}"`);
    expect((caught as Error).message).toContain(reason);
  });

  it("parses a rate into its period", () => {
    expect(parseScheduleExpression("rate(5 minutes)")).toEqual({
      kind: "rate",
      value: 5,
      unit: "minute",
      periodMs: 5 * 60_000,
    });
    expect(parseScheduleExpression("rate(2 days)")).toMatchObject({ periodMs: 2 * 24 * 60 * 60_000 });
  });

  it.each([
    ["cron(0/15 * * * ? *)", "0 0-59/15 * * * * *"],
    ["cron(5/20 8-17 ? * MON-FRI *)", "0 5-59/20 8-17 * * MON-FRI *"],
    ["cron(15 10 ? * 6L *)", "0 15 10 * * 6#L *"],
    ["cron(0 12 ? * L *)", "0 0 12 * * 7 *"],
    ["cron(0 9 ? * 2#1 2026/2)", "0 0 9 * * 2#1 2026-2199/2"],
    ["cron(0 12 15W * ? *)", "0 0 12 15W * * *"],
  ])("translates %s for croner as %s", (expression, pattern) => {
    const parsed = parseScheduleExpression(expression);
    if (parsed.kind !== "cron") throw new Error("expected a cron expression");

    expect(toCronerPattern(parsed.fields)).toBe(pattern);
  });
});

describe("validateSchedule", () => {
  it("accepts every schedule the platform declares, each under its own name", () => {
    const config = loadConfig("switchyard.yaml");
    const declared = schedulesFor(config);
    for (const schedule of declared) validateSchedule(schedule);

    expect(declared.map((s) => [s.name, s.expression])).toEqual([
      ["rds-snapshot", config.snapshots.schedule],
      ["restore-drill", config.snapshots.drill.schedule],
    ]);
  });

  it.each([
    ["a name with a space", schedule("rate(1 hour)", { name: "nightly snapshot" }), "schedule name"],
    ["a 65-character name", schedule("rate(1 hour)", { name: "n".repeat(65) }), "schedule name"],
    [
      "an unknown time zone",
      schedule("rate(1 hour)", { timezone: "Mars/Olympus_Mons" }),
      "unknown time zone",
    ],
    ["a bad expression", schedule("rate(1 hours)"), "singular unit"],
  ])("rejects %s", (_, candidate, reason) => {
    expect(() => validateSchedule(candidate)).toThrow(reason);
  });
});

describe("LocalScheduler", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  const scheduler = (
    candidates: readonly Schedule[],
    fire: (s: Schedule, at: Date) => Promise<void> = async () => {},
    logger: SchedulerLogger = silentLogger(),
  ) => new LocalScheduler({ schedules: candidates, fire, logger });

  const runsOf = (expression: string, now: string, count = 3, timezone?: string): string[] => {
    vi.setSystemTime(new Date(now));
    return iso(
      scheduler([schedule(expression, timezone === undefined ? {} : { timezone })]).nextRuns(
        "test-schedule",
        count,
      ),
    );
  };

  describe("nextRuns", () => {
    it.each([
      [
        "cron(0 10 * * ? *)",
        "2026-03-02T10:00:00Z",
        ["2026-03-02T10:00:00.000Z", "2026-03-03T10:00:00.000Z", "2026-03-04T10:00:00.000Z"],
      ],
      [
        "cron(15 12 * * ? *)",
        "2026-03-02T12:16:00Z",
        ["2026-03-03T12:15:00.000Z", "2026-03-04T12:15:00.000Z", "2026-03-05T12:15:00.000Z"],
      ],
      [
        "cron(0 18 ? * MON-FRI *)",
        "2026-03-06T19:00:00Z",
        ["2026-03-09T18:00:00.000Z", "2026-03-10T18:00:00.000Z", "2026-03-11T18:00:00.000Z"],
      ],
      [
        "cron(0 8 1 * ? *)",
        "2026-03-15T00:00:00Z",
        ["2026-04-01T08:00:00.000Z", "2026-05-01T08:00:00.000Z", "2026-06-01T08:00:00.000Z"],
      ],
      [
        "cron(0/15 * * * ? *)",
        "2026-03-02T10:07:00Z",
        ["2026-03-02T10:15:00.000Z", "2026-03-02T10:30:00.000Z", "2026-03-02T10:45:00.000Z"],
      ],
      [
        "cron(5/20 * * * ? *)",
        "2026-03-02T10:00:00Z",
        ["2026-03-02T10:05:00.000Z", "2026-03-02T10:25:00.000Z", "2026-03-02T10:45:00.000Z"],
      ],
      [
        "cron(0/10 * ? * MON-FRI *)",
        "2026-03-06T23:55:00Z",
        ["2026-03-09T00:00:00.000Z", "2026-03-09T00:10:00.000Z", "2026-03-09T00:20:00.000Z"],
      ],
      [
        "cron(0/5 8-17 ? * MON-FRI *)",
        "2026-03-02T17:56:00Z",
        ["2026-03-03T08:00:00.000Z", "2026-03-03T08:05:00.000Z", "2026-03-03T08:10:00.000Z"],
      ],
      [
        "cron(0 9 ? * 2#1 *)",
        "2026-03-01T00:00:00Z",
        ["2026-03-02T09:00:00.000Z", "2026-04-06T09:00:00.000Z", "2026-05-04T09:00:00.000Z"],
      ],
      [
        "cron(0 7 ? * 1 *)",
        "2026-03-02T00:00:00Z",
        ["2026-03-08T07:00:00.000Z", "2026-03-15T07:00:00.000Z", "2026-03-22T07:00:00.000Z"],
      ],
      [
        "cron(15 10 ? * 6L *)",
        "2026-03-01T00:00:00Z",
        ["2026-03-27T10:15:00.000Z", "2026-04-24T10:15:00.000Z", "2026-05-29T10:15:00.000Z"],
      ],
      [
        "cron(0 12 ? * L *)",
        "2026-03-02T00:00:00Z",
        ["2026-03-07T12:00:00.000Z", "2026-03-14T12:00:00.000Z", "2026-03-21T12:00:00.000Z"],
      ],
      [
        "cron(0 12 L * ? *)",
        "2026-03-01T00:00:00Z",
        ["2026-03-31T12:00:00.000Z", "2026-04-30T12:00:00.000Z", "2026-05-31T12:00:00.000Z"],
      ],
      [
        "cron(0 12 15W * ? *)",
        "2026-03-01T00:00:00Z",
        ["2026-03-16T12:00:00.000Z", "2026-04-15T12:00:00.000Z", "2026-05-15T12:00:00.000Z"],
      ],
      [
        "cron(0 12 1 JAN,JUL ? *)",
        "2026-03-01T00:00:00Z",
        ["2026-07-01T12:00:00.000Z", "2027-01-01T12:00:00.000Z", "2027-07-01T12:00:00.000Z"],
      ],
      [
        "cron(0 9 ? * MON,WED *)",
        "2026-03-02T10:00:00Z",
        ["2026-03-04T09:00:00.000Z", "2026-03-09T09:00:00.000Z", "2026-03-11T09:00:00.000Z"],
      ],
      [
        "cron(0 10 1 1 ? 2028,2030)",
        "2026-03-01T00:00:00Z",
        ["2028-01-01T10:00:00.000Z", "2030-01-01T10:00:00.000Z"],
      ],
      ["cron(0 10 * * ? 2025)", "2026-03-01T00:00:00Z", []],
    ])("%s from %s", (expression, now, expected) => {
      expect(runsOf(expression, now)).toEqual(expected);
    });

    it("reads cron in the schedule's time zone, across the start of daylight saving time", () => {
      // New York moves from UTC-5 to UTC-4 on 2026-03-08.
      expect(runsOf("cron(0 9 * * ? *)", "2026-03-06T00:00:00Z", 3, "America/New_York")).toEqual([
        "2026-03-06T14:00:00.000Z",
        "2026-03-07T14:00:00.000Z",
        "2026-03-08T13:00:00.000Z",
      ]);
    });

    it("skips a run whose local time does not exist on the spring-forward day", () => {
      // Berlin jumps from 02:00 to 03:00 on 2026-03-29: there is no 02:30 that day.
      expect(runsOf("cron(30 2 * * ? *)", "2026-03-28T00:00:00Z", 3, "Europe/Berlin")).toEqual([
        "2026-03-28T01:30:00.000Z",
        "2026-03-30T00:30:00.000Z",
        "2026-03-31T00:30:00.000Z",
      ]);
    });

    it.each([
      [
        "an interval pattern",
        "cron(0/30 1 * * ? *)",
        [
          "2026-11-01T05:00:00.000Z",
          "2026-11-01T05:30:00.000Z",
          "2026-11-02T06:00:00.000Z",
          "2026-11-02T06:30:00.000Z",
        ],
      ],
      [
        "a fixed-time pattern",
        "cron(30 1 * * ? *)",
        [
          "2026-11-01T05:30:00.000Z",
          "2026-11-02T06:30:00.000Z",
          "2026-11-03T06:30:00.000Z",
          "2026-11-04T06:30:00.000Z",
        ],
      ],
    ])("runs %s once in the hour that fall-back repeats", (_, expression, expected) => {
      // New York repeats 01:00-01:59 on 2026-11-01 (first in EDT, then in EST).
      expect(runsOf(expression, "2026-11-01T04:00:00Z", 4, "America/New_York")).toEqual(expected);
    });

    it("starts a rate schedule immediately and counts whole periods from then", () => {
      expect(runsOf("rate(5 minutes)", "2026-03-02T10:02:30Z")).toEqual([
        "2026-03-02T10:02:30.000Z",
        "2026-03-02T10:07:30.000Z",
        "2026-03-02T10:12:30.000Z",
      ]);
    });

    it("counts rate(1 day) as 24 hours, whatever daylight saving does to the schedule's time zone", () => {
      expect(runsOf("rate(1 day)", "2026-03-07T12:00:00Z", 3, "America/New_York")).toEqual([
        "2026-03-07T12:00:00.000Z",
        "2026-03-08T12:00:00.000Z",
        "2026-03-09T12:00:00.000Z",
      ]);
    });

    it.each([
      ["UTC by default", undefined, ["2026-12-01T10:00:00.000Z"]],
      ["in the schedule's time zone", "Europe/Berlin", ["2026-12-01T09:00:00.000Z"]],
      ["in a time zone west of UTC", "America/Los_Angeles", ["2026-12-01T18:00:00.000Z"]],
    ])("runs an at() schedule once, %s", (_, timezone, expected) => {
      expect(runsOf("at(2026-12-01T10:00:00)", "2026-03-01T00:00:00Z", 3, timezone)).toEqual(expected);
    });

    it("never runs an at() schedule whose time has passed", () => {
      expect(runsOf("at(2026-01-01T00:00:00)", "2026-03-01T00:00:00Z")).toEqual([]);
    });

    it("refuses an unknown schedule name", () => {
      expect(() => scheduler([schedule("rate(1 hour)")]).nextRuns("nope", 1)).toThrow(NotFoundError);
    });
  });

  describe("construction", () => {
    it.each([
      ["a malformed expression", [schedule("cron(0 10 * * *)")], ValidationError],
      ["an unknown time zone", [schedule("rate(1 hour)", { timezone: "Nowhere/Land" })], ValidationError],
      ["a name used twice", [schedule("rate(1 hour)"), schedule("rate(2 hours)")], ValidationError],
    ])("rejects %s", (_, candidates, errorClass) => {
      expect(() => scheduler(candidates)).toThrow(errorClass);
    });
  });

  describe("running", () => {
    it("fires a cron schedule at each run with its scheduled time", async () => {
      vi.setSystemTime(new Date("2026-03-02T10:07:00Z"));
      const fire = recordingFire();
      const running = scheduler([schedule("cron(0/15 * * * ? *)")], fire);

      running.start();
      await vi.advanceTimersByTimeAsync(7 * 60_000);
      expect(fire).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(60_000);
      await vi.advanceTimersByTimeAsync(15 * 60_000);

      expect(fire.mock.calls.map(([s, at]) => [s.name, at.toISOString()])).toEqual([
        ["test-schedule", "2026-03-02T10:15:00.000Z"],
        ["test-schedule", "2026-03-02T10:30:00.000Z"],
      ]);
      expect(iso(running.nextRuns("test-schedule", 1))).toEqual(["2026-03-02T10:45:00.000Z"]);
      await running.stop();
    });

    it("fires a rate schedule on start and then every period", async () => {
      vi.setSystemTime(new Date("2026-03-02T10:00:00Z"));
      const fire = recordingFire();
      const running = scheduler([schedule("rate(1 hour)")], fire);

      running.start();
      await vi.advanceTimersByTimeAsync(2 * 60 * 60_000);

      expect(fire.mock.calls.map(([, at]) => at.toISOString())).toEqual([
        "2026-03-02T10:00:00.000Z",
        "2026-03-02T11:00:00.000Z",
        "2026-03-02T12:00:00.000Z",
      ]);
      await running.stop();
    });

    it("fires an at() schedule once, then has nothing left", async () => {
      vi.setSystemTime(new Date("2026-12-01T09:59:00Z"));
      const fire = recordingFire();
      const running = scheduler([schedule("at(2026-12-01T10:00:00)")], fire);

      running.start();
      await vi.advanceTimersByTimeAsync(24 * 60 * 60_000);

      expect(fire).toHaveBeenCalledTimes(1);
      expect(running.nextRuns("test-schedule", 1)).toEqual([]);
      await running.stop();
    });

    it("waits out delays longer than a timer can hold (a yearly run)", async () => {
      vi.setSystemTime(new Date("2026-03-01T00:00:00Z"));
      const fire = recordingFire();
      const running = scheduler([schedule("cron(0 0 1 1 ? *)")], fire);

      running.start();
      await vi.advanceTimersByTimeAsync(Date.parse("2027-01-01T00:00:00Z") - Date.now() - 1);
      expect(fire).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);

      expect(fire.mock.calls.map(([, at]) => at.toISOString())).toEqual(["2027-01-01T00:00:00.000Z"]);
      await running.stop();
    });

    it("does not make up runs that fell due while it was stopped", async () => {
      vi.setSystemTime(new Date("2026-03-02T10:07:00Z"));
      const fire = recordingFire();
      const running = scheduler([schedule("cron(0/15 * * * ? *)")], fire);
      running.start();
      await running.stop();

      vi.setSystemTime(new Date("2026-03-02T11:07:00Z"));
      running.start();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(fire).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(7 * 60_000);

      expect(fire.mock.calls.map(([, at]) => at.toISOString())).toEqual(["2026-03-02T11:15:00.000Z"]);
      await running.stop();
    });

    it("fires an overdue run once after the process slept through several, then looks ahead from now", async () => {
      vi.setSystemTime(new Date("2026-03-02T10:07:00Z"));
      const fire = recordingFire();
      const running = scheduler([schedule("cron(0/15 * * * ? *)")], fire);
      running.start();

      // The wall clock jumps an hour while no timer runs, as when a laptop sleeps.
      vi.setSystemTime(new Date("2026-03-02T11:07:00Z"));
      await vi.advanceTimersByTimeAsync(8 * 60_000);

      expect(fire.mock.calls.map(([, at]) => at.toISOString())).toEqual(["2026-03-02T10:15:00.000Z"]);
      expect(iso(running.nextRuns("test-schedule", 1))).toEqual(["2026-03-02T11:30:00.000Z"]);
      await running.stop();
    });

    it("retries a failed run with back-off, logs it, and goes on", async () => {
      vi.setSystemTime(new Date("2026-03-02T10:00:00Z"));
      const logger = silentLogger();
      const fire = vi
        .fn<(s: Schedule, at: Date) => Promise<void>>()
        .mockRejectedValueOnce(new Error("target unavailable"))
        .mockRejectedValueOnce(new Error("target unavailable"))
        .mockResolvedValue(undefined);
      const running = new LocalScheduler({
        schedules: [schedule("rate(1 hour)")],
        fire,
        logger,
        retryPolicy: { maximumRetryAttempts: 2, initialBackoffMs: 1_000, backoffRate: 2 },
      });

      running.start();
      await vi.advanceTimersByTimeAsync(0);
      expect(fire).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(fire).toHaveBeenCalledTimes(2);
      await vi.advanceTimersByTimeAsync(2_000);

      expect(fire.mock.calls.map(([, at]) => at.toISOString())).toEqual([
        "2026-03-02T10:00:00.000Z",
        "2026-03-02T10:00:00.000Z",
        "2026-03-02T10:00:00.000Z",
      ]);
      expect(logger.warn).toHaveBeenCalledTimes(2);
      expect(logger.warn).toHaveBeenCalledWith(
        "schedule run failed; retrying",
        expect.objectContaining({ schedule: "test-schedule", attempt: 1, retryInMs: 1_000 }),
      );
      expect(logger.error).not.toHaveBeenCalled();
      await running.stop();
    });

    it("gives up on a run after the last retry, and still fires the next run and other schedules", async () => {
      vi.setSystemTime(new Date("2026-03-02T10:00:00Z"));
      const logger = silentLogger();
      const fired: string[] = [];
      const fire = (s: Schedule, at: Date): Promise<void> => {
        fired.push(`${s.name}@${at.toISOString().slice(11, 16)}`);
        // A synchronous throw, not a rejection: the scheduler must survive both.
        if (s.name === "broken") throw new TypeError("boom");
        return Promise.resolve();
      };
      const running = new LocalScheduler({
        schedules: [
          schedule("rate(1 hour)", { name: "broken" }),
          schedule("rate(30 minutes)", { name: "healthy" }),
        ],
        fire,
        logger,
        retryPolicy: { maximumRetryAttempts: 1, initialBackoffMs: 1_000, backoffRate: 2 },
      });

      running.start();
      await vi.advanceTimersByTimeAsync(60 * 60_000);

      expect(fired).toEqual([
        "broken@10:00",
        "healthy@10:00",
        "broken@10:00",
        "healthy@10:30",
        "broken@11:00",
        "healthy@11:00",
      ]);
      expect(logger.error).toHaveBeenCalledWith(
        "schedule run failed; giving up on it",
        expect.objectContaining({
          schedule: "broken",
          attempt: 2,
          error: { name: "TypeError", message: "boom" },
        }),
      );
      await running.stop();
    });

    it("abandons a pending retry when stopped and waits for a run in progress", async () => {
      vi.setSystemTime(new Date("2026-03-02T10:00:00Z"));
      const logger = silentLogger();
      let finishSlowRun = (): void => {};
      const fire = vi.fn(async (s: Schedule) => {
        if (s.name === "failing") throw new Error("down");
        await new Promise<void>((resolve) => {
          finishSlowRun = resolve;
        });
      });
      const running = new LocalScheduler({
        schedules: [
          schedule("rate(1 hour)", { name: "failing" }),
          schedule("rate(1 hour)", { name: "slow" }),
        ],
        fire,
        logger,
      });
      running.start();
      await vi.advanceTimersByTimeAsync(0);

      let stopped = false;
      const stopping = running.stop().then(() => {
        stopped = true;
      });
      await vi.advanceTimersByTimeAsync(0);
      expect(stopped).toBe(false);
      finishSlowRun();
      await stopping;

      expect(fire).toHaveBeenCalledTimes(2);
      expect(logger.warn).toHaveBeenCalledWith(
        "schedule run abandoned: the scheduler stopped",
        expect.objectContaining({ schedule: "failing" }),
      );
      await vi.advanceTimersByTimeAsync(60 * 60_000);
      expect(fire).toHaveBeenCalledTimes(2);
    });
  });
});

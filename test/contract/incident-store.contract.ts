// The IncidentStore contract: what every adapter must do, so the local runtime cannot drift from DynamoDB.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  IncidentRecord,
  IncidentStatus,
  IncidentStore,
  IncidentTimelineEntry,
  NewIncident,
} from "../../functions/core/ports.ts";

export interface IncidentStoreFixture {
  store: IncidentStore;
  /** A new store over the same state, as after a restart. */
  reopen: () => Promise<IncidentStore>;
  cleanup?: () => Promise<void>;
}

/** What the adapters return when the caller names no limit, and the most they return whatever it names. */
const defaultListLimit = 100;
const maxListLimit = 1_000;
/** How many timeline entries an incident keeps (the newest). */
const timelineLimit = 200;

/** Shaped like a Step Functions task token, and unlike anything else in a record, so a leak cannot hide. */
const token = "AQCEAAAAKgAAAAMAAAAAAAAAAfG3Kx+wait-one==";
const otherToken = "AQCEAAAAKgAAAAMAAAAAAAAAAcZ9Wq+wait-two==";

const start = new Date("2026-05-01T12:00:00.000Z");
const at = (minute: number): string => new Date(start.getTime() + minute * 60_000).toISOString();

const fingerprint = "3f9a1c0d5e7b2a64";
const fullFingerprint = "9c4e8b2f6a1d3e57";

/** An alert as the core opens it: only what `NewIncident` requires. */
const alert = (overrides: Partial<NewIncident> = {}): NewIncident => ({
  id: "i-1",
  fingerprint,
  startsAt: at(0),
  alertSource: "alertmanager",
  severity: "critical",
  summary: "checkout 5xx rate above 5%",
  labels: { alertname: "CheckoutErrorRate", service: "checkout", severity: "critical" },
  openedAt: at(1),
  ...overrides,
});

/** A new incident with every optional member `NewIncident` allows, and labels no store may reorder or trim. */
const fullAlert = (): NewIncident =>
  alert({
    id: "i-full",
    fingerprint: fullFingerprint,
    startsAt: at(-3),
    service: "checkout",
    description: "5xx rate 7.3% over 5m on checkout-api (threshold 5%).\nSee the dashboard.",
    runbookUrl: "https://runbooks.example.com/checkout/5xx",
    sourceUrl: "https://prometheus.example.com/graph?g0.expr=rate%28http_requests_total%5B5m%5D%29",
    labels: {
      severity: "critical",
      alertname: "CheckoutErrorRate",
      "app.kubernetes.io/name": "checkout",
      team: "paiements-équipe",
      empty: "",
    },
  });

/** What `open` records for an alert: open, level 1, version 1, nothing paged or posted yet. */
const opened = (incident: NewIncident): IncidentRecord => ({
  ...incident,
  status: "open",
  level: 1,
  pagedRoutingKeys: [],
  froze: false,
  timeline: [],
  version: 1,
});

const entry = (
  kind: IncidentTimelineEntry["kind"],
  minute: number,
  message = `${kind} at ${minute}`,
): IncidentTimelineEntry => ({ at: at(minute), kind, message });

/** Captures the rejection so its name and message can be checked without the test knowing the class. */
const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error("expected the call to be rejected, but it resolved");
};

/** Under any member name, at any depth. */
const expectNoToken = (value: unknown): void => {
  const text = JSON.stringify(value) ?? "";
  expect(text).not.toContain(token);
  expect(text).not.toContain(otherToken);
};

/**
 * Registers the IncidentStore contract for one adapter. `makeStore` is called before each test and must return an
 * empty store.
 *
 * @example
 * describeIncidentStoreContract("SqliteIncidentStore", async () => {
 *   const db = openDatabase(":memory:");
 *   return { store: new SqliteIncidentStore({ db }), reopen: async () => new SqliteIncidentStore({ db }) };
 * });
 */
export const describeIncidentStoreContract = (
  name: string,
  makeStore: () => Promise<IncidentStoreFixture>,
): void => {
  describe(`IncidentStore contract: ${name}`, () => {
    let fixture: IncidentStoreFixture;
    let store: IncidentStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    const ids = async (filter?: Parameters<IncidentStore["list"]>[0]) =>
      (await store.list(filter)).map((incident) => incident.id);

    describe("open and get", () => {
      it("records a new incident as open, level 1, version 1, with nothing paged, posted or frozen", async () => {
        const result = await store.open(alert());

        expect(result).toStrictEqual({ created: true, incident: opened(alert()) });
        expect(await store.get("i-1")).toStrictEqual(opened(alert()));
      });

      it("round-trips every optional member and the labels as given", async () => {
        await store.open(fullAlert());

        expect(await store.get("i-full")).toStrictEqual(opened(fullAlert()));
      });

      it("invents no optional member, and drops one the caller set to undefined", async () => {
        await store.open(alert({ service: undefined, description: undefined, runbookUrl: undefined }));

        const read = (await store.get("i-1"))!;
        expect(read).toStrictEqual(opened(alert()));
        expect(Object.keys(read).sort()).toEqual(Object.keys(opened(alert())).sort());
        for (const absent of ["service", "description", "runbookUrl", "sourceUrl", "slack", "resolvedAt"]) {
          expect(read).not.toHaveProperty(absent);
        }
      });

      it("keeps startsAt and openedAt as written, offset included", async () => {
        const offset = alert({
          startsAt: "2026-05-01T14:00:00+02:00",
          openedAt: "2026-05-01T14:01:00+02:00",
        });

        await store.open(offset);

        expect(await store.get("i-1")).toStrictEqual(opened(offset));
      });

      it("takes no status, level, version, timeline, slack, routing key or freeze from the caller", async () => {
        const smuggled = {
          ...alert(),
          status: "resolved",
          level: 4,
          version: 9,
          timeline: [entry("resolved", 2)],
          slack: { channel: "C0INCIDENTS", ts: "1714564800.000100" },
          pagedRoutingKeys: ["switchyard/pagerduty/platform"],
          froze: true,
        } as NewIncident;

        const { incident } = await store.open(smuggled);

        expect(incident).toStrictEqual(opened(alert()));
        expect(await store.get("i-1")).toStrictEqual(opened(alert()));
      });

      it("answers undefined for an unknown id", async () => {
        expect(await store.get("i-missing")).toBeUndefined();
      });

      it.each(["startsAt", "openedAt"] as const)(
        "refuses a %s that is not a time, and stores nothing",
        async (field) => {
          const error = await rejection(store.open(alert({ [field]: "just now" })));

          expect(error.name).toBe("ValidationError");
          expect(error.message).toBe(`incident i-1 ${field} "just now" is not an ISO 8601 time`);
          expect(await store.get("i-1")).toBeUndefined();
          expect(await store.list()).toEqual([]);
        },
      );

      it.each([
        ["empty", ""],
        ["longer than 255 characters", "f".repeat(256)],
      ])("refuses a fingerprint that is %s, and stores nothing", async (_case, value) => {
        const error = await rejection(store.open(alert({ fingerprint: value })));

        expect(error.name).toBe("ValidationError");
        expect(await store.list()).toEqual([]);
      });

      it("accepts a fingerprint of 255 characters, any characters, as a CloudWatch alarm ARN may give", async () => {
        const long = `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${"#é/".repeat(69)}`.slice(0, 255);

        const { created } = await store.open(alert({ fingerprint: long }));

        expect(created).toBe(true);
        expect((await store.findActive(long))?.id).toBe("i-1");
      });
    });

    describe("open is idempotent per firing (fingerprint, startsAt)", () => {
      it("returns the incident already open for a repeat, created false, and records nothing new", async () => {
        await store.open(alert());

        const again = await store.open(
          alert({ id: "i-2", summary: "a later, different summary", openedAt: at(5), severity: "warning" }),
        );

        expect(again).toStrictEqual({ created: false, incident: opened(alert()) });
        expect(await store.get("i-2")).toBeUndefined();
        expect(await ids()).toEqual(["i-1"]);
      });

      it("treats a repeat with the same id the same way", async () => {
        await store.open(alert());

        expect(await store.open(alert())).toStrictEqual({ created: false, incident: opened(alert()) });
        expect(await ids()).toEqual(["i-1"]);
      });

      it("knows a repeat whose startsAt names the same instant with another offset", async () => {
        await store.open(alert({ startsAt: "2026-05-01T12:00:00Z" }));

        const again = await store.open(alert({ id: "i-2", startsAt: "2026-05-01T14:00:00.000+02:00" }));

        expect(again.created).toBe(false);
        expect(again.incident.id).toBe("i-1");
        expect(await ids()).toEqual(["i-1"]);
      });

      it("returns the incident at its latest version, timeline and all", async () => {
        await store.open(alert());
        const updated = await store.update("i-1", 1, { level: 2 }, [entry("opened", 1), entry("paged", 1)]);

        const again = await store.open(alert({ id: "i-2" }));

        expect(again).toStrictEqual({ created: false, incident: updated });
      });

      it("still returns a resolved incident for a late repeat of its firing, and opens nothing", async () => {
        await store.open(alert());
        const resolved = await store.update("i-1", 1, {
          status: "resolved",
          resolvedAt: at(30),
          resolution: "alert-resolved",
        });

        const late = await store.open(alert({ id: "i-2", openedAt: at(31) }));

        expect(late).toStrictEqual({ created: false, incident: resolved });
        expect(await store.findActive(fingerprint)).toBeUndefined();
      });

      it("creates exactly one incident of 20 concurrent opens of one firing, and all 20 name it", async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, n) => store.open(alert({ id: `i-${n}`, openedAt: at(1 + n) }))),
        );

        const created = results.filter((result) => result.created);
        expect(created).toHaveLength(1);
        const winner = created[0]!.incident;
        for (const result of results) expect(result.incident).toStrictEqual(winner);
        expect(await ids()).toEqual([winner.id]);
        expect(await store.findActive(fingerprint)).toStrictEqual(winner);
      });

      it("opens a new incident for a new startsAt of the same fingerprint (a flapping alert)", async () => {
        await store.open(alert());
        await store.update("i-1", 1, {
          status: "resolved",
          resolvedAt: at(10),
          resolution: "alert-resolved",
        });

        const refired = await store.open(alert({ id: "i-2", startsAt: at(15), openedAt: at(16) }));

        expect(refired).toStrictEqual({
          created: true,
          incident: opened(alert({ id: "i-2", startsAt: at(15), openedAt: at(16) })),
        });
        expect(await ids()).toEqual(["i-2", "i-1"]);
        expect((await store.findActive(fingerprint))?.id).toBe("i-2");
      });

      it("opens one incident per fingerprint for alerts that started at the same instant", async () => {
        await store.open(alert());

        const other = await store.open(alert({ id: "i-2", fingerprint: "0000aaaa1111bbbb" }));

        expect(other.created).toBe(true);
        expect(await ids()).toEqual(["i-2", "i-1"]);
      });

      it("refuses an id already taken by another alert, and leaves that incident alone", async () => {
        await store.open(alert());

        const error = await rejection(store.open(alert({ fingerprint: "0000aaaa1111bbbb" })));

        expect(error.name).toBe("ValidationError");
        expect(error.message).toBe("incident id i-1 is already taken by another alert");
        expect(await store.get("i-1")).toStrictEqual(opened(alert()));
        expect(await store.findActive("0000aaaa1111bbbb")).toBeUndefined();
      });
    });

    describe("findActive", () => {
      it("finds the open incident of a fingerprint, and nothing for another", async () => {
        await store.open(alert());

        expect(await store.findActive(fingerprint)).toStrictEqual(opened(alert()));
        expect(await store.findActive("0000aaaa1111bbbb")).toBeUndefined();
      });

      it("finds an acknowledged one, at its latest version", async () => {
        await store.open(alert());
        const acknowledged = await store.update(
          "i-1",
          1,
          { status: "acknowledged", acknowledgedAt: at(3), acknowledgedBy: "ana.silva@example.com" },
          [entry("acknowledged", 3)],
        );

        expect(await store.findActive(fingerprint)).toStrictEqual(acknowledged);
      });

      it("skips a resolved incident", async () => {
        await store.open(alert());
        await store.update("i-1", 1, { status: "resolved", resolvedAt: at(5), resolution: "manual" });

        expect(await store.findActive(fingerprint)).toBeUndefined();
      });

      it("answers the newest of several active ones, and the older one once the newest resolves", async () => {
        await store.open(alert({ id: "i-old", startsAt: at(0), openedAt: at(1) }));
        await store.open(alert({ id: "i-new", startsAt: at(20), openedAt: at(21) }));
        await store.open(alert({ id: "i-gone", startsAt: at(40), openedAt: at(41) }));
        await store.update("i-gone", 1, { status: "resolved", resolvedAt: at(42), resolution: "manual" });

        expect((await store.findActive(fingerprint))?.id).toBe("i-new");

        await store.update("i-new", 1, { status: "resolved", resolvedAt: at(50), resolution: "manual" });

        expect((await store.findActive(fingerprint))?.id).toBe("i-old");
      });

      it("finds the one active incident among many resolved ones of its fingerprint", async () => {
        await store.open(alert({ id: "i-active", startsAt: at(0), openedAt: at(0) }));
        for (let n = 1; n <= 25; n++) {
          const id = `i-${String(n).padStart(2, "0")}`;
          await store.open(alert({ id, startsAt: at(n), openedAt: at(n) }));
          await store.update(id, 1, { status: "resolved", resolvedAt: at(n), resolution: "alert-resolved" });
        }

        expect((await store.findActive(fingerprint))?.id).toBe("i-active");
      });
    });

    describe("list", () => {
      const incidents: [string, IncidentStatus, number][] = [
        ["i-1", "open", 1],
        ["i-2", "acknowledged", 3],
        ["i-3", "resolved", 2],
        ["i-4", "open", 5],
        ["i-5", "resolved", 4],
        ["i-6", "acknowledged", 6],
      ];

      beforeEach(async () => {
        for (const [id, status, minute] of incidents) {
          await store.open(alert({ id, fingerprint: `fp-${id}`, openedAt: at(minute) }));
          if (status === "acknowledged") {
            await store.update(id, 1, { status, acknowledgedAt: at(minute), acknowledgedBy: "ana" });
          }
          if (status === "resolved") {
            await store.update(id, 1, { status, resolvedAt: at(minute), resolution: "manual" });
          }
        }
      });

      it.each([
        [undefined, ["i-6", "i-4", "i-5", "i-2", "i-3", "i-1"]],
        [{}, ["i-6", "i-4", "i-5", "i-2", "i-3", "i-1"]],
        [{ status: "open" }, ["i-4", "i-1"]],
        [{ status: "acknowledged" }, ["i-6", "i-2"]],
        [{ status: "resolved" }, ["i-5", "i-3"]],
        [{ limit: 3 }, ["i-6", "i-4", "i-5"]],
        [{ status: "open", limit: 1 }, ["i-4"]],
        [{ limit: 50 }, ["i-6", "i-4", "i-5", "i-2", "i-3", "i-1"]],
      ] as const)("%j → %j (newest opened first)", async (filter, expected) => {
        expect(await ids(filter)).toEqual(expected);
      });

      it("returns whole records at their latest version", async () => {
        const updated = await store.update("i-4", 1, { level: 3 }, [entry("escalated", 9)]);

        const [newestOpen] = await store.list({ status: "open", limit: 1 });

        expect(newestOpen).toStrictEqual(updated);
      });

      it("follows an incident to its new status", async () => {
        await store.update("i-1", 1, {
          status: "resolved",
          resolvedAt: at(10),
          resolution: "alert-resolved",
        });

        expect(await ids({ status: "open" })).toEqual(["i-4"]);
        expect(await ids({ status: "resolved" })).toEqual(["i-5", "i-3", "i-1"]);
      });

      it("orders by the instant openedAt names, whatever its offset, and ties by id, newest first", async () => {
        await store.open(alert({ id: "i-x", fingerprint: "fp-x", openedAt: "2026-05-01T14:10:00+02:00" }));
        await store.open(alert({ id: "i-y", fingerprint: "fp-y", openedAt: "2026-05-01T12:10:00Z" }));
        await store.open(alert({ id: "i-w", fingerprint: "fp-w", openedAt: "2026-05-01T12:07:00.000Z" }));

        expect(await ids({ limit: 4 })).toEqual(["i-y", "i-x", "i-w", "i-6"]);
        expect((await store.get("i-x"))?.openedAt).toBe("2026-05-01T14:10:00+02:00");
      });

      it.each([0, -1, 1.5])("refuses a limit of %s", async (limit) => {
        const error = await rejection(store.list({ limit }));

        expect(error.name).toBe("ValidationError");
        expect(error.message).toBe(`limit must be a positive integer, got ${limit}`);
      });
    });

    it("answers an empty list when there is no incident", async () => {
      expect(await store.list()).toEqual([]);
      expect(await store.list({ status: "resolved", limit: 5 })).toEqual([]);
    });

    it(`lists at most ${defaultListLimit} incidents when no limit is named, newest first`, async () => {
      const count = defaultListLimit + 5;
      for (let n = 0; n < count; n++) {
        const id = `i-${String(n).padStart(3, "0")}`;
        await store.open(alert({ id, fingerprint: `fp-${id}`, openedAt: at(n) }));
      }

      const listed = await ids();

      expect(listed).toHaveLength(defaultListLimit);
      expect(listed[0]).toBe("i-104");
      expect(listed.at(-1)).toBe("i-005");
      expect(await ids({ limit: count })).toHaveLength(count);
    });

    it(`lists at most ${maxListLimit} incidents whatever limit is named`, async () => {
      const count = maxListLimit + 3;
      for (let n = 0; n < count; n++) {
        const id = `i-${String(n).padStart(4, "0")}`;
        await store.open(alert({ id, fingerprint: `fp-${id}`, openedAt: at(n) }));
      }

      const listed = await ids({ limit: 5_000 });

      expect(listed).toHaveLength(maxListLimit);
      expect(listed[0]).toBe("i-1002");
      expect(listed.at(-1)).toBe("i-0003");
    });

    describe("update", () => {
      beforeEach(async () => {
        await store.open(alert());
      });

      it("applies the changes at the stored version and returns the record one version on, as get reads it", async () => {
        const updated = await store.update("i-1", 1, {
          level: 2,
          slack: { channel: "C0INCIDENTS", ts: "1714564800.000100" },
          pagedRoutingKeys: ["switchyard/pagerduty/platform", "switchyard/pagerduty/payments"],
          froze: true,
        });

        expect(updated).toStrictEqual({
          ...opened(alert()),
          level: 2,
          slack: { channel: "C0INCIDENTS", ts: "1714564800.000100" },
          pagedRoutingKeys: ["switchyard/pagerduty/platform", "switchyard/pagerduty/payments"],
          froze: true,
          version: 2,
        });
        expect(await store.get("i-1")).toStrictEqual(updated);
      });

      it("records acknowledgement and resolution", async () => {
        await store.update("i-1", 1, {
          status: "acknowledged",
          acknowledgedAt: at(4),
          acknowledgedBy: "ana.silva@example.com",
        });

        const resolved = await store.update("i-1", 2, {
          status: "resolved",
          resolvedAt: at(9),
          resolution: "alert-resolved",
        });

        expect(resolved).toStrictEqual({
          ...opened(alert()),
          status: "resolved",
          acknowledgedAt: at(4),
          acknowledgedBy: "ana.silva@example.com",
          resolvedAt: at(9),
          resolution: "alert-resolved",
          version: 3,
        });
        expect(await store.get("i-1")).toStrictEqual(resolved);
      });

      it("appends timeline entries in the order given, after the stored ones, never replacing them", async () => {
        const first = [entry("opened", 1), entry("slack-posted", 1), entry("paged", 1)];
        // Out of time order on purpose: a store that sorts the timeline is caught.
        const second = [entry("escalated", 9), entry("page-failed", 6, "PagerDuty answered 503 three times")];

        await store.update("i-1", 1, {}, first);
        const updated = await store.update("i-1", 2, { level: 2 }, second);
        const untouched = await store.update("i-1", 3, { froze: true });

        expect(updated.timeline).toStrictEqual([...first, ...second]);
        expect(untouched.timeline).toStrictEqual([...first, ...second]);
        expect((await store.get("i-1"))?.timeline).toStrictEqual([...first, ...second]);
      });

      it(`keeps the newest ${timelineLimit} timeline entries`, async () => {
        const entries = Array.from({ length: timelineLimit + 5 }, (_, n) =>
          entry("escalated", n, `level ${n}`),
        );

        await store.update("i-1", 1, {}, entries.slice(0, 150));
        const updated = await store.update("i-1", 2, {}, entries.slice(150));

        expect(updated.timeline).toStrictEqual(entries.slice(5));
        expect((await store.get("i-1"))?.timeline).toStrictEqual(entries.slice(5));
      });

      it("changes nothing for a member given as undefined", async () => {
        await store.update("i-1", 1, { acknowledgedBy: "ana.silva@example.com", level: 2 });

        const updated = await store.update("i-1", 2, {
          acknowledgedBy: undefined,
          level: undefined,
          froze: true,
        });

        expect(updated).toStrictEqual({
          ...opened(alert()),
          acknowledgedBy: "ana.silva@example.com",
          level: 2,
          froze: true,
          version: 3,
        });
      });

      it("counts versions across a run of updates, an empty change included", async () => {
        let current = (await store.get("i-1"))!;
        for (let n = 0; n < 3; n++) current = await store.update("i-1", current.version, {});

        expect(current.version).toBe(4);
        expect(await store.get("i-1")).toStrictEqual(current);
      });

      it("refuses a stale version with ConflictError and changes nothing", async () => {
        const won = await store.update("i-1", 1, { status: "acknowledged", acknowledgedAt: at(2) });

        const error = await rejection(
          store.update("i-1", 1, { status: "resolved", resolvedAt: at(3) }, [entry("resolved", 3)]),
        );

        expect(error.name).toBe("ConflictError");
        expect(error.message).toBe(
          "incident i-1 is at version 2, not 1: re-read it and apply the change again",
        );
        expect(await store.get("i-1")).toStrictEqual(won);
      });

      it("refuses a version ahead of the stored one too", async () => {
        const error = await rejection(store.update("i-1", 5, { level: 2 }));

        expect(error.name).toBe("ConflictError");
        expect(await store.get("i-1")).toStrictEqual(opened(alert()));
      });

      it.each([
        ["an acknowledgement", { status: "acknowledged", acknowledgedAt: at(2) }],
        ["a resolution", { status: "resolved", resolvedAt: at(2), resolution: "alert-resolved" }],
      ] as const)(
        "lets exactly one of two concurrent updates from the same read win (%s)",
        async (_, change) => {
          const results = await Promise.allSettled([
            store.update("i-1", 1, change, [entry("acknowledged", 2, "first")]),
            store.update("i-1", 1, { level: 2 }, [entry("escalated", 2, "second")]),
          ]);

          const won = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
          const lost = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
          expect(won).toHaveLength(1);
          expect(lost).toMatchObject([{ name: "ConflictError" }]);
          expect(await store.get("i-1")).toStrictEqual(won[0]);
          expect(won[0]?.timeline).toHaveLength(1);
        },
      );

      it("refuses an unknown id with NotFoundError and creates nothing", async () => {
        const error = await rejection(store.update("i-missing", 1, { level: 2 }, [entry("escalated", 2)]));

        expect(error.name).toBe("NotFoundError");
        expect(error.message).toBe("incident i-missing does not exist");
        expect(await store.get("i-missing")).toBeUndefined();
        expect(await ids()).toEqual(["i-1"]);
      });

      it.each([
        ["a resolvedAt that is not a time", { resolvedAt: "soon" }, [], 'incident i-1 resolvedAt "soon"'],
        ["a timeline entry that is not timed", {}, [{ at: "now", kind: "paged", message: "x" }], "timeline"],
        ["a level below the one reached", { level: 0 }, [], "level only grows: it is at 1, got 0"],
      ] as const)("refuses %s, and changes nothing", async (_, change, timeline, message) => {
        const error = await rejection(store.update("i-1", 1, change, timeline));

        expect(error.name).toBe("ValidationError");
        expect(error.message).toContain(message);
        expect(await store.get("i-1")).toStrictEqual(opened(alert()));
      });
    });

    describe("the wait token", () => {
      beforeEach(async () => {
        await store.open(fullAlert());
      });

      it("is undefined until set, then what waitToken() returns; undefined for an unknown id", async () => {
        expect(await store.waitToken("i-full")).toBeUndefined();

        await store.setWaitToken("i-full", token);

        expect(await store.waitToken("i-full")).toBe(token);
        expect(await store.waitToken("i-missing")).toBeUndefined();
      });

      it("is replaced by a new token, and cleared with null, leaving the record and its version alone", async () => {
        const before = await store.get("i-full");

        await store.setWaitToken("i-full", token);
        await store.setWaitToken("i-full", otherToken);
        expect(await store.waitToken("i-full")).toBe(otherToken);

        await store.setWaitToken("i-full", null);
        expect(await store.waitToken("i-full")).toBeUndefined();
        await store.setWaitToken("i-full", null);
        expect(await store.waitToken("i-full")).toBeUndefined();
        expect(await store.get("i-full")).toStrictEqual(before);
      });

      it("is in no record any read returns, under any name", async () => {
        await store.setWaitToken("i-full", token);

        const reads: unknown[] = [
          await store.get("i-full"),
          await store.findActive(fullFingerprint),
          await store.list(),
          await store.list({ status: "open" }),
          await store.open(fullAlert()),
          await store.update("i-full", 1, { level: 2 }, [entry("escalated", 5)]),
          await store.update("i-full", 2, { status: "resolved", resolvedAt: at(6) }),
          await store.list({ status: "resolved" }),
        ];

        for (const read of reads) expectNoToken(read);
        expect(Object.keys((await store.get("i-full"))!).sort()).toEqual(
          [...Object.keys(opened(fullAlert())), "resolvedAt"].sort(),
        );
      });

      it("survives every update", async () => {
        await store.setWaitToken("i-full", token);

        await store.update("i-full", 1, { level: 2 }, [entry("escalated", 5)]);
        await store.update("i-full", 2, { status: "resolved", resolvedAt: at(6) });

        expect(await store.waitToken("i-full")).toBe(token);
      });

      it("belongs to one incident only", async () => {
        await store.open(alert({ id: "i-2" }));
        await store.setWaitToken("i-full", token);

        expect(await store.waitToken("i-2")).toBeUndefined();
      });

      it.each([token, null])(
        "cannot be set (%s) for an unknown id: NotFoundError, and nothing is created",
        async (value) => {
          const error = await rejection(store.setWaitToken("i-missing", value));

          expect(error.name).toBe("NotFoundError");
          expect(error.message).toBe("incident i-missing does not exist");
          expect(await store.get("i-missing")).toBeUndefined();
          expect(await store.waitToken("i-missing")).toBeUndefined();
        },
      );

      it("refuses an empty token", async () => {
        const error = await rejection(store.setWaitToken("i-full", ""));

        expect(error.name).toBe("ValidationError");
        expect(await store.waitToken("i-full")).toBeUndefined();
      });
    });

    it("keeps incidents, versions, timelines and wait tokens across a reopen", async () => {
      await store.open(fullAlert());
      await store.open(alert());
      const updated = await store.update("i-1", 1, { status: "acknowledged", acknowledgedAt: at(2) }, [
        entry("acknowledged", 2),
      ]);
      await store.setWaitToken("i-1", token);

      const reopened = await fixture.reopen();

      expect(await reopened.get("i-full")).toStrictEqual(opened(fullAlert()));
      expect(await reopened.get("i-1")).toStrictEqual(updated);
      expect(await reopened.waitToken("i-1")).toBe(token);
      expect(await reopened.findActive(fingerprint)).toStrictEqual(updated);
      expect((await reopened.open(alert({ id: "i-9" }))).created).toBe(false);
      expect((await rejection(reopened.update("i-1", 1, {}))).name).toBe("ConflictError");
    });
  });
};

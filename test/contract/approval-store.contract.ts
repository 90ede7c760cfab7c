// The ApprovalStore contract: what every adapter must do, so the local runtime cannot drift from DynamoDB.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ApprovalRecord, ApprovalState, ApprovalStore } from "../../functions/core/ports.ts";

export interface ApprovalStoreFixture {
  store: ApprovalStore;
  /** A new store over the same state, as after a restart. */
  reopen: () => Promise<ApprovalStore>;
  cleanup?: () => Promise<void>;
}

/** What the adapters return when the caller names no limit. */
const defaultListLimit = 100;

const digest = (hex: string): string => `sha256:${hex.repeat(64).slice(0, 64)}`;

/** Shaped like a Step Functions task token, and unlike anything else in a record, so a leak cannot hide. */
const token = "AQCEAAAAKgAAAAMAAAAAAAAAAfG3Kx+token-one==";
const otherToken = "AQCEAAAAKgAAAAMAAAAAAAAAAcZ9Wq+token-two==";

const start = new Date("2026-05-01T12:00:00.000Z");
const at = (minute: number): string => new Date(start.getTime() + minute * 60_000).toISOString();

const approval = (overrides: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: "a-1",
  promotionId: "p-1",
  service: "checkout",
  environment: "production",
  to: { repository: "checkout", tag: "1.4.0", digest: digest("b") },
  requestedBy: "maria.lopez@example.com",
  approvers: ["ana.silva@example.com", "li.wei@example.com"],
  minApprovals: 1,
  requestedAt: at(0),
  expiresAt: at(24 * 60),
  decisions: [],
  state: "pending",
  version: 1,
  ...overrides,
});

/** A record with every optional member set, to catch one an adapter forgets. */
const fullApproval = (): ApprovalRecord =>
  approval({
    id: "a-full",
    from: { tag: "1.3.2", digest: digest("a") },
    changelogUrl: "https://github.com/example/checkout/compare/1.3.2...1.4.0",
    snapshotId: "switchyard-checkout-db-20260501T115900Z-pre-change",
    approvers: ["li.wei@example.com", "ana.silva@example.com", "omar.haddad@example.com"],
    minApprovals: 2,
    // Neither by approver nor by time: an adapter that sorts the list is caught.
    decisions: [
      {
        approver: "omar.haddad@example.com",
        decision: "approve",
        comment: "migration reviewed",
        at: at(9),
        channel: "email",
      },
      { approver: "li.wei@example.com", decision: "reject", at: at(4), channel: "api" },
      {
        approver: "ana.silva@example.com",
        decision: "approve",
        comment: "",
        at: at(7),
        channel: "cli",
      },
    ],
    state: "approved",
    closedAt: at(9),
    executionArn: "arn:aws:states:eu-west-1:123456789012:execution:promote-image:p-1",
  });

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
 * Registers the ApprovalStore contract for one adapter. `makeStore` is called before each test and must return an
 * empty store.
 *
 * @example
 * describeApprovalStoreContract("SqliteApprovalStore", async () => {
 *   const db = openDatabase(":memory:");
 *   return { store: new SqliteApprovalStore({ db }), reopen: async () => new SqliteApprovalStore({ db }) };
 * });
 */
export const describeApprovalStoreContract = (
  name: string,
  makeStore: () => Promise<ApprovalStoreFixture>,
): void => {
  describe(`ApprovalStore contract: ${name}`, () => {
    let fixture: ApprovalStoreFixture;
    let store: ApprovalStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    describe("create and get", () => {
      it("round-trips a record with every optional member, decisions in their order", async () => {
        expect(await store.create(fullApproval(), token)).toBe(true);

        expect(await store.get("a-full")).toStrictEqual(fullApproval());
      });

      it("round-trips a record without optional members, and invents none", async () => {
        const minimal = approval({
          to: { repository: "checkout", digest: digest("c") },
          decisions: [{ approver: "ana.silva@example.com", decision: "approve", at: at(1), channel: "api" }],
        });
        await store.create(minimal, token);

        expect(await store.get("a-1")).toStrictEqual(minimal);
      });

      it("drops a member the caller set to undefined, as if it were absent", async () => {
        await store.create(approval({ changelogUrl: undefined, from: undefined }), token);

        expect(await store.get("a-1")).toStrictEqual(approval());
      });

      it.each([0, 1, 7])("stores version 1 when the caller passes version %s", async (version) => {
        await store.create(approval({ version }), token);

        expect((await store.get("a-1"))?.version).toBe(1);
      });

      it("answers undefined for an unknown id", async () => {
        expect(await store.get("a-missing")).toBeUndefined();
      });

      it("takes an id once: a second create answers false and changes nothing, not even the token", async () => {
        await store.create(approval(), token);

        const again = await store.create(
          approval({ state: "rejected", requestedBy: "someone.else@example.com" }),
          otherToken,
        );

        expect(again).toBe(false);
        expect(await store.get("a-1")).toStrictEqual(approval());
        expect(await store.taskToken("a-1")).toBe(token);
      });

      it.each(["requestedAt", "expiresAt"] as const)(
        "refuses a %s that is not a time, and stores nothing",
        async (field) => {
          const error = await rejection(store.create(approval({ [field]: "tomorrow" }), token));

          expect(error.name).toBe("ValidationError");
          expect(error.message).toBe(`approval a-1 ${field} "tomorrow" is not an ISO 8601 time`);
          expect(await store.get("a-1")).toBeUndefined();
          expect(await store.taskToken("a-1")).toBeUndefined();
        },
      );
    });

    describe("the task token", () => {
      beforeEach(async () => {
        await store.create(fullApproval(), token);
      });

      it("is what taskToken() returns, and undefined for an unknown id", async () => {
        expect(await store.taskToken("a-full")).toBe(token);
        expect(await store.taskToken("a-missing")).toBeUndefined();
      });

      it("is in no record any read returns, under any name", async () => {
        const reads: unknown[] = [
          await store.get("a-full"),
          await store.findByPromotion("p-1"),
          await store.list(),
          await store.list({ state: "approved" }),
          await store.update((await store.get("a-full"))!),
        ];

        for (const read of reads) expectNoToken(read);
        expect(Object.keys((await store.get("a-full"))!).sort()).toEqual(Object.keys(fullApproval()).sort());
      });

      it("is replaced by replaceTaskToken, leaving the record and its version alone", async () => {
        const before = await store.get("a-full");

        await store.replaceTaskToken("a-full", otherToken);

        expect(await store.taskToken("a-full")).toBe(otherToken);
        expect(await store.get("a-full")).toStrictEqual(before);
        expectNoToken(await store.list());
      });

      it("cannot be replaced for an unknown id: NotFoundError, and nothing is created", async () => {
        const error = await rejection(store.replaceTaskToken("a-missing", otherToken));

        expect(error.name).toBe("NotFoundError");
        expect(error.message).toBe("approval a-missing does not exist");
        expect(await store.get("a-missing")).toBeUndefined();
        expect(await store.taskToken("a-missing")).toBeUndefined();
      });

      it("survives every update", async () => {
        const first = await store.update({ ...(await store.get("a-full"))!, snapshotId: "snap-2" });
        await store.update({ ...first, state: "expired" });

        expect(await store.taskToken("a-full")).toBe(token);
      });
    });

    describe("update", () => {
      beforeEach(async () => {
        await store.create(approval(), token);
      });

      it("writes the record at the stored version and returns it one version on, as get then reads it", async () => {
        const read = (await store.get("a-1"))!;
        const decided: ApprovalRecord = {
          ...read,
          decisions: [
            {
              approver: "ana.silva@example.com",
              decision: "approve",
              comment: "ok",
              at: at(3),
              channel: "email",
            },
          ],
          state: "approved",
          closedAt: at(3),
        };

        const updated = await store.update(decided);

        expect(updated).toStrictEqual({ ...decided, version: 2 });
        expect(await store.get("a-1")).toStrictEqual(updated);
      });

      it("lets an update remove an optional member", async () => {
        const withArn = await store.update({ ...approval(), executionArn: "arn:aws:states:x" });
        const { executionArn: _removed, ...withoutArn } = withArn;

        const updated = await store.update(withoutArn);

        expect(updated).toStrictEqual({ ...approval(), version: 3 });
        expect(await store.get("a-1")).toStrictEqual(updated);
      });

      it("lets the first of two updates from the same read win, and refuses the second with ConflictError", async () => {
        const read = (await store.get("a-1"))!;
        const approve: ApprovalRecord = { ...read, state: "approved", closedAt: at(2) };
        const reject: ApprovalRecord = { ...read, state: "rejected", closedAt: at(3) };

        const won = await store.update(approve);
        const error = await rejection(store.update(reject));

        expect(error.name).toBe("ConflictError");
        expect(error.message).toBe(
          "approval a-1 is at version 2, not 1: re-read it and apply the change again",
        );
        expect(await store.get("a-1")).toStrictEqual(won);
      });

      it("lets exactly one of two concurrent updates from the same read win", async () => {
        const read = (await store.get("a-1"))!;

        const results = await Promise.allSettled([
          store.update({ ...read, state: "approved", closedAt: at(2) }),
          store.update({ ...read, state: "rejected", closedAt: at(2) }),
        ]);

        const won = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
        const lost = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
        expect(won).toHaveLength(1);
        expect(lost).toMatchObject([{ name: "ConflictError" }]);
        expect(await store.get("a-1")).toStrictEqual(won[0]);
      });

      it("refuses a version ahead of the stored one too", async () => {
        const error = await rejection(store.update({ ...approval(), version: 5 }));

        expect(error.name).toBe("ConflictError");
        expect(await store.get("a-1")).toStrictEqual(approval());
      });

      it("counts versions across a run of updates", async () => {
        let current = (await store.get("a-1"))!;
        for (let n = 0; n < 3; n++) current = await store.update({ ...current, snapshotId: `snap-${n}` });

        expect(current.version).toBe(4);
        expect(await store.get("a-1")).toStrictEqual(current);
      });

      it("refuses an unknown id with NotFoundError and creates nothing", async () => {
        const error = await rejection(store.update(approval({ id: "a-missing" })));

        expect(error.name).toBe("NotFoundError");
        expect(error.message).toBe("approval a-missing does not exist");
        expect(await store.get("a-missing")).toBeUndefined();
        expect((await store.list()).map((a) => a.id)).toEqual(["a-1"]);
      });

      it("refuses a time that is not a time, and changes nothing", async () => {
        const error = await rejection(store.update({ ...approval(), expiresAt: "later" }));

        expect(error.name).toBe("ValidationError");
        expect(await store.get("a-1")).toStrictEqual(approval());
      });
    });

    describe("findByPromotion", () => {
      it("finds the request made for a promotion, at its latest version", async () => {
        await store.create(approval(), token);
        await store.create(approval({ id: "a-2", promotionId: "p-2" }), otherToken);
        const updated = await store.update({ ...approval(), state: "expired", closedAt: at(1440) });

        expect(await store.findByPromotion("p-1")).toStrictEqual(updated);
        expect((await store.findByPromotion("p-2"))?.id).toBe("a-2");
      });

      it("answers undefined for a promotion without one", async () => {
        await store.create(approval(), token);

        expect(await store.findByPromotion("p-none")).toBeUndefined();
      });

      it("answers the newest when a promotion has several", async () => {
        await store.create(approval({ id: "a-new", requestedAt: at(5) }), token);
        await store.create(approval({ id: "a-old", requestedAt: at(1) }), token);

        expect((await store.findByPromotion("p-1"))?.id).toBe("a-new");
      });
    });

    describe("list", () => {
      const states: [string, ApprovalState, number][] = [
        ["a-1", "pending", 1],
        ["a-2", "approved", 3],
        ["a-3", "rejected", 2],
        ["a-4", "pending", 5],
        ["a-5", "expired", 4],
        ["a-6", "approved", 6],
      ];

      beforeEach(async () => {
        for (const [id, state, minute] of states) {
          await store.create(approval({ id, promotionId: `p-${id}`, state, requestedAt: at(minute) }), token);
        }
      });

      const ids = async (filter?: Parameters<ApprovalStore["list"]>[0]) =>
        (await store.list(filter)).map((a) => a.id);

      it.each([
        [undefined, ["a-6", "a-4", "a-5", "a-2", "a-3", "a-1"]],
        [{}, ["a-6", "a-4", "a-5", "a-2", "a-3", "a-1"]],
        [{ state: "pending" }, ["a-4", "a-1"]],
        [{ state: "approved" }, ["a-6", "a-2"]],
        [{ state: "rejected" }, ["a-3"]],
        [{ state: "expired" }, ["a-5"]],
        [{ limit: 3 }, ["a-6", "a-4", "a-5"]],
        [{ state: "pending", limit: 1 }, ["a-4"]],
        [{ limit: 50 }, ["a-6", "a-4", "a-5", "a-2", "a-3", "a-1"]],
      ] as const)("%j → %j (newest first)", async (filter, expected) => {
        expect(await ids(filter)).toEqual(expected);
      });

      it("returns whole records at their latest version", async () => {
        const updated = await store.update({ ...(await store.get("a-4"))!, snapshotId: "snap-1" });

        const [newestPending] = await store.list({ state: "pending", limit: 1 });

        expect(newestPending).toStrictEqual(updated);
      });

      it("follows a request to its new state", async () => {
        await store.update({ ...(await store.get("a-1"))!, state: "rejected", closedAt: at(10) });

        expect(await ids({ state: "pending" })).toEqual(["a-4"]);
        expect(await ids({ state: "rejected" })).toEqual(["a-3", "a-1"]);
      });

      it("orders by the instant requestedAt names, whatever its offset, and ties by id, newest first", async () => {
        await store.create(approval({ id: "a-x", requestedAt: "2026-05-01T14:10:00+02:00" }), token);
        await store.create(approval({ id: "a-y", requestedAt: "2026-05-01T12:10:00Z" }), token);
        await store.create(approval({ id: "a-w", requestedAt: "2026-05-01T12:07:00.000Z" }), token);

        expect(await ids({ limit: 4 })).toEqual(["a-y", "a-x", "a-w", "a-6"]);
        expect((await store.get("a-x"))?.requestedAt).toBe("2026-05-01T14:10:00+02:00");
      });

      it.each([0, -1, 1.5])("refuses a limit of %s", async (limit) => {
        const error = await rejection(store.list({ limit }));

        expect(error.name).toBe("ValidationError");
        expect(error.message).toBe(`limit must be a positive integer, got ${limit}`);
      });
    });

    it(`lists at most ${defaultListLimit} requests when no limit is named, newest first`, async () => {
      const count = defaultListLimit + 5;
      for (let n = 0; n < count; n++) {
        const state: ApprovalState = n % 2 === 0 ? "pending" : "expired";
        await store.create(
          approval({ id: `a-${String(n).padStart(3, "0")}`, state, requestedAt: at(n) }),
          token,
        );
      }

      const listed = (await store.list()).map((a) => a.id);
      const pending = (await store.list({ state: "pending" })).map((a) => a.id);

      expect(listed).toHaveLength(defaultListLimit);
      expect(listed[0]).toBe("a-104");
      expect(listed.at(-1)).toBe("a-005");
      expect(pending).toHaveLength(Math.ceil(count / 2));
      expect(pending[0]).toBe("a-104");
    });

    it("keeps records, versions and task tokens across a reopen", async () => {
      await store.create(fullApproval(), token);
      await store.create(approval(), otherToken);
      const updated = await store.update({ ...approval(), state: "expired", closedAt: at(1440) });

      const reopened = await fixture.reopen();

      expect(await reopened.get("a-full")).toStrictEqual(fullApproval());
      expect(await reopened.get("a-1")).toStrictEqual(updated);
      expect(await reopened.taskToken("a-1")).toBe(otherToken);
      expect((await reopened.list()).map((a) => a.id)).toEqual(["a-full", "a-1"]);
      expect((await rejection(reopened.update(approval()))).name).toBe("ConflictError");
    });
  });
};

// The FreezeStore contract: what every adapter must do, so the local runtime cannot drift from DynamoDB.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Freeze, FreezeStore } from "../../functions/core/ports.ts";

export interface FreezeStoreFixture {
  store: FreezeStore;
  /** A new store over the same state, as after a restart. */
  reopen: () => Promise<FreezeStore>;
  cleanup?: () => Promise<void>;
}

const start = new Date("2026-05-01T12:00:00.000Z");
const at = (minute: number): string => new Date(start.getTime() + minute * 60_000).toISOString();

const freeze = (overrides: Partial<Freeze> = {}): Freeze => ({
  service: "checkout",
  id: "manual",
  reason: "quarter close",
  setBy: "maria.lopez@example.com",
  setAt: at(0),
  source: "api",
  ...overrides,
});

const incident = (overrides: Partial<Freeze> = {}): Freeze =>
  freeze({
    id: "INC-042",
    reason: "payments degraded",
    setBy: "pagerduty",
    until: at(120),
    source: "incident",
    ...overrides,
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

/**
 * Registers the FreezeStore contract for one adapter. `makeStore` is called before each test and must return an
 * empty store.
 *
 * @example
 * describeFreezeStoreContract("SqliteFreezeStore", async () => {
 *   const db = openDatabase(":memory:");
 *   return { store: new SqliteFreezeStore({ db }), reopen: async () => new SqliteFreezeStore({ db }) };
 * });
 */
export const describeFreezeStoreContract = (
  name: string,
  makeStore: () => Promise<FreezeStoreFixture>,
): void => {
  describe(`FreezeStore contract: ${name}`, () => {
    let fixture: FreezeStoreFixture;
    let store: FreezeStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    const keys = async (service?: string) => (await store.list(service)).map((f) => `${f.service}/${f.id}`);

    describe("put and list", () => {
      it("round-trips a freeze with `until` and one without, and invents no member", async () => {
        await store.put(freeze());
        await store.put(incident({ setAt: at(1) }));

        expect(await store.list("checkout")).toStrictEqual([freeze(), incident({ setAt: at(1) })]);
      });

      it("drops a member the caller set to undefined, as if it were absent", async () => {
        await store.put(freeze({ until: undefined }));

        expect(await store.list()).toStrictEqual([freeze()]);
      });

      it("replaces the freeze with the same service and id, `until` included", async () => {
        await store.put(incident());
        const replacement = freeze({
          id: "INC-042",
          reason: "still degraded",
          setAt: at(30),
          source: "incident",
        });

        await store.put(replacement);

        expect(await store.list()).toStrictEqual([replacement]);
      });

      it("keeps freezes with the same id on different services apart", async () => {
        await store.put(freeze());
        await store.put(freeze({ service: "storefront", setAt: at(1) }));

        expect(await keys()).toEqual(["checkout/manual", "storefront/manual"]);
        expect(await keys("storefront")).toEqual(["storefront/manual"]);
      });

      it("still lists a freeze whose `until` has passed: the caller decides what is in force", async () => {
        const lapsed = incident({ setAt: "2020-01-01T00:00:00.000Z", until: "2020-01-02T00:00:00.000Z" });
        await store.put(lapsed);

        expect(await store.list("checkout")).toStrictEqual([lapsed]);
      });

      it("answers an empty list for a service without freezes, and for an empty store", async () => {
        expect(await store.list()).toEqual([]);
        await store.put(freeze());

        expect(await store.list("storefront")).toEqual([]);
      });

      it.each(["setAt", "until"] as const)(
        "refuses a %s that is not a time, and stores nothing",
        async (field) => {
          const error = await rejection(store.put(freeze({ [field]: "soon" })));

          expect(error.name).toBe("ValidationError");
          expect(error.message).toBe(`freeze checkout/manual ${field} "soon" is not an ISO 8601 time`);
          expect(await store.list()).toEqual([]);
        },
      );
    });

    describe("ordering", () => {
      // Written neither in key order nor in time order, so neither a key-ordered read nor write order passes.
      beforeEach(async () => {
        await store.put(freeze({ service: "storefront", id: "INC-7", setAt: at(3), source: "incident" }));
        await store.put(freeze({ service: "checkout", id: "manual", setAt: at(5) }));
        await store.put(freeze({ service: "search", id: "manual", setAt: at(1) }));
        await store.put(freeze({ service: "checkout", id: "INC-9", setAt: at(2), source: "incident" }));
        await store.put(freeze({ service: "ledger", id: "manual", setAt: at(4) }));
      });

      it.each([
        [
          undefined,
          ["search/manual", "checkout/INC-9", "storefront/INC-7", "ledger/manual", "checkout/manual"],
        ],
        ["checkout", ["checkout/INC-9", "checkout/manual"]],
        ["storefront", ["storefront/INC-7"]],
      ])("list(%s) → %j, oldest setAt first", async (service, expected) => {
        expect(await keys(service)).toEqual(expected);
      });

      it("orders by the instant setAt names, whatever its offset, and ties by service, then id", async () => {
        await store.put(freeze({ service: "billing", id: "b", setAt: "2026-05-01T14:00:30+02:00" }));
        await store.put(freeze({ service: "billing", id: "a", setAt: "2026-05-01T12:00:30Z" }));
        await store.put(freeze({ service: "audit", id: "z", setAt: "2026-05-01T12:00:30.000Z" }));

        expect((await keys()).slice(0, 4)).toEqual(["audit/z", "billing/a", "billing/b", "search/manual"]);
        expect((await store.list("billing")).map((f) => f.setAt)).toEqual([
          "2026-05-01T12:00:30Z",
          "2026-05-01T14:00:30+02:00",
        ]);
      });

      it("lists every freeze however many there are", async () => {
        for (let n = 0; n < 20; n++) {
          await store.put(freeze({ service: `svc-${19 - n}`, id: `f-${n}`, setAt: at(100 + n) }));
          await store.put(freeze({ service: "checkout", id: `INC-${100 + n}`, setAt: at(100 + n) }));
        }

        expect(await store.list()).toHaveLength(45);
        expect(await store.list("checkout")).toHaveLength(22);
        expect((await keys()).at(-1)).toBe("svc-0/f-19");
      });
    });

    describe("remove", () => {
      beforeEach(async () => {
        await store.put(freeze());
        await store.put(incident({ setAt: at(1) }));
        await store.put(incident({ id: "INC-043", setAt: at(2) }));
        await store.put(freeze({ service: "storefront", setAt: at(3) }));
      });

      it("lifts one freeze and counts it, once", async () => {
        expect(await store.remove("checkout", "INC-042")).toBe(1);
        expect(await store.remove("checkout", "INC-042")).toBe(0);

        expect(await keys()).toEqual(["checkout/manual", "checkout/INC-043", "storefront/manual"]);
      });

      it("lifts every freeze of a service without an id, and leaves the others", async () => {
        expect(await store.remove("checkout")).toBe(3);

        expect(await keys()).toEqual(["storefront/manual"]);
        expect(await store.remove("checkout")).toBe(0);
      });

      it.each([
        ["checkout", "INC-999"],
        ["unknown", "manual"],
        ["unknown", undefined],
      ])("answers 0 for %s/%s, which has no freeze, and lifts nothing", async (service, id) => {
        expect(await store.remove(service, id)).toBe(0);

        expect(await store.list()).toHaveLength(4);
      });

      it("lifts every freeze of a service however many there are", async () => {
        for (let n = 0; n < 20; n++) await store.put(freeze({ id: `INC-${n}`, setAt: at(10 + n) }));

        expect(await store.remove("checkout")).toBe(23);
        expect(await keys()).toEqual(["storefront/manual"]);
      });
    });

    it("keeps freezes across a reopen", async () => {
      await store.put(freeze());
      await store.put(incident({ setAt: at(1) }));

      const reopened = await fixture.reopen();

      expect(await reopened.list()).toStrictEqual([freeze(), incident({ setAt: at(1) })]);
      expect(await reopened.remove("checkout")).toBe(2);
    });
  });
};

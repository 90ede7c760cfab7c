// The PromotionStore contract: what every adapter must do, so the local runtime cannot drift from DynamoDB.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type Clock,
  type DeploymentRecord,
  type PromotionPhase,
  type PromotionRecord,
  type PromotionStore,
  terminalPromotionPhases,
} from "../../functions/core/ports.ts";

/** The store's quarantine methods, which the port will carry once rollbacks use them. */
export interface QuarantiningPromotionStore extends PromotionStore {
  quarantine(service: string, digest: string, reason: string): Promise<void>;
  clearQuarantine(service: string, digest: string): Promise<boolean>;
  listQuarantine(): Promise<{ service: string; digest: string; reason: string; quarantinedAt: string }[]>;
}

export interface PromotionStoreFixture {
  store: QuarantiningPromotionStore;
  /** A new store over the same state, as after a restart. */
  reopen: () => Promise<QuarantiningPromotionStore>;
  cleanup?: () => Promise<void>;
}

/** What the adapters return when the caller names no limit. */
const defaultListLimit = 100;

const digest = (hex: string): string => `sha256:${hex.repeat(64).slice(0, 64)}`;

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current: Date) {}

  now(): Date {
    return new Date(this.current);
  }

  advanceSeconds(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1_000);
  }
}

const start = new Date("2026-05-01T12:00:00.000Z");

const promotion = (overrides: Partial<PromotionRecord> = {}): PromotionRecord => ({
  id: "p-1",
  service: "checkout",
  environment: "staging",
  image: { repository: "checkout", tag: "1.4.0", digest: digest("b"), pushedAt: "2026-05-01T11:59:30Z" },
  phase: "Pending",
  reasons: ["checkout: promote 1.4.0 (sha256:bbbbbbbbbbbb) over 1.3.2 (sha256:aaaaaaaaaaaa)"],
  trigger: { kind: "ecr", eventId: "evt-1" },
  createdAt: "2026-05-01T12:00:00.000Z",
  updatedAt: "2026-05-01T12:00:00.000Z",
  ...overrides,
});

/** A record with every optional member set, to catch one an adapter forgets. */
const fullPromotion = (): PromotionRecord =>
  promotion({
    id: "p-full",
    trigger: { kind: "api", eventId: "req-9", requestedBy: "maria.lopez@example.com" },
    previous: { tag: "1.3.2", digest: digest("a") },
    revision: "0123456789abcdef0123456789abcdef01234567",
    executionArn: "arn:aws:states:eu-west-1:123456789012:execution:promote-image:p-full",
  });

const deployment = (overrides: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  service: "checkout",
  environment: "staging",
  tag: "1.4.0",
  digest: digest("b"),
  pushedAt: "2026-05-01T11:59:30Z",
  revision: "0123456789abcdef0123456789abcdef01234567",
  promotionId: "p-1",
  deployedAt: "2026-05-01T12:03:00.000Z",
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
 * Registers the PromotionStore contract for one adapter. `makeStore` is called before each test with the clock the
 * store must use, and must return an empty store.
 *
 * @example
 * describePromotionStoreContract("SqlitePromotionStore", async (clock) => {
 *   const db = openDatabase(":memory:");
 *   const store = new SqlitePromotionStore({ db, clock });
 *   return { store, reopen: async () => new SqlitePromotionStore({ db, clock }), cleanup: async () => db.close() };
 * });
 */
export const describePromotionStoreContract = (
  name: string,
  makeStore: (clock: Clock) => Promise<PromotionStoreFixture>,
): void => {
  describe(`PromotionStore contract: ${name}`, () => {
    let clock: ManualClock;
    let fixture: PromotionStoreFixture;
    let store: QuarantiningPromotionStore;

    beforeEach(async () => {
      clock = new ManualClock(start);
      fixture = await makeStore(clock);
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    describe("createPromotion and getPromotion", () => {
      it("round-trips a record with every optional member", async () => {
        await store.createPromotion(fullPromotion());

        expect(await store.getPromotion("p-full")).toStrictEqual(fullPromotion());
      });

      it("round-trips a record without optional members, and invents none", async () => {
        const minimal = promotion({
          image: { repository: "checkout", digest: digest("c"), pushedAt: "2026-05-01T11:00:00Z" },
          reasons: [],
        });
        await store.createPromotion(minimal);

        expect(await store.getPromotion("p-1")).toStrictEqual(minimal);
      });

      it("answers undefined for an unknown id", async () => {
        expect(await store.getPromotion("p-missing")).toBeUndefined();
      });

      it("takes an id once: a second create is a ValidationError and changes nothing", async () => {
        await store.createPromotion(promotion());

        const error = await rejection(
          store.createPromotion(promotion({ phase: "Skipped", reasons: ["other"] })),
        );

        expect(error.name).toBe("ValidationError");
        expect(error.message).toBe("promotion p-1 already exists");
        expect(await store.getPromotion("p-1")).toStrictEqual(promotion());
      });

      it("refuses a createdAt that is not a time", async () => {
        const error = await rejection(store.createPromotion(promotion({ createdAt: "yesterday" })));

        expect(error.name).toBe("ValidationError");
        expect(error.message).toBe('promotion p-1 createdAt "yesterday" is not an ISO 8601 time');
        expect(await store.getPromotion("p-1")).toBeUndefined();
      });
    });

    describe("updatePromotion", () => {
      beforeEach(async () => {
        await store.createPromotion(promotion());
        clock.advanceSeconds(90);
      });

      it("applies the change, stamps updatedAt from the clock and returns what getPromotion then reads", async () => {
        const updated = await store.updatePromotion("p-1", {
          phase: "Syncing",
          revision: "fedcba9876543210fedcba9876543210fedcba98",
          previous: { tag: "1.3.2", digest: digest("a") },
          executionArn: "arn:aws:states:eu-west-1:123456789012:execution:promote-image:p-1",
          reason: "committed envs/staging/checkout/values.yaml",
        });

        expect(updated).toStrictEqual({
          ...promotion(),
          phase: "Syncing",
          revision: "fedcba9876543210fedcba9876543210fedcba98",
          previous: { tag: "1.3.2", digest: digest("a") },
          executionArn: "arn:aws:states:eu-west-1:123456789012:execution:promote-image:p-1",
          reasons: [...promotion().reasons, "committed envs/staging/checkout/values.yaml"],
          updatedAt: "2026-05-01T12:01:30.000Z",
        });
        expect(await store.getPromotion("p-1")).toStrictEqual(updated);
      });

      it("appends reasons in order and never replaces one", async () => {
        await store.updatePromotion("p-1", { phase: "Committing", reason: "second" });
        await store.updatePromotion("p-1", { reason: "third" });
        const last = await store.updatePromotion("p-1", { phase: "Syncing", reason: "fourth" });

        expect(last.reasons).toEqual([...promotion().reasons, "second", "third", "fourth"]);
      });

      it("keeps what the change does not name", async () => {
        await store.updatePromotion("p-1", { revision: "r1", previous: { digest: digest("a") } });

        const updated = await store.updatePromotion("p-1", { reason: "waiting for Argo CD" });

        expect(updated).toMatchObject({
          phase: "Pending",
          revision: "r1",
          previous: { digest: digest("a") },
        });
        expect(updated.previous).toStrictEqual({ digest: digest("a") });
      });

      it("walks a promotion through its phases to a terminal one", async () => {
        const phases: PromotionPhase[] = ["Committing", "Syncing", "Succeeded"];
        for (const phase of phases) await store.updatePromotion("p-1", { phase });

        expect((await store.getPromotion("p-1"))?.phase).toBe("Succeeded");
      });

      it("refuses an unknown id with NotFoundError and creates nothing", async () => {
        const error = await rejection(store.updatePromotion("p-missing", { phase: "Syncing", reason: "x" }));

        expect(error.name).toBe("NotFoundError");
        expect(error.message).toBe("promotion p-missing does not exist");
        expect(await store.getPromotion("p-missing")).toBeUndefined();
        expect((await store.listPromotions()).map((p) => p.id)).toEqual(["p-1"]);
      });

      it.each(
        terminalPromotionPhases.flatMap((from) =>
          (["Pending", "Committing", "Syncing", ...terminalPromotionPhases] as PromotionPhase[])
            .filter((to) => to !== from)
            .map((to) => [from, to] as const),
        ),
      )("refuses to move a %s promotion to %s, and applies nothing of the change", async (from, to) => {
        const terminal = await store.updatePromotion("p-1", { phase: from, reason: `ended ${from}` });
        clock.advanceSeconds(60);

        const error = await rejection(
          store.updatePromotion("p-1", { phase: to, revision: "r-late", reason: "too late" }),
        );

        expect(error.name).toBe("ValidationError");
        expect(error.message).toBe(`promotion p-1 is ${from}, which is terminal; it cannot move to ${to}`);
        expect(await store.getPromotion("p-1")).toStrictEqual(terminal);
      });

      it.each(terminalPromotionPhases)(
        "accepts %s again on a promotion already there (a retried step)",
        async (phase) => {
          await store.updatePromotion("p-1", { phase });

          const again = await store.updatePromotion("p-1", { phase, reason: "retried" });

          expect(again.phase).toBe(phase);
          expect(again.reasons.at(-1)).toBe("retried");
        },
      );

      it("still records a reason on a terminal promotion", async () => {
        await store.updatePromotion("p-1", { phase: "Failed", reason: "Degraded after 15 min" });

        const noted = await store.updatePromotion("p-1", { reason: "rolled back by p-2" });

        expect(noted.phase).toBe("Failed");
        expect(noted.reasons.slice(-2)).toEqual(["Degraded after 15 min", "rolled back by p-2"]);
      });
    });

    describe("listPromotions", () => {
      const at = (minute: number): string => new Date(start.getTime() + minute * 60_000).toISOString();

      beforeEach(async () => {
        await store.createPromotion(promotion({ id: "p-a", createdAt: at(1) }));
        await store.createPromotion(promotion({ id: "p-b", environment: "production", createdAt: at(3) }));
        await store.createPromotion(promotion({ id: "p-c", service: "storefront", createdAt: at(2) }));
        await store.createPromotion(promotion({ id: "p-d", createdAt: at(5) }));
        await store.createPromotion(
          promotion({ id: "p-e", service: "storefront", environment: "production", createdAt: at(4) }),
        );
      });

      const ids = async (filter?: Parameters<PromotionStore["listPromotions"]>[0]) =>
        (await store.listPromotions(filter)).map((p) => p.id);

      it.each([
        [undefined, ["p-d", "p-e", "p-b", "p-c", "p-a"]],
        [{}, ["p-d", "p-e", "p-b", "p-c", "p-a"]],
        [{ service: "checkout" }, ["p-d", "p-b", "p-a"]],
        [{ environment: "production" }, ["p-e", "p-b"]],
        [{ service: "checkout", environment: "staging" }, ["p-d", "p-a"]],
        [{ service: "storefront", environment: "staging" }, ["p-c"]],
        [{ service: "unknown" }, []],
        [{ limit: 2 }, ["p-d", "p-e"]],
        [{ service: "checkout", limit: 1 }, ["p-d"]],
        [{ environment: "staging", limit: 2 }, ["p-d", "p-c"]],
        [{ limit: 50 }, ["p-d", "p-e", "p-b", "p-c", "p-a"]],
      ])("%j → %j (newest first)", async (filter, expected) => {
        expect(await ids(filter)).toEqual(expected);
      });

      it("returns whole records, reasons included", async () => {
        await store.updatePromotion("p-d", { phase: "Committing", reason: "committing" });

        const [newest] = await store.listPromotions({ limit: 1 });

        expect(newest).toStrictEqual(await store.getPromotion("p-d"));
        expect(newest?.reasons).toEqual([...promotion().reasons, "committing"]);
      });

      it("orders by the instant createdAt names, whatever its offset, and ties by id", async () => {
        await store.createPromotion(promotion({ id: "p-x", createdAt: "2026-05-01T14:10:00+02:00" }));
        await store.createPromotion(promotion({ id: "p-y", createdAt: "2026-05-01T12:10:00Z" }));
        await store.createPromotion(promotion({ id: "p-w", createdAt: "2026-05-01T12:06:00.000Z" }));

        expect(await ids({ limit: 4 })).toEqual(["p-y", "p-x", "p-w", "p-d"]);
        expect((await store.getPromotion("p-x"))?.createdAt).toBe("2026-05-01T14:10:00+02:00");
      });

      it.each([0, -1, 1.5])("refuses a limit of %s", async (limit) => {
        const error = await rejection(store.listPromotions({ limit }));

        expect(error.name).toBe("ValidationError");
        expect(error.message).toBe(`limit must be a positive integer, got ${limit}`);
      });
    });

    it(`lists at most ${defaultListLimit} promotions when no limit is named, newest first`, async () => {
      const count = defaultListLimit + 5;
      for (let n = 0; n < count; n++) {
        const createdAt = new Date(start.getTime() + n * 1_000).toISOString();
        await store.createPromotion(promotion({ id: `p-${String(n).padStart(3, "0")}`, createdAt }));
      }

      const listed = await store.listPromotions({ service: "checkout" });

      expect(listed).toHaveLength(defaultListLimit);
      expect(listed[0]?.id).toBe("p-104");
      expect(listed.at(-1)?.id).toBe("p-005");
      expect(await store.listPromotions({ environment: "staging", limit: 103 })).toHaveLength(103);
    });

    describe("deployments", () => {
      it("answers undefined for a service and environment never deployed", async () => {
        expect(await store.getDeployment("checkout", "staging")).toBeUndefined();
        expect(await store.listDeployments()).toEqual([]);
      });

      it("keeps one record per service and environment, the last put winning", async () => {
        await store.putDeployment(deployment());
        await store.putDeployment(deployment({ environment: "production", promotionId: "p-0" }));
        const newer = deployment({ tag: "1.5.0", digest: digest("c"), promotionId: "p-2", revision: "r2" });
        await store.putDeployment(newer);

        expect(await store.getDeployment("checkout", "staging")).toStrictEqual(newer);
        expect(await store.getDeployment("checkout", "production")).toStrictEqual(
          deployment({ environment: "production", promotionId: "p-0" }),
        );
      });

      it("round-trips a deployment pinned by digest alone", async () => {
        const { tag: _, ...untagged } = deployment();
        await store.putDeployment(untagged);

        expect(await store.getDeployment("checkout", "staging")).toStrictEqual(untagged);
      });

      it("drops the old tag when a digest-only deployment replaces a tagged one", async () => {
        await store.putDeployment(deployment());
        const { tag: _, ...untagged } = deployment({ digest: digest("d") });
        await store.putDeployment(untagged);

        expect(await store.getDeployment("checkout", "staging")).toStrictEqual(untagged);
      });

      it("lists every deployment by service, then environment", async () => {
        await store.putDeployment(deployment({ service: "storefront", environment: "staging" }));
        await store.putDeployment(deployment({ service: "checkout", environment: "staging" }));
        await store.putDeployment(deployment({ service: "payments-worker", environment: "production" }));
        await store.putDeployment(deployment({ service: "checkout", environment: "production" }));

        expect((await store.listDeployments()).map((d) => `${d.service}/${d.environment}`)).toEqual([
          "checkout/production",
          "checkout/staging",
          "payments-worker/production",
          "storefront/staging",
        ]);
      });
    });

    describe("quarantine", () => {
      it("quarantines a digest for one service only", async () => {
        expect(await store.isQuarantined("checkout", digest("b"))).toBe(false);

        await store.quarantine("checkout", digest("b"), "rolled back: production Degraded after p-1");

        expect(await store.isQuarantined("checkout", digest("b"))).toBe(true);
        expect(await store.isQuarantined("storefront", digest("b"))).toBe(false);
        expect(await store.isQuarantined("checkout", digest("c"))).toBe(false);
      });

      it("clears a quarantine once, and says whether there was one", async () => {
        await store.quarantine("checkout", digest("b"), "rolled back");

        expect(await store.clearQuarantine("checkout", digest("b"))).toBe(true);
        expect(await store.isQuarantined("checkout", digest("b"))).toBe(false);
        expect(await store.clearQuarantine("checkout", digest("b"))).toBe(false);
      });

      it("lists quarantined digests by service, then digest, with the reason and time", async () => {
        await store.quarantine("storefront", digest("a"), "rolled back p-7");
        clock.advanceSeconds(60);
        await store.quarantine("checkout", digest("c"), "rolled back p-8");
        await store.quarantine("checkout", digest("b"), "rolled back p-9");

        expect(await store.listQuarantine()).toStrictEqual([
          {
            service: "checkout",
            digest: digest("b"),
            reason: "rolled back p-9",
            quarantinedAt: "2026-05-01T12:01:00.000Z",
          },
          {
            service: "checkout",
            digest: digest("c"),
            reason: "rolled back p-8",
            quarantinedAt: "2026-05-01T12:01:00.000Z",
          },
          {
            service: "storefront",
            digest: digest("a"),
            reason: "rolled back p-7",
            quarantinedAt: "2026-05-01T12:00:00.000Z",
          },
        ]);
      });

      it("keeps the latest rollback's reason when a digest is quarantined again", async () => {
        await store.quarantine("checkout", digest("b"), "rolled back p-1");
        clock.advanceSeconds(3_600);
        await store.quarantine("checkout", digest("b"), "rolled back p-5");

        expect(await store.listQuarantine()).toStrictEqual([
          {
            service: "checkout",
            digest: digest("b"),
            reason: "rolled back p-5",
            quarantinedAt: "2026-05-01T13:00:00.000Z",
          },
        ]);
      });
    });

    it("keeps promotions, deployments and quarantine across a reopen", async () => {
      await store.createPromotion(fullPromotion());
      await store.updatePromotion("p-full", { phase: "Succeeded", reason: "Synced and Healthy" });
      await store.putDeployment(deployment());
      await store.quarantine("checkout", digest("e"), "rolled back");
      const before = await store.getPromotion("p-full");

      const reopened = await fixture.reopen();

      expect(await reopened.getPromotion("p-full")).toStrictEqual(before);
      expect(await reopened.listPromotions()).toStrictEqual([before]);
      expect(await reopened.getDeployment("checkout", "staging")).toStrictEqual(deployment());
      expect(await reopened.isQuarantined("checkout", digest("e"))).toBe(true);
      const error = await rejection(reopened.updatePromotion("p-full", { phase: "Syncing" }));
      expect(error.name).toBe("ValidationError");
    });
  });
};

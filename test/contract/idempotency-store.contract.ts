// The IdempotencyStore contract: claim once, repeat refused, claimable again after expiry or release, for every adapter.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock, IdempotencyStore } from "../../functions/core/ports.ts";

export interface IdempotencyStoreFixture {
  store: IdempotencyStore;
  cleanup?: () => Promise<void>;
}

const secondsToMs = 1_000;
const weekSeconds = 7 * 24 * 60 * 60;

/**
 * Registers the IdempotencyStore contract for one adapter. `makeStore` is called before each test with the clock
 * the store must read, and must return an empty store.
 *
 * @example
 * describeIdempotencyStoreContract("SqliteIdempotencyStore", async (clock) => {
 *   const db = openDatabase(":memory:");
 *   return {
    store: new SqliteIdempotencyStore({ db, clock }),
    cleanup: async () => {
      db.close();
    },
  };
 * });
 */
export const describeIdempotencyStoreContract = (
  name: string,
  makeStore: (clock: Clock) => Promise<IdempotencyStoreFixture>,
): void => {
  describe(`IdempotencyStore contract: ${name}`, () => {
    let fixture: IdempotencyStoreFixture;
    let store: IdempotencyStore;
    let now: Date;
    const advance = (seconds: number): void => {
      now = new Date(now.getTime() + seconds * secondsToMs);
    };

    beforeEach(async () => {
      // Mid-second on purpose: a store must hold a key for the whole TTL whatever the sub-second part of "now".
      now = new Date("2026-05-01T12:00:00.750Z");
      fixture = await makeStore({ now: () => now });
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    it("grants the first claim of a key and refuses the repeat", async () => {
      expect(await store.claim("github-delivery:d-1", weekSeconds)).toBe(true);
      expect(await store.claim("github-delivery:d-1", weekSeconds)).toBe(false);
    });

    it("keeps keys apart", async () => {
      expect(await store.claim("github-delivery:d-1", 60)).toBe(true);
      expect(await store.claim("github-delivery:d-2", 60)).toBe(true);
      expect(await store.claim("request:d-1", 60)).toBe(true);
    });

    it("holds a key for at least its TTL, and lets it be claimed again once that has passed", async () => {
      await store.claim("k", 60);

      advance(59);
      expect(await store.claim("k", 60)).toBe(false);
      advance(1);
      expect(await store.claim("k", 60)).toBe(false);
      advance(1);
      expect(await store.claim("k", 60)).toBe(true);
    });

    it("holds a key claimed again after expiry for its new TTL", async () => {
      await store.claim("k", 10);
      advance(11);
      expect(await store.claim("k", 3_600)).toBe(true);

      advance(600);
      expect(await store.claim("k", 10)).toBe(false);
    });

    it("complete holds a claimed key for the new TTL from now", async () => {
      expect(await store.claim("delivery-9", 60)).toBe(true);
      advance(30);
      await store.complete("delivery-9", 600);
      advance(100);
      expect(await store.claim("delivery-9", 60)).toBe(false);
      advance(501);
      expect(await store.claim("delivery-9", 60)).toBe(true);
    });

    it("complete holds a key it never saw", async () => {
      await store.complete("delivery-10", 60);
      expect(await store.claim("delivery-10", 60)).toBe(false);
    });

    it("lets a released key be claimed again at once", async () => {
      await store.claim("k", weekSeconds);

      await store.release("k");

      expect(await store.claim("k", weekSeconds)).toBe(true);
      expect(await store.claim("k", weekSeconds)).toBe(false);
    });

    it("releases a key it never saw without complaint", async () => {
      await expect(store.release("never-claimed")).resolves.toBeUndefined();
    });

    it("grants exactly one of many simultaneous claims of a key", async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => store.claim("race", 60)));

      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it("takes keys of any characters, up to 2048 bytes", async () => {
      const key = `délivery:${"x".repeat(2_048 - "délivery:".length - 1)}`;

      expect(Buffer.byteLength(key)).toBe(2_048);
      expect(await store.claim(key, 60)).toBe(true);
      expect(await store.claim(key, 60)).toBe(false);
    });

    it.each([
      ["an empty key", "", 60],
      ["a key over 2048 bytes", "k".repeat(2_049), 60],
      ["a TTL of zero", "k", 0],
      ["a negative TTL", "k", -5],
      ["a fractional TTL", "k", 1.5],
    ])("refuses %s with a ValidationError", async (_, key, ttlSeconds) => {
      await expect(store.claim(key, ttlSeconds)).rejects.toMatchObject({ name: "ValidationError" });
    });

    it("refuses to release an empty key", async () => {
      await expect(store.release("")).rejects.toMatchObject({ name: "ValidationError" });
    });
  });
};

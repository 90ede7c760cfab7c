// The SecretStore contract: Secrets Manager's semantics, run against every adapter so local cannot drift from AWS.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SecretStore, VersionStage } from "../../functions/core/ports.ts";

export interface SecretStoreFixture {
  store: SecretStore;
  cleanup?: () => Promise<void>;
}

const arnPattern = (name: string): RegExp =>
  new RegExp(
    `^arn:aws:secretsmanager:[a-z0-9-]+:\\d{12}:secret:${name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}-[A-Za-z0-9]{6}$`,
  );

/** Version ids as a rotation Lambda receives them: UUIDs, 36 characters, within the 32–64 the API accepts. */
const token = (n: number): string => `00000000-0000-4000-8000-${n.toString().padStart(12, "0")}`;

const secretValue = (label: string): string =>
  JSON.stringify({ username: "orders", password: `pw-${label}-s3cr3t` });

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

const sorted = (stages: readonly VersionStage[]): VersionStage[] => [...stages].sort();

const stagesMap = (map: Record<string, VersionStage[]>): Record<string, VersionStage[]> =>
  Object.fromEntries(Object.entries(map).map(([id, stages]) => [id, sorted(stages)]));

/** GetRandomPassword's character types, as its documentation lists them. */
const uppercase = /[A-Z]/;
const lowercase = /[a-z]/;
const digit = /[0-9]/;
const punctuationCharacters = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const isPunctuation = (c: string): boolean => punctuationCharacters.includes(c);

/** Enough draws that a type left out by chance, or a leaked excluded character, would show. */
const passwordSamples = 50;

/**
 * Registers the SecretStore contract for one adapter. `makeStore` is called before each test and must return an
 * empty store.
 *
 * @example
 * describeSecretStoreContract("SqliteSecretStore", async () => {
 *   const db = openDatabase(":memory:");
 *   return { store: new SqliteSecretStore({ db }), cleanup: async () => db.close() };
 * });
 */
export const describeSecretStoreContract = (
  name: string,
  makeStore: () => Promise<SecretStoreFixture>,
): void => {
  describe(`SecretStore contract: ${name}`, () => {
    let fixture: SecretStoreFixture;
    let store: SecretStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    /** A secret whose first version (AWSCURRENT) is `token(1)`. */
    const seed = async (secretName = "prod/orders/db") => {
      const created = await store.createSecret({
        name: secretName,
        secretString: secretValue("v1"),
        clientRequestToken: token(1),
      });
      return { ...created, versionId: token(1) };
    };

    describe("createSecret", () => {
      it("mints an ARN of the name plus a 6-character suffix and makes the value AWSCURRENT", async () => {
        const created = await store.createSecret({
          name: "prod/orders/db",
          secretString: secretValue("v1"),
          description: "orders database credentials",
          clientRequestToken: token(1),
        });

        expect(created).toEqual({
          name: "prod/orders/db",
          arn: expect.stringMatching(arnPattern("prod/orders/db")),
          versionId: token(1),
        });
        const current = await store.getSecretValue("prod/orders/db");
        expect(current).toMatchObject({
          name: "prod/orders/db",
          arn: created.arn,
          versionId: token(1),
          versionStages: ["AWSCURRENT"],
          secretString: secretValue("v1"),
        });
        expect(current.createdDate).toBeInstanceOf(Date);
      });

      it("generates a UUID-like version id when no token is given", async () => {
        const created = await store.createSecret({ name: "generated", secretString: "x" });

        expect(created.versionId).toMatch(/^[A-Za-z0-9-]{32,64}$/);
        expect((await store.getSecretValue("generated")).versionId).toBe(created.versionId);
      });

      it("creates a secret without a version when no value is given", async () => {
        const created = await store.createSecret({ name: "empty", description: "filled by rotation" });

        expect(created.versionId).toBeUndefined();
        expect((await store.describeSecret("empty")).versionIdsToStages).toEqual({});
        const error = await rejection(store.getSecretValue("empty"));
        expect(error.name).toBe("ResourceNotFoundException");
        expect(error.message).toBe(
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
      });

      it("gives every secret its own ARN suffix", async () => {
        const a = await store.createSecret({ name: "a", secretString: "x" });
        const b = await store.createSecret({ name: "b", secretString: "x" });

        expect(a.arn.slice(-6)).toMatch(/^[A-Za-z0-9]{6}$/);
        expect(a.arn).not.toBe(b.arn);
      });

      it("rejects an existing name with ResourceExistsException", async () => {
        await seed("prod/orders/db");

        const error = await rejection(
          store.createSecret({ name: "prod/orders/db", secretString: secretValue("v2") }),
        );

        expect(error.name).toBe("ResourceExistsException");
        expect(error.message).not.toContain("s3cr3t");
        expect((await store.getSecretValue("prod/orders/db")).secretString).toBe(secretValue("v1"));
      });

      it("ignores a retry with the same token and value, and rejects one with another value", async () => {
        const first = await seed("prod/orders/db");

        const retried = await store.createSecret({
          name: "prod/orders/db",
          secretString: secretValue("v1"),
          clientRequestToken: token(1),
        });
        const conflicting = await rejection(
          store.createSecret({
            name: "prod/orders/db",
            secretString: secretValue("v2"),
            clientRequestToken: token(1),
          }),
        );

        expect(retried).toEqual({ name: "prod/orders/db", arn: first.arn, versionId: token(1) });
        expect(conflicting.name).toBe("ResourceExistsException");
      });

      it.each([
        ["a single character", "a"],
        ["every allowed punctuation mark", "team/app_1+x=y.z@corp-prod"],
        ["512 characters", "n".repeat(512)],
      ])("accepts a name of %s", async (_, secretName) => {
        await expect(store.createSecret({ name: secretName, secretString: "x" })).resolves.toMatchObject({
          name: secretName,
        });
      });

      it.each([
        ["empty", "", "ValidationException"],
        ["513 characters", "n".repeat(513), "ValidationException"],
        ["a space", "prod db", "InvalidParameterException"],
        ["a colon", "prod:db", "InvalidParameterException"],
        ["a non-ASCII letter", "prod/dé", "InvalidParameterException"],
        ["an asterisk", "prod/*", "InvalidParameterException"],
      ])("rejects a name with %s", async (_, secretName, errorName) => {
        const error = await rejection(store.createSecret({ name: secretName, secretString: "x" }));

        expect(error.name).toBe(errorName);
      });
    });

    describe("secret values", () => {
      it("accepts exactly 65,536 bytes", async () => {
        await seed();
        const value = "v".repeat(65_536);

        await store.putSecretValue("prod/orders/db", value);

        expect((await store.getSecretValue("prod/orders/db")).secretString).toBe(value);
      });

      it.each([
        ["65,537 ASCII characters", "v".repeat(65_537)],
        ["32,769 two-byte characters (65,538 bytes)", "é".repeat(32_769)],
      ])("rejects %s with ValidationException, without echoing the value", async (_, value) => {
        await seed();

        const onPut = await rejection(store.putSecretValue("prod/orders/db", value));
        const onCreate = await rejection(store.createSecret({ name: "too-big", secretString: value }));

        for (const error of [onPut, onCreate]) {
          expect(error.name).toBe("ValidationException");
          expect(error.message).not.toContain(value.slice(0, 64));
        }
      });

      it("keeps text byte for byte, including JSON and non-ASCII", async () => {
        const value = JSON.stringify({ password: "pässwörd-✓-\u0000-\n" });
        await store.createSecret({ name: "unicode", secretString: value });

        expect((await store.getSecretValue("unicode")).secretString).toBe(value);
      });
    });

    describe("secretId", () => {
      it.each(["name", "ARN"] as const)("finds the secret by %s in every operation", async (kind) => {
        const { arn } = await seed("prod/orders/db");
        const secretId = kind === "name" ? "prod/orders/db" : arn;

        const put = await store.putSecretValue(secretId, secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSPENDING"],
        });
        await store.updateSecretVersionStage(secretId, "AWSCURRENT", {
          moveToVersionId: token(2),
          removeFromVersionId: token(1),
        });

        expect(put).toMatchObject({ name: "prod/orders/db", arn });
        expect(await store.getSecretValue(secretId)).toMatchObject({ versionId: token(2), arn });
        expect(await store.describeSecret(secretId)).toMatchObject({ name: "prod/orders/db", arn });
      });

      it("finds the secret by its partial ARN (without the random suffix)", async () => {
        const { arn } = await seed("prod/orders/db");

        expect((await store.getSecretValue(arn.slice(0, -7))).versionId).toBe(token(1));
      });

      const unknownSecretCalls: [string, (store: SecretStore, secretId: string) => Promise<unknown>][] = [
        ["getSecretValue", (s, id) => s.getSecretValue(id)],
        ["putSecretValue", (s, id) => s.putSecretValue(id, "x")],
        [
          "updateSecretVersionStage",
          (s, id) => s.updateSecretVersionStage(id, "AWSPENDING", { moveToVersionId: token(1) }),
        ],
        ["describeSecret", (s, id) => s.describeSecret(id)],
        ["rotateSecret", (s, id) => s.rotateSecret(id, { clientRequestToken: token(2) })],
      ];

      it.each(unknownSecretCalls)("%s of an unknown secret is ResourceNotFoundException", async (_, call) => {
        const { arn } = await seed("prod/orders/db");

        for (const secretId of ["prod/orders/missing", `${arn.slice(0, -6)}XXXXXX`]) {
          const error = await rejection(call(store, secretId));
          expect(error.name).toBe("ResourceNotFoundException");
          expect(error.message).toBe("Secrets Manager can't find the specified secret.");
        }
      });
    });

    describe("putSecretValue", () => {
      it("makes the new version AWSCURRENT and the old current AWSPREVIOUS by default", async () => {
        await seed();

        const put = await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
        });

        expect(put).toMatchObject({ versionId: token(2), versionStages: ["AWSCURRENT"] });
        expect((await store.getSecretValue("prod/orders/db")).secretString).toBe(secretValue("v2"));
        expect(await store.getSecretValue("prod/orders/db", { versionStage: "AWSPREVIOUS" })).toMatchObject({
          versionId: token(1),
          versionStages: ["AWSPREVIOUS"],
          secretString: secretValue("v1"),
        });
      });

      it("takes AWSPREVIOUS off the older version, which keeps no label and drops out of describeSecret", async () => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), { clientRequestToken: token(2) });

        await store.putSecretValue("prod/orders/db", secretValue("v3"), { clientRequestToken: token(3) });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(2)]: ["AWSPREVIOUS"],
          [token(3)]: ["AWSCURRENT"],
        });
        expect(await store.getSecretValue("prod/orders/db", { versionId: token(1) })).toMatchObject({
          versionStages: [],
          secretString: secretValue("v1"),
        });
      });

      it("with explicit VersionStages moves only those labels", async () => {
        await seed();

        const put = await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSPENDING"],
        });

        expect(put.versionStages).toEqual(["AWSPENDING"]);
        expect((await store.getSecretValue("prod/orders/db")).versionId).toBe(token(1));
        expect(
          (await store.getSecretValue("prod/orders/db", { versionStage: "AWSPENDING" })).secretString,
        ).toBe(secretValue("v2"));
        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
          [token(2)]: ["AWSPENDING"],
        });
      });

      it("moves a label that another version holds, leaving AWSCURRENT and AWSPREVIOUS alone", async () => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), { clientRequestToken: token(2) });
        await store.putSecretValue("prod/orders/db", secretValue("v3"), {
          clientRequestToken: token(3),
          versionStages: ["AWSPENDING"],
        });

        await store.putSecretValue("prod/orders/db", secretValue("v4"), {
          clientRequestToken: token(4),
          versionStages: ["AWSPENDING", "custom-label"],
        });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSPREVIOUS"],
          [token(2)]: ["AWSCURRENT"],
          [token(4)]: ["AWSPENDING", "custom-label"],
        });
      });

      it("with AWSCURRENT among several labels moves AWSPREVIOUS too", async () => {
        await seed();

        const put = await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSCURRENT", "blue"],
        });

        expect(sorted(put.versionStages)).toEqual(["AWSCURRENT", "blue"]);
        expect(
          (await store.getSecretValue("prod/orders/db", { versionStage: "AWSPREVIOUS" })).versionId,
        ).toBe(token(1));
      });

      it("gives the first version of a value-less secret AWSCURRENT and no AWSPREVIOUS", async () => {
        await store.createSecret({ name: "empty" });

        const put = await store.putSecretValue("empty", "first", { clientRequestToken: token(1) });

        expect(put.versionStages).toEqual(["AWSCURRENT"]);
        expect((await store.describeSecret("empty")).versionIdsToStages).toEqual({
          [token(1)]: ["AWSCURRENT"],
        });
      });

      it("is idempotent: the same token and value return the existing version and change nothing", async () => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSPENDING"],
        });
        const before = await store.describeSecret("prod/orders/db");

        const retried = await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSCURRENT"],
        });

        expect(retried).toMatchObject({ versionId: token(2), versionStages: ["AWSPENDING"] });
        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual(
          stagesMap(before.versionIdsToStages),
        );
        expect((await store.getSecretValue("prod/orders/db")).versionId).toBe(token(1));
      });

      it("rejects the same token with another value (ResourceExistsException), naming neither value", async () => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), { clientRequestToken: token(2) });

        const error = await rejection(
          store.putSecretValue("prod/orders/db", secretValue("other"), { clientRequestToken: token(2) }),
        );

        expect(error.name).toBe("ResourceExistsException");
        expect(error.message).not.toContain("s3cr3t");
        expect((await store.getSecretValue("prod/orders/db", { versionId: token(2) })).secretString).toBe(
          secretValue("v2"),
        );
      });

      it("treats a token equal to an existing version with the same value as a retry even for the first version", async () => {
        await seed();

        const retried = await store.putSecretValue("prod/orders/db", secretValue("v1"), {
          clientRequestToken: token(1),
        });

        expect(retried).toMatchObject({ versionId: token(1), versionStages: ["AWSCURRENT"] });
      });

      it.each([
        ["31 characters", "t".repeat(31)],
        ["65 characters", "t".repeat(65)],
      ])("rejects a token of %s with ValidationException", async (_, badToken) => {
        await seed();

        const onPut = await rejection(
          store.putSecretValue("prod/orders/db", "x", { clientRequestToken: badToken }),
        );
        const onCreate = await rejection(
          store.createSecret({ name: "other", secretString: "x", clientRequestToken: badToken }),
        );

        expect(onPut.name).toBe("ValidationException");
        expect(onCreate.name).toBe("ValidationException");
      });

      it("accepts tokens of 32 and 64 characters", async () => {
        await seed();

        await store.putSecretValue("prod/orders/db", "a", { clientRequestToken: "t".repeat(32) });
        await store.putSecretValue("prod/orders/db", "b", { clientRequestToken: "u".repeat(64) });

        expect((await store.getSecretValue("prod/orders/db")).versionId).toBe("u".repeat(64));
      });

      it.each([
        ["no labels", [] as VersionStage[]],
        ["21 labels", Array.from({ length: 21 }, (_, i) => `label-${i}`)],
        ["an empty label", [""]],
        ["a 257-character label", ["l".repeat(257)]],
      ])("rejects VersionStages with %s (ValidationException)", async (_, versionStages) => {
        await seed();

        const error = await rejection(store.putSecretValue("prod/orders/db", "x", { versionStages }));

        expect(error.name).toBe("ValidationException");
      });
    });

    describe("getSecretValue", () => {
      it.each([
        ["no option (AWSCURRENT)", {}, "v2"],
        ["versionStage AWSPREVIOUS", { versionStage: "AWSPREVIOUS" }, "v1"],
        ["versionStage AWSPENDING", { versionStage: "AWSPENDING" }, "v3"],
        ["versionId", { versionId: token(1) }, "v1"],
        ["versionId with its own stage", { versionId: token(3), versionStage: "AWSPENDING" }, "v3"],
      ])("reads by %s", async (_, options, expected) => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), { clientRequestToken: token(2) });
        await store.putSecretValue("prod/orders/db", secretValue("v3"), {
          clientRequestToken: token(3),
          versionStages: ["AWSPENDING"],
        });

        expect((await store.getSecretValue("prod/orders/db", options)).secretString).toBe(
          secretValue(expected),
        );
      });

      it("says which staging label it could not find", async () => {
        await seed();

        const error = await rejection(store.getSecretValue("prod/orders/db", { versionStage: "AWSPENDING" }));

        expect(error.name).toBe("ResourceNotFoundException");
        expect(error.message).toBe(
          "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
        );
      });

      it("rejects an unknown versionId with ResourceNotFoundException", async () => {
        await seed();

        const error = await rejection(store.getSecretValue("prod/orders/db", { versionId: token(9) }));

        expect(error.name).toBe("ResourceNotFoundException");
      });

      it("rejects a versionStage that is not on the given versionId (InvalidRequestException)", async () => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), { clientRequestToken: token(2) });

        const error = await rejection(
          store.getSecretValue("prod/orders/db", { versionId: token(1), versionStage: "AWSCURRENT" }),
        );

        expect(error.name).toBe("InvalidRequestException");
      });
    });

    describe("updateSecretVersionStage", () => {
      /** The state a rotation reaches after createSecret + setSecret + testSecret: v1 current, v2 pending. */
      const pending = async () => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSPENDING"],
        });
      };

      it("finishSecret: moving AWSCURRENT to the pending version makes the old current AWSPREVIOUS", async () => {
        await pending();

        await store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", {
          moveToVersionId: token(2),
          removeFromVersionId: token(1),
        });

        expect((await store.getSecretValue("prod/orders/db")).secretString).toBe(secretValue("v2"));
        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSPREVIOUS"],
          [token(2)]: ["AWSCURRENT", "AWSPENDING"],
        });
      });

      it("moving AWSCURRENT takes AWSPREVIOUS from wherever it was", async () => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), { clientRequestToken: token(2) });
        await store.putSecretValue("prod/orders/db", secretValue("v3"), {
          clientRequestToken: token(3),
          versionStages: ["AWSPENDING"],
        });

        await store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", {
          moveToVersionId: token(3),
          removeFromVersionId: token(2),
        });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(2)]: ["AWSPREVIOUS"],
          [token(3)]: ["AWSCURRENT", "AWSPENDING"],
        });
      });

      it("rolls back: moving AWSCURRENT onto the AWSPREVIOUS version swaps the two labels", async () => {
        await seed();
        await store.putSecretValue("prod/orders/db", secretValue("v2"), { clientRequestToken: token(2) });

        await store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", {
          moveToVersionId: token(1),
          removeFromVersionId: token(2),
        });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
          [token(2)]: ["AWSPREVIOUS"],
        });
      });

      it("rejects moving a label attached elsewhere without RemoveFromVersionId (InvalidParameterException)", async () => {
        await pending();

        const error = await rejection(
          store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", { moveToVersionId: token(2) }),
        );

        expect(error.name).toBe("InvalidParameterException");
        expect((await store.getSecretValue("prod/orders/db")).versionId).toBe(token(1));
      });

      it("rejects a RemoveFromVersionId that does not hold the label (InvalidParameterException)", async () => {
        await pending();
        await store.putSecretValue("prod/orders/db", secretValue("v3"), {
          clientRequestToken: token(3),
          versionStages: ["blue"],
        });

        const error = await rejection(
          store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", {
            moveToVersionId: token(2),
            removeFromVersionId: token(3),
          }),
        );

        expect(error.name).toBe("InvalidParameterException");
        expect((await store.getSecretValue("prod/orders/db")).versionId).toBe(token(1));
      });

      it("rejects RemoveFromVersionId for a label no version holds (InvalidParameterException)", async () => {
        await pending();

        const error = await rejection(
          store.updateSecretVersionStage("prod/orders/db", "blue", {
            moveToVersionId: token(2),
            removeFromVersionId: token(1),
          }),
        );

        expect(error.name).toBe("InvalidParameterException");
      });

      it("attaches a label no version holds without RemoveFromVersionId", async () => {
        await pending();

        await store.updateSecretVersionStage("prod/orders/db", "blue", { moveToVersionId: token(1) });

        expect(
          sorted((await store.getSecretValue("prod/orders/db", { versionStage: "blue" })).versionStages),
        ).toEqual(["AWSCURRENT", "blue"]);
      });

      it("moves AWSPENDING between versions without touching AWSCURRENT or AWSPREVIOUS", async () => {
        await pending();
        await store.putSecretValue("prod/orders/db", secretValue("v3"), {
          clientRequestToken: token(3),
          versionStages: ["blue"],
        });

        await store.updateSecretVersionStage("prod/orders/db", "AWSPENDING", {
          moveToVersionId: token(3),
          removeFromVersionId: token(2),
        });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
          [token(3)]: ["AWSPENDING", "blue"],
        });
      });

      it("removes a label when only RemoveFromVersionId is given", async () => {
        await pending();

        await store.updateSecretVersionStage("prod/orders/db", "AWSPENDING", {
          removeFromVersionId: token(2),
        });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
        });
        expect((await store.getSecretValue("prod/orders/db", { versionId: token(2) })).versionStages).toEqual(
          [],
        );
      });

      it("refuses to remove AWSCURRENT without moving it (InvalidParameterException)", async () => {
        await pending();

        const error = await rejection(
          store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", { removeFromVersionId: token(1) }),
        );

        expect(error.name).toBe("InvalidParameterException");
        expect((await store.getSecretValue("prod/orders/db")).versionId).toBe(token(1));
      });

      it("accepts moving a label onto the version that already holds it", async () => {
        await pending();

        await store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", { moveToVersionId: token(1) });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
          [token(2)]: ["AWSPENDING"],
        });
      });

      it.each([
        ["MoveToVersionId", { moveToVersionId: token(9) }],
        ["RemoveFromVersionId", { removeFromVersionId: token(9) }],
      ])("rejects an unknown %s (InvalidParameterException)", async (_, options) => {
        await pending();

        const error = await rejection(
          store.updateSecretVersionStage("prod/orders/db", "AWSPENDING", options),
        );

        expect(error.name).toBe("InvalidParameterException");
      });
    });

    describe("rotateSecret", () => {
      it("turns rotation on and labels a new, value-less version AWSPENDING", async () => {
        await seed();
        expect(await store.describeSecret("prod/orders/db")).toMatchObject({ rotationEnabled: false });

        const rotated = await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });

        expect(rotated).toEqual({ versionId: token(2) });
        const described = await store.describeSecret("prod/orders/db");
        expect(described.rotationEnabled).toBe(true);
        expect(stagesMap(described.versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
          [token(2)]: ["AWSPENDING"],
        });
        expect((await store.listSecrets()).find((s) => s.name === "prod/orders/db")).toMatchObject({
          rotationEnabled: true,
        });
        expect((await store.getSecretValue("prod/orders/db")).versionId).toBe(token(1));
      });

      it.each([
        ["versionId", { versionId: token(2) }, `VersionId: ${token(2)}`],
        ["versionStage AWSPENDING", { versionStage: "AWSPENDING" }, "staging label: AWSPENDING"],
        [
          "versionId and its stage, as createSecret's check does",
          { versionId: token(2), versionStage: "AWSPENDING" },
          `VersionId: ${token(2)}`,
        ],
      ])("has no value to read by %s (ResourceNotFoundException)", async (_, options, what) => {
        await seed();
        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });

        const error = await rejection(store.getSecretValue("prod/orders/db", options));

        expect(error.name).toBe("ResourceNotFoundException");
        expect(error.message).toBe(`Secrets Manager can't find the specified secret value for ${what}`);
      });

      it("refuses a second rotation with another token while one is pending (InvalidRequestException)", async () => {
        await seed();
        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });

        const error = await rejection(store.rotateSecret("prod/orders/db", { clientRequestToken: token(3) }));

        expect(error.name).toBe("InvalidRequestException");
        expect(error.message).toBe("A previous rotation isn't complete. That rotation will be reattempted.");
        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
          [token(2)]: ["AWSPENDING"],
        });
      });

      it("accepts the same token again and changes nothing", async () => {
        await seed();
        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });
        const before = await store.describeSecret("prod/orders/db");

        const repeated = await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });

        expect(repeated).toEqual({ versionId: token(2) });
        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual(
          stagesMap(before.versionIdsToStages),
        );
      });

      it("lets putSecretValue fill the pending version, once", async () => {
        await seed();
        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });

        const put = await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSPENDING"],
        });
        const conflicting = await rejection(
          store.putSecretValue("prod/orders/db", secretValue("other"), {
            clientRequestToken: token(2),
            versionStages: ["AWSPENDING"],
          }),
        );

        expect(put).toMatchObject({ versionId: token(2), versionStages: ["AWSPENDING"] });
        expect(conflicting.name).toBe("ResourceExistsException");
        expect(
          await store.getSecretValue("prod/orders/db", { versionId: token(2), versionStage: "AWSPENDING" }),
        ).toMatchObject({ versionStages: ["AWSPENDING"], secretString: secretValue("v2") });
        expect((await store.getSecretValue("prod/orders/db")).secretString).toBe(secretValue("v1"));
        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
          [token(2)]: ["AWSPENDING"],
        });
      });

      it("finishes with one AWSCURRENT, one AWSPREVIOUS and no AWSPENDING, and the next rotation starts", async () => {
        await seed();
        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });
        await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSPENDING"],
        });

        await store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", {
          moveToVersionId: token(2),
          removeFromVersionId: token(1),
        });
        await store.updateSecretVersionStage("prod/orders/db", "AWSPENDING", {
          removeFromVersionId: token(2),
        });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSPREVIOUS"],
          [token(2)]: ["AWSCURRENT"],
        });
        expect(await store.getSecretValue("prod/orders/db")).toMatchObject({
          versionId: token(2),
          versionStages: ["AWSCURRENT"],
          secretString: secretValue("v2"),
        });
        await expect(store.rotateSecret("prod/orders/db", { clientRequestToken: token(3) })).resolves.toEqual(
          {
            versionId: token(3),
          },
        );
        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSPREVIOUS"],
          [token(2)]: ["AWSCURRENT"],
          [token(3)]: ["AWSPENDING"],
        });
      });

      it("is not blocked by an AWSPENDING left on the AWSCURRENT version, which moves to the new version", async () => {
        await seed();
        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });
        await store.putSecretValue("prod/orders/db", secretValue("v2"), {
          clientRequestToken: token(2),
          versionStages: ["AWSPENDING"],
        });
        await store.updateSecretVersionStage("prod/orders/db", "AWSCURRENT", {
          moveToVersionId: token(2),
          removeFromVersionId: token(1),
        });

        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(3) });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSPREVIOUS"],
          [token(2)]: ["AWSCURRENT"],
          [token(3)]: ["AWSPENDING"],
        });
      });

      it("after an abandoned rotation (AWSPENDING removed, never filled) starts again and the old version stays unreadable", async () => {
        await seed();
        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(2) });
        await store.updateSecretVersionStage("prod/orders/db", "AWSPENDING", {
          removeFromVersionId: token(2),
        });

        await store.rotateSecret("prod/orders/db", { clientRequestToken: token(3) });

        expect(stagesMap((await store.describeSecret("prod/orders/db")).versionIdsToStages)).toEqual({
          [token(1)]: ["AWSCURRENT"],
          [token(3)]: ["AWSPENDING"],
        });
        expect((await rejection(store.getSecretValue("prod/orders/db", { versionId: token(2) }))).name).toBe(
          "ResourceNotFoundException",
        );
      });

      it.each([
        ["31 characters", "t".repeat(31)],
        ["65 characters", "t".repeat(65)],
      ])("rejects a token of %s with ValidationException", async (_, badToken) => {
        await seed();

        const error = await rejection(store.rotateSecret("prod/orders/db", { clientRequestToken: badToken }));

        expect(error.name).toBe("ValidationException");
        expect((await store.describeSecret("prod/orders/db")).rotationEnabled).toBe(false);
      });
    });

    describe("getRandomPassword", () => {
      it("makes 32 printable ASCII characters with every type and no space by default", async () => {
        for (let i = 0; i < passwordSamples; i++) {
          const password = await store.getRandomPassword({ length: 32 });

          expect(password).toHaveLength(32);
          expect(password).toMatch(/^[!-~]+$/);
          expect(password).toMatch(uppercase);
          expect(password).toMatch(lowercase);
          expect(password).toMatch(digit);
          expect([...password].some(isPunctuation)).toBe(true);
        }
      });

      it("puts exactly one of each type in a password as long as the number of types", async () => {
        for (let i = 0; i < passwordSamples; i++) {
          const password = [...(await store.getRandomPassword({ length: 4 }))];

          expect(password.filter((c) => uppercase.test(c))).toHaveLength(1);
          expect(password.filter((c) => lowercase.test(c))).toHaveLength(1);
          expect(password.filter((c) => digit.test(c))).toHaveLength(1);
          expect(password.filter(isPunctuation)).toHaveLength(1);
        }
      });

      it("leaves out excluded characters and excluded types", async () => {
        for (let i = 0; i < passwordSamples; i++) {
          const password = await store.getRandomPassword({
            length: 64,
            excludeCharacters: "0Oo1lI",
            excludePunctuation: true,
          });

          expect(password).toMatch(/^[A-Za-z0-9]{64}$/);
          expect(password).not.toMatch(/[0Oo1lI]/);
          expect(password).toMatch(uppercase);
          expect(password).toMatch(lowercase);
          expect(password).toMatch(digit);
        }
        expect(
          await store.getRandomPassword({
            length: 16,
            excludeUppercase: true,
            excludeLowercase: true,
            excludePunctuation: true,
          }),
        ).toMatch(/^[0-9]{16}$/);
        expect(
          await store.getRandomPassword({ length: 16, excludeNumbers: true, excludeLowercase: true }),
        ).toMatch(/^[^0-9a-z\s]{16}$/);
      });

      it("draws punctuation from exactly the 32 printable ASCII characters that are not alphanumeric", async () => {
        const password = await store.getRandomPassword({
          length: 4_096,
          excludeUppercase: true,
          excludeLowercase: true,
          excludeNumbers: true,
        });

        expect(punctuationCharacters).toHaveLength(32);
        expect([...new Set(password)].sort()).toEqual([...punctuationCharacters].sort());
      });

      it("includes the space only when asked", async () => {
        const withSpace = await store.getRandomPassword({ length: 4_096, includeSpace: true });
        const without = await store.getRandomPassword({ length: 4_096 });

        expect(withSpace).toContain(" ");
        expect(withSpace).toMatch(/^[ -~]{4096}$/);
        expect(without).not.toContain(" ");
      });

      it("without requireEachIncludedType, makes passwords shorter than the number of types", async () => {
        const password = await store.getRandomPassword({ length: 1, requireEachIncludedType: false });

        expect(password).toMatch(/^[!-~]$/);
      });

      it("draws a new password each time", async () => {
        const first = await store.getRandomPassword({ length: 32 });
        const second = await store.getRandomPassword({ length: 32 });

        expect(first).not.toBe(second);
      });

      it.each([
        ["a length of 0", { length: 0 }, "ValidationException"],
        ["a length of 4,097", { length: 4_097 }, "ValidationException"],
        [
          "every type excluded",
          {
            length: 8,
            excludeUppercase: true,
            excludeLowercase: true,
            excludeNumbers: true,
            excludePunctuation: true,
          },
          "InvalidParameterException",
        ],
        ["fewer characters than required types", { length: 3 }, "InvalidParameterException"],
      ])("rejects %s", async (_, options, errorName) => {
        const error = await rejection(store.getRandomPassword(options));

        expect(error.name).toBe(errorName);
      });
    });

    describe("describeSecret and listSecrets", () => {
      it("describes name, ARN, description, dates and only the labelled versions", async () => {
        const { arn } = await store.createSecret({
          name: "prod/orders/db",
          secretString: secretValue("v1"),
          description: "orders database credentials",
          clientRequestToken: token(1),
        });
        await store.putSecretValue("prod/orders/db", secretValue("v2"), { clientRequestToken: token(2) });
        await store.putSecretValue("prod/orders/db", secretValue("v3"), { clientRequestToken: token(3) });

        const described = await store.describeSecret("prod/orders/db");

        expect(described).toMatchObject({
          name: "prod/orders/db",
          arn,
          description: "orders database credentials",
        });
        expect(described.createdDate).toBeInstanceOf(Date);
        expect(stagesMap(described.versionIdsToStages)).toEqual({
          [token(2)]: ["AWSPREVIOUS"],
          [token(3)]: ["AWSCURRENT"],
        });
      });

      it("lists every secret with its labels and never a value", async () => {
        await seed("prod/orders/db");
        await store.createSecret({ name: "prod/payments/api-key", secretString: secretValue("key") });
        await store.createSecret({ name: "staging/empty" });

        const listed = await store.listSecrets();

        expect(listed.map((s) => s.name).sort()).toEqual([
          "prod/orders/db",
          "prod/payments/api-key",
          "staging/empty",
        ]);
        expect(listed.find((s) => s.name === "prod/orders/db")?.versionIdsToStages).toEqual({
          [token(1)]: ["AWSCURRENT"],
        });
        expect(listed.find((s) => s.name === "staging/empty")?.versionIdsToStages).toEqual({});
        expect(JSON.stringify(listed)).not.toContain("s3cr3t");
      });

      it("lists nothing for an empty store", async () => {
        expect(await store.listSecrets()).toEqual([]);
      });
    });
  });
};

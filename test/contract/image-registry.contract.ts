// The ImageRegistry contract: lookups by tag and by digest with ECR's tag semantics, for every adapter.

import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ImageRegistry } from "../../functions/core/ports.ts";

/** A registry under test and the registry-side actions that change what it holds. */
export interface ImageRegistryFixture {
  registry: ImageRegistry;
  /** Pushes an image, as `docker push` does: the tag, when given, moves to this digest. */
  push(image: { repository: string; digest: string; tag?: string; pushedAt: string }): Promise<void>;
  /** Deletes an image and all its tags (BatchDeleteImage by digest). */
  deleteImage(repository: string, digest: string): Promise<void>;
  /** Removes one tag (BatchDeleteImage by tag): the image goes with its last tag. */
  untag(repository: string, tag: string): Promise<void>;
  cleanup?: () => Promise<void>;
}

/** A well-formed digest per label, so images are told apart by name in the tests. */
const digest = (label: string): string => `sha256:${createHash("sha256").update(label).digest("hex")}`;

/**
 * Registers the ImageRegistry contract for one adapter. `makeRegistry` is called before each test and must return
 * a registry with no images.
 *
 * @example
 * describeImageRegistryContract("SqliteImageRegistry", async () => {
 *   const registry = new SqliteImageRegistry({ db: openDatabase(":memory:") });
 *   return { registry, push: async (image) => registry.record(image), ... };
 * });
 */
export const describeImageRegistryContract = (
  name: string,
  makeRegistry: () => Promise<ImageRegistryFixture>,
): void => {
  describe(`ImageRegistry contract: ${name}`, () => {
    let fixture: ImageRegistryFixture;
    let registry: ImageRegistry;

    beforeEach(async () => {
      fixture = await makeRegistry();
      registry = fixture.registry;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    it("finds an image by its tag, with its digest, tags and push time", async () => {
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "1.4.2",
        pushedAt: "2025-01-14T09:30:12Z",
      });

      expect(await registry.findImage("checkout", { tag: "1.4.2" })).toEqual({
        repository: "checkout",
        digest: digest("a"),
        tags: ["1.4.2"],
        pushedAt: "2025-01-14T09:30:12.000Z",
      });
    });

    it("finds an image by its digest", async () => {
      await fixture.push({
        repository: "payments/worker",
        digest: digest("a"),
        tag: "main-63180b6",
        pushedAt: "2025-01-14T09:30:12Z",
      });

      expect(await registry.findImage("payments/worker", { digest: digest("a") })).toEqual({
        repository: "payments/worker",
        digest: digest("a"),
        tags: ["main-63180b6"],
        pushedAt: "2025-01-14T09:30:12.000Z",
      });
    });

    it("lists every tag of an image, sorted, and keeps its first push time when it is tagged again", async () => {
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "1.4.2",
        pushedAt: "2025-01-14T09:30:12Z",
      });
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "stable",
        pushedAt: "2025-01-15T08:00:00Z",
      });

      const expected = {
        repository: "checkout",
        digest: digest("a"),
        tags: ["1.4.2", "stable"],
        pushedAt: "2025-01-14T09:30:12.000Z",
      };
      expect(await registry.findImage("checkout", { tag: "stable" })).toEqual(expected);
      expect(await registry.findImage("checkout", { tag: "1.4.2" })).toEqual(expected);
      expect(await registry.findImage("checkout", { digest: digest("a") })).toEqual(expected);
    });

    it("moves a re-pushed tag to the new image and leaves the old one untagged, still found by digest", async () => {
      await fixture.push({
        repository: "storefront",
        digest: digest("old"),
        tag: "stable",
        pushedAt: "2025-01-14T09:00:00Z",
      });
      await fixture.push({
        repository: "storefront",
        digest: digest("new"),
        tag: "stable",
        pushedAt: "2025-01-14T10:00:00Z",
      });

      expect(await registry.findImage("storefront", { tag: "stable" })).toMatchObject({
        digest: digest("new"),
        tags: ["stable"],
        pushedAt: "2025-01-14T10:00:00.000Z",
      });
      expect(await registry.findImage("storefront", { digest: digest("old") })).toEqual({
        repository: "storefront",
        digest: digest("old"),
        tags: [],
        pushedAt: "2025-01-14T09:00:00.000Z",
      });
    });

    it("finds an image pushed by digest alone by its digest, untagged", async () => {
      await fixture.push({ repository: "checkout", digest: digest("a"), pushedAt: "2025-01-14T09:30:12Z" });

      expect(await registry.findImage("checkout", { digest: digest("a") })).toMatchObject({ tags: [] });
    });

    it.each([
      ["a tag it does not have", "checkout", { tag: "9.9.9" }],
      ["a digest it does not have", "checkout", { digest: digest("missing") }],
      ["a repository it does not have", "no-such-repository", { tag: "1.4.2" }],
      ["a repository it does not have, by digest", "no-such-repository", { digest: digest("a") }],
    ])("answers undefined for %s", async (_, repository, ref) => {
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "1.4.2",
        pushedAt: "2025-01-14T09:30:12Z",
      });

      expect(await registry.findImage(repository, ref)).toBeUndefined();
    });

    it("keeps repositories apart: the same tag names different images", async () => {
      await fixture.push({
        repository: "team-a/app",
        digest: digest("a"),
        tag: "1.0.0",
        pushedAt: "2025-01-14T09:00:00Z",
      });
      await fixture.push({
        repository: "team-b/app",
        digest: digest("b"),
        tag: "1.0.0",
        pushedAt: "2025-01-14T09:00:00Z",
      });

      expect((await registry.findImage("team-a/app", { tag: "1.0.0" }))?.digest).toBe(digest("a"));
      expect((await registry.findImage("team-b/app", { tag: "1.0.0" }))?.digest).toBe(digest("b"));
      expect(await registry.findImage("team-b/app", { digest: digest("a") })).toBeUndefined();
    });

    it("forgets a deleted image and all its tags", async () => {
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "1.4.2",
        pushedAt: "2025-01-14T09:00:00Z",
      });
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "stable",
        pushedAt: "2025-01-14T09:01:00Z",
      });

      await fixture.deleteImage("checkout", digest("a"));

      expect(await registry.findImage("checkout", { digest: digest("a") })).toBeUndefined();
      expect(await registry.findImage("checkout", { tag: "1.4.2" })).toBeUndefined();
      expect(await registry.findImage("checkout", { tag: "stable" })).toBeUndefined();
    });

    it("removes one tag and keeps the image while it has another; the last tag takes the image with it", async () => {
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "1.4.2",
        pushedAt: "2025-01-14T09:00:00Z",
      });
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "stable",
        pushedAt: "2025-01-14T09:01:00Z",
      });

      await fixture.untag("checkout", "stable");

      expect(await registry.findImage("checkout", { tag: "stable" })).toBeUndefined();
      expect(await registry.findImage("checkout", { digest: digest("a") })).toMatchObject({
        tags: ["1.4.2"],
      });

      await fixture.untag("checkout", "1.4.2");

      expect(await registry.findImage("checkout", { digest: digest("a") })).toBeUndefined();
    });

    it("finds an image pushed again after its deletion, with the new push time", async () => {
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "1.4.2",
        pushedAt: "2025-01-14T09:00:00Z",
      });
      await fixture.deleteImage("checkout", digest("a"));
      await fixture.push({
        repository: "checkout",
        digest: digest("a"),
        tag: "1.4.2",
        pushedAt: "2025-01-16T12:00:00Z",
      });

      expect(await registry.findImage("checkout", { tag: "1.4.2" })).toMatchObject({
        digest: digest("a"),
        pushedAt: "2025-01-16T12:00:00.000Z",
      });
    });
  });
};

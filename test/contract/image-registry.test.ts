// Runs the ImageRegistry contract against SQLite and against ECR (an in-memory ECR behind a DescribeImages client).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import {
  type DescribeImagesInput,
  type DescribeImagesOutput,
  type EcrClientLike,
  type EcrImageDetail,
  EcrImageRegistry,
} from "../../functions/adapters/aws/ecr-image-registry.ts";
import { SqliteImageRegistry } from "../../local/adapters/sqlite-image-registry.ts";
import { openDatabase } from "../../local/db.ts";
import { ecrPushEntry, recordImageEvent } from "../../local/image-recorder.ts";
import { describeImageRegistryContract } from "./image-registry.contract.ts";

const accountId = "123456789012";
const digest = (label: string): string => `sha256:${createHash("sha256").update(label).digest("hex")}`;
const digestPattern = /^sha256:[0-9a-f]{64}$/;

/** Stands in for the SDK's `DescribeImagesCommand`: a command that carries its input to `send`. */
class DescribeImagesCommand {
  constructor(readonly input: DescribeImagesInput) {}
}

/** An error as the SDK raises a service exception: `name`, `$fault`, `$metadata.httpStatusCode`. */
const serviceError = (name: string, message: string, httpStatusCode = 400): Error =>
  Object.assign(new Error(message), {
    name,
    $fault: httpStatusCode >= 500 ? "server" : "client",
    $metadata: { httpStatusCode },
  });

interface FakeRepository {
  /** digest → first push time. */
  images: Map<string, Date>;
  /** tag → digest. */
  tags: Map<string, string>;
}

/**
 * An ECR registry in memory. Pushes and deletions follow ECR: a pushed tag moves to the pushed digest, tagging an
 * image again keeps its push time, removing an image's last tag deletes it. `send` answers DescribeImages by
 * `imageIds` as ECR does — `RepositoryNotFoundException` for an unknown repository, `ImageNotFoundException` for
 * an id it does not hold, `InvalidParameterException` for a malformed one — and refuses any command or parameter it
 * does not model, so it cannot pass a request it did not understand.
 */
const ecrFake = () => {
  const repositories = new Map<string, FakeRepository>();
  const requests: DescribeImagesInput[] = [];
  const supported = new Set(["repositoryName", "registryId", "imageIds"]);

  const describeImage = (name: string, repository: FakeRepository, imageDigest: string): EcrImageDetail => {
    // ECR promises no order of tags; newest first here, so a caller that needs an order must impose it.
    const tags = [...repository.tags]
      .filter(([, d]) => d === imageDigest)
      .map(([tag]) => tag)
      .reverse();
    return {
      registryId: accountId,
      repositoryName: name,
      imageDigest,
      ...(tags.length > 0 && { imageTags: tags }),
      imagePushedAt: new Date(repository.images.get(imageDigest)!),
    };
  };

  const client: EcrClientLike = {
    send: async (command): Promise<DescribeImagesOutput> => {
      if (!(command instanceof DescribeImagesCommand))
        throw new Error("the ECR fake answers DescribeImages only");
      const input = command.input;
      requests.push(structuredClone(input));
      for (const key of Object.keys(input)) {
        if (!supported.has(key)) throw new Error(`the ECR fake does not model DescribeImages' ${key}`);
      }
      const name = input.repositoryName;
      if (typeof name !== "string" || name.length < 2) {
        throw serviceError("InvalidParameterException", "repositoryName must be 2-256 characters");
      }
      const registry = input.registryId ?? accountId;
      const repository = repositories.get(name);
      if (registry !== accountId || repository === undefined) {
        throw serviceError(
          "RepositoryNotFoundException",
          `The repository with name '${name}' does not exist in the registry with id '${registry}'`,
        );
      }
      if (input.imageIds === undefined || input.imageIds.length === 0) {
        throw new Error("the ECR fake does not model listing a repository without imageIds");
      }
      const imageDetails = input.imageIds.map((id) => {
        if (id.imageTag === undefined && id.imageDigest === undefined) {
          throw serviceError("InvalidParameterException", "an image id needs an imageTag or an imageDigest");
        }
        if (id.imageDigest !== undefined && !digestPattern.test(id.imageDigest)) {
          throw serviceError(
            "InvalidParameterException",
            `Invalid parameter: imageDigest '${id.imageDigest}'`,
          );
        }
        const found = id.imageTag !== undefined ? repository.tags.get(id.imageTag) : id.imageDigest;
        if (
          found === undefined ||
          !repository.images.has(found) ||
          (id.imageDigest !== undefined && id.imageDigest !== found)
        ) {
          throw serviceError(
            "ImageNotFoundException",
            `The image with imageId {imageDigest:'${id.imageDigest ?? "null"}', imageTag:'${id.imageTag ?? "null"}'} does not exist within the repository with name '${name}' in the registry with id '${registry}'`,
          );
        }
        return describeImage(name, repository, found);
      });
      return { imageDetails };
    },
  };

  const repositoryFor = (name: string): FakeRepository => {
    let repository = repositories.get(name);
    if (repository === undefined) {
      // As if the repository had been created before the first push, which ECR requires.
      repository = { images: new Map(), tags: new Map() };
      repositories.set(name, repository);
    }
    return repository;
  };

  return {
    client,
    requests,
    push: async (image: { repository: string; digest: string; tag?: string; pushedAt: string }) => {
      const repository = repositoryFor(image.repository);
      if (!repository.images.has(image.digest)) repository.images.set(image.digest, new Date(image.pushedAt));
      if (image.tag !== undefined) repository.tags.set(image.tag, image.digest);
    },
    deleteImage: async (name: string, imageDigest: string) => {
      const repository = repositoryFor(name);
      repository.images.delete(imageDigest);
      for (const [tag, d] of repository.tags) if (d === imageDigest) repository.tags.delete(tag);
    },
    untag: async (name: string, tag: string) => {
      const repository = repositoryFor(name);
      const tagged = repository.tags.get(tag);
      repository.tags.delete(tag);
      if (tagged !== undefined && ![...repository.tags.values()].includes(tagged)) {
        repository.images.delete(tagged);
      }
    },
  };
};

describeImageRegistryContract("SqliteImageRegistry (local)", async () => {
  const db = openDatabase(":memory:");
  const registry = new SqliteImageRegistry({ db });
  return {
    registry,
    push: async (image) => registry.record(image),
    deleteImage: async (repository, imageDigest) => registry.forget(repository, imageDigest),
    untag: async (repository, tag) => {
      const image = await registry.findImage(repository, { tag });
      if (image !== undefined) registry.forget(repository, image.digest, tag);
    },
    cleanup: async () => {
      db.close();
    },
  };
});

describeImageRegistryContract("EcrImageRegistry (DescribeImages against an ECR fake)", async () => {
  const fake = ecrFake();
  return {
    registry: new EcrImageRegistry({ client: fake.client, describeImagesCommand: DescribeImagesCommand }),
    push: fake.push,
    deleteImage: fake.deleteImage,
    untag: fake.untag,
  };
});

describe("EcrImageRegistry requests and failures", () => {
  const failingWith = (error: unknown) =>
    new EcrImageRegistry({
      client: {
        send: async () => {
          throw error;
        },
      },
      describeImagesCommand: DescribeImagesCommand,
    });

  it("asks DescribeImages for exactly the one image, by imageTag or by imageDigest", async () => {
    const fake = ecrFake();
    await fake.push({
      repository: "checkout",
      digest: digest("a"),
      tag: "1.4.2",
      pushedAt: "2025-01-14T09:30:12Z",
    });
    const registry = new EcrImageRegistry({
      client: fake.client,
      describeImagesCommand: DescribeImagesCommand,
    });

    await registry.findImage("checkout", { tag: "1.4.2" });
    await registry.findImage("checkout", { digest: digest("a") });

    expect(fake.requests).toEqual([
      { repositoryName: "checkout", imageIds: [{ imageTag: "1.4.2" }] },
      { repositoryName: "checkout", imageIds: [{ imageDigest: digest("a") }] },
    ]);
  });

  it("names another account's registry when configured with one", async () => {
    const fake = ecrFake();
    const registry = new EcrImageRegistry({
      client: fake.client,
      describeImagesCommand: DescribeImagesCommand,
      registryId: "210987654321",
    });

    expect(await registry.findImage("checkout", { tag: "1.4.2" })).toBeUndefined();
    expect(fake.requests).toEqual([
      { repositoryName: "checkout", registryId: "210987654321", imageIds: [{ imageTag: "1.4.2" }] },
    ]);
  });

  it.each([
    ["ThrottlingException", 400],
    ["ServerException", 500],
    ["ServiceUnavailable", 503],
    ["TooManyRequestsException", 429],
  ])("turns %s (%i) into a TransientError that keeps the SDK error as cause", async (name, status) => {
    const error = serviceError(name, "Rate exceeded", status);

    const thrown = await failingWith(error)
      .findImage("checkout", { tag: "1.4.2" })
      .catch((e: unknown) => e);

    expect(thrown).toMatchObject({ name: "TransientError", retryable: true, cause: error });
    expect((thrown as Error).message).toContain("checkout:1.4.2");
  });

  it.each([
    ["AccessDeniedException", 400],
    ["InvalidParameterException", 400],
  ])("lets %s through untouched", async (name, status) => {
    const error = serviceError(name, "refused", status);

    await expect(failingWith(error).findImage("checkout", { digest: digest("a") })).rejects.toBe(error);
  });

  it("answers undefined when DescribeImages lists no image", async () => {
    const registry = new EcrImageRegistry({
      client: { send: async () => ({ imageDetails: [] }) },
      describeImagesCommand: DescribeImagesCommand,
    });

    expect(await registry.findImage("checkout", { tag: "1.4.2" })).toBeUndefined();
  });

  it("refuses an answer without the digest or the push time rather than invent them", async () => {
    const registry = new EcrImageRegistry({
      client: {
        send: async () => ({ imageDetails: [{ repositoryName: "checkout", imageTags: ["1.4.2"] }] }),
      },
      describeImagesCommand: DescribeImagesCommand,
    });

    await expect(registry.findImage("checkout", { tag: "1.4.2" })).rejects.toMatchObject({
      name: "TransientError",
    });
  });
});

describe("SqliteImageRegistry beyond the contract", () => {
  let registry: SqliteImageRegistry;
  const now = new Date("2026-05-01T12:00:00.000Z");

  beforeEach(() => {
    registry = new SqliteImageRegistry({ db: openDatabase(":memory:"), clock: { now: () => now } });
  });

  it("never moves a tag back to an older push that is reported late", async () => {
    registry.record({
      repository: "storefront",
      digest: digest("new"),
      tag: "stable",
      pushedAt: "2025-01-14T10:00:00Z",
    });
    registry.record({
      repository: "storefront",
      digest: digest("old"),
      tag: "stable",
      pushedAt: "2025-01-14T09:00:00Z",
    });

    expect(await registry.findImage("storefront", { tag: "stable" })).toMatchObject({
      digest: digest("new"),
    });
    expect(await registry.findImage("storefront", { digest: digest("old") })).toMatchObject({ tags: [] });
  });

  it("gives a tag pushed twice in the same instant to the higher digest, whatever the order", async () => {
    const [low, high] = [digest("x"), digest("y")].sort();
    const pushedAt = "2025-01-14T10:00:00Z";
    registry.record({ repository: "storefront", digest: high!, tag: "stable", pushedAt });
    registry.record({ repository: "storefront", digest: low!, tag: "stable", pushedAt });

    expect((await registry.findImage("storefront", { tag: "stable" }))?.digest).toBe(high);
  });

  it("records the same push twice as once", async () => {
    const push = {
      repository: "checkout",
      digest: digest("a"),
      tag: "1.4.2",
      pushedAt: "2025-01-14T09:30:12Z",
    };
    registry.record(push);
    registry.record(push);

    expect(await registry.findImage("checkout", { tag: "1.4.2" })).toEqual({
      repository: "checkout",
      digest: digest("a"),
      tags: ["1.4.2"],
      pushedAt: "2025-01-14T09:30:12.000Z",
    });
  });

  it("takes a push without a time as pushed now, by its clock", async () => {
    registry.record({ repository: "checkout", digest: digest("a"), tag: "1.4.2" });

    expect((await registry.findImage("checkout", { tag: "1.4.2" }))?.pushedAt).toBe(now.toISOString());
  });

  it("forgets what it never saw without complaint", () => {
    expect(() => registry.forget("checkout", digest("a"))).not.toThrow();
    expect(() => registry.forget("checkout", digest("a"), "1.4.2")).not.toThrow();
  });

  it.each([
    [
      "a malformed digest",
      { repository: "checkout", digest: "sha256:abc", pushedAt: "2025-01-14T09:30:12Z" },
    ],
    [
      "a tag ECR refuses",
      { repository: "checkout", digest: digest("a"), tag: "-x", pushedAt: "2025-01-14T09:30:12Z" },
    ],
    ["a time that is not one", { repository: "checkout", digest: digest("a"), pushedAt: "yesterday" }],
    ["no repository", { repository: "", digest: digest("a"), pushedAt: "2025-01-14T09:30:12Z" }],
  ])("refuses %s with a ValidationError", (_, push) => {
    expect(() => registry.record(push)).toThrow(expect.objectContaining({ name: "ValidationError" }));
  });
});

describe("recordImageEvent (the local bus feeding the registry)", () => {
  let registry: SqliteImageRegistry;
  const sample = (file: string): Record<string, unknown> =>
    JSON.parse(readFileSync(`events/samples/${file}`, "utf8")) as Record<string, unknown>;

  beforeEach(() => {
    registry = new SqliteImageRegistry({ db: openDatabase(":memory:") });
  });

  it("records a successful ECR push at the event's time", async () => {
    const push = sample("aws.ecr/image-push.json");

    expect(recordImageEvent(registry, push)).toEqual({
      action: "recorded",
      repository: "checkout",
      digest: "sha256:ccd8754af7c2666412c4e48ccaac2f689b85ad9c59eccd8a1fecba5bd17d164a",
      tag: "1.4.2",
    });
    expect(await registry.findImage("checkout", { tag: "1.4.2" })).toEqual({
      repository: "checkout",
      digest: "sha256:ccd8754af7c2666412c4e48ccaac2f689b85ad9c59eccd8a1fecba5bd17d164a",
      tags: ["1.4.2"],
      pushedAt: "2025-01-14T09:30:12.000Z",
    });
  });

  it("forgets an image ECR reports deleted", async () => {
    const deletion = sample("aws.ecr/image-delete.json");
    const deleted = (deletion.detail as Record<string, string>)["image-digest"]!;
    registry.record({
      repository: "checkout",
      digest: deleted,
      tag: "1.4.1",
      pushedAt: "2025-01-10T00:00:00Z",
    });

    expect(recordImageEvent(registry, deletion)).toMatchObject({ action: "forgotten", digest: deleted });
    expect(await registry.findImage("checkout", { digest: deleted })).toBeUndefined();
  });

  it("removes only the tag an ECR deletion names, keeping an image that has another", async () => {
    registry.record({
      repository: "checkout",
      digest: digest("a"),
      tag: "1.4.2",
      pushedAt: "2025-01-10T00:00:00Z",
    });
    registry.record({
      repository: "checkout",
      digest: digest("a"),
      tag: "stable",
      pushedAt: "2025-01-10T00:01:00Z",
    });
    const untag = {
      ...sample("aws.ecr/image-delete.json"),
      detail: {
        result: "SUCCESS",
        "repository-name": "checkout",
        "image-digest": digest("a"),
        "action-type": "DELETE",
        "image-tag": "stable",
      },
    };

    expect(recordImageEvent(registry, untag)).toMatchObject({ action: "forgotten", tag: "stable" });
    expect(await registry.findImage("checkout", { digest: digest("a") })).toMatchObject({ tags: ["1.4.2"] });
  });

  it.each([
    ["a failed push", "aws.ecr/image-push-failed.json"],
    ["a GitHub release", "github.com/release-published.json"],
    ["a CloudWatch alarm", "aws.cloudwatch/alarm-state-change.json"],
  ])("ignores %s, saying why", (_, file) => {
    expect(recordImageEvent(registry, sample(file))).toMatchObject({
      action: "ignored",
      reason: expect.any(String),
    });
  });

  it("ignores a malformed ECR event instead of failing the bus", () => {
    const malformed = { ...sample("aws.ecr/image-push.json"), detail: { "repository-name": "checkout" } };

    expect(recordImageEvent(registry, malformed)).toMatchObject({ action: "ignored" });
    expect(recordImageEvent(registry, null)).toMatchObject({ action: "ignored" });
  });

  it("records what ecrPushEntry puts on the bus", async () => {
    const clock = { now: () => new Date("2026-05-01T12:00:00.750Z") };
    const entry = ecrPushEntry("payments/worker", "main-63180b6", undefined, clock);
    const event = {
      source: entry.Source,
      "detail-type": entry.DetailType,
      time: entry.Time,
      detail: JSON.parse(entry.Detail),
    };

    expect(recordImageEvent(registry, event)).toMatchObject({ action: "recorded", tag: "main-63180b6" });
    expect(await registry.findImage("payments/worker", { tag: "main-63180b6" })).toMatchObject({
      pushedAt: "2026-05-01T12:00:00.000Z",
    });
  });
});

describe("ecrPushEntry", () => {
  const at = (iso: string) => ({ now: () => new Date(iso) });

  it("builds the PutEvents entry of a successful ECR push on the default bus, at a whole second", () => {
    const named = digest("a");

    expect(ecrPushEntry("checkout", "1.4.2", named, at("2026-05-01T12:00:00.750Z"))).toEqual({
      Source: "aws.ecr",
      DetailType: "ECR Image Action",
      Detail: JSON.stringify({
        result: "SUCCESS",
        "repository-name": "checkout",
        "image-digest": named,
        "action-type": "PUSH",
        "image-tag": "1.4.2",
      }),
      Time: "2026-05-01T12:00:00Z",
      EventBusName: "default",
    });
  });

  it("derives a digest from repository, tag and time when none is given", () => {
    const digestIn = (repository: string, tag: string, iso: string) =>
      JSON.parse(ecrPushEntry(repository, tag, undefined, at(iso)).Detail)["image-digest"] as string;

    const first = digestIn("checkout", "1.4.2", "2026-05-01T12:00:00.100Z");
    expect(first).toMatch(digestPattern);
    expect(digestIn("checkout", "1.4.2", "2026-05-01T12:00:00.900Z")).toBe(first);
    expect(digestIn("checkout", "1.4.2", "2026-05-01T12:00:01Z")).not.toBe(first);
    expect(digestIn("checkout", "1.4.3", "2026-05-01T12:00:00Z")).not.toBe(first);
    expect(digestIn("storefront", "1.4.2", "2026-05-01T12:00:00Z")).not.toBe(first);
  });

  it.each([
    ["a repository ECR refuses", "Checkout", "1.4.2", undefined],
    ["a tag ECR refuses", "checkout", "-1.4.2", undefined],
    ["a malformed digest", "checkout", "1.4.2", "sha256:abc"],
  ])("refuses %s with a ValidationError", (_, repository, tag, named) => {
    expect(() => ecrPushEntry(repository, tag, named, at("2026-05-01T12:00:00Z"))).toThrow(
      expect.objectContaining({ name: "ValidationError" }),
    );
  });
});

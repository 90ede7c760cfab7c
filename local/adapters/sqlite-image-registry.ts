// The local ImageRegistry: the images the local runtime has seen pushed, with ECR's tag semantics, in SQLite.

import { ValidationError } from "../../functions/core/errors.ts";
import type { Clock, ImageRegistry, RegistryImage } from "../../functions/core/ports.ts";
import type { SqliteDatabase } from "../db.ts";

const digestPattern = /^sha256:[0-9a-f]{64}$/;
/** A tag as ECR and the OCI distribution spec accept it. */
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const schema = `
  CREATE TABLE IF NOT EXISTS registry_images (
    repository TEXT NOT NULL,
    digest TEXT NOT NULL,
    -- The manifest's first push: ECR keeps an image's push time when the image is tagged again later.
    pushed_at TEXT NOT NULL,
    pushed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (repository, digest)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS registry_tags (
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT NOT NULL,
    -- The push that put the tag on this digest: a late event for an older push must not move it back.
    tagged_at_ms INTEGER NOT NULL,
    PRIMARY KEY (repository, tag),
    FOREIGN KEY (repository, digest) REFERENCES registry_images (repository, digest) ON DELETE CASCADE
  ) STRICT;
  CREATE INDEX IF NOT EXISTS registry_tags_by_image ON registry_tags (repository, digest);
`;

interface ImageRow {
  repository: string;
  digest: string;
  pushed_at: string;
}

const prepareStatements = (db: SqliteDatabase) => ({
  // The earliest push wins whatever order the events arrive in, so a replayed log ends where it started.
  putImage: db.prepare<[string, string, string, number]>(
    `INSERT INTO registry_images (repository, digest, pushed_at, pushed_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (repository, digest) DO UPDATE SET pushed_at = excluded.pushed_at, pushed_at_ms = excluded.pushed_at_ms
       WHERE excluded.pushed_at_ms < registry_images.pushed_at_ms`,
  ),
  // A tag belongs to its newest push; pushes in the same millisecond go to the higher digest, as promotion decides.
  putTag: db.prepare<[string, string, string, number]>(
    `INSERT INTO registry_tags (repository, tag, digest, tagged_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, tagged_at_ms = excluded.tagged_at_ms
       WHERE (excluded.tagged_at_ms, excluded.digest) > (registry_tags.tagged_at_ms, registry_tags.digest)`,
  ),
  deleteImage: db.prepare<[string, string]>(
    "DELETE FROM registry_images WHERE repository = ? AND digest = ?",
  ),
  deleteTag: db.prepare<[string, string, string]>(
    "DELETE FROM registry_tags WHERE repository = ? AND tag = ? AND digest = ?",
  ),
  deleteIfUntagged: db.prepare<[string, string]>(
    `DELETE FROM registry_images WHERE repository = ? AND digest = ?
       AND NOT EXISTS (SELECT 1 FROM registry_tags t WHERE t.repository = registry_images.repository AND t.digest = registry_images.digest)`,
  ),
  imageByDigest: db.prepare<[string, string], ImageRow>(
    "SELECT repository, digest, pushed_at FROM registry_images WHERE repository = ? AND digest = ?",
  ),
  imageByTag: db.prepare<[string, string], ImageRow>(
    `SELECT i.repository, i.digest, i.pushed_at FROM registry_tags t
       JOIN registry_images i ON i.repository = t.repository AND i.digest = t.digest
       WHERE t.repository = ? AND t.tag = ?`,
  ),
  tagsOf: db.prepare<[string, string], { tag: string }>(
    "SELECT tag FROM registry_tags WHERE repository = ? AND digest = ? ORDER BY tag",
  ),
});

/** One image push, as an ECR `Image Action` PUSH reports it. */
export interface ImagePush {
  repository: string;
  digest: string;
  /** Absent for a push by digest alone. */
  tag?: string;
  /** When ECR accepted the push (the event's `time`); now, by the registry's clock, when absent. */
  pushedAt?: string;
}

export interface SqliteImageRegistryOptions {
  db: SqliteDatabase;
  clock?: Clock;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * The ImageRegistry port for the local runtime, fed by the ECR events the local bus accepts
 * (`local/image-recorder.ts`). It keeps ECR's semantics: a pushed tag moves to the digest it was pushed with and
 * leaves the image it was on untagged (still found by digest); tagging an image again keeps its first push time;
 * deleting the last tag of an image deletes the image. `record` and `forget` are synchronous, so they can run
 * inside the transaction that stores the event.
 *
 * @example
 * const registry = new SqliteImageRegistry({ db: openDatabase(join(home, "state.db")) });
 * registry.record({ repository: "checkout", digest: "sha256:…", tag: "1.4.2", pushedAt: "2025-01-14T09:30:12Z" });
 * await registry.findImage("checkout", { tag: "1.4.2" }); // { repository: "checkout", digest: "sha256:…", tags: ["1.4.2"], … }
 */
export class SqliteImageRegistry implements ImageRegistry {
  private readonly db: SqliteDatabase;
  private readonly clock: Clock;
  private readonly sql: ReturnType<typeof prepareStatements>;

  constructor(options: SqliteImageRegistryOptions) {
    this.db = options.db;
    this.clock = options.clock ?? systemClock;
    this.db.exec(schema);
    this.sql = prepareStatements(this.db);
  }

  /** Records a push. Recording the same push again changes nothing; an older push never takes a tag back. */
  record(push: ImagePush): void {
    const pushedAt = push.pushedAt === undefined ? this.clock.now() : new Date(push.pushedAt);
    checkImage(push.repository, push.digest);
    if (Number.isNaN(pushedAt.getTime())) {
      throw new ValidationError(`pushedAt "${push.pushedAt}" is not an ISO 8601 time`);
    }
    if (push.tag !== undefined && !tagPattern.test(push.tag)) {
      throw new ValidationError(`"${push.tag}" is not an image tag (1-128 of [A-Za-z0-9_.-])`);
    }
    const pushedAtMs = pushedAt.getTime();
    this.db.transaction(() => {
      this.sql.putImage.run(push.repository, push.digest, pushedAt.toISOString(), pushedAtMs);
      if (push.tag !== undefined) this.sql.putTag.run(push.repository, push.tag, push.digest, pushedAtMs);
    })();
  }

  /**
   * Records a deletion, as an ECR `Image Action` DELETE reports it: without a tag the image and all its tags go;
   * with one only that tag goes, and the image with it when it was the last. Forgetting what is unknown is no error.
   */
  forget(repository: string, digest: string, tag?: string): void {
    checkImage(repository, digest);
    this.db.transaction(() => {
      if (tag === undefined) {
        this.sql.deleteImage.run(repository, digest);
        return;
      }
      this.sql.deleteTag.run(repository, tag, digest);
      this.sql.deleteIfUntagged.run(repository, digest);
    })();
  }

  async findImage(
    repository: string,
    ref: { tag: string } | { digest: string },
  ): Promise<RegistryImage | undefined> {
    const row =
      "tag" in ref
        ? this.sql.imageByTag.get(repository, ref.tag)
        : this.sql.imageByDigest.get(repository, ref.digest);
    if (row === undefined) return undefined;
    return {
      repository: row.repository,
      digest: row.digest,
      tags: this.sql.tagsOf.all(row.repository, row.digest).map((r) => r.tag),
      pushedAt: row.pushed_at,
    };
  }
}

const checkImage = (repository: string, digest: string): void => {
  if (repository === "") throw new ValidationError("an image needs a repository name");
  if (!digestPattern.test(digest)) {
    throw new ValidationError(`"${digest}" is not an image digest (sha256:<64 lowercase hex>)`);
  }
};

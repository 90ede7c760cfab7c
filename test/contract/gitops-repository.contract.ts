// The GitOpsRepository contract: commit semantics and optimistic concurrency, run against every adapter.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CommitAuthor, GitOpsRepository } from "../../functions/core/ports.ts";

/** What a test needs to know about a commit; read by each adapter's own means, since the port has no such call. */
export interface CommitInfo {
  parents: string[];
  message: string;
  author: CommitAuthor;
  /** Paths whose content differs from the first parent. */
  changedPaths: string[];
}

export interface GitOpsRepositoryFixture {
  /** A repository whose branch holds `initialFiles` in one commit, retrying conflicts without real delays. */
  repository: GitOpsRepository;
  /** Retry attempts the repository was configured with. */
  attempts: number;
  /**
   * Commits `files` on the branch as another writer would, synchronously, so a test can call it from inside `edit`
   * (between the adapter's read and its write). Returns the new head.
   */
  advanceBranch(files: Record<string, string>): string;
  commitInfo(revision: string): Promise<CommitInfo>;
  cleanup(): Promise<void>;
}

const valuesPath = "envs/staging/checkout/values.yaml";
const initialValues = '# checkout in staging\nimage:\n  tag: "1.0.0"\n';
const initialFiles: Record<string, string> = {
  "README.md": "# GitOps\n",
  [valuesPath]: initialValues,
  "envs/production/checkout/values.yaml": 'image:\n  tag: "0.9.0"\n',
};
const concurrentWriters = 20;

/** Captures a rejection so its name can be checked without the test knowing the class. */
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
 * Registers the GitOpsRepository contract for one adapter. `make` is called before each test with the files the
 * branch must start with.
 *
 * @example
 * describeGitOpsRepositoryContract("GitGitOpsRepository", async (files) => {
 *   const dir = mkdtempSync(join(tmpdir(), "gitops-"));
 *   const repository = await GitGitOpsRepository.init(dir, { files, retry, sleep: async () => {} });
 *   return { repository, attempts: retry.attempts, advanceBranch, commitInfo, cleanup };
 * });
 */
export const describeGitOpsRepositoryContract = (
  name: string,
  make: (initialFiles: Record<string, string>) => Promise<GitOpsRepositoryFixture>,
): void => {
  describe(`GitOpsRepository contract: ${name}`, () => {
    let fixture: GitOpsRepositoryFixture;
    let repository: GitOpsRepository;

    beforeEach(async () => {
      fixture = await make(initialFiles);
      repository = fixture.repository;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    describe("readFile", () => {
      it("reads a file at the head and names the head as its revision", async () => {
        const head = await repository.head();

        expect(await repository.readFile(valuesPath)).toEqual({ content: initialValues, revision: head });
      });

      it("reads a file as it was at an older revision", async () => {
        const before = await repository.head();
        await repository.updateFile({
          path: valuesPath,
          message: "bump",
          edit: () => "image:\n  tag: 2.0.0\n",
        });

        expect(await repository.readFile(valuesPath, before)).toEqual({
          content: initialValues,
          revision: before,
        });
        expect((await repository.readFile(valuesPath))?.content).toBe("image:\n  tag: 2.0.0\n");
      });

      it("answers undefined for a file that does not exist, and for a directory's missing child", async () => {
        expect(await repository.readFile("envs/staging/nothing/values.yaml")).toBeUndefined();
        expect(await repository.readFile("README.md/child")).toBeUndefined();
      });

      it("refuses to read a directory as a file", async () => {
        expect((await rejection(repository.readFile("envs/staging"))).name).toBe("ValidationError");
      });

      it("reports an unknown revision as NotFoundError", async () => {
        const unknown = "0123456789abcdef0123456789abcdef01234567";

        expect((await rejection(repository.readFile(valuesPath, unknown))).name).toBe("NotFoundError");
      });
    });

    describe("updateFile", () => {
      it("commits the edit on top of the old head, changing only that file", async () => {
        const before = await repository.head();
        const seen: (string | undefined)[] = [];

        const result = await repository.updateFile({
          path: valuesPath,
          message: "checkout staging: 1.0.0 → 1.1.0",
          edit: (current) => {
            seen.push(current);
            return current?.replace("1.0.0", "1.1.0");
          },
        });

        expect(seen).toEqual([initialValues]);
        expect(result).toEqual({
          revision: await repository.head(),
          changed: true,
          previousContent: initialValues,
          conflicts: 0,
        });
        expect(result.revision).not.toBe(before);
        const info = await fixture.commitInfo(result.revision);
        expect(info.parents).toEqual([before]);
        expect(info.changedPaths).toEqual([valuesPath]);
        expect((await repository.readFile(valuesPath))?.content).toBe(
          initialValues.replace("1.0.0", "1.1.0"),
        );
        expect((await repository.readFile("README.md"))?.content).toBe("# GitOps\n");
      });

      it("makes no commit when the edit returns undefined or the same content", async () => {
        const before = await repository.head();

        const nothing = await repository.updateFile({
          path: valuesPath,
          message: "noop",
          edit: () => undefined,
        });
        const same = await repository.updateFile({
          path: valuesPath,
          message: "noop",
          edit: (current) => current,
        });

        expect(nothing).toEqual({
          revision: before,
          changed: false,
          previousContent: initialValues,
          conflicts: 0,
        });
        expect(same).toEqual({
          revision: before,
          changed: false,
          previousContent: initialValues,
          conflicts: 0,
        });
        expect(await repository.head()).toBe(before);
      });

      it("records the commit message and the author", async () => {
        const message =
          "checkout staging: 1.0.0 → 1.1.0\n\nSwitchyard-Promotion-Id: p-1\nSwitchyard-Event-Id: e-1";
        const author = { name: "Maria López", email: "maria.lopez@example.com" };

        const { revision } = await repository.updateFile({
          path: valuesPath,
          message,
          author,
          edit: () => "image:\n  tag: 1.1.0\n",
        });

        const info = await fixture.commitInfo(revision);
        expect(info.message.trimEnd()).toBe(message);
        expect(info.author).toEqual(author);
      });

      it("builds the message from the content the edit was finally applied to", async () => {
        const messagesFor: (string | undefined)[] = [];

        const { revision } = await repository.updateFile({
          path: valuesPath,
          message: (current) => {
            messagesFor.push(current);
            return `lines before: ${current?.split("\n").length}`;
          },
          edit: (current) => {
            if (messagesFor.length === 0) fixture.advanceBranch({ [valuesPath]: `${current}# theirs\n` });
            return `${current}# mine\n`;
          },
        });

        expect(messagesFor.at(-1)).toBe(`${initialValues}# theirs\n`);
        expect((await fixture.commitInfo(revision)).message.trimEnd()).toBe("lines before: 5");
      });

      it("creates a file in a directory that does not exist yet", async () => {
        const path = "envs/preview/new-service/values.yaml";
        const seen: (string | undefined)[] = [];

        const result = await repository.updateFile({
          path,
          message: "add new-service",
          edit: (current) => {
            seen.push(current);
            return "image:\n  tag: 0.1.0\n";
          },
        });

        expect(seen).toEqual([undefined]);
        expect(result).toMatchObject({ changed: true, previousContent: undefined });
        expect((await repository.readFile(path))?.content).toBe("image:\n  tag: 0.1.0\n");
        expect((await fixture.commitInfo(result.revision)).changedPaths).toEqual([path]);
      });

      it("keeps non-ASCII content byte for byte", async () => {
        const content = '# Zürich → 東京 ✓ 🚀\nimage:\n  tag: "1.0.0" # café\n';

        await repository.updateFile({ path: valuesPath, message: "ünïcode ✓", edit: () => content });

        expect((await repository.readFile(valuesPath))?.content).toBe(content);
      });

      it("re-applies the edit on the new head when another writer commits between read and write", async () => {
        const before = await repository.head();
        let theirs = "";
        const seen: (string | undefined)[] = [];

        const result = await repository.updateFile({
          path: valuesPath,
          message: "mine",
          edit: (current) => {
            seen.push(current);
            if (seen.length === 1) theirs = fixture.advanceBranch({ [valuesPath]: `${current}# theirs\n` });
            return `${current}# mine\n`;
          },
        });

        expect(seen).toEqual([initialValues, `${initialValues}# theirs\n`]);
        expect(result.conflicts).toBeGreaterThanOrEqual(1);
        expect(result.previousContent).toBe(`${initialValues}# theirs\n`);
        expect((await repository.readFile(valuesPath))?.content).toBe(`${initialValues}# theirs\n# mine\n`);
        expect((await fixture.commitInfo(result.revision)).parents).toEqual([theirs]);
        expect((await fixture.commitInfo(theirs)).parents).toEqual([before]);
      });

      it("loses no update when many writers edit the same file at once", async () => {
        const before = await repository.head();
        const lines = Array.from({ length: concurrentWriters }, (_, n) => `# writer ${n}`);

        const results = await Promise.all(
          lines.map((line) =>
            repository.updateFile({
              path: valuesPath,
              message: line,
              edit: (current) => `${current}${line}\n`,
            }),
          ),
        );

        const final = (await repository.readFile(valuesPath))?.content ?? "";
        expect(lines.filter((line) => final.includes(`${line}\n`))).toEqual(lines);
        expect(results.every((result) => result.changed)).toBe(true);
        expect(new Set(results.map((result) => result.revision)).size).toBe(concurrentWriters);

        const history: string[] = [];
        for (let commit = await repository.head(); commit !== before; ) {
          history.push(commit);
          const [parent] = (await fixture.commitInfo(commit)).parents;
          if (parent === undefined) throw new Error("walked past the starting commit");
          commit = parent;
        }
        expect(history).toHaveLength(concurrentWriters);
      });

      it("gives up with ConflictError when the branch keeps moving, after every attempt", async () => {
        let calls = 0;

        const error = await rejection(
          repository.updateFile({
            path: valuesPath,
            message: "never lands",
            edit: (current) => {
              calls += 1;
              fixture.advanceBranch({ "other.txt": `move ${calls}\n` });
              return `${current}# never\n`;
            },
          }),
        );

        expect(error.name).toBe("ConflictError");
        expect(calls).toBe(fixture.attempts);
        expect((await repository.readFile(valuesPath))?.content).toBe(initialValues);
      });

      it("lets an error thrown by the edit through without committing", async () => {
        const before = await repository.head();

        const error = await rejection(
          repository.updateFile({
            path: valuesPath,
            message: "broken",
            edit: () => {
              throw new RangeError("edit refused");
            },
          }),
        );

        expect(error).toBeInstanceOf(RangeError);
        expect(await repository.head()).toBe(before);
      });

      it("refuses a path that leaves the repository", async () => {
        for (const path of ["../outside.yaml", "/etc/passwd", "envs//values.yaml", ""]) {
          const error = await rejection(repository.updateFile({ path, message: "x", edit: () => "x" }));
          expect(error.name, path).toBe("ValidationError");
        }
      });
    });
  });
};

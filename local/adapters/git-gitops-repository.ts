// The local GitOpsRepository: a real git repository on disk, committed to with plumbing and a compare-and-swap ref update.

import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { devNull, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import {
  editOptimistically,
  KeyedMutex,
  type RetryPolicy,
  type RetryTools,
  type WriteOutcome,
} from "../../functions/core/concurrency.ts";
import { NotFoundError, TransientError, ValidationError } from "../../functions/core/errors.ts";
import type { Clock, CommitAuthor, FileUpdateResult, GitOpsRepository } from "../../functions/core/ports.ts";

export interface GitGitOpsRepositoryOptions extends RetryTools {
  /** The repository's directory (a work tree with `.git/`, or a bare repository). */
  dir: string;
  /** Default `main`. */
  branch?: string;
  /** Author and committer of every commit; an `updateFile` author overrides the author only. */
  author?: CommitAuthor;
  /** Commit dates come from here, so a test with a fixed clock gets the same commit ids every run. */
  clock?: Clock;
  /** Re-apply attempts when another process moved the branch. */
  retry?: RetryPolicy;
}

export interface GitRepositoryInitOptions extends Omit<GitGitOpsRepositoryOptions, "dir"> {
  /** The first commit's files: path → content. */
  files: Record<string, string>;
  /** Default "Initial GitOps layout". */
  message?: string;
  /** Create a bare repository (no work tree). Default false: humans can read the files in place. */
  bare?: boolean;
}

type FileUpdate = Parameters<GitOpsRepository["updateFile"]>[0];

/** The identity commits carry when nobody else is named. */
export const defaultGitOpsAuthor: CommitAuthor = { name: "Switchyard", email: "switchyard@localhost" };

const defaultRetry: RetryPolicy = { attempts: 8, baseDelayMs: 25, maxDelayMs: 1_000 };
const defaultInitialMessage = "Initial GitOps layout";
/** Values files are small; this only bounds a runaway read. */
const maxGitOutputBytes = 256 * 1024 * 1024;
const regularFileMode = "100644";
const millisecondsPerSecond = 1_000;

/**
 * Settings that keep a user's or repository's git configuration out of the way: no hooks (update-ref runs the
 * reference-transaction hook), no signing prompt, no line-ending conversion, no background maintenance.
 */
const isolatingConfig = [
  `core.hooksPath=${devNull}`,
  "commit.gpgSign=false",
  "core.autocrlf=false",
  "core.safecrlf=false",
  "core.fsmonitor=false",
  "core.quotePath=false",
  "gc.auto=0",
  "maintenance.auto=false",
].flatMap((setting) => ["-c", setting]);

/** A git command that exited non-zero. Internal: callers see the port's errors. */
class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | string | undefined,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`git ${args.join(" ")} failed (${exitCode ?? "no exit code"}): ${stderr.trim()}`, options);
    this.name = "GitCommandError";
  }
}

/** Another git process holds a lock file; it lets go within milliseconds. */
const isLockContention = (error: unknown): boolean =>
  error instanceof GitCommandError &&
  /Unable to create '.*\.lock': File exists|cannot lock ref/i.test(error.stderr);

/** The file's bytes are not UTF-8; decoding would replace them and a write would corrupt the file. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const commitIdPattern = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

const checkPath = (path: string): string => {
  const segments = path.split("/");
  if (
    path.length === 0 ||
    path.includes("\0") ||
    path.includes("\\") ||
    segments.some((segment) => segment === "" || segment === "." || segment === ".." || segment === ".git")
  ) {
    throw new ValidationError(`"${path}" is not a relative file path inside the repository`);
  }
  return path;
};

const checkBranch = (branch: string): string => {
  if (
    !/^[A-Za-z0-9._/-]+$/.test(branch) ||
    branch.startsWith("-") ||
    /\.\.|\/\/|\.lock$|^\/|\/$/.test(branch)
  ) {
    throw new ValidationError(`"${branch}" is not a branch name Switchyard writes to`);
  }
  return branch;
};

const gitDate = (date: Date): string => `${Math.floor(date.getTime() / millisecondsPerSecond)} +0000`;

const withFinalNewline = (message: string): string => (message.endsWith("\n") ? message : `${message}\n`);

/**
 * A GitOps repository in a directory on this machine. Every commit is made with plumbing — `hash-object`, a temporary
 * index, `write-tree`, `commit-tree` — and published with `update-ref <branch> <new> <expected-old>`, which fails if
 * another process moved the branch; the edit is then re-applied on the new head. Writers in this process queue per
 * repository and branch. When the repository has a work tree that is clean and on the branch, the work tree follows
 * each commit; uncommitted human changes are never overwritten (the work tree is then left as it is).
 *
 * @example
 * const gitops = await GitGitOpsRepository.init(join(home, "gitops"), { files: seedFiles(config) });
 * await gitops.updateFile({
 *   path: "envs/staging/checkout/values.yaml",
 *   message: "checkout staging: 1.4.1 → 1.5.0",
 *   edit: (current) => current && setImage(current, image, "envs/staging/checkout/values.yaml").content,
 * });
 */
export class GitGitOpsRepository implements GitOpsRepository {
  private static readonly writeLocks = new KeyedMutex();

  readonly dir: string;
  readonly branch: string;
  private readonly author: CommitAuthor;
  private readonly clock: Clock;
  private readonly retry: RetryPolicy;
  private readonly tools: RetryTools;
  private readonly environment: NodeJS.ProcessEnv;
  private bare: Promise<boolean> | undefined;

  constructor(options: GitGitOpsRepositoryOptions) {
    this.dir = resolve(options.dir);
    this.branch = checkBranch(options.branch ?? "main");
    this.author = options.author ?? defaultGitOpsAuthor;
    this.clock = options.clock ?? { now: () => new Date() };
    this.retry = options.retry ?? defaultRetry;
    this.tools = { sleep: options.sleep, random: options.random };
    this.environment = isolatedEnvironment(this.dir);
  }

  /**
   * Opens the repository at `dir`, creating it with one commit of `files` on the branch when it does not exist yet.
   * Idempotent: an existing repository and branch are left exactly as they are.
   *
   * @example
   * const gitops = await GitGitOpsRepository.init(".switchyard/gitops", { files: { "README.md": "# GitOps\n" } });
   */
  static async init(dir: string, options: GitRepositoryInitOptions): Promise<GitGitOpsRepository> {
    const { files, message = defaultInitialMessage, bare = false, ...rest } = options;
    const repository = new GitGitOpsRepository({ ...rest, dir });
    await mkdir(repository.dir, { recursive: true });
    if (!(await repository.isRepository())) {
      await repository.git([
        "init",
        "--quiet",
        ...(bare ? ["--bare"] : []),
        `--initial-branch=${repository.branch}`,
      ]);
    }
    if ((await repository.resolveCommit(repository.ref)) === undefined) {
      await repository.createBranch(files, message);
    }
    return repository;
  }

  private get ref(): string {
    return `refs/heads/${this.branch}`;
  }

  private get key(): string {
    return `${this.dir}#${this.branch}`;
  }

  async head(): Promise<string> {
    const head = await this.resolveCommit(this.ref);
    if (head === undefined) throw new NotFoundError(`branch ${this.branch} does not exist in ${this.dir}`);
    return head;
  }

  async readFile(
    path: string,
    revision?: string,
  ): Promise<{ content: string; revision: string } | undefined> {
    checkPath(path);
    let commit: string;
    if (revision === undefined) {
      commit = await this.head();
    } else {
      if (revision.startsWith("-")) throw new ValidationError(`"${revision}" is not a revision`);
      const resolved = await this.resolveCommit(revision);
      if (resolved === undefined) {
        throw new NotFoundError(`revision ${revision} does not exist in ${this.dir}`);
      }
      commit = resolved;
    }
    const entry = await this.entryAt(commit, path);
    return entry && { content: await this.blobText(entry.object, path), revision: commit };
  }

  async updateFile(input: FileUpdate): Promise<FileUpdateResult> {
    const path = checkPath(input.path);
    const result = await GitGitOpsRepository.writeLocks.run(this.key, () =>
      editOptimistically(
        {
          read: async () => {
            const head = await this.head();
            const entry = await this.entryAt(head, path);
            const content = entry && (await this.blobText(entry.object, path));
            return { version: head, content, mode: entry?.mode ?? regularFileMode };
          },
          write: (snapshot, content) =>
            this.commitFile(
              snapshot.version,
              { path, mode: snapshot.mode, content },
              typeof input.message === "function" ? input.message(snapshot.content) : input.message,
              input.author,
            ),
        },
        input.edit,
        { ...this.tools, policy: this.retry, what: `${path} on ${this.branch} in ${this.dir}` },
      ),
    );
    return {
      revision: result.version,
      changed: result.changed,
      previousContent: result.previous,
      conflicts: result.conflicts,
    };
  }

  /** Commits one file on top of `parent` and moves the branch there only if it still points at `parent`. */
  private async commitFile(
    parent: string,
    file: { path: string; mode: string; content: string },
    message: string,
    author: CommitAuthor | undefined,
  ): Promise<WriteOutcome> {
    const blob = await this.git(["hash-object", "-w", "--stdin"], { input: file.content });
    const tree = await this.withTemporaryIndex(async (env) => {
      await this.git(["read-tree", parent], { env });
      await this.git(["update-index", "-z", "--index-info"], {
        env,
        input: `${file.mode} ${blob}\t${file.path}\0`,
      });
      return this.git(["write-tree"], { env });
    });
    const commit = await this.commitTree(tree, [parent], message, author);
    const followWorkTree = await this.workTreeFollows(parent);
    try {
      await this.git(["update-ref", "-m", `switchyard: ${file.path}`, this.ref, commit, parent]);
    } catch (error) {
      if (isLockContention(error)) return { conflict: error };
      throw error;
    }
    if (followWorkTree) await this.checkOut(parent, commit);
    return { written: commit };
  }

  private async createBranch(files: Record<string, string>, message: string): Promise<void> {
    const entries: string[] = [];
    for (const [path, content] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const blob = await this.git(["hash-object", "-w", "--stdin"], { input: content });
      entries.push(`${regularFileMode} ${blob}\t${checkPath(path)}\0`);
    }
    const tree = await this.withTemporaryIndex(async (env) => {
      await this.git(["update-index", "-z", "--index-info"], { env, input: entries.join("") });
      return this.git(["write-tree"], { env });
    });
    const commit = await this.commitTree(tree, [], message, undefined);
    try {
      // The empty expected value means "must not exist yet": a concurrent first start keeps its own commit.
      await this.git(["update-ref", "-m", "switchyard: initial layout", this.ref, commit, ""]);
    } catch (error) {
      if (isLockContention(error) && (await this.resolveCommit(this.ref)) !== undefined) return;
      throw error;
    }
    if (!(await this.isBare()) && (await this.symbolicHead()) === this.ref) {
      await this.git(["read-tree", "-m", "-u", commit]).catch(() => undefined);
    }
  }

  private commitTree(tree: string, parents: readonly string[], message: string, author?: CommitAuthor) {
    const committer = this.author;
    const by = author ?? committer;
    const date = gitDate(this.clock.now());
    return this.git(["commit-tree", "--no-gpg-sign", tree, ...parents.flatMap((p) => ["-p", p]), "-F", "-"], {
      input: withFinalNewline(message),
      env: {
        GIT_AUTHOR_NAME: by.name,
        GIT_AUTHOR_EMAIL: by.email,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
        GIT_COMMITTER_DATE: date,
      },
    });
  }

  /**
   * True when the work tree shows exactly `head` on the branch with nothing uncommitted, so moving it along with the
   * branch cannot lose anyone's work. Untracked files do not count: `read-tree -u` refuses to overwrite them anyway.
   */
  private async workTreeFollows(head: string): Promise<boolean> {
    if (await this.isBare()) return false;
    const status = await this.git(["status", "--porcelain=v2", "--branch", "--untracked-files=no", "-z"]);
    const lines = status.split("\0").filter((line) => line.length > 0);
    const header = (name: string) =>
      lines.find((line) => line.startsWith(`# ${name} `))?.slice(name.length + 3);
    const changes = lines.filter((line) => !line.startsWith("# "));
    return header("branch.head") === this.branch && header("branch.oid") === head && changes.length === 0;
  }

  /** Moves index and work tree from `from` to `to`; git refuses (and nothing changes) if that would overwrite work. */
  private async checkOut(from: string, to: string): Promise<void> {
    try {
      await this.git(["read-tree", "-m", "-u", from, to]);
    } catch (error) {
      // The commit is made and published; a human edit that appeared since the check keeps the work tree where it is.
      if (!(error instanceof GitCommandError)) throw error;
    }
  }

  private async withTemporaryIndex<T>(task: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
    const indexFile = join(tmpdir(), `switchyard-index-${randomUUID()}`);
    try {
      return await task({ GIT_INDEX_FILE: indexFile });
    } finally {
      await rm(indexFile, { force: true });
    }
  }

  private async entryAt(commit: string, path: string): Promise<{ mode: string; object: string } | undefined> {
    const listing = await this.git(["ls-tree", "-z", "--full-tree", commit, "--", path]);
    const [entry] = listing.split("\0");
    if (!entry) return undefined;
    const match = /^(\d{6}) (\w+) ([0-9a-f]+)\t/.exec(entry);
    if (match?.[2] !== "blob") throw new ValidationError(`${path} is not a file at ${commit}`);
    return { mode: match[1] ?? regularFileMode, object: match[3] ?? "" };
  }

  private async blobText(object: string, path: string): Promise<string> {
    const bytes = await this.gitBytes(["cat-file", "blob", object]);
    try {
      return utf8.decode(bytes);
    } catch (error) {
      throw new ValidationError(`${path} is not UTF-8 text`, { cause: error });
    }
  }

  private async resolveCommit(revision: string): Promise<string | undefined> {
    try {
      const commit = await this.git(["rev-parse", "--verify", "--quiet", `${revision}^{commit}`]);
      return commitIdPattern.test(commit) ? commit : undefined;
    } catch (error) {
      if (error instanceof GitCommandError && error.exitCode === 1) return undefined;
      throw error;
    }
  }

  private async symbolicHead(): Promise<string | undefined> {
    return this.git(["symbolic-ref", "--quiet", "HEAD"]).catch(() => undefined);
  }

  private async isRepository(): Promise<boolean> {
    return this.git(["rev-parse", "--git-dir"]).then(
      () => true,
      () => false,
    );
  }

  private isBare(): Promise<boolean> {
    this.bare ??= this.git(["rev-parse", "--is-bare-repository"]).then(
      (answer) => answer === "true",
      (error: unknown) => {
        this.bare = undefined;
        throw error;
      },
    );
    return this.bare;
  }

  private async git(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
    return (await this.gitBytes(args, options)).toString("utf8").trim();
  }

  private gitBytes(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
    return new Promise<Buffer>((done, fail) => {
      const child = execFile(
        "git",
        [...isolatingConfig, ...args],
        {
          cwd: this.dir,
          env: { ...this.environment, ...options.env },
          encoding: "buffer",
          maxBuffer: maxGitOutputBytes,
          windowsHide: true,
        },
        (error, stdout, stderr) => {
          if (!error) return done(stdout);
          const failure = new GitCommandError(args, error.code ?? undefined, stderr.toString("utf8"), {
            cause: error,
          });
          fail(isLockContention(failure) && args[0] !== "update-ref" ? toTransient(failure) : failure);
        },
      );
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(options.input ?? "");
    });
  }
}

const toTransient = (error: GitCommandError): TransientError =>
  new TransientError("another git process holds a lock on the GitOps repository; retry shortly", {
    cause: error,
  });

/**
 * The environment git runs with: the process's, minus any GIT_* variable that could point it at another repository
 * or index, with global and system configuration off, and discovery stopped at the repository's own directory so a
 * state directory inside some other checkout is never mistaken for that checkout.
 */
const isolatedEnvironment = (dir: string): NodeJS.ProcessEnv => {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("GIT_")),
  );
  return {
    ...inherited,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: devNull,
    GIT_TERMINAL_PROMPT: "0",
    GIT_LITERAL_PATHSPECS: "1",
    GIT_CEILING_DIRECTORIES: dirname(dir),
    LC_ALL: "C",
  };
};

// The production GitOpsRepository: GitHub's Git Data API, with the branch ref as the compare-and-swap point.

import type { Octokit } from "@octokit/rest";
import {
  editOptimistically,
  KeyedMutex,
  type RetryPolicy,
  type RetryTools,
  retryTransient,
  type TransientVerdict,
  type WriteOutcome,
} from "../../core/concurrency.ts";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
import type { Clock, CommitAuthor, FileUpdateResult, GitOpsRepository } from "../../core/ports.ts";

export interface GitHubGitOpsRepositoryOptions extends RetryTools {
  octokit: Octokit;
  owner: string;
  repo: string;
  /** Default `main`. */
  branch?: string;
  /**
   * Re-apply attempts when another writer moved the branch, and tries of one request that failed with a 5xx or was
   * throttled.
   */
  retry?: RetryPolicy;
  /**
   * Author and committer of every commit; an `updateFile` author overrides the author only. Without one GitHub records
   * the token's identity (and signs the commit when the token is a GitHub App's).
   */
  author?: CommitAuthor;
  /** Commit dates, when an identity is given; without an identity GitHub dates the commit itself. */
  clock?: Clock;
  /** One request's deadline; a request past it counts as a transient failure. */
  requestTimeoutMs?: number;
}

const defaultRetry: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8_000 };
const defaultRequestTimeoutMs = 10_000;
/** The tree modes of a file: regular, executable, symbolic link. */
type FileMode = "100644" | "100755" | "120000";
const regularFileMode: FileMode = "100644";
const fileModes: readonly string[] = ["100644", "100755", "120000"];
const millisecondsPerSecond = 1_000;

type FileUpdate = Parameters<GitOpsRepository["updateFile"]>[0];

/** Writers in one process (one Lambda container) queue per repository and branch instead of racing for the ref. */
const writeLocks = new KeyedMutex();

/** The file's bytes are not UTF-8; decoding would replace them and a write would corrupt the file. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

interface HttpFailure {
  status: number;
  message: string;
  headers: Record<string, string | number | undefined>;
}

/** Octokit's RequestError, recognised by shape so this module needs no extra package. */
const httpFailure = (error: unknown): HttpFailure | undefined => {
  if (typeof error !== "object" || error === null || !("status" in error)) return undefined;
  const { status, message, response } = error as {
    status: unknown;
    message?: unknown;
    response?: { headers?: Record<string, string | number | undefined> };
  };
  if (typeof status !== "number") return undefined;
  return { status, message: typeof message === "string" ? message : "", headers: response?.headers ?? {} };
};

const checkPath = (path: string): string => {
  if (
    path.length === 0 ||
    path.split("/").some((segment) => segment === "" || segment === "." || segment === "..")
  ) {
    throw new ValidationError(`"${path}" is not a relative file path inside the repository`);
  }
  return path;
};

interface FileSnapshot {
  version: string;
  content: string | undefined;
  /** The head commit's tree: the base the new tree is built on. */
  tree: string;
  mode: FileMode;
}

/**
 * A GitOps repository on GitHub, written through the Git Data API: blob → tree (on the head's tree) → commit (with the
 * head as its only parent) → update the branch ref with `force: false`. GitHub refuses a ref update that is not a fast
 * forward, so a writer that moved the branch meanwhile is detected; the edit is then re-applied on the new head after
 * a backoff. Requests failing with a 5xx, a timeout or throttling are retried on their own first.
 *
 * Files are read through the Git Data API too (commit → one tree per directory → blob) rather than the contents API:
 * everything is addressed by the ids of the one head that was read, so the file and the base tree always belong to the
 * same commit; the file's mode is known and kept; and blobs are read the same way at any size, where the contents API
 * inlines only files up to 1 MB.
 *
 * @example
 * const gitops = new GitHubGitOpsRepository({ octokit: new Octokit({ auth: token }), owner: "acme", repo: "gitops" });
 * const { revision } = await gitops.updateFile({
 *   path: "envs/staging/checkout/values.yaml",
 *   message: "checkout staging: 1.4.1 → 1.5.0",
 *   edit: (current) => current && setImage(current, image, "envs/staging/checkout/values.yaml").content,
 * });
 */
export class GitHubGitOpsRepository implements GitOpsRepository {
  private readonly octokit: Octokit;
  private readonly owner: string;
  private readonly repo: string;
  readonly branch: string;
  private readonly retry: RetryPolicy;
  private readonly tools: RetryTools;
  private readonly author: CommitAuthor | undefined;
  private readonly clock: Clock | undefined;
  private readonly requestTimeoutMs: number;

  constructor(options: GitHubGitOpsRepositoryOptions) {
    this.octokit = options.octokit;
    this.owner = options.owner;
    this.repo = options.repo;
    this.branch = options.branch ?? "main";
    this.retry = options.retry ?? defaultRetry;
    this.tools = { sleep: options.sleep, random: options.random };
    this.author = options.author;
    this.clock = options.clock;
    this.requestTimeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  }

  private get where(): string {
    return `${this.owner}/${this.repo}@${this.branch}`;
  }

  async head(): Promise<string> {
    const ref = await this.request("get the branch", (request) =>
      this.octokit.rest.git.getRef({ ...this.repository, ref: `heads/${this.branch}`, request }),
    ).catch((error: unknown) => {
      if (httpFailure(error)?.status === 404) {
        throw new NotFoundError(`branch ${this.branch} of ${this.owner}/${this.repo} does not exist`, {
          cause: error,
        });
      }
      throw error;
    });
    return ref.data.object.sha;
  }

  async readFile(
    path: string,
    revision?: string,
  ): Promise<{ content: string; revision: string } | undefined> {
    checkPath(path);
    const commit = revision ?? (await this.head());
    const tree = await this.treeOf(commit);
    const entry = await this.entryAt(tree, path, commit);
    return entry && { content: await this.blobText(entry.sha, path), revision: commit };
  }

  async updateFile(input: FileUpdate): Promise<FileUpdateResult> {
    const path = checkPath(input.path);
    const result = await writeLocks.run(
      `${this.octokit.request.endpoint.DEFAULTS.baseUrl}/${this.where}`,
      () =>
        editOptimistically<FileSnapshot>(
          {
            read: async () => {
              const head = await this.head();
              const tree = await this.treeOf(head);
              const entry = await this.entryAt(tree, path, head);
              const content = entry && (await this.blobText(entry.sha, path));
              return { version: head, content, tree, mode: entry?.mode ?? regularFileMode };
            },
            write: (snapshot, content) =>
              this.commitFile(
                snapshot,
                path,
                content,
                typeof input.message === "function" ? input.message(snapshot.content) : input.message,
                input.author,
              ),
          },
          input.edit,
          { ...this.tools, policy: this.retry, what: `${path} on ${this.where}` },
        ),
    );
    return {
      revision: result.version,
      changed: result.changed,
      previousContent: result.previous,
      conflicts: result.conflicts,
    };
  }

  private get repository() {
    return { owner: this.owner, repo: this.repo };
  }

  private async commitFile(
    snapshot: FileSnapshot,
    path: string,
    content: string,
    message: string,
    author: CommitAuthor | undefined,
  ): Promise<WriteOutcome> {
    // Base64 carries any bytes unchanged; the "utf-8" encoding would be re-encoded by the API.
    const blob = await this.request("create a blob", (request) =>
      this.octokit.rest.git.createBlob({
        ...this.repository,
        content: Buffer.from(content, "utf8").toString("base64"),
        encoding: "base64",
        request,
      }),
    );
    const tree = await this.request("create a tree", (request) =>
      this.octokit.rest.git.createTree({
        ...this.repository,
        base_tree: snapshot.tree,
        tree: [{ path, mode: snapshot.mode, type: "blob", sha: blob.data.sha }],
        request,
      }),
    );
    const commit = await this.request("create a commit", (request) =>
      this.octokit.rest.git.createCommit({
        ...this.repository,
        message,
        tree: tree.data.sha,
        parents: [snapshot.version],
        ...this.identities(author),
        request,
      }),
    );
    try {
      await this.request("update the branch", (request) =>
        this.octokit.rest.git.updateRef({
          ...this.repository,
          ref: `heads/${this.branch}`,
          sha: commit.data.sha,
          force: false,
          request,
        }),
      );
    } catch (error) {
      const status = httpFailure(error)?.status;
      // 422 "Update is not a fast forward" (or a 409) is another writer's commit on the branch. A retried request
      // whose first try did land also ends here, so the ref is read to tell the two apart.
      if (status !== 422 && status !== 409) throw error;
      if ((await this.head()) === commit.data.sha) return { written: commit.data.sha };
      return { conflict: error };
    }
    return { written: commit.data.sha };
  }

  private identities(author: CommitAuthor | undefined) {
    const committer = this.author;
    const by = author ?? committer;
    const date = this.clock?.now().toISOString();
    const stamp = (who: CommitAuthor) => ({ name: who.name, email: who.email, ...(date ? { date } : {}) });
    return {
      ...(by ? { author: stamp(by) } : {}),
      ...(committer ? { committer: stamp(committer) } : {}),
    };
  }

  private async treeOf(commit: string): Promise<string> {
    const found = await this.request("get a commit", (request) =>
      this.octokit.rest.git.getCommit({ ...this.repository, commit_sha: commit, request }),
    ).catch((error: unknown) => {
      const status = httpFailure(error)?.status;
      if (status === 404 || status === 422) {
        throw new NotFoundError(`revision ${commit} does not exist in ${this.owner}/${this.repo}`, {
          cause: error,
        });
      }
      throw error;
    });
    return found.data.tree.sha;
  }

  /** Walks one tree per directory: a recursive listing of a large repository could come back truncated. */
  private async entryAt(
    rootTree: string,
    path: string,
    commit: string,
  ): Promise<{ sha: string; mode: FileMode } | undefined> {
    const segments = path.split("/");
    let tree = rootTree;
    for (const [index, segment] of segments.entries()) {
      const listing = await this.request("get a tree", (request) =>
        this.octokit.rest.git.getTree({ ...this.repository, tree_sha: tree, request }),
      );
      const entry = listing.data.tree.find((candidate) => candidate.path === segment);
      if (entry?.sha === undefined) return undefined;
      if (index === segments.length - 1) {
        if (entry.type !== "blob" || !fileModes.includes(entry.mode ?? "")) {
          throw new ValidationError(`${path} is not a file at ${commit}`);
        }
        return { sha: entry.sha, mode: entry.mode as FileMode };
      }
      if (entry.type !== "tree") return undefined;
      tree = entry.sha;
    }
    return undefined;
  }

  private async blobText(sha: string, path: string): Promise<string> {
    const blob = await this.request("get a blob", (request) =>
      this.octokit.rest.git.getBlob({ ...this.repository, file_sha: sha, request }),
    );
    const bytes =
      blob.data.encoding === "base64"
        ? Buffer.from(blob.data.content, "base64")
        : Buffer.from(blob.data.content);
    try {
      return utf8.decode(bytes);
    } catch (error) {
      throw new ValidationError(`${path} is not UTF-8 text`, { cause: error });
    }
  }

  /** One API call with a deadline, retried while it fails in a way that may pass. */
  private request<T>(what: string, call: (request: { signal: AbortSignal }) => Promise<T>): Promise<T> {
    return retryTransient(
      `${what} (${this.where})`,
      () => call({ signal: AbortSignal.timeout(this.requestTimeoutMs) }),
      {
        ...this.tools,
        policy: this.retry,
        classify: (error) => this.classify(error),
      },
    );
  }

  /**
   * 5xx, 429, timeouts and network failures may pass; so may a 403 for a secondary rate limit, after the delay GitHub
   * names. A primary rate limit waits until its reset, which is usually longer than the retry policy allows.
   */
  private classify(error: unknown): TransientVerdict {
    const failure = httpFailure(error);
    if (failure === undefined) return undefined;
    const retryAfterSeconds = Number(failure.headers["retry-after"]);
    const retryAfterMs = Number.isFinite(retryAfterSeconds)
      ? retryAfterSeconds * millisecondsPerSecond
      : undefined;
    if (failure.status >= 500 || failure.status === 429) return { retryAfterMs };
    if (failure.status !== 403) return undefined;
    if (retryAfterMs !== undefined || /secondary rate limit/i.test(failure.message)) return { retryAfterMs };
    if (String(failure.headers["x-ratelimit-remaining"]) === "0") {
      const resetMs = Number(failure.headers["x-ratelimit-reset"]) * millisecondsPerSecond;
      const nowMs = (this.clock?.now() ?? new Date()).getTime();
      return { retryAfterMs: Number.isFinite(resetMs) ? Math.max(0, resetMs - nowMs) : undefined };
    }
    return undefined;
  }
}

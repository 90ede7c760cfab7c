// Runs the GitOpsRepository contract against a git repository on disk and against GitHub (a local Git Data API fake).

import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { devNull, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Octokit } from "@octokit/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitHubGitOpsRepository } from "../../functions/adapters/github/github-gitops-repository.ts";
import type { RetryPolicy } from "../../functions/core/concurrency.ts";
import type { Clock } from "../../functions/core/ports.ts";
import { GitGitOpsRepository } from "../../local/adapters/git-gitops-repository.ts";
import { type FakeGitHub, startFakeGitHub } from "../support/fake-github.ts";
import { type CommitInfo, describeGitOpsRepositoryContract } from "./gitops-repository.contract.ts";

/** Retries without real waiting, so conflict tests take milliseconds. */
const retry: RetryPolicy = { attempts: 4, baseDelayMs: 1 };
const noSleep = async () => {};
const fixedClock: Clock = { now: () => new Date("2026-03-01T12:00:00Z") };
const owner = "acme-platform";
const repo = "gitops";

/** git as the tests run it: the user's configuration out of the way, like the adapter. */
const gitEnvironment = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("GIT_"))),
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: devNull,
});

const git = (
  dir: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): string =>
  execFileSync("git", args, {
    cwd: dir,
    input: options.input,
    env: { ...gitEnvironment(), ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  })
    .toString("utf8")
    .trim();

/** Another writer with its own plumbing, as a second process would commit. */
const advanceGitBranch = (dir: string, files: Record<string, string>): string => {
  const head = git(dir, ["rev-parse", "refs/heads/main"]);
  const env = {
    GIT_INDEX_FILE: join(tmpdir(), `switchyard-test-index-${randomUUID()}`),
    GIT_AUTHOR_NAME: "Another Writer",
    GIT_AUTHOR_EMAIL: "another@example.com",
    GIT_COMMITTER_NAME: "Another Writer",
    GIT_COMMITTER_EMAIL: "another@example.com",
  };
  try {
    git(dir, ["read-tree", head], { env });
    for (const [path, content] of Object.entries(files)) {
      const blob = git(dir, ["hash-object", "-w", "--stdin"], { input: content });
      git(dir, ["update-index", "--add", "--cacheinfo", `100644,${blob},${path}`], { env });
    }
    const tree = git(dir, ["write-tree"], { env });
    const commit = git(dir, ["commit-tree", tree, "-p", head, "-m", "Concurrent change"], { env });
    git(dir, ["update-ref", "refs/heads/main", commit, head]);
    return commit;
  } finally {
    rmSync(env.GIT_INDEX_FILE, { force: true });
  }
};

const gitCommitInfo = (dir: string, revision: string): CommitInfo => {
  const [parents = "", name = "", email = "", message = ""] = git(dir, [
    "log",
    "-1",
    "--format=%P%x00%an%x00%ae%x00%B",
    revision,
  ]).split("\0");
  const changed = git(dir, ["diff-tree", "-r", "--root", "--no-commit-id", "--name-only", "-z", revision]);
  return {
    parents: parents.split(" ").filter(Boolean),
    message,
    author: { name, email },
    changedPaths: changed.split("\0").filter(Boolean).sort(),
  };
};

const tempDir = (): string => mkdtempSync(join(tmpdir(), "switchyard-gitops-"));

/**
 * Runs `task` with a `git` on PATH that logs each subcommand before running the real git; a repository constructed
 * inside `task` uses it. Returns the subcommands, in order.
 */
const countingGitProcesses = async (dir: string, task: () => Promise<void>): Promise<string[]> => {
  const realGit = execFileSync("sh", ["-c", "command -v git"]).toString("utf8").trim();
  const bin = join(dir, "counting-bin");
  const log = join(dir, "git-processes.log");
  mkdirSync(bin);
  writeFileSync(join(bin, "git"), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${realGit}' "$@"\n`);
  chmodSync(join(bin, "git"), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${path}`;
  try {
    await task();
  } finally {
    process.env.PATH = path;
  }
  const lines = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  // The adapter puts its isolating `-c name=value` settings before the subcommand.
  return lines.map(
    (line) => line.split(" ").find((word, n, words) => word !== "-c" && words[n - 1] !== "-c") ?? "",
  );
};

const withFinalNewline = (message: string): string => (message.endsWith("\n") ? message : `${message}\n`);

describeGitOpsRepositoryContract("GitGitOpsRepository (git on disk)", async (files) => {
  const dir = tempDir();
  const repository = await GitGitOpsRepository.init(dir, { files, retry, sleep: noSleep });
  return {
    repository,
    attempts: retry.attempts,
    advanceBranch: (changes) => advanceGitBranch(dir, changes),
    commitInfo: async (revision) => gitCommitInfo(dir, revision),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

/** Octokit logs every failed request; here failures are the point of many tests. */
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const gitHubClient = (github: FakeGitHub): Octokit =>
  new Octokit({ baseUrl: github.url, auth: "test-token", log: quiet });

describeGitOpsRepositoryContract("GitHubGitOpsRepository (Git Data API fake)", async (files) => {
  const github = await startFakeGitHub({ owner, repo });
  github.seed(files);
  const repository = new GitHubGitOpsRepository({
    octokit: gitHubClient(github),
    owner,
    repo,
    retry,
    sleep: noSleep,
  });
  return {
    repository,
    attempts: retry.attempts,
    advanceBranch: (changes) => github.advanceBranch(changes),
    commitInfo: async (revision) => {
      const { parents, message, author } = github.commit(revision);
      return {
        parents,
        message,
        author: { name: author.name, email: author.email },
        changedPaths: github.changedPaths(revision),
      };
    },
    cleanup: () => github.close(),
  };
});

describe("GitGitOpsRepository", () => {
  const path = "envs/staging/checkout/values.yaml";
  const files = { "README.md": "# GitOps\n", [path]: "image:\n  tag: 1.0.0\n" };
  let dir: string;

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("init creates the repository with one commit, the files checked out, and is idempotent", async () => {
    const gitops = await GitGitOpsRepository.init(join(dir, "gitops"), { files, clock: fixedClock });
    const head = await gitops.head();

    const again = await GitGitOpsRepository.init(join(dir, "gitops"), { files: { "other.txt": "x" } });

    expect(await again.head()).toBe(head);
    expect(gitCommitInfo(join(dir, "gitops"), head)).toEqual({
      parents: [],
      message: "Initial GitOps layout",
      author: { name: "Switchyard", email: "switchyard@localhost" },
      changedPaths: ["README.md", path],
    });
    expect(readFileSync(join(dir, "gitops", path), "utf8")).toBe(files[path]);
    expect(git(join(dir, "gitops"), ["status", "--porcelain"])).toBe("");
  });

  it("init makes a repository of its own inside a directory that belongs to another checkout", async () => {
    git(dir, ["init", "--quiet", "--initial-branch=main"]);
    const inner = join(dir, ".switchyard", "gitops");

    const gitops = await GitGitOpsRepository.init(inner, { files });

    expect(git(inner, ["rev-parse", "--show-toplevel"])).toBe(inner);
    expect((await gitops.readFile(path))?.content).toBe(files[path]);
    expect(() => git(dir, ["rev-parse", "--verify", "--quiet", "refs/heads/main"])).toThrow();
  });

  it("brings a clean work tree up to date with each commit", async () => {
    const gitops = await GitGitOpsRepository.init(dir, { files });

    await gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" });

    expect(readFileSync(join(dir, path), "utf8")).toBe("image:\n  tag: 1.1.0\n");
    expect(git(dir, ["status", "--porcelain"])).toBe("");
  });

  it("never overwrites uncommitted human changes in the work tree", async () => {
    const gitops = await GitGitOpsRepository.init(dir, { files });
    writeFileSync(join(dir, path), "image:\n  tag: being-edited-by-a-human\n");

    const result = await gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" });

    expect(result.changed).toBe(true);
    expect((await gitops.readFile(path))?.content).toBe("image:\n  tag: 1.1.0\n");
    expect(readFileSync(join(dir, path), "utf8")).toBe("image:\n  tag: being-edited-by-a-human\n");
  });

  it("works on a bare repository", async () => {
    const gitops = await GitGitOpsRepository.init(dir, { files, bare: true });

    const result = await gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" });

    expect(git(dir, ["rev-parse", "--is-bare-repository"])).toBe("true");
    expect((await gitops.readFile(path, result.revision))?.content).toBe("image:\n  tag: 1.1.0\n");
  });

  it("is not disturbed by hooks or signing settings in the repository's configuration", async () => {
    const gitops = await GitGitOpsRepository.init(dir, { files });
    const hooks = join(dir, ".git", "hooks");
    mkdirSync(hooks, { recursive: true });
    for (const hook of ["reference-transaction", "pre-commit", "post-checkout"]) {
      writeFileSync(join(hooks, hook), "#!/bin/sh\nexit 1\n");
      chmodSync(join(hooks, hook), 0o755);
    }
    git(dir, ["config", "commit.gpgSign", "true"]);
    git(dir, ["config", "gpg.program", "false"]);

    const result = await gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" });

    expect(result.changed).toBe(true);
    expect(readFileSync(join(dir, path), "utf8")).toBe("image:\n  tag: 1.1.0\n");
  });

  it("dates commits by the injected clock, so the same changes make the same commit ids", async () => {
    const make = async (target: string) => {
      const gitops = await GitGitOpsRepository.init(target, { files, clock: fixedClock });
      return (await gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" }))
        .revision;
    };

    const first = await make(join(dir, "a"));
    const second = await make(join(dir, "b"));

    expect(first).toBe(second);
    expect(git(join(dir, "a"), ["log", "-1", "--format=%aI %cI", first])).toBe(
      "2026-03-01T12:00:00+00:00 2026-03-01T12:00:00+00:00",
    );
  });

  it.each([
    { repository: "a bare repository", bare: true, processes: ["update-ref"] },
    { repository: "a clean work tree", bare: false, processes: ["update-ref", "read-tree"] },
  ])("runs $processes.length git process(es) per commit on $repository", async ({ bare, processes }) => {
    const gitops = await GitGitOpsRepository.init(join(dir, "gitops"), { files, bare });

    const spawned = await countingGitProcesses(dir, async () => {
      const repository = new GitGitOpsRepository({ dir: join(dir, "gitops") });
      await repository.head();
      for (const tag of ["1.1.0", "1.2.0", "1.3.0"]) {
        await repository.updateFile({ path, message: tag, edit: () => `image:\n  tag: ${tag}\n` });
      }
    });

    // After the one-time look at the repository's layout (rev-parse, config), three commits' worth.
    expect(spawned.slice(2)).toEqual([...processes, ...processes, ...processes]);
    expect((await gitops.readFile(path))?.content).toBe("image:\n  tag: 1.3.0\n");
    if (!bare) expect(readFileSync(join(dir, "gitops", path), "utf8")).toBe("image:\n  tag: 1.3.0\n");
  });

  it.each([
    {
      case: "a plain identity and a trailer block",
      author: { name: "Maria López", email: "maria.lopez@example.com" },
      message: "checkout staging: 1.0.0 → 1.1.0\n\nSwitchyard-Promotion-Id: p-1",
      path: "envs/staging/checkout/values.yaml",
    },
    {
      case: "a message with CRLF and blank lines at the end, in a new directory",
      author: undefined,
      message: "bump\r\n\n\n",
      path: "envs/preview/new-service/values.yaml",
    },
    {
      case: "an identity git trims",
      author: { name: " Dr. Maria <López>, ", email: " <maria@example.com>. " },
      message: "bump",
      path: "README.md",
    },
    {
      case: "a file where a directory is needed",
      author: undefined,
      message: "bump",
      path: "README.md/values.yaml",
    },
  ])("writes the tree and commit git's plumbing writes, for $case", async ({ author, message, path }) => {
    const gitops = await GitGitOpsRepository.init(dir, { files, clock: fixedClock });
    const parent = await gitops.head();
    const content = "image:\n  tag: 1.1.0\n";

    const { revision } = await gitops.updateFile({ path, message, author, edit: () => content });

    const date = "1772366400 +0000";
    const index = { GIT_INDEX_FILE: join(tmpdir(), `switchyard-test-index-${randomUUID()}`) };
    try {
      git(dir, ["read-tree", parent], { env: index });
      const blob = git(dir, ["hash-object", "-w", "--stdin"], { input: content });
      git(dir, ["update-index", "-z", "--index-info"], { env: index, input: `100644 ${blob}\t${path}\0` });
      const tree = git(dir, ["write-tree"], { env: index });
      const expected = git(dir, ["commit-tree", tree, "-p", parent, "-F", "-"], {
        input: withFinalNewline(message),
        env: {
          GIT_AUTHOR_NAME: author?.name ?? "Switchyard",
          GIT_AUTHOR_EMAIL: author?.email ?? "switchyard@localhost",
          GIT_AUTHOR_DATE: date,
          GIT_COMMITTER_NAME: "Switchyard",
          GIT_COMMITTER_EMAIL: "switchyard@localhost",
          GIT_COMMITTER_DATE: date,
        },
      });
      expect(revision).toBe(expected);
    } finally {
      rmSync(index.GIT_INDEX_FILE, { force: true });
    }
    expect(git(dir, ["fsck", "--full", "--strict", "--no-dangling"])).toBe("");
  });

  it("reads and commits through packed objects and refs after git gc", async () => {
    const gitops = await GitGitOpsRepository.init(dir, { files });
    const first = await gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" });
    git(dir, ["gc", "--quiet", "--prune=now"]);
    expect(existsSync(join(dir, ".git", "refs", "heads", "main"))).toBe(false);

    const reopened = new GitGitOpsRepository({ dir });
    const second = await reopened.updateFile({
      path: "README.md",
      message: "docs",
      edit: (current) => `${current}More.\n`,
    });

    expect(second.previousContent).toBe("# GitOps\n");
    expect((await reopened.readFile(path, first.revision))?.content).toBe("image:\n  tag: 1.1.0\n");
    expect(gitCommitInfo(dir, second.revision)).toMatchObject({
      parents: [first.revision],
      changedPaths: ["README.md"],
    });
    expect(git(dir, ["fsck", "--full", "--strict", "--no-dangling"])).toBe("");
    expect(readFileSync(join(dir, "README.md"), "utf8")).toBe("# GitOps\nMore.\n");
    expect(git(dir, ["status", "--porcelain"])).toBe("");
  });

  it.each([
    {
      when: "a change is staged",
      disturb: (repo: string) => {
        writeFileSync(join(repo, "README.md"), "# Staged\n");
        git(repo, ["add", "README.md"]);
      },
    },
    { when: "a tracked file is deleted", disturb: (repo: string) => rmSync(join(repo, "README.md")) },
    {
      when: "HEAD is on another branch",
      disturb: (repo: string) => git(repo, ["checkout", "--quiet", "-b", "other"]),
    },
    { when: "HEAD is detached", disturb: (repo: string) => git(repo, ["checkout", "--quiet", "--detach"]) },
  ])("leaves the work tree as it is when $when", async ({ disturb }) => {
    const gitops = await GitGitOpsRepository.init(dir, { files });
    disturb(dir);

    const result = await gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" });

    expect(result.changed).toBe(true);
    expect((await gitops.readFile(path))?.content).toBe("image:\n  tag: 1.1.0\n");
    expect(readFileSync(join(dir, path), "utf8")).toBe(files[path]);
  });

  it("brings along a clean work tree whose files were only touched", async () => {
    const gitops = await GitGitOpsRepository.init(dir, { files });
    const later = new Date(Date.now() + 5_000);
    for (const file of [path, "README.md"]) utimesSync(join(dir, file), later, later);

    await gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" });

    expect(readFileSync(join(dir, path), "utf8")).toBe("image:\n  tag: 1.1.0\n");
    expect(git(dir, ["status", "--porcelain"])).toBe("");
  });

  it("reports a missing branch as NotFoundError", async () => {
    await GitGitOpsRepository.init(dir, { files });
    const other = new GitGitOpsRepository({ dir, branch: "release" });

    await expect(other.head()).rejects.toMatchObject({ name: "NotFoundError" });
  });

  it("serializes writers of two instances on the same repository and branch", async () => {
    await GitGitOpsRepository.init(dir, { files });
    const one = new GitGitOpsRepository({ dir, retry, sleep: noSleep });
    const two = new GitGitOpsRepository({ dir: `${dir}/./`, retry, sleep: noSleep });

    const results = await Promise.all(
      [one, two, one, two].map((gitops, n) =>
        gitops.updateFile({ path, message: `w${n}`, edit: (current) => `${current}# w${n}\n` }),
      ),
    );

    expect(results.map((result) => result.conflicts)).toEqual([0, 0, 0, 0]);
    expect((await one.readFile(path))?.content).toBe(`${files[path]}# w0\n# w1\n# w2\n# w3\n`);
  });
});

describe("GitHubGitOpsRepository", () => {
  const path = "envs/staging/checkout/values.yaml";
  let github: FakeGitHub;
  let gitops: GitHubGitOpsRepository;

  beforeEach(async () => {
    github = await startFakeGitHub({ owner, repo });
    github.seed({ [path]: "image:\n  tag: 1.0.0\n" });
    gitops = new GitHubGitOpsRepository({
      octokit: gitHubClient(github),
      owner,
      repo,
      retry,
      sleep: noSleep,
    });
  });

  afterEach(async () => {
    await github.close();
  });

  const bump = () => gitops.updateFile({ path, message: "bump", edit: () => "image:\n  tag: 1.1.0\n" });

  it("sends content base64-encoded and moves the branch only as a fast forward", async () => {
    const { revision } = await bump();

    const blob = github.requests.find(
      (request) => request.method === "POST" && request.path.endsWith("/git/blobs"),
    );
    const ref = github.requests.find((request) => request.method === "PATCH");
    expect(blob?.body).toEqual({
      content: Buffer.from("image:\n  tag: 1.1.0\n").toString("base64"),
      encoding: "base64",
    });
    expect(ref).toMatchObject({
      path: `/repos/${owner}/${repo}/git/refs/heads%2Fmain`,
      body: { sha: revision, force: false },
      status: 200,
    });
  });

  it("retries a request that failed with a 5xx or a secondary rate limit", async () => {
    github.failNext({ status: 502, message: "Bad Gateway", match: (method) => method === "POST" });
    github.failNext({
      status: 403,
      message: "You have exceeded a secondary rate limit",
      headers: { "retry-after": "0" },
      match: (method) => method === "PATCH",
    });

    const result = await bump();

    expect(result).toMatchObject({ changed: true, conflicts: 0 });
    expect(github.fileAt(path)).toBe("image:\n  tag: 1.1.0\n");
    expect(
      github.requests.filter((request) => request.status >= 400).map((request) => request.status),
    ).toEqual([502, 403]);
  });

  it("gives up with TransientError when GitHub keeps failing", async () => {
    github.failNext({ status: 503, count: retry.attempts, message: "Service Unavailable" });

    await expect(bump()).rejects.toMatchObject({ name: "TransientError", cause: { status: 503 } });
    expect(github.requests).toHaveLength(retry.attempts);
  });

  it("lets an authorization failure through at once", async () => {
    github.failNext({ status: 401, message: "Bad credentials" });

    await expect(bump()).rejects.toMatchObject({ status: 401 });
    expect(github.requests).toHaveLength(1);
  });

  it("reports a missing branch as NotFoundError", async () => {
    const other = new GitHubGitOpsRepository({
      octokit: gitHubClient(github),
      owner,
      repo,
      branch: "release",
    });

    await expect(other.head()).rejects.toMatchObject({ name: "NotFoundError" });
  });

  it("records the configured identity and clock on its commits", async () => {
    const named = new GitHubGitOpsRepository({
      octokit: gitHubClient(github),
      owner,
      repo,
      author: { name: "Switchyard", email: "switchyard@example.com" },
      clock: fixedClock,
    });

    const { revision } = await named.updateFile({
      path,
      message: "bump",
      edit: () => "image:\n  tag: 1.1.0\n",
    });

    expect(github.commit(revision)).toMatchObject({
      author: { name: "Switchyard", email: "switchyard@example.com", date: "2026-03-01T12:00:00.000Z" },
      committer: { name: "Switchyard", email: "switchyard@example.com", date: "2026-03-01T12:00:00.000Z" },
    });
  });

  it("names objects by their real git ids", () => {
    const commit = github.advanceBranch({ "hello.txt": "hello\n" });
    const { tree } = github.commit(commit);

    const dir = tempDir();
    try {
      git(dir, ["init", "--quiet"]);
      expect(git(dir, ["hash-object", "--stdin"], { input: "hello\n" })).toBe(
        "ce013625030ba8dba906f756967f9e9ca394464a",
      );
      const index = { GIT_INDEX_FILE: join(dir, "test-index") };
      for (const [file, content] of [
        [path, "image:\n  tag: 1.0.0\n"],
        ["hello.txt", "hello\n"],
      ] as const) {
        const blob = git(dir, ["hash-object", "-w", "--stdin"], { input: content });
        git(dir, ["update-index", "--add", "--cacheinfo", `100644,${blob},${file}`], { env: index });
      }
      expect(git(dir, ["write-tree"], { env: index })).toBe(tree);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

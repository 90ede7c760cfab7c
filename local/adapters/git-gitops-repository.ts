// The local GitOpsRepository: a real git repository on disk, written in process and published with a compare-and-swap ref update.

import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import {
  closeSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { devNull, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { deflateSync, inflateSync } from "node:zlib";
import { readObject as readObjectFromPacks } from "isomorphic-git";
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
const millisecondsPerSecond = 1_000;

/** Tree entry modes, as git's `canon_mode` leaves them. */
const fileTypeMask = 0o170000;
const regularFileType = 0o100000;
const treeMode = 0o040000;
const regularFileMode = 0o100644;
const executableFileMode = 0o100755;
const symlinkMode = 0o120000;
const gitlinkMode = 0o160000;
const ownerExecuteBit = 0o100;

/** `core.looseCompression`'s default: loose objects are written once and soon packed, so speed wins. */
const looseCompressionLevel = 1;
/** git creates loose objects read-only. */
const looseObjectMode = 0o444;
/** Recently read or written objects kept in memory: ids never change meaning, so a hit can never be stale. */
const objectCacheBytes = 8 * 1024 * 1024;

/**
 * `commit-tree` reads a bare number as seconds since the epoch only from nine digits on, and its date parser stops at
 * 2099; outside these bounds the commit is left to git, which treats such dates its own way.
 */
const minPlainTimestampSeconds = 100_000_000;
const maxPlainTimestampSeconds = 4_102_444_799;

/**
 * Work trees with more tracked files than this are checked by `git status`: the proof made here stats every tracked
 * file synchronously (about 7 µs a file), and past a few hundred files that blocks the event loop for as long as a
 * `git status` process takes.
 */
const maxInProcessIndexEntries = 500;
const indexSignature = "DIRC";
const indexEntryStatWords = 10;
const indexEntryModeWord = 6;
const indexEntryMtimeSecondsWord = 2;
const indexEntryFixedBytes = indexEntryStatWords * 4;
const indexFlagsBytes = 2;
const indexNameLengthMask = 0x0fff;
const indexAssumeValidFlag = 0x8000;
const indexExtendedFlag = 0x4000;
const indexStageMask = 0x3000;
const indexEntryAlignment = 8;
const uint32Mask = 0xffffffffn;
const nanosecondsPerSecond = 1_000_000_000n;

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

/** An object in the repository that cannot be parsed. Internal, like `GitCommandError`. */
class CorruptObjectError extends Error {
  constructor(readonly oid: string) {
    super(`git object ${oid} is corrupt`);
    this.name = "CorruptObjectError";
  }
}

/** Another git process holds a lock file; it lets go within milliseconds. */
const isLockContention = (error: unknown): boolean =>
  error instanceof GitCommandError &&
  /Unable to create '.*\.lock': File exists|cannot lock ref/i.test(error.stderr);

const isMissing = (error: unknown): boolean =>
  error instanceof Error && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR");

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

const gitSeconds = (date: Date): number => Math.floor(date.getTime() / millisecondsPerSecond);

const gitDate = (date: Date): string => `${gitSeconds(date)} +0000`;

const withFinalNewline = (message: string): string => (message.endsWith("\n") ? message : `${message}\n`);

/** Characters git trims from the ends of a name or email ("crud", in any git version), and ones it drops inside. */
const identityCrud = /[\0-\x20.,:;<>"'\\]/;
const identityDelimiters = /[\0\n<>]/;

/** True when git would record `value` in a commit exactly as given: nothing to trim, drop or refuse. */
const isPlainIdentityPart = (value: string): boolean =>
  value.length > 0 &&
  !identityCrud.test(value.charAt(0)) &&
  !identityCrud.test(value.charAt(value.length - 1)) &&
  !identityDelimiters.test(value);

/** git's `canon_mode`: how `read-tree` and `write-tree` see a tree entry's mode. */
const canonicalMode = (mode: number): number => {
  switch (mode & fileTypeMask) {
    case regularFileType:
      return mode & ownerExecuteBit ? executableFileMode : regularFileMode;
    case symlinkMode:
      return symlinkMode;
    case treeMode:
      return treeMode;
    default:
      return gitlinkMode;
  }
};

interface GitObject {
  type: string;
  body: Buffer;
}

interface TreeEntry {
  mode: number;
  name: Buffer;
  oid: string;
}

const parseLooseObject = (oid: string, raw: Buffer): GitObject => {
  const headerEnd = raw.indexOf(0);
  const [type = "", size] = raw.toString("latin1", 0, Math.max(headerEnd, 0)).split(" ");
  const body = raw.subarray(headerEnd + 1);
  if (headerEnd < 0 || Number(size) !== body.length) throw new CorruptObjectError(oid);
  return { type, body };
};

const parseTree = (oid: string, body: Buffer, oidBytes: number): TreeEntry[] => {
  const entries: TreeEntry[] = [];
  for (let at = 0; at < body.length; ) {
    const space = body.indexOf(0x20, at);
    const nameEnd = space < 0 ? -1 : body.indexOf(0, space);
    if (nameEnd < 0 || nameEnd + 1 + oidBytes > body.length) throw new CorruptObjectError(oid);
    entries.push({
      mode: canonicalMode(Number.parseInt(body.toString("latin1", at, space), 8)),
      name: body.subarray(space + 1, nameEnd),
      oid: body.toString("hex", nameEnd + 1, nameEnd + 1 + oidBytes),
    });
    at = nameEnd + 1 + oidBytes;
  }
  return entries;
};

const slash = Buffer.from("/");
const nul = Buffer.alloc(1);

/** git's tree order: byte order, with a directory's name read as if it ended in "/". */
const treeSortKey = (entry: TreeEntry): Buffer =>
  entry.mode === treeMode ? Buffer.concat([entry.name, slash]) : entry.name;

const serializeTree = (entries: readonly TreeEntry[]): Buffer =>
  Buffer.concat(
    [...entries]
      .sort((a, b) => Buffer.compare(treeSortKey(a), treeSortKey(b)))
      .flatMap((entry) => [
        Buffer.from(`${entry.mode.toString(8)} `),
        entry.name,
        nul,
        Buffer.from(entry.oid, "hex"),
      ]),
  );

const treeOfCommit = (oid: string, body: Buffer): string => {
  const tree = /^tree ([0-9a-f]+)\n/.exec(body.toString("latin1", 0, 80))?.[1];
  if (tree === undefined) throw new CorruptObjectError(oid);
  return tree;
};

/** One index entry: its stat data as git records it (ten 32-bit words), its mode and its blob. */
interface IndexEntry {
  /** The path's bytes as a latin1 string: lossless, whatever the path's encoding. */
  key: string;
  path: Buffer;
  stat: number[];
  mode: number;
  oid: string;
}

/** What the index says, when it is in the plain form this adapter can read; undefined otherwise. */
interface IndexSnapshot {
  entries: IndexEntry[];
  /** The tree the index hashes to, when its cache-tree extension says so. */
  cachedTree: string | undefined;
  /** The index file's mtime in seconds: entries modified in that second or later are "racily clean". */
  writtenAtSeconds: number;
}

/**
 * Parses an index of version 2 or 3 with stage-0 entries only; anything else (unmerged paths, assume-unchanged,
 * skip-worktree or intent-to-add flags, version 4 or a required extension such as a split index) gives undefined.
 */
const parseIndex = (
  bytes: Buffer,
  hash: "sha1" | "sha256",
  oidBytes: number,
  writtenAtSeconds: number,
): IndexSnapshot | undefined => {
  const checksumAt = bytes.length - oidBytes;
  if (checksumAt < 12 || bytes.toString("latin1", 0, 4) !== indexSignature) return undefined;
  const version = bytes.readUInt32BE(4);
  const count = bytes.readUInt32BE(8);
  if ((version !== 2 && version !== 3) || count > maxInProcessIndexEntries) return undefined;
  const checksum = bytes.subarray(checksumAt);
  if (
    checksum.some((byte) => byte !== 0) &&
    !createHash(hash).update(bytes.subarray(0, checksumAt)).digest().equals(checksum)
  ) {
    return undefined;
  }
  const entries: IndexEntry[] = [];
  let at = 12;
  for (let n = 0; n < count; n++) {
    const flagsAt = at + indexEntryFixedBytes + oidBytes;
    if (flagsAt + indexFlagsBytes > checksumAt) return undefined;
    const flags = bytes.readUInt16BE(flagsAt);
    if (flags & (indexAssumeValidFlag | indexExtendedFlag | indexStageMask)) return undefined;
    const nameAt = flagsAt + indexFlagsBytes;
    const nameEnd = bytes.indexOf(0, nameAt);
    const nameLength = flags & indexNameLengthMask;
    if (
      nameEnd < 0 ||
      (nameLength < indexNameLengthMask ? nameEnd - nameAt !== nameLength : nameEnd - nameAt < nameLength)
    ) {
      return undefined;
    }
    const stat = Array.from({ length: indexEntryStatWords }, (_, word) => bytes.readUInt32BE(at + word * 4));
    const path = bytes.subarray(nameAt, nameEnd);
    entries.push({
      key: path.toString("latin1"),
      path,
      stat,
      mode: stat[indexEntryModeWord] ?? 0,
      oid: bytes.toString("hex", at + indexEntryFixedBytes, flagsAt),
    });
    const length = nameAt - at + (nameEnd - nameAt);
    at += Math.floor((length + indexEntryAlignment) / indexEntryAlignment) * indexEntryAlignment;
  }
  let cachedTree: string | undefined;
  while (at < checksumAt) {
    if (at + 8 > checksumAt) return undefined;
    const signature = bytes.toString("latin1", at, at + 4);
    const size = bytes.readUInt32BE(at + 4);
    // Extensions named in lower case change what the entries mean; git refuses an index it does not understand.
    if (!/^[A-Z]/.test(signature)) return undefined;
    if (signature === "TREE") {
      // The root node: an empty path, "<entry count> <subtree count>\n", then its tree when the count is valid.
      const header = /^\0(-?\d+) \d+\n/.exec(bytes.toString("latin1", at + 8, at + 8 + 32));
      if (header?.[1] !== undefined && Number(header[1]) >= 0) {
        const treeAt = at + 8 + header[0].length;
        cachedTree = bytes.toString("hex", treeAt, treeAt + oidBytes);
      }
    }
    at += 8 + size;
  }
  return { entries, cachedTree, writtenAtSeconds };
};

/** A file's stat data in the index's form: git truncates every field to 32 bits and keeps only the mode it tracks. */
const indexStat = (stat: fs.BigIntStats): number[] => {
  const mode = stat.isSymbolicLink()
    ? symlinkMode
    : Number(stat.mode) & ownerExecuteBit
      ? executableFileMode
      : regularFileMode;
  return [
    stat.ctimeNs / nanosecondsPerSecond,
    stat.ctimeNs % nanosecondsPerSecond,
    stat.mtimeNs / nanosecondsPerSecond,
    stat.mtimeNs % nanosecondsPerSecond,
    stat.dev,
    stat.ino,
    BigInt(mode),
    stat.uid,
    stat.gid,
    stat.size,
  ].map((value) => Number(value & uint32Mask));
};

/** Where the repository keeps things, and how it names them; asked of git once per instance. */
interface RepositoryLayout {
  bare: boolean;
  /** HEAD and the index live here (a linked work tree has its own). */
  gitDir: string;
  /** Objects and branches live here. */
  commonDir: string;
  /** The work tree's top, when this directory is that top. */
  workTree: string | undefined;
  hash: "sha1" | "sha256";
  oidBytes: number;
  emptyTree: string;
  /** False when `i18n.commitEncoding` names another encoding: `commit-tree` then adds an `encoding` header. */
  utf8Commits: boolean;
}

/**
 * A GitOps repository in a directory on this machine. A commit is made in this process — the blob, the trees along
 * the changed path and the commit are written as loose objects, byte for byte what `hash-object`, `write-tree` and
 * `commit-tree` would store — and published with one `git update-ref <branch> <new> <expected-old>`, which fails if
 * another process moved the branch; the edit is then re-applied on the new head. Reads resolve the branch and walk
 * trees in process too, loose objects directly and packed ones through isomorphic-git, with `git` itself as the
 * fallback for anything else. Writers in this process queue per repository and branch. When the repository has a
 * work tree that is clean and on the branch, the work tree follows each commit; uncommitted human changes are never
 * overwritten (the work tree is then left as it is).
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
  private layoutProbe: Promise<RepositoryLayout> | undefined;
  /** isomorphic-git's parsed pack indexes, kept while the set of packs stays the same. */
  private packs: { names: string; cache: object } | undefined;
  /** Least recently used first. */
  private readonly objects = new Map<string, GitObject>();
  private objectBytes = 0;

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
    const entry = await this.entryAt(commit, await this.treeOf(commit), path);
    return entry && { content: await this.blobText(entry.oid, path), revision: commit };
  }

  async updateFile(input: FileUpdate): Promise<FileUpdateResult> {
    const path = checkPath(input.path);
    const result = await GitGitOpsRepository.writeLocks.run(this.key, () =>
      editOptimistically(
        {
          read: async () => {
            const head = await this.head();
            const tree = await this.treeOf(head);
            const entry = await this.entryAt(head, tree, path);
            const content = entry && (await this.blobText(entry.oid, path));
            return { version: head, tree, content, mode: entry?.mode ?? regularFileMode };
          },
          write: (snapshot, content) =>
            this.commitFile(
              { commit: snapshot.version, tree: snapshot.tree },
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

  /**
   * Commits one file on top of `parent` and moves the branch there only if it still points at `parent`. The branch
   * moves with the only git process of a commit (two with a work tree to bring along): update-ref is git's own
   * compare-and-swap, with its locking, packed-refs handling and reflog.
   */
  private async commitFile(
    parent: { commit: string; tree: string },
    file: { path: string; mode: number; content: string },
    message: string,
    author: CommitAuthor | undefined,
  ): Promise<WriteOutcome> {
    const layout = await this.layout();
    const blob = this.storeObject(layout, "blob", Buffer.from(file.content, "utf8"));
    const tree = await this.withFile(layout, parent.tree, file.path.split("/"), {
      mode: file.mode,
      oid: blob,
    });
    const commit = await this.writeCommit(layout, tree, [parent.commit], message, author);
    const followWorkTree = await this.workTreeFollows(parent.commit, parent.tree);
    try {
      await this.git(["update-ref", "-m", `switchyard: ${file.path}`, this.ref, commit, parent.commit]);
    } catch (error) {
      if (isLockContention(error)) return { conflict: error };
      throw error;
    }
    if (followWorkTree) await this.checkOut(parent.commit, commit);
    return { written: commit };
  }

  /**
   * Writes the trees along `segments` with the file in place and returns the new root; every other subtree is
   * shared. Entries are rewritten as `write-tree` writes them from an index: canonical modes, git's order, no empty
   * subtree, and a file standing where a directory is needed replaced by that directory.
   */
  private async withFile(
    layout: RepositoryLayout,
    tree: string | undefined,
    segments: readonly string[],
    file: { mode: number; oid: string },
  ): Promise<string> {
    const [segment = "", ...rest] = segments;
    const name = Buffer.from(segment, "utf8");
    const entries = tree === undefined ? [] : await this.readTree(tree);
    const at = entries.findIndex((entry) => entry.name.equals(name));
    const existing = entries[at];
    const entry =
      rest.length === 0
        ? { mode: file.mode, name, oid: file.oid }
        : {
            mode: treeMode,
            name,
            oid: await this.withFile(
              layout,
              existing?.mode === treeMode ? existing.oid : undefined,
              rest,
              file,
            ),
          };
    if (at < 0) entries.push(entry);
    else entries[at] = entry;
    const kept = entries.filter((child) => !(child.mode === treeMode && child.oid === layout.emptyTree));
    return this.storeObject(layout, "tree", serializeTree(kept));
  }

  /**
   * Writes the commit `commit-tree` would write. An identity git would trim or refuse, a message with a NUL byte, a
   * date git would read another way or a repository that records another commit encoding are left to
   * `commit-tree` itself, so such commits stay exactly what git makes of them.
   */
  private async writeCommit(
    layout: RepositoryLayout,
    tree: string,
    parents: readonly string[],
    message: string,
    author: CommitAuthor | undefined,
  ): Promise<string> {
    const committer = this.author;
    const by = author ?? committer;
    const now = this.clock.now();
    const seconds = gitSeconds(now);
    const plain =
      [by.name, by.email, committer.name, committer.email].every(isPlainIdentityPart) &&
      !message.includes("\0") &&
      seconds >= minPlainTimestampSeconds &&
      seconds <= maxPlainTimestampSeconds &&
      layout.utf8Commits;
    if (!plain) return this.commitTree(tree, parents, message, author, now);
    const date = gitDate(now);
    return this.storeObject(
      layout,
      "commit",
      Buffer.from(
        [
          `tree ${tree}\n`,
          ...parents.map((parent) => `parent ${parent}\n`),
          `author ${by.name} <${by.email}> ${date}\n`,
          `committer ${committer.name} <${committer.email}> ${date}\n`,
          "\n",
          withFinalNewline(message),
        ].join(""),
        "utf8",
      ),
    );
  }

  private async createBranch(files: Record<string, string>, message: string): Promise<void> {
    const entries: string[] = [];
    for (const [path, content] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const blob = await this.git(["hash-object", "-w", "--stdin"], { input: content });
      entries.push(`${regularFileMode.toString(8)} ${blob}\t${checkPath(path)}\0`);
    }
    const tree = await this.withTemporaryIndex(async (env) => {
      await this.git(["update-index", "-z", "--index-info"], { env, input: entries.join("") });
      return this.git(["write-tree"], { env });
    });
    const commit = await this.commitTree(tree, [], message, undefined, this.clock.now());
    try {
      // The empty expected value means "must not exist yet": a concurrent first start keeps its own commit.
      await this.git(["update-ref", "-m", "switchyard: initial layout", this.ref, commit, ""]);
    } catch (error) {
      if (isLockContention(error) && (await this.resolveCommit(this.ref)) !== undefined) return;
      throw error;
    }
    if (!(await this.layout()).bare && (await this.symbolicHead()) === this.ref) {
      await this.git(["read-tree", "-m", "-u", commit]).catch(() => undefined);
    }
  }

  private commitTree(
    tree: string,
    parents: readonly string[],
    message: string,
    author: CommitAuthor | undefined,
    now: Date,
  ) {
    const committer = this.author;
    const by = author ?? committer;
    const date = gitDate(now);
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
   *
   * The common case is proven here, without a process: HEAD names the branch, the index holds exactly `head`'s tree
   * (its cache-tree says so, or the trees are walked), and every tracked file still has the stat data the index
   * recorded (one written in the same second as the index is hashed, as git does). Anything this cannot prove — a
   * changed, touched or missing file, staged work, an index form it does not read, a big work tree — is asked of
   * `git status` as before, so the answer is never more permissive, only sometimes slower. Measured on the 2-core
   * machine: `git status` 7–13 ms (10 to 1,000 files), this proof 0.3–7 ms; isomorphic-git's `statusMatrix` took
   * 20 ms for 10 files and 0.6 s for 1,000, and it rewrites the index's stat data in its own way.
   */
  private async workTreeFollows(head: string, headTree: string): Promise<boolean> {
    const layout = await this.layout();
    if (layout.bare) return false;
    const headRef = headRefOf(layout.gitDir);
    if (headRef !== undefined && headRef !== this.ref) return false;
    if (headRef === this.ref && (await this.indexProvesClean(layout, headTree))) return true;
    return this.statusShowsClean(head);
  }

  private async statusShowsClean(head: string): Promise<boolean> {
    const status = await this.git(["status", "--porcelain=v2", "--branch", "--untracked-files=no", "-z"]);
    const lines = status.split("\0").filter((line) => line.length > 0);
    const header = (name: string) =>
      lines.find((line) => line.startsWith(`# ${name} `))?.slice(name.length + 3);
    const changes = lines.filter((line) => !line.startsWith("# "));
    return header("branch.head") === this.branch && header("branch.oid") === head && changes.length === 0;
  }

  private async indexProvesClean(layout: RepositoryLayout, headTree: string): Promise<boolean> {
    if (layout.workTree === undefined) return false;
    const index = readIndex(layout);
    if (index === undefined) return false;
    if (index.cachedTree !== headTree && !(await this.indexHoldsTree(index.entries, headTree))) return false;
    const workTree = Buffer.from(`${layout.workTree}/`);
    return index.entries.every((entry) =>
      fileMatchesIndex(Buffer.concat([workTree, entry.path]), entry, index.writtenAtSeconds, layout.hash),
    );
  }

  /** True when the index lists exactly the files of `tree`, with their modes and blobs. */
  private async indexHoldsTree(entries: readonly IndexEntry[], tree: string): Promise<boolean> {
    const files = new Map<string, { mode: number; oid: string }>();
    const walk = async (oid: string, prefix: string): Promise<boolean> => {
      for (const entry of await this.readTree(oid)) {
        const path = prefix + entry.name.toString("latin1");
        if (entry.mode === treeMode) {
          if (!(await walk(entry.oid, `${path}/`))) return false;
        } else {
          files.set(path, entry);
          if (files.size > entries.length) return false;
        }
      }
      return true;
    };
    return (
      (await walk(tree, "")) &&
      files.size === entries.length &&
      entries.every((entry) => {
        const file = files.get(entry.key);
        return file?.mode === entry.mode && file.oid === entry.oid;
      })
    );
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

  /** The file at `path`, as `ls-tree` would list it: nothing below a file, a directory or submodule refused. */
  private async entryAt(
    commit: string,
    tree: string,
    path: string,
  ): Promise<{ mode: number; oid: string } | undefined> {
    const segments = path.split("/");
    let current = tree;
    for (const [n, segment] of segments.entries()) {
      const name = Buffer.from(segment, "utf8");
      const entry = (await this.readTree(current)).find((candidate) => candidate.name.equals(name));
      if (entry === undefined) return undefined;
      if (n === segments.length - 1) {
        if (entry.mode === treeMode || entry.mode === gitlinkMode) {
          throw new ValidationError(`${path} is not a file at ${commit}`);
        }
        return entry;
      }
      if (entry.mode !== treeMode) return undefined;
      current = entry.oid;
    }
    return undefined;
  }

  private async blobText(oid: string, path: string): Promise<string> {
    const bytes = await this.readObjectOf(oid, "blob");
    try {
      return utf8.decode(bytes);
    } catch (error) {
      throw new ValidationError(`${path} is not UTF-8 text`, { cause: error });
    }
  }

  private async treeOf(commit: string): Promise<string> {
    return treeOfCommit(commit, await this.readObjectOf(commit, "commit"));
  }

  private async readTree(oid: string): Promise<TreeEntry[]> {
    const { oidBytes } = await this.layout();
    return parseTree(oid, await this.readObjectOf(oid, "tree"), oidBytes);
  }

  private async readObjectOf(oid: string, type: string): Promise<Buffer> {
    const object = await this.readObject(oid);
    if (object === undefined) throw new NotFoundError(`object ${oid} does not exist in ${this.dir}`);
    if (object.type !== type) throw new CorruptObjectError(oid);
    return object.body;
  }

  /** An object from the loose store, a pack, or — for what neither reader finds — `git cat-file`. */
  private async readObject(oid: string): Promise<GitObject | undefined> {
    const cached = this.objects.get(oid);
    if (cached !== undefined) {
      this.remember(oid, cached);
      return cached;
    }
    const { commonDir, hash } = await this.layout();
    const deflated = readIfExists(looseObjectPath(commonDir, oid));
    const object =
      deflated !== undefined
        ? parseLooseObject(oid, inflateSync(deflated))
        : ((hash === "sha1" ? await this.readPackedObject(commonDir, oid) : undefined) ??
          (await this.catFile(oid)));
    if (object !== undefined) this.remember(oid, object);
    return object;
  }

  private remember(oid: string, object: GitObject): void {
    const previous = this.objects.get(oid);
    if (previous !== undefined) {
      this.objects.delete(oid);
      this.objectBytes -= previous.body.length;
    }
    if (object.body.length > objectCacheBytes / 2) return;
    this.objects.set(oid, object);
    this.objectBytes += object.body.length;
    for (const [stale, { body }] of this.objects) {
      if (this.objectBytes <= objectCacheBytes) break;
      this.objects.delete(stale);
      this.objectBytes -= body.length;
    }
  }

  private async readPackedObject(commonDir: string, oid: string): Promise<GitObject | undefined> {
    const packDir = join(commonDir, "objects", "pack");
    const indexes =
      ifExists(packDir, (path) => readdirSync(path))?.filter((name) => name.endsWith(".idx")) ?? [];
    if (indexes.length === 0) return undefined;
    // A repack replaces the packs: drop the indexes (and pack contents) isomorphic-git cached for the old ones.
    const names = indexes.sort().join("\n");
    if (this.packs?.names !== names) this.packs = { names, cache: {} };
    try {
      const found = await readObjectFromPacks({
        fs,
        gitdir: commonDir,
        oid,
        format: "content",
        cache: this.packs.cache,
      });
      return { type: found.type, body: Buffer.from(found.object as Uint8Array) };
    } catch {
      // Not packed here (an alternate, a pack being replaced, a pack format isomorphic-git does not read): git answers.
      return undefined;
    }
  }

  private async catFile(oid: string): Promise<GitObject | undefined> {
    const output = await this.gitBytes(["cat-file", "--batch"], { input: `${oid}\n` });
    const headerEnd = output.indexOf(0x0a);
    const [, type = "", size] = output.toString("latin1", 0, Math.max(headerEnd, 0)).split(" ");
    if (headerEnd < 0 || size === undefined) return undefined;
    return { type, body: output.subarray(headerEnd + 1, headerEnd + 1 + Number(size)) };
  }

  private storeObject(layout: RepositoryLayout, type: string, body: Buffer): string {
    const raw = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
    const oid = createHash(layout.hash).update(raw).digest("hex");
    writeLooseObject(looseObjectPath(layout.commonDir, oid), raw);
    this.remember(oid, { type, body });
    return oid;
  }

  /**
   * The commit `revision` names. The branch (its loose ref, else packed-refs) and full object ids are resolved here;
   * any other revision, a symbolic or missing ref, or an object that is not a commit is left to `git rev-parse`.
   */
  private async resolveCommit(revision: string): Promise<string | undefined> {
    const { hash } = await this.layout();
    const oidLength = hash === "sha1" ? 40 : 64;
    const isObjectId = revision.length === oidLength && commitIdPattern.test(revision);
    const oid = isObjectId ? revision : revision === this.ref ? await this.readBranch() : undefined;
    if (oid !== undefined) {
      const object = await this.readObject(oid);
      if (object?.type === "commit") return oid;
      if (object === undefined && isObjectId) return undefined;
    }
    return this.revParse(revision);
  }

  /** The branch's commit id from its ref file or packed-refs; undefined when git should answer. */
  private async readBranch(): Promise<string | undefined> {
    const { commonDir, hash } = await this.layout();
    const oidPattern = hash === "sha1" ? /^[0-9a-f]{40}$/ : /^[0-9a-f]{64}$/;
    // The loose ref first: `git pack-refs` writes packed-refs before it deletes the loose ref, never after.
    const loose = readIfExists(join(commonDir, this.ref))?.toString("utf8").trim();
    if (loose !== undefined) return oidPattern.test(loose) ? loose : undefined;
    const packed = readIfExists(join(commonDir, "packed-refs"))?.toString("utf8") ?? "";
    const line = packed.split("\n").find((candidate) => candidate.endsWith(` ${this.ref}`));
    const oid = line?.slice(0, line.indexOf(" "));
    return oid !== undefined && oidPattern.test(oid) ? oid : undefined;
  }

  private async revParse(revision: string): Promise<string | undefined> {
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

  private layout(): Promise<RepositoryLayout> {
    this.layoutProbe ??= this.probeLayout().catch((error: unknown) => {
      this.layoutProbe = undefined;
      throw error;
    });
    return this.layoutProbe;
  }

  private async probeLayout(): Promise<RepositoryLayout> {
    const [answer, encoding] = await Promise.all([
      this.gitBytes([
        "rev-parse",
        "--is-bare-repository",
        "--absolute-git-dir",
        "--git-common-dir",
        "--show-object-format",
        "--is-inside-work-tree",
        "--show-prefix",
      ]),
      this.git(["config", "--get", "i18n.commitEncoding"]).catch((error: unknown) => {
        if (error instanceof GitCommandError && error.exitCode === 1) return "";
        throw error;
      }),
    ]);
    const [bare, gitDir = "", commonDir = "", format, insideWorkTree, prefix] = answer
      .toString("utf8")
      .split("\n");
    if (format !== "sha1" && format !== "sha256") {
      throw new ValidationError(`${this.dir} uses object format ${format}, which Switchyard does not write`);
    }
    const oidBytes = format === "sha1" ? 20 : 32;
    return {
      bare: bare === "true",
      gitDir,
      commonDir: resolve(this.dir, commonDir),
      workTree: insideWorkTree === "true" && prefix === "" ? this.dir : undefined,
      hash: format,
      oidBytes,
      emptyTree: createHash(format).update("tree 0\0").digest("hex"),
      utf8Commits: encoding === "" || /^utf-?8$/i.test(encoding),
    };
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

const looseObjectPath = (commonDir: string, oid: string): string =>
  join(commonDir, "objects", oid.slice(0, 2), oid.slice(2));

const errorCode = (error: unknown): unknown => error instanceof Error && "code" in error && error.code;

/**
 * `use(path)`, or undefined when there is nothing at the path.
 *
 * The repository's files are read and written synchronously, on purpose: each call takes microseconds against the
 * page cache, where an asynchronous one costs a thread-pool round trip and an event-loop turn — on the busy 2-core
 * machine, up to milliseconds each, and a commit makes dozens. The runtime's SQLite stores make the same trade.
 */
const ifExists = <T>(path: string | Buffer, use: (path: string | Buffer) => T): T | undefined => {
  try {
    return use(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
};

const readIfExists = (path: string): Buffer | undefined => ifExists(path, (file) => readFileSync(file));

/** The ref HEAD names, from its file; undefined (git answers) when HEAD is detached or unreadable. */
const headRefOf = (gitDir: string): string | undefined =>
  /^ref: (\S+)\n?$/.exec(readIfExists(join(gitDir, "HEAD"))?.toString("utf8") ?? "")?.[1];

const readIndex = (layout: RepositoryLayout): IndexSnapshot | undefined => {
  let descriptor: number;
  try {
    descriptor = openSync(join(layout.gitDir, "index"), "r");
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    // One open file gives both the bytes and their mtime: git replaces the index by rename, never in place.
    const written = fstatSync(descriptor, { bigint: true });
    const seconds = Number(written.mtimeNs / nanosecondsPerSecond);
    return parseIndex(readFileSync(descriptor), layout.hash, layout.oidBytes, seconds);
  } finally {
    closeSync(descriptor);
  }
};

/**
 * git's own test: the stat data the index recorded means the content is what it recorded, unless the file was
 * written in the same second as the index ("racily clean"), when the content is hashed. Stat data that differs
 * proves nothing here even if the content is the same: `read-tree -u` refuses such a path until `git status` has
 * refreshed the index, so that case is left to `git status`.
 */
const fileMatchesIndex = (
  path: Buffer,
  entry: IndexEntry,
  indexSeconds: number,
  hash: "sha1" | "sha256",
): boolean => {
  if (entry.mode !== regularFileMode && entry.mode !== executableFileMode && entry.mode !== symlinkMode) {
    return false;
  }
  const stat = ifExists(path, (file) => lstatSync(file, { bigint: true }));
  if (stat === undefined || !(stat.isFile() || stat.isSymbolicLink())) return false;
  if (!indexStat(stat).every((word, n) => word === entry.stat[n])) return false;
  if ((entry.stat[indexEntryMtimeSecondsWord] ?? 0) < indexSeconds) return true;
  const content = stat.isSymbolicLink() ? readlinkSync(path, { encoding: "buffer" }) : readFileSync(path);
  const raw = Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]);
  return createHash(hash).update(raw).digest("hex") === entry.oid;
};

/**
 * Stores an object as git stores a loose one: deflated into a temporary file, then linked into place, so no reader
 * ever sees half an object and an existing object is never overwritten. One that exists already is freshened, as
 * git does (and, like git, carries on when it cannot), so a concurrent `git gc` does not prune it before the commit
 * that uses it is published.
 */
const writeLooseObject = (path: string, raw: Buffer): void => {
  const directory = dirname(path);
  // git's own prefix for temporary objects: `git gc` removes one a crash left behind.
  const temporary = join(directory, `tmp_obj_${randomUUID()}`);
  const deflated = deflateSync(raw, { level: looseCompressionLevel });
  const options = { mode: looseObjectMode, flag: "wx" } as const;
  try {
    writeFileSync(temporary, deflated, options);
  } catch (error) {
    if (!isMissing(error)) throw error;
    mkdirSync(directory, { recursive: true });
    writeFileSync(temporary, deflated, options);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    if (errorCode(error) === "EEXIST") {
      const now = new Date();
      try {
        utimesSync(path, now, now);
      } catch {
        // Like git: an object that cannot be freshened is still stored, and the commit goes on.
      }
    } else {
      // A file system without hard links: a rename, as git falls back to.
      renameSync(temporary, path);
    }
  } finally {
    ifExists(temporary, unlinkSync);
  }
};

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

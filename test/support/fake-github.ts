// A local stand-in for GitHub's Git Data API (refs, commits, trees, blobs) with git's object model and ref rules.

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** GitHub wraps blob content at this width. */
const base64LineLength = 60;
const treeMode = "040000";
const regularFileMode = "100644";
const shaPattern = /^[0-9a-f]{40}$/;

interface Identity {
  name: string;
  email: string;
  date: string;
}

type GitObject =
  | { type: "blob"; data: Buffer }
  | { type: "tree"; entries: TreeEntry[] }
  | {
      type: "commit";
      tree: string;
      parents: string[];
      author: Identity;
      committer: Identity;
      message: string;
    };

interface TreeEntry {
  name: string;
  mode: string;
  type: "blob" | "tree" | "commit";
  sha: string;
}

/** One request as the server saw it. */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  body?: unknown;
}

/** A failure to answer instead of the real response, for the next `count` requests that match. */
export interface InjectedFailure {
  status: number;
  count?: number;
  message?: string;
  headers?: Record<string, string>;
  match?: (method: string, path: string) => boolean;
}

export interface CommitView {
  sha: string;
  tree: string;
  parents: string[];
  author: Identity;
  committer: Identity;
  message: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const gitHash = (type: string, body: Buffer): string =>
  createHash("sha1")
    .update(Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]))
    .digest("hex");

/** Git orders tree entries by name, comparing a directory's name as if it ended in "/". */
const treeOrder = (a: TreeEntry, b: TreeEntry): number => {
  const key = (entry: TreeEntry) => Buffer.from(entry.type === "tree" ? `${entry.name}/` : entry.name);
  return Buffer.compare(key(a), key(b));
};

const gitTimestamp = (iso: string): string => `${Math.floor(new Date(iso).getTime() / 1_000)} +0000`;

const serialize = (object: GitObject): Buffer => {
  switch (object.type) {
    case "blob":
      return object.data;
    case "tree":
      return Buffer.concat(
        [...object.entries]
          .sort(treeOrder)
          .flatMap((entry) => [
            Buffer.from(`${entry.mode.replace(/^0/, "")} ${entry.name}\0`),
            Buffer.from(entry.sha, "hex"),
          ]),
      );
    case "commit":
      return Buffer.from(
        [
          `tree ${object.tree}`,
          ...object.parents.map((parent) => `parent ${parent}`),
          `author ${object.author.name} <${object.author.email}> ${gitTimestamp(object.author.date)}`,
          `committer ${object.committer.name} <${object.committer.email}> ${gitTimestamp(object.committer.date)}`,
          "",
          object.message,
        ].join("\n"),
      );
  }
};

/**
 * An in-memory GitHub serving the Git Data API subset the GitOps adapter uses: get/update/create ref, get/create
 * commit, get/create tree (with `base_tree` and nested paths), get/create blob. Object ids are real git SHA-1s, and a
 * `force: false` ref update that is not a fast forward is refused with GitHub's 422, so optimistic concurrency is
 * exercised for real. Helpers move the branch behind the adapter's back and inject failures.
 *
 * @example
 * const github = await startFakeGitHub({ owner: "acme", repo: "gitops" });
 * github.seed({ "README.md": "# GitOps\n" });
 * const octokit = new Octokit({ baseUrl: github.url });
 * // … test …
 * await github.close();
 */
export class FakeGitHub {
  readonly requests: LoggedRequest[] = [];
  private readonly objects = new Map<string, GitObject>();
  private readonly refs = new Map<string, string>();
  private readonly failures: InjectedFailure[] = [];
  private readonly server = createServer((req, res) => {
    void this.handle(req, res);
  });
  private clockMs = Date.parse("2026-01-01T00:00:00Z");
  url = "";

  constructor(
    readonly owner: string,
    readonly repo: string,
  ) {}

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  /** Commits `files` (path → content; null deletes) on top of the branch, or as its first commit; returns the commit. */
  advanceBranch(
    files: Record<string, string | null>,
    options: { branch?: string; message?: string } = {},
  ): string {
    const branch = options.branch ?? "main";
    const head = this.refs.get(`refs/heads/${branch}`);
    const base = head === undefined ? undefined : this.commitObject(head).tree;
    const tree = this.buildTree(
      base,
      Object.entries(files).map(([path, content]) => ({
        path,
        mode: regularFileMode,
        sha: content === null ? null : this.put({ type: "blob", data: Buffer.from(content, "utf8") }),
      })),
    );
    const who = { name: "Another Writer", email: "another@example.com", date: this.tick() };
    const commit = this.put({
      type: "commit",
      tree,
      parents: head === undefined ? [] : [head],
      author: who,
      committer: who,
      message: options.message ?? "Concurrent change",
    });
    this.refs.set(`refs/heads/${branch}`, commit);
    return commit;
  }

  /** The first commit of a branch. */
  seed(files: Record<string, string>, branch = "main"): string {
    return this.advanceBranch(files, { branch, message: "Initial GitOps layout" });
  }

  head(branch = "main"): string | undefined {
    return this.refs.get(`refs/heads/${branch}`);
  }

  /** A file's content at a commit (default: the branch head). */
  fileAt(path: string, revision?: string): string | undefined {
    const commit = revision ?? this.head();
    if (commit === undefined) return undefined;
    const entry = this.flatten(this.commitObject(commit).tree).get(path);
    if (entry === undefined) return undefined;
    const blob = this.objects.get(entry.sha);
    return blob?.type === "blob" ? blob.data.toString("utf8") : undefined;
  }

  commit(sha: string): CommitView {
    const { tree, parents, author, committer, message } = this.commitObject(sha);
    return { sha, tree, parents, author, committer, message };
  }

  /** Paths whose content differs between a commit and its first parent. */
  changedPaths(sha: string): string[] {
    const commit = this.commitObject(sha);
    const [parent] = commit.parents;
    const before = parent === undefined ? new Map() : this.flatten(this.commitObject(parent).tree);
    const after = this.flatten(commit.tree);
    const paths = new Set([...before.keys(), ...after.keys()]);
    return [...paths].filter((path) => before.get(path)?.sha !== after.get(path)?.sha).sort();
  }

  /** Answers the next matching requests with an error instead (a 502, a secondary rate limit …). */
  failNext(failure: InjectedFailure): void {
    this.failures.push({ count: 1, ...failure });
  }

  private tick(): string {
    this.clockMs += 1_000;
    return new Date(this.clockMs).toISOString();
  }

  private put(object: GitObject): string {
    const sha = gitHash(object.type, serialize(object));
    this.objects.set(sha, object);
    return sha;
  }

  private commitObject(sha: string): Extract<GitObject, { type: "commit" }> {
    const object = this.objects.get(sha);
    if (object?.type !== "commit") throw new HttpError(404, "Not Found");
    return object;
  }

  private treeObject(sha: string): Extract<GitObject, { type: "tree" }> {
    const object = this.objects.get(sha);
    if (object?.type !== "tree") throw new HttpError(404, "Not Found");
    return object;
  }

  /** Every non-tree entry below a tree, by full path. */
  private flatten(tree: string, prefix = "", into = new Map<string, TreeEntry>()): Map<string, TreeEntry> {
    for (const entry of this.treeObject(tree).entries) {
      const path = `${prefix}${entry.name}`;
      if (entry.type === "tree") this.flatten(entry.sha, `${path}/`, into);
      else into.set(path, { ...entry, name: path });
    }
    return into;
  }

  /** Applies path changes to a base tree (as GitHub's create-tree does) and stores every new tree. */
  private buildTree(
    base: string | undefined,
    changes: readonly { path: string; mode: string; sha: string | null }[],
  ): string {
    const files = base === undefined ? new Map<string, TreeEntry>() : this.flatten(base);
    for (const change of changes) {
      if (change.path.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) {
        throw new HttpError(422, `tree.path contains a malformed path component`);
      }
      if (change.sha === null) {
        if (!files.delete(change.path)) {
          throw new HttpError(422, `${change.path} does not exist in the base tree`);
        }
        continue;
      }
      if (!this.objects.has(change.sha)) throw new HttpError(422, "tree.sha is not a valid blob");
      files.set(change.path, { name: change.path, mode: change.mode, type: "blob", sha: change.sha });
    }
    return this.storeTree(files);
  }

  private storeTree(files: Map<string, TreeEntry>, prefix = ""): string {
    const entries: TreeEntry[] = [];
    const directories = new Set<string>();
    for (const [path, entry] of files) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash === -1) entries.push({ ...entry, name: rest });
      else directories.add(rest.slice(0, slash));
    }
    for (const directory of directories) {
      entries.push({
        name: directory,
        mode: treeMode,
        type: "tree",
        sha: this.storeTree(files, `${prefix}${directory}/`),
      });
    }
    return this.put({ type: "tree", entries: entries.sort(treeOrder) });
  }

  private isAncestor(ancestor: string, descendant: string): boolean {
    const seen = new Set<string>();
    const queue = [descendant];
    while (queue.length > 0) {
      const sha = queue.pop() as string;
      if (sha === ancestor) return true;
      if (seen.has(sha)) continue;
      seen.add(sha);
      queue.push(...this.commitObject(sha).parents);
    }
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const method = req.method ?? "GET";
    let body: unknown;
    let status = 500;
    let payload: unknown;
    let headers: Record<string, string> = {};
    try {
      const raw = await readBody(req);
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
      const failure = this.failures.find(
        (f) => (f.count ?? 0) > 0 && (f.match?.(method, url.pathname) ?? true),
      );
      if (failure) {
        failure.count = (failure.count ?? 1) - 1;
        headers = failure.headers ?? {};
        throw new HttpError(failure.status, failure.message ?? "Server Error");
      }
      [status, payload] = this.route(method, url, body);
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      payload = {
        message: error instanceof Error ? error.message : String(error),
        documentation_url: "https://docs.github.com/rest/git",
        status: String(status),
      };
    }
    this.requests.push({ method, path: url.pathname + url.search, status, body });
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(payload));
  }

  private route(method: string, url: URL, body: unknown): [number, unknown] {
    const prefix = `/repos/${this.owner}/${this.repo}/git/`;
    if (!url.pathname.startsWith(prefix)) throw new HttpError(404, "Not Found");
    const rest = url.pathname.slice(prefix.length);
    const [kind = "", ...tail] = rest.split("/");
    const id = decodeURIComponent(tail.join("/"));
    const input = (body ?? {}) as Record<string, unknown>;

    switch (`${method} ${kind}`) {
      case "GET ref":
        return [200, this.refView(`refs/${id}`)];
      case "PATCH refs":
        return [200, this.updateRef(`refs/${id}`, String(input.sha), input.force === true)];
      case "POST refs":
        return [201, this.createRef(String(input.ref), String(input.sha))];
      case "GET commits":
        return [200, this.commitView(id)];
      case "POST commits":
        return [201, this.createCommit(input)];
      case "GET trees":
        return [200, this.treeView(id, url.searchParams.has("recursive"))];
      case "POST trees":
        return [201, this.createTree(input)];
      case "GET blobs":
        return [200, this.blobView(id)];
      case "POST blobs":
        return [201, this.createBlob(input)];
      default:
        throw new HttpError(404, "Not Found");
    }
  }

  private apiUrl(path: string): string {
    return `${this.url}/repos/${this.owner}/${this.repo}/git/${path}`;
  }

  private refView(ref: string) {
    const sha = this.refs.get(ref);
    if (sha === undefined) throw new HttpError(404, "Not Found");
    return {
      ref,
      node_id: Buffer.from(ref).toString("base64"),
      url: this.apiUrl(ref),
      object: { type: "commit", sha, url: this.apiUrl(`commits/${sha}`) },
    };
  }

  private updateRef(ref: string, sha: string, force: boolean) {
    const current = this.refs.get(ref);
    if (current === undefined) throw new HttpError(422, "Reference does not exist");
    if (!shaPattern.test(sha) || this.objects.get(sha)?.type !== "commit") {
      throw new HttpError(422, "Object does not exist");
    }
    if (!force && !this.isAncestor(current, sha)) throw new HttpError(422, "Update is not a fast forward");
    this.refs.set(ref, sha);
    return this.refView(ref);
  }

  private createRef(ref: string, sha: string) {
    if (!ref.startsWith("refs/") || ref.split("/").length < 3) {
      throw new HttpError(422, "Reference name is invalid");
    }
    if (this.refs.has(ref)) throw new HttpError(422, "Reference already exists");
    if (this.objects.get(sha)?.type !== "commit") throw new HttpError(422, "Object does not exist");
    this.refs.set(ref, sha);
    return this.refView(ref);
  }

  private commitView(sha: string) {
    const { tree, parents, author, committer, message } = this.commitObject(sha);
    return {
      sha,
      node_id: `C_${sha}`,
      url: this.apiUrl(`commits/${sha}`),
      html_url: `https://github.com/${this.owner}/${this.repo}/commit/${sha}`,
      author,
      committer,
      message,
      tree: { sha: tree, url: this.apiUrl(`trees/${tree}`) },
      parents: parents.map((parent) => ({ sha: parent, url: this.apiUrl(`commits/${parent}`) })),
      verification: { verified: false, reason: "unsigned", signature: null, payload: null },
    };
  }

  private createCommit(input: Record<string, unknown>) {
    const tree = String(input.tree);
    const parents = Array.isArray(input.parents) ? input.parents.map(String) : [];
    if (this.objects.get(tree)?.type !== "tree") throw new HttpError(422, "Tree SHA does not exist");
    for (const parent of parents) {
      if (this.objects.get(parent)?.type !== "commit") throw new HttpError(422, "Parent SHA does not exist");
    }
    if (typeof input.message !== "string") throw new HttpError(422, "message is required");
    const identity = (value: unknown, fallback: Identity): Identity => {
      if (typeof value !== "object" || value === null) return fallback;
      const { name, email, date } = value as Partial<Identity>;
      if (typeof name !== "string" || typeof email !== "string") {
        throw new HttpError(422, "name and email required");
      }
      return { name, email, date: date ?? fallback.date };
    };
    const token = { name: "token-user", email: "token-user@users.noreply.github.com", date: this.tick() };
    const committer = identity(input.committer, token);
    const author = identity(input.author, committer);
    const sha = this.put({ type: "commit", tree, parents, author, committer, message: input.message });
    return this.commitView(sha);
  }

  private treeView(sha: string, recursive: boolean) {
    const entries = recursive ? this.recursiveEntries(sha) : this.treeObject(sha).entries;
    return {
      sha,
      url: this.apiUrl(`trees/${sha}`),
      tree: entries.map((entry) => ({
        path: entry.name,
        mode: entry.mode,
        type: entry.type,
        sha: entry.sha,
        ...(entry.type === "blob" ? { size: this.blobBytes(entry.sha).length } : {}),
        url: this.apiUrl(`${entry.type === "tree" ? "trees" : "blobs"}/${entry.sha}`),
      })),
      truncated: false,
    };
  }

  private recursiveEntries(sha: string, prefix = ""): TreeEntry[] {
    return this.treeObject(sha).entries.flatMap((entry) => {
      const named = { ...entry, name: `${prefix}${entry.name}` };
      return entry.type === "tree" ? [named, ...this.recursiveEntries(entry.sha, `${named.name}/`)] : [named];
    });
  }

  private createTree(input: Record<string, unknown>) {
    const base = input.base_tree === undefined ? undefined : String(input.base_tree);
    if (base !== undefined) this.treeObject(base);
    if (!Array.isArray(input.tree)) throw new HttpError(422, "tree is required");
    const changes = input.tree.map((item: Record<string, unknown>) => {
      if (item.type !== "blob") throw new HttpError(422, "only blob entries are supported by this fake");
      const sha =
        typeof item.content === "string"
          ? this.put({ type: "blob", data: Buffer.from(item.content, "utf8") })
          : item.sha === null
            ? null
            : String(item.sha);
      return { path: String(item.path), mode: String(item.mode ?? regularFileMode), sha };
    });
    return this.treeView(this.buildTree(base, changes), false);
  }

  private blobBytes(sha: string): Buffer {
    const object = this.objects.get(sha);
    if (object?.type !== "blob") throw new HttpError(404, "Not Found");
    return object.data;
  }

  private blobView(sha: string) {
    const data = this.blobBytes(sha);
    const base64 = data.toString("base64");
    const lines = base64.match(new RegExp(`.{1,${base64LineLength}}`, "g")) ?? [];
    return {
      sha,
      node_id: `B_${sha}`,
      url: this.apiUrl(`blobs/${sha}`),
      size: data.length,
      content: lines.map((line) => `${line}\n`).join(""),
      encoding: "base64",
    };
  }

  private createBlob(input: Record<string, unknown>) {
    if (typeof input.content !== "string") throw new HttpError(422, "content is required");
    const encoding = input.encoding ?? "utf-8";
    if (encoding !== "utf-8" && encoding !== "base64") throw new HttpError(422, "encoding is invalid");
    const data = Buffer.from(input.content, encoding === "base64" ? "base64" : "utf8");
    const sha = this.put({ type: "blob", data });
    return { sha, url: this.apiUrl(`blobs/${sha}`) };
  }
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

/**
 * Starts a fake GitHub for one repository on a free port of 127.0.0.1.
 *
 * @example
 * const github = await startFakeGitHub({ owner: "acme", repo: "gitops" });
 */
export const startFakeGitHub = (options: { owner: string; repo: string }): Promise<FakeGitHub> =>
  new FakeGitHub(options.owner, options.repo).listen();

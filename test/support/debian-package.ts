// Test helper that makes sure a Debian package's program is installed, installing the package with apt-get if not.

import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Some packages (Chromium) download about 100 MB: give apt-get time on a slow mirror. */
const aptTimeoutMs = 10 * 60_000;
/** The last characters of apt-get's output that an error message quotes. */
const quotedOutputChars = 1_500;
/** What apt-get says when it has no package lists (a fresh container) or stale ones. */
const missingListsPattern =
  /Unable to locate package|has no installation candidate|maybe run apt-get update|Unable to fetch some archives/i;

export type AptRunner = (args: readonly string[]) => SpawnSyncReturns<string>;

export interface EnsureDebianPackageOptions {
  /** Whether this process may install packages; default: running as root. */
  isRoot?: boolean;
  /** Runs apt-get; tests of this helper pass a fake. */
  apt?: AptRunner;
  /** The directories a bare program name is looked for in; default: `PATH`. */
  searchPath?: readonly string[];
}

const runApt: AptRunner = (args) =>
  spawnSync("apt-get", args, {
    encoding: "utf8",
    timeout: aptTimeoutMs,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** `binary` itself when it is a path, else the first executable of that name on the search path. */
const locate = (binary: string, searchPath: readonly string[]): string | undefined => {
  if (binary.includes("/")) return isExecutable(binary) ? binary : undefined;
  return searchPath.map((dir) => join(dir, binary)).find(isExecutable);
};

const outputOf = (result: SpawnSyncReturns<string>): string =>
  `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().slice(-quotedOutputChars);

const failure = (pkg: string, binary: string, step: string, result: SpawnSyncReturns<string>): Error => {
  const missingApt = (result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
  const reason = missingApt
    ? "apt-get is not available: this is not a Debian-based system"
    : result.error
      ? result.error.message
      : result.signal
        ? `killed by ${result.signal}`
        : `exit code ${result.status}`;
  return new Error(
    `${binary} is missing and \`apt-get ${step}\` failed (${reason}); ` +
      `the tests that need it need network access to the Debian mirror, or ${pkg} installed beforehand ` +
      `(\`apt-get install -y ${pkg}\`).\n${outputOf(result)}`.trimEnd(),
    { cause: result.error },
  );
};

/**
 * The path of `binary` (a path, or a program name looked up on `PATH`), installing Debian's package `pkg` when it is
 * missing: `apt-get install -y <pkg>`, after `apt-get update` only when the package lists are missing or stale.
 * Throws a message saying what to do when that is impossible (not root, no apt-get, no network). Synchronous and slow
 * when it installs: call it from a `beforeAll` with a long timeout.
 *
 * @example
 * beforeAll(() => {
 *   pgDump = ensureDebianPackage("postgresql-client", "pg_dump");
 * }, 10 * 60_000);
 */
export const ensureDebianPackage = (
  pkg: string,
  binary: string,
  options: EnsureDebianPackageOptions = {},
): string => {
  const searchPath = options.searchPath ?? (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const present = locate(binary, searchPath);
  if (present !== undefined) return present;
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  if (!isRoot) {
    throw new Error(
      `${binary} is missing and installing Debian's ${pkg} package needs root: run \`sudo apt-get install -y ${pkg}\`.`,
    );
  }
  const apt = options.apt ?? runApt;
  const installArgs = ["install", "-y", pkg] as const;
  let install = apt(installArgs);
  if (install.status !== 0 && !install.error && missingListsPattern.test(outputOf(install))) {
    const update = apt(["update"]);
    if (update.status !== 0) throw failure(pkg, binary, "update", update);
    install = apt(installArgs);
  }
  if (install.status !== 0) throw failure(pkg, binary, `install -y ${pkg}`, install);
  const installed = locate(binary, searchPath);
  if (installed === undefined) {
    throw new Error(
      `\`apt-get install -y ${pkg}\` succeeded but ${binary} is still missing or not executable.`,
    );
  }
  return installed;
};

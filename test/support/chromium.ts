// Test helper that finds Debian's Chromium for the browser tests, installing it with apt-get when it is missing.

import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

/** Where Debian's `chromium` package puts the browser; Playwright drives it, and never downloads its own. */
export const chromiumPath = "/usr/bin/chromium";

/** Installing Chromium downloads about 100 MB: give apt-get time on a slow mirror. */
const aptTimeoutMs = 10 * 60_000;
/** The last characters of apt-get's output that an error message quotes. */
const quotedOutputChars = 1_500;
/** What apt-get says when it has no package lists (a fresh container) or stale ones. */
const missingListsPattern =
  /Unable to locate package|has no installation candidate|maybe run apt-get update|Unable to fetch some archives/i;

const installArgs = ["install", "-y", "chromium"] as const;

export type AptRunner = (args: readonly string[]) => SpawnSyncReturns<string>;

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

const outputOf = (result: SpawnSyncReturns<string>): string =>
  `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().slice(-quotedOutputChars);

const failure = (path: string, step: string, result: SpawnSyncReturns<string>): Error => {
  const missingApt = (result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
  const reason = missingApt
    ? "apt-get is not available: this is not a Debian-based system"
    : result.error
      ? result.error.message
      : result.signal
        ? `killed by ${result.signal}`
        : `exit code ${result.status}`;
  return new Error(
    `Chromium is missing at ${path} and \`apt-get ${step}\` failed (${reason}); ` +
      "the browser tests need network access to the Debian mirror, or Chromium installed beforehand " +
      `(\`apt-get install -y chromium\`).\n${outputOf(result)}`.trimEnd(),
    { cause: result.error },
  );
};

/**
 * The path of the Chromium the browser tests drive. When it is missing, installs Debian's `chromium` package as the
 * test setup does: `apt-get install -y chromium`, after `apt-get update` only when the package lists are missing or
 * stale. Throws a message saying what to do when that is impossible (not root, no apt-get, no network).
 * Synchronous and slow when it installs: call it from a `beforeAll` with a long timeout.
 *
 * @example
 * beforeAll(() => {
 *   executablePath = ensureChromium();
 * }, 10 * 60_000);
 */
export const ensureChromium = (
  options: { path?: string; isRoot?: boolean; apt?: AptRunner } = {},
): string => {
  const path = options.path ?? chromiumPath;
  if (isExecutable(path)) return path;
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  if (!isRoot) {
    throw new Error(
      `Chromium is missing at ${path} and installing it needs root: run \`sudo apt-get install -y chromium\`.`,
    );
  }
  const apt = options.apt ?? runApt;
  let install = apt(installArgs);
  if (install.status !== 0 && !install.error && missingListsPattern.test(outputOf(install))) {
    const update = apt(["update"]);
    if (update.status !== 0) throw failure(path, "update", update);
    install = apt(installArgs);
  }
  if (install.status !== 0) throw failure(path, "install -y chromium", install);
  if (!isExecutable(path)) {
    throw new Error(
      `\`apt-get install -y chromium\` succeeded but ${path} is still missing or not executable.`,
    );
  }
  return path;
};

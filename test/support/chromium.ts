// Test helper that finds Debian's Chromium for the browser tests, installing it with apt-get when it is missing.

import { type AptRunner, ensureDebianPackage } from "./debian-package.ts";

export type { AptRunner } from "./debian-package.ts";

/** Where Debian's `chromium` package puts the browser; Playwright drives it, and never downloads its own. */
export const chromiumPath = "/usr/bin/chromium";

/**
 * The path of the Chromium the browser tests drive. When it is missing, installs Debian's `chromium` package as the
 * test setup does (`apt-get install -y chromium`, see `ensureDebianPackage`). Throws a message saying what to do when
 * that is impossible (not root, no apt-get, no network). Synchronous and slow when it installs: call it from a
 * `beforeAll` with a long timeout.
 *
 * @example
 * beforeAll(() => {
 *   executablePath = ensureChromium();
 * }, 10 * 60_000);
 */
export const ensureChromium = (options: { path?: string; isRoot?: boolean; apt?: AptRunner } = {}): string =>
  ensureDebianPackage("chromium", options.path ?? chromiumPath, { isRoot: options.isRoot, apt: options.apt });

// Tests of the test helper that installs a missing Debian package's program with apt-get.

import type { SpawnSyncReturns } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AptRunner, ensureDebianPackage } from "../support/debian-package.ts";

const answer = (status: number, stdout = ""): SpawnSyncReturns<string> => ({
  pid: 1,
  output: [null, stdout, ""],
  stdout,
  stderr: "",
  status,
  signal: null,
});

describe("ensureDebianPackage", () => {
  let dir: string;
  let calls: string[][];
  const install = (): void => {
    writeFileSync(join(dir, "pg_dump"), "#!/bin/sh\n");
    chmodSync(join(dir, "pg_dump"), 0o755);
  };
  const apt =
    (answers: ((args: readonly string[]) => SpawnSyncReturns<string>)[]): AptRunner =>
    (args) => {
      calls.push([...args]);
      const next = answers.shift();
      if (next === undefined) throw new Error(`unexpected apt-get ${args.join(" ")}`);
      return next(args);
    };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "debian-package-"));
    calls = [];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds a program already on the search path without apt-get", () => {
    install();

    expect(ensureDebianPackage("postgresql-client", "pg_dump", { searchPath: [dir], apt: apt([]) })).toBe(
      join(dir, "pg_dump"),
    );
    expect(calls).toEqual([]);
  });

  it("installs the package, updating the package lists first only when apt-get cannot find it", () => {
    const path = ensureDebianPackage("postgresql-client", "pg_dump", {
      searchPath: [dir],
      isRoot: true,
      apt: apt([
        () => answer(100, "E: Unable to locate package postgresql-client"),
        () => answer(0),
        () => {
          install();
          return answer(0);
        },
      ]),
    });

    expect(path).toBe(join(dir, "pg_dump"));
    expect(calls).toEqual([
      ["install", "-y", "postgresql-client"],
      ["update"],
      ["install", "-y", "postgresql-client"],
    ]);
  });

  it("says what to run when it may not install", () => {
    expect(() =>
      ensureDebianPackage("postgresql-client", "pg_dump", { searchPath: [dir], isRoot: false, apt: apt([]) }),
    ).toThrow(/sudo apt-get install -y postgresql-client/);
  });

  it("says what failed when apt-get fails", () => {
    expect(() =>
      ensureDebianPackage("postgresql-client", join(dir, "pg_dump"), {
        isRoot: true,
        apt: apt([() => answer(100, "E: Could not get lock /var/lib/dpkg/lock-frontend")]),
      }),
    ).toThrow(/apt-get install -y postgresql-client` failed \(exit code 100\)[\s\S]*Could not get lock/);
  });
});

// A burst of 200 pushes across 20 services arriving at once: newest allowed tag everywhere, no lost update,
// no downgrade, no duplicate commit.

import semver from "semver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ecrPush, git, valuesAt, writeConfig } from "../support/platform.ts";
import { eventually, postJson, startTestRuntime, type TestRuntime } from "../support/runtime.ts";

const serviceCount = 20;
const pushesPerService = 10;
const names = Array.from({ length: serviceCount }, (_, i) => `svc-${String(i + 1).padStart(2, "0")}`);
const tags = Array.from({ length: pushesPerService }, (_, i) => `1.${i + 1}.0`);

/** A fixed shuffle, so a failure can be replayed. */
const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

describe("burst of pushes", () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime({
      configPath: writeConfig(names.map((name) => ({ name, policy: { semver: "^1.0.0" } }))),
    });
  });
  afterAll(async () => {
    await runtime.dispose();
  });

  it("200 pushes across 20 services end with each on its newest tag, every commit an upgrade, none repeated", async () => {
    const pushes = shuffled(
      names.flatMap((name) => tags.map((tag) => ecrPush(name, tag))),
      42,
    );
    const requests: unknown[][] = [];
    for (let i = 0; i < pushes.length; i += 10) requests.push(pushes.slice(i, i + 10));
    const answers = await Promise.all(
      requests.map((entries) => runtime.call("/events", postJson({ Entries: entries }))),
    );
    expect(answers.every((a) => a.status === 200 && a.body.FailedEntryCount === 0)).toBe(true);

    const executions = await eventually(async () => {
      const { body } = await runtime.call("/executions?workflow=promote-image&limit=1000");
      return body.executions.length === pushes.length &&
        body.executions.every((e: { status: string }) => e.status !== "RUNNING")
        ? body.executions
        : undefined;
    }, 180_000);
    expect(executions.filter((e: { status: string }) => e.status !== "SUCCEEDED")).toEqual([]);

    for (const name of names) {
      const file = `envs/staging/${name}/values.yaml`;
      expect(valuesAt(runtime.home, name)).toMatch(/tag: "?1\.10\.0"?/);
      // The file's history, oldest first: each commit raises the version and changes the digest.
      const commits = git(runtime.home, "log", "--reverse", "--format=%H", "main", "--", file)
        .split("\n")
        .slice(1);
      const versions = commits.map(
        (sha) => /tag: "?([^"\n]+)"?/.exec(valuesAt(runtime.home, name, "staging", sha))?.[1] ?? "",
      );
      const digests = commits.map(
        (sha) => /digest: "?(sha256:[0-9a-f]+)"?/.exec(valuesAt(runtime.home, name, "staging", sha))?.[1],
      );
      expect(versions.length).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < versions.length; i++)
        expect(semver.gt(versions[i]!, versions[i - 1]!), `${name}: ${versions.join(" → ")}`).toBe(true);
      expect(new Set(digests).size).toBe(digests.length);
    }
  }, 240_000);
});

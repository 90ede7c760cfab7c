// The `switchyard` executable: help for every command, emit/status against a running runtime, and local secrets.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeConfig } from "../support/platform.ts";
import { freePort, type RuntimeProcess, runCli, startCliRuntime, stopProcess } from "../support/process.ts";
import { eventually } from "../support/runtime.ts";

describe("switchyard CLI", () => {
  let home: string;
  let env: { SWITCHYARD_HOME: string; PORT: string; SWITCHYARD_CONFIG: string };
  let runtime: RuntimeProcess;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "switchyard-cli-"));
    env = {
      SWITCHYARD_HOME: home,
      PORT: String(await freePort()),
      SWITCHYARD_CONFIG: writeConfig([{ name: "checkout", policy: { semver: "^1.0.0" } }]),
    };
  });
  afterAll(async () => {
    if (runtime) await stopProcess(runtime.child);
    rmSync(home, { recursive: true, force: true });
  });

  it.each([
    [[]],
    [["start"]],
    [["emit"]],
    [["status"]],
    [["executions"]],
    [["secrets"]],
    [["secrets", "put"]],
    [["secrets", "list"]],
  ])("%j --help describes the command", (args) => {
    const result = runCli([...args, "--help"], env);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: switchyard/);
  });

  it("secrets put/list work without a running runtime, and never print a value", () => {
    const put = runCli(["secrets", "put", "switchyard/github-webhook", "-"], env, "s3cr3t-value\n");
    expect(put.status).toBe(0);
    expect(put.stdout).toMatch(/stored switchyard\/github-webhook version \S+ \(AWSCURRENT\)/);
    expect(runCli(["secrets", "put", "switchyard/slack-token", "xoxb-123"], env).status).toBe(0);
    const list = runCli(["secrets", "list"], env);
    expect(list.stdout.trim().split("\n").sort()).toEqual([
      "switchyard/github-webhook",
      "switchyard/slack-token",
    ]);
    expect(`${put.stdout}${put.stderr}${list.stdout}${list.stderr}`).not.toContain("s3cr3t");
  });

  it("commands that need the runtime say how to start one when none answers", () => {
    const result = runCli(["status"], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("No Switchyard runtime answers at");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("emit sends a sample event to the running runtime, status reports it, and secrets still work beside it", async () => {
    runtime = await startCliRuntime(env);
    const emitted = runCli(["emit", "events/samples/aws.ecr/image-push.json"], env);
    expect(emitted.stderr).toBe("");
    expect(emitted.status).toBe(0);
    expect(emitted.stdout).toMatch(/^accepted {2}[0-9a-f-]{36}\n$/);

    // The push matched its rule and started the promotion workflow, visible in GET /executions.
    const executions = await eventually(async () => {
      const body = (await (await fetch(`${runtime.url}/executions?workflow=promote-image`)).json()) as {
        executions: { workflow: string; status: string }[];
      };
      return body.executions.length > 0 && body.executions[0]?.status !== "RUNNING"
        ? body.executions
        : undefined;
    });
    expect(executions).toEqual([expect.objectContaining({ workflow: "promote-image", status: "SUCCEEDED" })]);
    // Staging's success carried the image on to production, which now waits for approval.
    const pending = await eventually(async () => {
      const list = runCli(["approvals", "list", "--json"], env);
      const parsed = JSON.parse(list.stdout) as { id: string }[];
      return parsed.length > 0 ? parsed : undefined;
    });
    const listed = runCli(["executions"], env);
    expect(listed.stdout).toMatch(
      /^RUNNING +\S+ +running {2}production-sync:[0-9a-f-]{36}\nSUCCEEDED +\S+ +\d+ ms {2}promote-image:ecr-image-pushed-[0-9a-f-]{36}\n$/,
    );

    const status = runCli(["status", "--json"], env);
    expect(status.status).toBe(0);
    // The push, the Promotion Succeeded it led to, and production's Approval Requested.
    expect(JSON.parse(status.stdout)).toMatchObject({ status: "ok", events: 3 });

    const listedApprovals = runCli(["approvals", "list"], env);
    expect(listedApprovals.stdout).toContain(`${pending[0]?.id}  pending   checkout 1.4.2 → production`);
    const stranger = runCli(["approvals", "approve", pending[0]!.id, "--as", "eve@example.com"], env);
    expect(stranger.status).toBe(1);
    expect(stranger.stderr).toContain("eve@example.com has no approver token");
    const approved = runCli(
      ["approvals", "approve", pending[0]!.id, "--as", "a@example.com", "--comment", "ok"],
      env,
    );
    expect(approved.stderr).toBe("");
    expect(approved.stdout).toBe(`${pending[0]?.id}  approved  (1 of 1 approvals)\n`);
    const again = runCli(["approvals", "reject", pending[0]!.id, "--as", "b@example.com"], env);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("already approved");

    expect(runCli(["secrets", "list"], env).stdout).toContain("switchyard/github-webhook");
  });

  it("emit rejects a file that is not an event, with the file named", () => {
    const result = runCli(["emit", "-"], env, JSON.stringify({ hello: "world" }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("-: expected a PutEvents request");
  });

  it("emit reports a failed entry and exits 1", () => {
    const bad = { Entries: [{ Source: "aws.ecr", DetailType: "ECR Image Action", Detail: "{oops" }] };
    const result = runCli(["emit", "-"], env, JSON.stringify(bad));
    expect(result.status).toBe(1);
    expect(result.stdout).toContain("rejected  entry 0: MalformedDetail: Detail is malformed.");
  });

  it("start refuses an invalid PORT clearly", () => {
    const result = runCli(["start"], { ...env, PORT: "http" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT must be a whole number from 1 to 65535; got "http"');
  });
});

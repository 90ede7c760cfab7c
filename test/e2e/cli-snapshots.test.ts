// `switchyard snapshots`: list, create and drill against a running runtime with embedded PostgreSQL databases.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ensureDebianPackage } from "../support/debian-package.ts";
import { writeConfig } from "../support/platform.ts";
import { freePort, type RuntimeProcess, runCli, startCliRuntime, stopProcess } from "../support/process.ts";
import { eventually } from "../support/runtime.ts";
import { snapshotPostgresTimeoutMs } from "../support/snapshot-postgres.ts";

const uuidPattern = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/** A platform with two local databases, both tagged for snapshots, polled without waiting. */
const snapshotConfig = (): string => {
  const path = writeConfig([{ name: "orders", policy: { semver: "^1.0.0" } }], {
    databases: [
      { name: "orders", user: "orders_app", secret: "orders/db" },
      { name: "billing", user: "billing_app", secret: "billing/db" },
    ],
  });
  const config = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  writeFileSync(path, stringify({ ...config, snapshots: { pollIntervalSeconds: 0 } }));
  return path;
};

describe("switchyard snapshots", () => {
  let home: string;
  let env: { SWITCHYARD_HOME: string; PORT: string; SWITCHYARD_CONFIG: string };
  let runtime: RuntimeProcess | undefined;

  /** Executions of these workflows, through the CLI (a fetch here would reuse sockets the blocking runs let expire). */
  const executions = (...workflows: string[]) =>
    (
      JSON.parse(runCli(["executions", "--json"], env).stdout) as {
        executions: { workflow: string; name: string; status: string }[];
      }
    ).executions.filter((e) => workflows.includes(e.workflow));

  beforeAll(async () => {
    ensureDebianPackage("postgresql-client", "pg_dump");
    ensureDebianPackage("postgresql-client", "pg_restore");
    home = mkdtempSync(join(tmpdir(), "switchyard-cli-snapshots-"));
    // mkdtemp makes it private; as root the embedded PostgreSQL runs as the OS user "postgres" and must reach it.
    chmodSync(home, 0o711);
    env = { SWITCHYARD_HOME: home, PORT: String(await freePort()), SWITCHYARD_CONFIG: snapshotConfig() };
    runtime = await startCliRuntime(env);
  }, snapshotPostgresTimeoutMs);
  afterAll(async () => {
    if (runtime) await stopProcess(runtime.child);
    rmSync(home, { recursive: true, force: true });
  });

  it.each([[["snapshots"]], [["snapshots", "list"]], [["snapshots", "create"]], [["snapshots", "drill"]]])(
    "%j --help describes the command",
    (args) => {
      const result = runCli([...args, "--help"], env);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^Usage: switchyard snapshots/);
    },
  );

  it("list says there are none yet, and how to take one", () => {
    const all = runCli(["snapshots", "list"], env);
    expect(all.stderr).toBe("");
    expect(all.status).toBe(0);
    expect(all.stdout).toBe("no snapshots yet (take one with: switchyard snapshots create)\n");

    const one = runCli(["snapshots", "list", "orders"], env);
    expect(one.stdout).toBe(
      "no snapshots of orders yet (take one with: switchyard snapshots create orders)\n",
    );
  });

  it.each([
    [["snapshots", "list", "orders", "billing"], "too many arguments for 'list'"],
    [["snapshots", "create", "orders", "billing"], "too many arguments for 'create'"],
    [["snapshots", "create", "--reason"], "option '--reason <text>' argument missing"],
    [["snapshots", "drill", "--reason", "x"], "unknown option '--reason'"],
    [
      ["snapshots", "create", "orders--old"],
      "switchyard: ValidationError: Invalid request body: body.database: expected an RDS identifier",
    ],
    [["snapshots", "list", "orders-"], "switchyard: ValidationError: Invalid request query: query.database"],
    [
      ["snapshots", "create", "analytics"],
      'switchyard: NotFound: database "analytics" does not carry the tag switchyard:backup=true (snapshots.selector): Switchyard snapshots only databases tagged so; expected one of: billing, orders',
    ],
    [
      ["snapshots", "drill", "analytics"],
      'database "analytics" does not carry the tag switchyard:backup=true',
    ],
    [
      ["snapshots", "create", "--reason", "scheduled"],
      "body.reason: scheduled runs are started by the schedule (snapshots.schedule)",
    ],
    [
      ["snapshots", "create", "--reason", "pre-change"],
      "body.promotionId: required for a pre-change snapshot: the id of the promotion it guards",
    ],
    [
      ["snapshots", "create", "--reason", "drop table; --"],
      "(as a note: expected letters, digits, spaces and _ . : / = + - @ only (an RDS tag value))",
    ],
  ])("%j fails with one clear line and starts nothing", (args, message) => {
    const result = runCli(args, env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe("");
    expect(executions("rds-snapshot", "restore-drill")).toEqual([]);
  });

  it("create waits for the snapshot, reports it, and list shows it with its note", () => {
    const created = runCli(["snapshots", "create", "orders", "--reason", "before the orders migration"], env);
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(
      new RegExp(
        `^started {4}rds-snapshot:snapshot-${uuidPattern}\n` +
          "  orders  created  snapshot switchyard-orders-\\d{14}-manual of orders is available\n" +
          `SUCCEEDED  rds-snapshot:snapshot-${uuidPattern} \\(\\d+ ms\\)\n$`,
      ),
    );

    const listed = runCli(["snapshots", "list"], env);
    expect(listed.status).toBe(0);
    const [header, row, ...rest] = listed.stdout.trimEnd().split("\n");
    expect(rest).toEqual([]);
    expect(header?.split(/ {2,}/)).toEqual(["ID", "DATABASE", "STATUS", "REASON", "CREATED", "SIZE", "NOTE"]);
    expect(row?.split(/ {2,}/)).toEqual([
      expect.stringMatching(/^switchyard-orders-\d{14}-manual$/),
      "orders",
      "available",
      "manual",
      expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      expect.stringMatching(/^\d+(\.\d)? (B|KiB|MiB)$/),
      "before the orders migration",
    ]);
    expect(runCli(["snapshots", "list", "billing"], env).stdout).toContain("no snapshots of billing yet");
  });

  it("drill of every database reports each, and exits 1 when one has no snapshot to restore", () => {
    const drilled = runCli(["snapshots", "drill"], env);
    expect(drilled.stderr).toBe("");
    expect(drilled.status).toBe(1);
    const lines = drilled.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^started {4}restore-drill:drill-${uuidPattern}$`));
    expect(lines.slice(1, 3).sort()).toEqual([
      "  billing  failed   no available Switchyard snapshot of billing to restore",
      expect.stringMatching(
        /^ {2}orders {3}passed {3}switchyard-orders-\d{14}-manual restored in [\d.]+ s; select count\(\*\) from orders → \d+$/,
      ),
    ]);
    expect(lines[3]).toMatch(
      new RegExp(
        `^FAILED {5}restore-drill:drill-${uuidPattern} \\(\\d+ ms\\): RestoreDrillsFailed — At least one restore drill failed`,
      ),
    );
    expect(lines).toHaveLength(4);
  });

  it("drill of one database passes", () => {
    const drilled = runCli(["snapshots", "drill", "orders"], env);
    expect(drilled.stderr).toBe("");
    expect(drilled.status).toBe(0);
    expect(drilled.stdout).toMatch(/\n {2}orders {2}passed {3}switchyard-orders-\d{14}-manual restored in /);
    expect(drilled.stdout).toMatch(/\nSUCCEEDED {2}restore-drill:drill-\S+ \(\d+ ms\)\n$/);
  });

  it("create --no-wait prints the execution ARN at once; the run snapshots every tagged database", async () => {
    const started = runCli(["snapshots", "create", "--no-wait"], env);
    expect(started.stderr).toBe("");
    expect(started.status).toBe(0);
    expect(started.stdout).toMatch(
      new RegExp(
        `^arn:aws:states:[a-z0-9-]+:\\d{12}:execution:switchyard-rds-snapshot:snapshot-${uuidPattern}\n$`,
      ),
    );
    const arn = started.stdout.trim();
    const name = arn.slice(arn.lastIndexOf(":") + 1);

    const finished = await eventually(async () => {
      const run = executions("rds-snapshot").find((e) => e.name === name);
      return run && run.status !== "RUNNING" ? run : undefined;
    }, 20_000);
    expect(finished.status).toBe("SUCCEEDED");
    const billing = runCli(["snapshots", "list", "billing"], env).stdout;
    expect(billing).toMatch(/\nswitchyard-billing-\d{14}-manual +billing +available +manual +/);
    // The orders snapshot taken before and this run's, newest first.
    expect(runCli(["snapshots", "list", "orders"], env).stdout.trimEnd().split("\n")).toHaveLength(3);
  });
});

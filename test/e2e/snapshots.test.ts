// End to end on the local runtime: the scheduler's nightly run dumps the embedded database, a restore drill proves
// the dump restores, and retention deletes only what it should.

import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { type Schedule, schedulesFor } from "../../events/schedules.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { sampleOrderCount } from "../../local/postgres.ts";
import { superuserSecret } from "../../local/sample-databases.ts";
import { ensureDebianPackage } from "../support/debian-package.ts";
import { writeConfig } from "../support/platform.ts";
import { eventually, postJson, startTestRuntime, type TestRuntime } from "../support/runtime.ts";
import { snapshotPostgresTimeoutMs } from "../support/snapshot-postgres.ts";

const dayMs = 24 * 60 * 60 * 1000;
const runTimeoutMs = 25_000;

/** One local database, `orders` (tagged for snapshots by default), seeded with the sample orders. */
const snapshotConfig = (): string => {
  const path = writeConfig([{ name: "orders", policy: { semver: "^1.0.0" } }], {
    databases: [{ name: "orders", user: "orders_app", secret: "orders/db" }],
  });
  const config = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  writeFileSync(
    path,
    stringify({ ...config, snapshots: { pollIntervalSeconds: 0, retentionDays: 7, minCount: 1 } }),
  );
  return path;
};

/** `at()` a few seconds from now, once the runtime has started, in the scheduler's yyyy-mm-ddThh:mm:ss (UTC). */
const atSoon = (): string => `at(${new Date(Date.now() + 10_000).toISOString().slice(0, 19)})`;

describe("RDS snapshots on the local runtime", () => {
  let runtime: TestRuntime;

  /** The switchyard domain events of one detail-type, oldest first. */
  const events = (detailType: string) =>
    runtime.bus
      .listEvents({ limit: 1000 })
      .map((stored) => stored.event)
      .filter((event) => event.source === "switchyard" && event["detail-type"] === detailType)
      .reverse() as { detail: Record<string, unknown> }[];

  /** The ended executions of a workflow, oldest first, once there are `count`; each with its error and cause. */
  const finished = async (workflow: string, count: number) => {
    const done = await eventually(async () => {
      const all = await runtime.runner.listExecutions({ workflow });
      const ended = all.filter((e) => e.status !== "RUNNING");
      return ended.length >= count ? ended.reverse() : undefined;
    }, runTimeoutMs);
    return Promise.all(done.map((e) => runtime.runner.describeExecution(e.executionArn)));
  };

  /** The embedded server's superuser: its password is a secret, its port is kept in the runtime's home. */
  const superuserClient = async () => {
    const client = new pg.Client({
      host: "127.0.0.1",
      port: Number(readFileSync(join(runtime.home, "postgres-port"), "utf8").trim()),
      user: "postgres",
      password: (await runtime.secrets.getSecretValue(superuserSecret)).secretString,
      database: "postgres",
    });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    ensureDebianPackage("postgresql-client", "pg_dump");
    ensureDebianPackage("postgresql-client", "pg_restore");
    const configPath = snapshotConfig();
    // The schedules switchyard.yaml declares, with the nightly run moved to a moment from now: the scheduler, not
    // the test, starts it.
    const schedules: Schedule[] = schedulesFor(loadConfig(configPath)).map((schedule) =>
      schedule.name === "rds-snapshot" ? { ...schedule, expression: atSoon() } : schedule,
    );
    runtime = await startTestRuntime({ configPath, schedules });
  }, snapshotPostgresTimeoutMs);
  afterAll(() => runtime?.dispose());

  it("the scheduled run dumps the tagged database and publishes Snapshot Created", {
    timeout: 60_000,
  }, async () => {
    const [execution] = await finished("rds-snapshot", 1);
    expect([execution?.status, execution?.error, execution?.cause]).toEqual([
      "SUCCEEDED",
      undefined,
      undefined,
    ]);
    expect(execution?.name).toMatch(/^rds-snapshot-/);

    const { status, body } = await runtime.call("/snapshots?database=orders");
    expect(status).toBe(200);
    expect(body.snapshots).toHaveLength(1);
    const [snapshot] = body.snapshots;
    expect(snapshot).toMatchObject({
      database: "orders",
      status: "available",
      reason: "scheduled",
      tags: { "switchyard:created-by": "switchyard", "switchyard:reason": "scheduled" },
    });
    expect(snapshot.id).toMatch(/^switchyard-orders-\d{14}-scheduled$/);
    // A real pg_dump in custom format: it starts with the archive's magic bytes.
    const dump = `${runtime.home}/snapshots/${snapshot.id}.dump`;
    expect(statSync(dump).size).toBeGreaterThan(0);
    expect(readFileSync(dump).subarray(0, 5).toString()).toBe("PGDMP");

    expect(events("Snapshot Created").map((e) => e.detail)).toEqual([
      expect.objectContaining({
        snapshotId: snapshot.id,
        dbInstanceIdentifier: "orders",
        reason: "scheduled",
      }),
    ]);
  });

  it("a restore drill restores the newest snapshot into a scratch database, counts the seeded orders, drops it", async () => {
    const started = await runtime.call("/snapshots/drills", postJson({ database: "orders" }));
    expect(started.status).toBe(202);

    const [drill] = await finished("restore-drill", 1);
    expect([drill?.status, drill?.error, drill?.cause]).toEqual(["SUCCEEDED", undefined, undefined]);
    const [passed] = events("Restore Drill Passed");
    expect(passed?.detail).toMatchObject({
      dbInstanceIdentifier: "orders",
      smokeQuery: "select count(*) from orders",
      result: String(sampleOrderCount),
    });
    expect(passed?.detail.restoreSeconds).toBeGreaterThanOrEqual(0);
    expect(String(passed?.detail.drillTarget)).toMatch(/^switchyard_drill_orders_\d{14}$/);

    const client = await superuserClient();
    try {
      const { rows } = await client.query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'switchyard_drill%'",
      );
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it("retention deletes only Switchyard's expired snapshots, never below minCount, never others'", async () => {
    const { body } = await runtime.call("/snapshots?database=orders");
    const [recent] = body.snapshots as { id: string }[];
    // Two older Switchyard snapshots and one someone else took, aged as if taken days ago.
    const insert = runtime.db.prepare(
      `INSERT INTO database_snapshots (id, database, status, reason, created_at, available_at, size_bytes, tags, file_path)
       VALUES (?, 'orders', 'available', ?, ?, ?, 1, ?, ?)`,
    );
    const aged = (days: number) => new Date(Date.now() - days * dayMs).toISOString();
    const old = [
      { id: "switchyard-orders-20261101030000-scheduled", days: 10 },
      { id: "switchyard-orders-20261102030000-scheduled", days: 9 },
    ];
    for (const { id, days } of old) {
      const file = `${runtime.home}/snapshots/${id}.dump`;
      writeFileSync(file, "PGDMP");
      insert.run(
        id,
        "scheduled",
        aged(days),
        aged(days),
        JSON.stringify({ "switchyard:created-by": "switchyard", "switchyard:reason": "scheduled" }),
        file,
      );
    }
    insert.run(
      "hand-made-orders-backup",
      "manual",
      aged(30),
      aged(30),
      JSON.stringify({ owner: "dba" }),
      null,
    );

    const started = await runtime.call(
      "/snapshots",
      postJson({ database: "orders", reason: "before the orders migration" }),
    );
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      database: "orders",
      reason: "manual",
      note: "before the orders migration",
    });
    const runs = await finished("rds-snapshot", 2);
    expect(runs.map((r) => [r.status, r.error, r.cause])).toEqual([
      ["SUCCEEDED", undefined, undefined],
      ["SUCCEEDED", undefined, undefined],
    ]);

    const pruned = events("Snapshots Pruned");
    expect(pruned.map((e) => e.detail)).toEqual([
      expect.objectContaining({
        dbInstanceIdentifier: "orders",
        // Newest first; the hand-made one, the scheduled one and the new manual one remain.
        deleted: old.map((s) => s.id).reverse(),
        keptForMinimum: [],
        retentionDays: 7,
        minCount: 1,
        manualSnapshotsInRegion: 3,
      }),
    ]);
    for (const { id } of old) expect(existsSync(`${runtime.home}/snapshots/${id}.dump`)).toBe(false);
    const ids = (
      runtime.db.prepare("SELECT id FROM database_snapshots ORDER BY created_at").all() as { id: string }[]
    ).map((row) => row.id);
    expect(ids).toContain("hand-made-orders-backup");
    expect(ids).toContain(recent?.id);
    expect(ids.filter((id) => old.some((s) => s.id === id))).toEqual([]);

    const manual = (await runtime.call("/snapshots?database=orders")).body.snapshots[0];
    expect(manual).toMatchObject({
      reason: "manual",
      status: "available",
      tags: { "switchyard:note": "before the orders migration" },
    });
  });

  it("refuses a database that does not carry the selector tag, starting nothing", async () => {
    const before = (await runtime.runner.listExecutions({ workflow: "rds-snapshot" })).length;
    const refused = await runtime.call("/snapshots", postJson({ database: "billing" }));

    expect(refused.status).toBe(404);
    expect(refused.body.message).toContain("switchyard:backup=true");
    expect((await runtime.runner.listExecutions({ workflow: "rds-snapshot" })).length).toBe(before);
  });
});

// Tests of the local snapshot service against a real embedded PostgreSQL: pg_dump files, restore drills, failures.

import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Clock, DatabaseCredentials } from "../../functions/core/ports.ts";
import {
  type LocalSnapshotDatabase,
  LocalSnapshotService,
  type LocalSnapshotServiceOptions,
  summariseToolError,
} from "../../local/adapters/local-snapshot-service.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { sampleOrderCount } from "../../local/postgres.ts";
import {
  type SnapshotPostgres,
  snapshotPostgresTimeoutMs,
  startSnapshotPostgres,
} from "../support/snapshot-postgres.ts";

const databases: LocalSnapshotDatabase[] = [
  { instance: "orders", name: "orders", tags: { "switchyard:backup": "true" } },
];
const scratchName = "switchyard-drill-orders-20260501120500";
const scratchDatabase = "switchyard_drill_orders_20260501120500";
/** A pid no process has: Linux's pid_max is at most 2^22. */
const deadPid = 2 ** 22 + 1;

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
const eventually = async <T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> => {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe("LocalSnapshotService on the embedded PostgreSQL", () => {
  let server: SnapshotPostgres;
  let db: SqliteDatabase;
  let dir: string;
  let run = 0;
  let now: Date;
  const clock: Clock = { now: () => now };
  const services: LocalSnapshotService[] = [];
  const make = (options: Partial<LocalSnapshotServiceOptions> = {}): LocalSnapshotService => {
    const service = new LocalSnapshotService({
      db,
      clock,
      dir,
      superuser: server.postgres.superuser,
      databases,
      ...options,
    });
    services.push(service);
    return service;
  };
  const asSuperuser = async <T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const { host, port, username, password } = server.postgres.superuser;
    const client = new pg.Client({ host, port, user: username, password, database });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    server = await startSnapshotPostgres(["orders"]);
  }, snapshotPostgresTimeoutMs);
  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(() => {
    now = new Date("2026-05-01T12:00:00.000Z");
    run += 1;
    dir = join(server.home, `dumps-${run}`);
    db = openDatabase(":memory:");
  });
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
    db.close();
  });

  it("answers creating at once and dumps in the background into <dir>/<id>.dump, then reads available with its size", async () => {
    const service = make();
    // While another session holds an exclusive lock on orders, pg_dump waits: the snapshot must read creating.
    const blocker = new pg.Client({
      host: server.postgres.host,
      port: server.postgres.port,
      user: server.postgres.superuser.username,
      password: server.postgres.superuser.password,
      database: "orders",
    });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
    let created: Awaited<ReturnType<LocalSnapshotService["createSnapshot"]>>;
    try {
      created = await service.createSnapshot({ database: "orders", reason: "manual" });
      expect(created).toMatchObject({ id: "switchyard-orders-20260501120000-manual", status: "creating" });
      await eventually(async () =>
        (
          await asSuperuser("postgres", (client) =>
            client.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'switchyard-snapshots'"),
          )
        ).rowCount
          ? true
          : undefined,
      );
      expect(await service.getSnapshot(created.id)).toMatchObject({ status: "creating" });
      expect(await service.getSnapshot(created.id)).not.toHaveProperty("sizeBytes");
    } finally {
      await blocker.query("COMMIT");
      await blocker.end();
    }

    await service.settled();

    const file = join(dir, `${created.id}.dump`);
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(0);
    expect(await service.getSnapshot(created.id)).toMatchObject({ status: "available", sizeBytes: size });
    expect(readdirSync(dir)).toEqual([`${created.id}.dump`]);
  });

  it("restores a snapshot into a scratch database where the smoke query counts the orders, then drops it", async () => {
    const service = make();
    const { id } = await service.createSnapshot({ database: "orders", reason: "scheduled" });
    await service.settled();

    const { target } = await service.restoreForDrill(id, scratchName);
    expect(target).toBe(scratchDatabase);
    expect(await service.drillStatus(target)).toBe("creating");
    await service.settled();
    expect(await service.drillStatus(target)).toBe("available");
    expect(await service.restoreForDrill(id, scratchName)).toEqual({ target });

    expect(await service.runSmokeQuery(target, "select count(*) from orders")).toEqual({
      rows: 1,
      value: String(sampleOrderCount),
    });
    expect(await service.runSmokeQuery(target, "select customer from orders where id = 0")).toEqual({
      rows: 0,
    });
    await expect(service.runSmokeQuery(target, "delete from orders")).rejects.toMatchObject({
      name: "ValidationError",
      message: expect.stringMatching(/read-only/),
    });
    await expect(service.runSmokeQuery(target, "select 1; select 2")).rejects.toMatchObject({
      name: "ValidationError",
      message: expect.stringMatching(/multiple commands/),
    });
    expect(await server.databases()).toContain(scratchDatabase);

    await service.deleteDrillTarget(target);

    expect(await server.databases()).not.toContain(scratchDatabase);
    await expect(service.drillStatus(target)).rejects.toMatchObject({ name: "NotFoundError" });
    await service.deleteDrillTarget(target);
    expect(
      await asSuperuser("orders", (client) => client.query("SELECT count(*)::int AS n FROM orders")),
    ).toMatchObject({ rows: [{ n: sampleOrderCount }] });
  });

  it("drops a drill database even while a session is connected to it", async () => {
    const service = make();
    const { id } = await service.createSnapshot({ database: "orders", reason: "manual" });
    await service.settled();
    const { target } = await service.restoreForDrill(id, scratchName);
    await service.settled();
    const { host, port, username, password } = server.postgres.superuser;
    const session = new pg.Client({ host, port, user: username, password, database: target });
    session.on("error", () => undefined);
    await session.connect();

    await service.deleteDrillTarget(target);

    expect(await server.databases()).not.toContain(target);
    await session.end().catch(() => undefined);
  });

  it("never drops a database that is not a drill it started", async () => {
    const service = make();
    await asSuperuser("postgres", (client) => client.query("CREATE DATABASE switchyard_drill_by_hand"));
    try {
      await expect(service.deleteDrillTarget("orders")).rejects.toMatchObject({ name: "ValidationError" });
      await expect(service.deleteDrillTarget("switchyard_drill_by_hand")).rejects.toMatchObject({
        name: "ValidationError",
      });
      await expect(
        service.restoreForDrill("switchyard-orders-20260501120000-manual", "orders"),
      ).rejects.toMatchObject({
        name: "ValidationError",
      });
      expect(await server.databases()).toEqual(
        expect.arrayContaining(["orders", "switchyard_drill_by_hand"]),
      );
    } finally {
      await asSuperuser("postgres", (client) => client.query("DROP DATABASE switchyard_drill_by_hand"));
    }
  });

  it("records a dump that fails (a wrong password) as failed, with a reason that never holds the password", async () => {
    const wrongPassword = "Wr0ng-pa55word-that-must-never-show";
    const wrong: DatabaseCredentials = { ...server.postgres.superuser, password: wrongPassword };
    const service = make({ superuser: wrong });

    const created = await service.createSnapshot({ database: "orders", reason: "manual" });
    await service.settled();

    const failed = await service.getSnapshot(created.id);
    expect(failed).toMatchObject({
      status: "failed",
      failureReason: expect.stringMatching(/^pg_dump exited with code 1: .*password authentication failed/),
    });
    expect(failed).not.toHaveProperty("sizeBytes");
    expect(failed?.failureReason).not.toContain(server.postgres.host);
    expect(failed?.failureReason).not.toContain(String(server.postgres.port));
    const everything = JSON.stringify([
      failed,
      await service.listSnapshots(),
      await service.listManualSnapshots(),
      db.prepare("SELECT * FROM database_snapshots").all(),
    ]);
    expect(everything).not.toContain(wrongPassword);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    await expect(service.restoreForDrill(created.id, scratchName)).rejects.toMatchObject({
      name: "ValidationError",
      message: expect.not.stringContaining(wrongPassword),
    });
  });

  it("deletes a snapshot's file with its record", async () => {
    const service = make();
    const { id } = await service.createSnapshot({ database: "orders", reason: "manual" });
    await service.settled();
    expect(existsSync(join(dir, `${id}.dump`))).toBe(true);

    await service.deleteSnapshot(id);

    expect(existsSync(join(dir, `${id}.dump`))).toBe(false);
    expect(await service.getSnapshot(id)).toBeUndefined();
    expect(await service.listManualSnapshots()).toEqual([]);
  });

  it("says which Debian package to install when pg_dump is missing, and records nothing", async () => {
    const empty = join(server.home, `no-tools-${run}`);
    mkdirSync(empty);
    const service = make({ binDir: empty });

    await expect(service.createSnapshot({ database: "orders", reason: "manual" })).rejects.toMatchObject({
      name: "MissingToolError",
      retryable: false,
      message: expect.stringMatching(/pg_dump was not found.*postgresql-client/),
    });
    expect(await service.listManualSnapshots()).toEqual([]);
  });

  it("lists its databases by tag, as RDS instances running postgres", async () => {
    const service = make({
      databases: [
        ...databases,
        { instance: "reporting-db", name: "reporting", tags: { "switchyard:backup": "false" } },
      ],
    });

    expect(await service.listDatabases({ tagKey: "switchyard:backup", tagValue: "true" })).toEqual([
      { identifier: "orders", kind: "instance", engine: "postgres", encrypted: false },
    ]);
  });

  it("snapshots the PostgreSQL database an identifier stands for", async () => {
    const service = make({ databases: [{ instance: "orders-db", name: "orders", tags: {} }] });

    const { id } = await service.createSnapshot({ database: "orders-db", reason: "manual" });
    await service.settled();

    expect(await service.getSnapshot(id)).toMatchObject({
      id: "switchyard-orders-db-20260501120000-manual",
      database: "orders-db",
      status: "available",
    });
    await expect(service.createSnapshot({ database: "orders", reason: "manual" })).rejects.toMatchObject({
      name: "NotFoundError",
    });
  });

  it("reads a dump whose process died with an earlier runtime as failed", async () => {
    make();
    db.prepare(
      `INSERT INTO database_snapshots (id, database, status, reason, created_at, available_at, tags, file_path, worker_pid)
       VALUES ('switchyard-orders-20260501110000-manual', 'orders', 'creating', 'manual', ?, ?,
               '{"switchyard:created-by":"switchyard","switchyard:reason":"manual"}', ?, ?)`,
    ).run("2026-05-01T11:00:00.000Z", "2026-05-01T11:00:00.000Z", join(dir, "x.dump"), deadPid);

    const restarted = make();

    expect(await restarted.getSnapshot("switchyard-orders-20260501110000-manual")).toMatchObject({
      status: "failed",
      failureReason: expect.stringMatching(/interrupted/),
    });
  });

  it("adds its new columns to the table of an existing home, keeping the records", async () => {
    db.exec(`CREATE TABLE database_snapshots (
      id TEXT PRIMARY KEY, database TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('creating', 'available', 'failed', 'deleting')),
      reason TEXT NOT NULL CHECK (reason IN ('scheduled', 'pre-change', 'manual')),
      promotion_id TEXT, created_at TEXT NOT NULL, available_at TEXT, size_bytes INTEGER, tags TEXT NOT NULL,
      file_path TEXT) STRICT`);
    db.prepare(
      `INSERT INTO database_snapshots (id, database, status, reason, created_at, available_at, tags)
       VALUES ('switchyard-orders-20260501110000-manual', 'orders', 'creating', 'manual', ?, ?,
               '{"switchyard:created-by":"switchyard","switchyard:reason":"manual"}')`,
    ).run("2026-05-01T11:00:00.000Z", "2026-05-01T11:30:00.000Z");

    const service = make();

    const columns = (db.prepare("PRAGMA table_info(database_snapshots)").all() as { name: string }[]).map(
      (column) => column.name,
    );
    expect(columns).toEqual(expect.arrayContaining(["failure_reason", "worker_pid"]));
    // A record from before real dumps reads as it did; it has no file to restore.
    expect(await service.getSnapshot("switchyard-orders-20260501110000-manual")).toMatchObject({
      status: "available",
    });
    await expect(
      service.restoreForDrill("switchyard-orders-20260501110000-manual", scratchName),
    ).rejects.toMatchObject({ name: "ValidationError", message: expect.stringMatching(/no dump file/) });
  });
});

describe("summariseToolError", () => {
  it.each([
    [
      "a refused password",
      'pg_dump: error: connection to server at "127.0.0.1", port 54321 failed: FATAL:  password authentication failed for user "postgres"\n',
      'pg_dump exited with code 1: connecting to the server failed: FATAL: password authentication failed for user "postgres"',
    ],
    [
      "a connection string",
      'pg_dump: error: could not connect: "host=db.internal port=5432 user=admin password=hunter2 dbname=orders"\n',
      'pg_dump exited with code 1: could not connect: "<connection string>"',
    ],
    [
      "a URI",
      "pg_dump: error: invalid URI postgresql://admin:hunter2@db.internal/orders\n",
      "pg_dump exited with code 1: invalid URI <connection string>",
    ],
  ])("keeps the error of %s without addresses or connection strings", (_case, stderr, expected) => {
    expect(summariseToolError("pg_dump", { code: 1, signal: null, stderr }, "hunter2")).toBe(expected);
  });

  it("cuts out the password wherever a message carries it", () => {
    const summary = summariseToolError(
      "pg_restore",
      { code: 1, signal: null, stderr: "pg_restore: error: something quoted s3cr3t-value back\n" },
      "s3cr3t-value",
    );

    expect(summary).toBe("pg_restore exited with code 1: something quoted *** back");
  });

  it("says how the tool ended when it printed nothing", () => {
    expect(summariseToolError("pg_dump", { code: null, signal: "SIGTERM", stderr: "" }, "x")).toBe(
      "pg_dump was stopped by SIGTERM",
    );
  });
});

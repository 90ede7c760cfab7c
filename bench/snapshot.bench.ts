// Benchmark of the snapshot capability on the local runtime: a manual snapshot run and a restore drill of the
// sample database (pg_dump and pg_restore of the embedded PostgreSQL, through the same workflows as on AWS).

import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { silentLogger } from "../local/log.ts";
import { startRuntime } from "../local/runtime.ts";
import { writeConfig } from "../test/support/platform.ts";
import { median, percentile } from "./stats.ts";
import type { BenchResult } from "./types.ts";

const samples = 10;
const database = "orders";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Each sample: `POST /snapshots {database}` until the rds-snapshot execution ends (dump, available, retention),
 * then `POST /snapshots/drills {database}` until the restore-drill execution ends (pg_restore into a scratch
 * database, the smoke query, drop). Snapshot names carry whole seconds, as RDS's do, so each sample starts on a
 * fresh second: two snapshots of one database in one second would otherwise collide and wait for a retry.
 */
export const run = async (): Promise<BenchResult[]> => {
  const configPath = writeConfig([{ name: database, policy: { semver: "^1.0.0" } }], {
    databases: [{ name: database, user: `${database}_app`, secret: `${database}/db` }],
  });
  const config = parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  writeFileSync(
    configPath,
    stringify({ ...config, snapshots: { pollIntervalSeconds: 0, minCount: samples } }),
  );
  const home = join(configPath, "..", "home");
  // As root the embedded PostgreSQL runs as the OS user "postgres", which must reach the home.
  chmodSync(join(configPath, ".."), 0o711);
  const runtime = await startRuntime({ home, port: 0, configPath, logger: silentLogger });

  const runToEnd = async (path: string): Promise<number> => {
    const t0 = performance.now();
    const answer = await fetch(`${runtime.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ database }),
    });
    const { executionArn } = (await answer.json()) as { executionArn: string };
    for (;;) {
      const { status, cause } = await runtime.runner.describeExecution(executionArn);
      if (status === "SUCCEEDED") return performance.now() - t0;
      if (status !== "RUNNING") throw new Error(`${path} ended ${status}: ${cause}`);
      await pause(2);
    }
  };

  const snapshotMs: number[] = [];
  const drillMs: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      await pause(1000 - (Date.now() % 1000));
      snapshotMs.push(await runToEnd("/snapshots"));
      drillMs.push(await runToEnd("/snapshots/drills"));
    }
  } finally {
    await runtime.close();
    rmSync(join(configPath, ".."), { recursive: true, force: true });
  }
  const both = snapshotMs.map((ms, i) => ms + (drillMs[i] ?? 0));
  const figure = (name: string, values: number[], p = 0.5): BenchResult => ({
    name,
    value: Number((p === 0.5 ? median(values) : percentile(values, p)).toFixed(1)),
    unit: "ms",
  });
  return [
    figure("snapshot: POST /snapshots → rds-snapshot ended (pg_dump, retention), median", snapshotMs),
    figure("snapshot: restore drill → restore-drill ended (pg_restore, query, drop), median", drillMs),
    figure("snapshot: snapshot + restore drill of the sample database, median", both),
    figure("snapshot: snapshot + restore drill of the sample database, p90", both, 0.9),
  ];
};

// Benchmark of secret rotation: the rotation function's four steps against the embedded PostgreSQL.

import { randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PgDatabaseAdmin } from "../functions/adapters/postgres/pg-database-admin.ts";
import { type SecretConfig, secretSchema } from "../functions/core/config.ts";
import type { DatabaseCredentials } from "../functions/core/ports.ts";
import { rotateNow } from "../functions/core/rotate-secret.ts";
import { SqliteSecretStore } from "../local/adapters/sqlite-secret-store.ts";
import { openDatabase } from "../local/db.ts";
import { ensureSampleDatabase, startLocalPostgres } from "../local/postgres.ts";
import { median, percentile } from "./stats.ts";
import type { BenchResult } from "./types.ts";

const samples = 20;
const targetMs = 500;

const secretFor = (name: string, strategy: SecretConfig["rotation"]["strategy"], masterSecret?: string) =>
  secretSchema.parse({
    name,
    rotation: { schedule: "rate(30 days)", strategy, ...(masterSecret ? { masterSecret } : {}) },
  });

/**
 * Whole rotations (RotateSecret's pending version, then createSecret, setSecret, testSecret, finishSecret) of a
 * single-user and an alternating-users secret, one after another, against a real PostgreSQL on loopback.
 */
export const run = async (): Promise<BenchResult[]> => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-rotation-bench-"));
  chmodSync(dir, 0o711);
  const postgres = await startLocalPostgres({ dir: join(dir, "pg"), superuserPassword: randomUUID() });
  const secrets = new SqliteSecretStore({ db: openDatabase(":memory:") });
  const database = new PgDatabaseAdmin({ ssl: true });
  try {
    // One user per secret: each rotation changes its own user's password.
    const ownerFor = async (user: string): Promise<DatabaseCredentials> => {
      const owner = {
        ...postgres.superuser,
        dbname: user,
        username: user,
        password: await secrets.getRandomPassword({ length: 32, excludePunctuation: true }),
      };
      await ensureSampleDatabase(postgres.superuser, {
        database: owner.dbname,
        owner: owner.username,
        ownerPassword: owner.password,
      });
      return owner;
    };
    await secrets.createSecret({
      name: "bench/single",
      secretString: JSON.stringify(await ownerFor("bench_single")),
    });
    await secrets.createSecret({ name: "bench/master", secretString: JSON.stringify(postgres.superuser) });
    await secrets.createSecret({
      name: "bench/alternating",
      secretString: JSON.stringify(await ownerFor("bench_alternating")),
    });
    const config = {
      secrets: [
        secretFor("bench/single", "single-user"),
        secretFor("bench/alternating", "alternating-users", "bench/master"),
      ],
    };
    const deps = { config, secrets, database, clock: { now: () => new Date() } };
    const timings: Record<string, number[]> = { "bench/single": [], "bench/alternating": [] };
    for (let i = 0; i < samples; i++) {
      for (const name of Object.keys(timings)) {
        const t0 = performance.now();
        await rotateNow(deps, name, randomUUID());
        timings[name]!.push(performance.now() - t0);
      }
    }
    const single = timings["bench/single"]!;
    const alternating = timings["bench/alternating"]!;
    return [
      {
        name: "rotation: single user, whole rotation, median",
        value: Number(median(single).toFixed(1)),
        unit: "ms",
        target: `≤ ${targetMs}`,
      },
      {
        name: "rotation: single user, whole rotation, p90",
        value: Number(percentile(single, 0.9).toFixed(1)),
        unit: "ms",
      },
      {
        name: "rotation: alternating users, whole rotation, median",
        value: Number(median(alternating).toFixed(1)),
        unit: "ms",
        target: `≤ ${targetMs}`,
      },
    ];
  } finally {
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

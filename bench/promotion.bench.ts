// Benchmarks of image promotion on the local runtime: push → staging commit latency, and a 200-push burst.

import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { silentLogger } from "../local/log.ts";
import { startRuntime } from "../local/runtime.ts";
import { ecrPush, writeConfig } from "../test/support/platform.ts";
import { branchHead, median, percentile } from "./stats.ts";
import type { BenchResult } from "./types.ts";

const latencySamples = 50;
const burstServices = 20;
const burstPushesPerService = 10;
const targetLatencyMs = 100;

const start = async (services: { name: string; policy: Record<string, unknown> }[]) => {
  const configPath = writeConfig(services, { syncDelaySeconds: 0, pollIntervalSeconds: 0 });
  const home = join(configPath, "..", "home");
  const runtime = await startRuntime({ home, port: 0, configPath, logger: silentLogger });
  const post = (entries: unknown[]) =>
    fetch(`${runtime.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ Entries: entries }),
    }).then((r) => r.json() as Promise<{ Entries: { EventId: string }[] }>);
  return {
    runtime,
    home,
    post,
    dispose: async () => (
      await runtime.close(), rmSync(join(configPath, ".."), { recursive: true, force: true })
    ),
  };
};

/** Median time from POST /events to the staging commit, one push at a time, with the simulated Argo delay at 0. */
const latency = async (): Promise<BenchResult[]> => {
  const platform = await start([{ name: "checkout", policy: { semver: "^1.0.0" } }]);
  try {
    const commitMs: number[] = [];
    const doneMs: number[] = [];
    for (let i = 1; i <= latencySamples; i++) {
      const before = branchHead(platform.home);
      const t0 = performance.now();
      const answer = await platform.post([ecrPush("checkout", `1.${i}.0`)]);
      // Poll the branch head: the commit is what the figure measures.
      while (branchHead(platform.home) === before) await new Promise((resolve) => setTimeout(resolve, 1));
      commitMs.push(performance.now() - t0);
      const id = answer.Entries[0]?.EventId ?? "";
      for (;;) {
        const target = platform.runtime.bus.getEvent(id)?.deliveries[0]?.target;
        if (target && (await platform.runtime.runner.describeExecution(target)).status !== "RUNNING") break;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      doneMs.push(performance.now() - t0);
    }
    return [
      {
        name: "promotion: POST /events → staging commit, median",
        value: Number(median(commitMs).toFixed(1)),
        unit: "ms",
        target: `≤ ${targetLatencyMs}`,
      },
      {
        name: "promotion: POST /events → staging commit, p90",
        value: Number(percentile(commitMs, 0.9).toFixed(1)),
        unit: "ms",
      },
      {
        name: "promotion: POST /events → Synced/Healthy, execution ended, median",
        value: Number(median(doneMs).toFixed(1)),
        unit: "ms",
      },
    ];
  } finally {
    await platform.dispose();
  }
};

/** 200 pushes across 20 services at once, until every execution has ended. */
const burst = async (): Promise<BenchResult[]> => {
  const names = Array.from({ length: burstServices }, (_, i) => `svc-${String(i + 1).padStart(2, "0")}`);
  const platform = await start(names.map((name) => ({ name, policy: { semver: "^1.0.0" } })));
  try {
    const pushes = names.flatMap((name) =>
      Array.from({ length: burstPushesPerService }, (_, i) => ecrPush(name, `1.${i + 1}.0`)),
    );
    const t0 = performance.now();
    const requests: unknown[][] = [];
    for (let i = 0; i < pushes.length; i += 10) requests.push(pushes.slice(i, i + 10));
    await Promise.all(requests.map((entries) => platform.post(entries)));
    for (;;) {
      // Staging's promotions go on to production, where they wait for approval: only promote-image counts.
      const workflow = "promote-image";
      const running = await platform.runtime.runner.listExecutions({
        workflow,
        status: "RUNNING",
        limit: 1000,
      });
      const all = await platform.runtime.runner.listExecutions({ workflow, limit: 1000 });
      if (all.length === pushes.length && running.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const commits = Number(
      execFileSync("git", ["-C", join(platform.home, "gitops"), "rev-list", "--count", "main"], {
        encoding: "utf8",
      }),
    );
    return [
      {
        name: `promotion: burst of ${pushes.length} pushes × ${burstServices} services, all ended`,
        value: Number(seconds.toFixed(2)),
        unit: "s",
      },
      {
        name: "promotion: burst commits (coalesced; seed commit excluded)",
        value: commits - 1,
        unit: "commits",
      },
    ];
  } finally {
    await platform.dispose();
  }
};

export async function run(): Promise<BenchResult[]> {
  return [...(await latency()), ...(await burst())];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of await run())
    console.log(`${result.name}: ${result.value.toLocaleString("en")} ${result.unit}`);
}

// Benchmark of the local runtime's front door: POST /events to an execution started, over real HTTP.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { silentLogger } from "../local/log.ts";
import { startRuntime } from "../local/runtime.ts";
import { median, percentile } from "./stats.ts";
import type { BenchResult } from "./types.ts";

const sequentialEvents = 200;
const burstRequests = 100;
const entriesPerRequest = 10;

const entry = (i: number) => ({
  Source: "aws.ecr",
  DetailType: "ECR Image Action",
  Detail: JSON.stringify({
    result: "SUCCESS",
    "action-type": "PUSH",
    // No service deploys it: the executions end after their first step, so the figures are the bus's own.
    "repository-name": "bench/unconfigured",
    "image-tag": `1.${i}.0`,
    "image-digest": `sha256:${i.toString(16).padStart(64, "0")}`,
  }),
});

export async function run(): Promise<BenchResult[]> {
  const home = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  const runtime = await startRuntime({ home, port: 0, configPath: "switchyard.yaml", logger: silentLogger });
  try {
    const post = (body: unknown) =>
      fetch(`${runtime.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<{ Entries: { EventId: string }[] }>);

    // Latency: one event at a time, from the request to its execution having started.
    const acceptMs: number[] = [];
    const startedMs: number[] = [];
    for (let i = 0; i < sequentialEvents; i++) {
      const t0 = performance.now();
      const answer = await post({ Entries: [entry(i)] });
      acceptMs.push(performance.now() - t0);
      const id = answer.Entries[0]?.EventId ?? "";
      for (;;) {
        const delivery = runtime.bus.getEvent(id)?.deliveries[0];
        if (delivery?.status === "delivered") break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      startedMs.push(performance.now() - t0);
    }
    await runtime.bus.idle();

    // Throughput: a burst of concurrent PutEvents requests, until every delivery is done.
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: burstRequests }, (_, r) =>
        post({
          Entries: Array.from({ length: entriesPerRequest }, (_, i) => entry(r * entriesPerRequest + i)),
        }),
      ),
    );
    const acceptedSeconds = (performance.now() - t0) / 1000;
    await runtime.bus.idle();
    const deliveredSeconds = (performance.now() - t0) / 1000;
    const burstEvents = burstRequests * entriesPerRequest;

    return [
      { name: "bus: POST /events answered, median", value: Number(median(acceptMs).toFixed(2)), unit: "ms" },
      {
        name: "bus: POST /events answered, p99",
        value: Number(percentile(acceptMs, 0.99).toFixed(2)),
        unit: "ms",
      },
      {
        name: "bus: POST /events → execution started, median",
        value: Number(median(startedMs).toFixed(2)),
        unit: "ms",
      },
      {
        name: `bus: ${burstEvents} events accepted (burst)`,
        value: Math.round(burstEvents / acceptedSeconds),
        unit: "events/s",
      },
      {
        name: `bus: ${burstEvents} events delivered (burst)`,
        value: Math.round(burstEvents / deliveredSeconds),
        unit: "events/s",
      },
    ];
  } finally {
    await runtime.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of await run())
    console.log(`${result.name}: ${result.value.toLocaleString("en")} ${result.unit}`);
}

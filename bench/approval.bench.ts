// Benchmark of the approval gate on the local runtime: an approver's POST to the production commit.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { approverTokenSecret } from "../local/approver-tokens.ts";
import { silentLogger } from "../local/log.ts";
import { startRuntime } from "../local/runtime.ts";
import { digestOf, writeConfig } from "../test/support/platform.ts";
import { branchHead, median, percentile } from "./stats.ts";
import type { BenchResult } from "./types.ts";

const samples = 30;
const targetMs = 200;
const approver = "a@example.com";

const pause = () => new Promise((resolve) => setTimeout(resolve, 1));

/**
 * One production promotion at a time (POST /promotions, as a developer), then, once its approval request waits, the
 * approver's POST /approvals/{id}/decision: the figures are from that POST to the production commit, and to the
 * execution's end (Synced + Healthy with the simulated Argo CD delay at 0).
 */
export const run = async (): Promise<BenchResult[]> => {
  const configPath = writeConfig([{ name: "checkout", policy: { semver: "^1.0.0" } }], {
    syncDelaySeconds: 0,
    pollIntervalSeconds: 0,
  });
  const home = join(configPath, "..", "home");
  const runtime = await startRuntime({ home, port: 0, configPath, logger: silentLogger });
  const token = (await runtime.secrets.getSecretValue(approverTokenSecret(approver))).secretString;
  const commitMs: number[] = [];
  const doneMs: number[] = [];
  try {
    for (let i = 1; i <= samples; i++) {
      const tag = `1.${i}.0`;
      const started = (await (
        await fetch(`${runtime.url}/promotions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-switchyard-user": "dev@example.com" },
          body: JSON.stringify({
            service: "checkout",
            environment: "production",
            tag,
            digest: digestOf(tag),
          }),
        })
      ).json()) as { promotionId: string };
      let approvalId: string | undefined;
      while (approvalId === undefined) {
        const pending = (await (await fetch(`${runtime.url}/approvals?status=pending`)).json()) as {
          id: string;
          promotionId: string;
        }[];
        approvalId = pending.find((a) => a.promotionId === started.promotionId)?.id;
        if (approvalId === undefined) await pause();
      }
      const before = branchHead(home);
      const t0 = performance.now();
      const answer = await fetch(`${runtime.url}/approvals/${approvalId}/decision`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ decision: "approve" }),
      });
      if (answer.status !== 200)
        throw new Error(`decision answered ${answer.status}: ${await answer.text()}`);
      while (branchHead(home) === before) await pause();
      commitMs.push(performance.now() - t0);
      for (;;) {
        const execution = await runtime.runner.describeExecution(`production-sync:${started.promotionId}`);
        if (execution.status !== "RUNNING") break;
        await pause();
      }
      doneMs.push(performance.now() - t0);
    }
  } finally {
    await runtime.close();
    rmSync(join(configPath, ".."), { recursive: true, force: true });
  }
  return [
    {
      name: "approval: decision POST → production commit, median",
      value: Number(median(commitMs).toFixed(1)),
      unit: "ms",
      target: `≤ ${targetMs}`,
    },
    {
      name: "approval: decision POST → production commit, p90",
      value: Number(percentile(commitMs, 0.9).toFixed(1)),
      unit: "ms",
    },
    {
      name: "approval: decision POST → Synced/Healthy and execution ended, median",
      value: Number(median(doneMs).toFixed(1)),
      unit: "ms",
    },
  ];
};

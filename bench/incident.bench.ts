// Benchmark of incident escalation on the local runtime: an Alertmanager webhook to PagerDuty's trigger, and a burst
// of notifications with repeated fingerprints.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { silentLogger } from "../local/log.ts";
import { startRuntime } from "../local/runtime.ts";
import { writeConfig } from "../test/support/platform.ts";
import { startPagerDutyReceiver, startSlackReceiver } from "../test/support/receivers.ts";
import { median, percentile } from "./stats.ts";
import type { BenchResult } from "./types.ts";

const samples = 30;
const burstNotifications = 1000;
const burstFingerprints = 200;
const targetMs = 100;
const token = "bench-alertmanager-token";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const notification = (fingerprint: string, startsAt: string) => ({
  version: "4",
  groupKey: '{}:{alertname="BenchAlert"}',
  status: "firing",
  receiver: "switchyard",
  groupLabels: { alertname: "BenchAlert" },
  commonLabels: { alertname: "BenchAlert" },
  commonAnnotations: {},
  externalURL: "https://alertmanager.example.com",
  alerts: [
    {
      status: "firing",
      labels: { alertname: "BenchAlert", service: "checkout", severity: "warning" },
      annotations: { summary: `bench alert ${fingerprint}` },
      startsAt,
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "",
      fingerprint,
    },
  ],
});

/**
 * Each sample POSTs one firing alert to `/webhooks/alertmanager` and waits for its trigger to reach a local receiver
 * standing in for PagerDuty (Slack likewise): bus, route-alert, the workflow's open and notify steps, the HTTP call.
 * Then a burst: 1,000 notifications over 200 fingerprints, 4 at a time, until every incident is open.
 */
export const run = async (): Promise<BenchResult[]> => {
  const [pagerduty, slack] = await Promise.all([startPagerDutyReceiver(), startSlackReceiver()]);
  const configPath = writeConfig([{ name: "checkout", policy: { semver: "^1.0.0" } }]);
  const config = parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  writeFileSync(
    configPath,
    stringify({
      ...config,
      incidents: {
        pagerduty: { eventsUrl: pagerduty.eventsUrl },
        slack: { apiUrl: slack.apiUrl },
        escalation: { levels: [{ after: "1h" }] },
        freezeSeverity: "none",
      },
    }),
  );
  const home = join(configPath, "..", "home");
  const runtime = await startRuntime({ home, port: 0, configPath, logger: silentLogger });
  for (const [name, value] of [
    ["switchyard/alertmanager-token", token],
    ["switchyard/pagerduty-routing-key", "R0UTINGKEYBENCH0000000000000000A"],
    ["switchyard/slack-token", "xoxb-bench"],
  ] as const) {
    await runtime.secrets.createSecret({ name, secretString: value });
  }
  const post = (body: unknown) =>
    fetch(`${runtime.url}/webhooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  const triggered = (fingerprint: string) => pagerduty.accepted.some((e) => e.dedup_key === fingerprint);

  const latencies: number[] = [];
  let burstMs = 0;
  let incidents = 0;
  try {
    for (let i = 0; i < samples; i++) {
      const fingerprint = (0xb000000000000000n + BigInt(i)).toString(16);
      const t0 = performance.now();
      const answer = await post(notification(fingerprint, new Date().toISOString()));
      if (answer.status !== 202) throw new Error(`webhook answered ${answer.status}: ${await answer.text()}`);
      while (!triggered(fingerprint)) await pause(1);
      latencies.push(performance.now() - t0);
    }

    const startsAt = new Date().toISOString();
    const fingerprints = Array.from({ length: burstFingerprints }, (_, i) =>
      (0xc000000000000000n + BigInt(i)).toString(16),
    );
    const bodies = Array.from({ length: burstNotifications }, (_, i) =>
      notification(fingerprints[i % burstFingerprints] ?? "", startsAt),
    );
    const t0 = performance.now();
    for (let i = 0; i < bodies.length; i += 4) await Promise.all(bodies.slice(i, i + 4).map(post));
    while (!fingerprints.every(triggered)) await pause(10);
    burstMs = performance.now() - t0;
    // Let anything still queued run, then count.
    await pause(1000);
    const listed = (await (await fetch(`${runtime.url}/incidents?limit=1000`)).json()) as {
      incidents: { fingerprint: string }[];
    };
    incidents = listed.incidents.filter((i) => fingerprints.includes(i.fingerprint)).length;
  } finally {
    await runtime.close();
    await Promise.all([pagerduty.close(), slack.close()]);
    rmSync(join(configPath, ".."), { recursive: true, force: true });
  }
  return [
    {
      name: "incident: POST /webhooks/alertmanager → PagerDuty trigger, median",
      value: Number(median(latencies).toFixed(1)),
      unit: "ms",
      target: `≤ ${targetMs}`,
    },
    {
      name: "incident: webhook → PagerDuty trigger, p90",
      value: Number(percentile(latencies, 0.9).toFixed(1)),
      unit: "ms",
    },
    {
      name: `incident: ${burstNotifications} notifications, ${burstFingerprints} fingerprints → all paged`,
      value: Number((burstMs / 1000).toFixed(2)),
      unit: "s",
    },
    {
      name: `incident: incidents opened by that burst`,
      value: incidents,
      unit: "incidents",
      target: `= ${burstFingerprints}`,
    },
  ];
};

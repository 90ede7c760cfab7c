// Benchmark of event-pattern matching: 20 compiled rules against 100,000 varied, seeded events, as the local bus does.
import { pathToFileURL } from "node:url";
import { compilePattern } from "../events/pattern.ts";
import type { BenchResult } from "./types.ts";

const EVENT_COUNT = 100_000;
const SEED = 0x5eed_2024;
const TIMED_RUNS = 5;
const COMPILE_ROUNDS = 200;
const TARGET_EVENTS_PER_SECOND = 150_000;

type Json = Record<string, unknown>;

/** mulberry32: small, fast and good enough to vary test data reproducibly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const SERVICES = [
  "checkout",
  "payments",
  "catalog",
  "search",
  "identity",
  "notifications",
  "ledger",
  "gateway",
];
const REGIONS = ["eu-west-1", "eu-central-1", "us-east-1"];
const ACCOUNT = "123456789012";

function eventGenerator(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const hex = (length: number): string => {
    let text = "";
    for (let i = 0; i < length; i++) text += Math.floor(random() * 16).toString(16);
    return text;
  };
  const int = (below: number): number => Math.floor(random() * below);
  const time = (): string =>
    new Date(Date.UTC(2025, int(12), 1 + int(28), int(24), int(60), int(60))).toISOString();
  const envelope = (source: string, detailType: string, resources: string[], detail: Json): Json => ({
    version: "0",
    id: `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
    "detail-type": detailType,
    source,
    account: ACCOUNT,
    time: time(),
    region: pick(REGIONS),
    resources,
    detail,
  });

  const ecrImageAction = (): Json => {
    const repository = random() < 0.85 ? `switchyard/${pick(SERVICES)}` : `sandbox/${pick(SERVICES)}`;
    const tag = pick([`v${int(4)}.${int(20)}.${int(40)}`, `sha-${hex(7)}`, "latest", `rc-${int(9)}`]);
    return envelope(
      "aws.ecr",
      "ECR Image Action",
      [`arn:aws:ecr:${pick(REGIONS)}:${ACCOUNT}:repository/${repository}`],
      {
        result: random() < 0.9 ? "SUCCESS" : "FAILURE",
        "repository-name": repository,
        "image-digest": `sha256:${hex(64)}`,
        "action-type": random() < 0.8 ? "PUSH" : "DELETE",
        "image-tag": tag,
      },
    );
  };

  const alarmState = () => ({
    value: pick(["ALARM", "OK", "OK", "INSUFFICIENT_DATA"]),
    reason: "Threshold Crossed: 1 datapoint was greater than the threshold",
    timestamp: time(),
  });
  const cloudWatchAlarm = (): Json => {
    const name = `${pick(["Switchyard-", "switchyard-", "legacy-"])}${pick(SERVICES)}-${pick(["p99-latency", "5xx-rate", "cpu", "free-storage"])}`;
    return envelope(
      "aws.cloudwatch",
      "CloudWatch Alarm State Change",
      [`arn:aws:cloudwatch:${pick(REGIONS)}:${ACCOUNT}:alarm:${name}`],
      {
        alarmName: name,
        state: alarmState(),
        previousState: alarmState(),
        configuration: {
          metrics: [
            {
              id: `m${int(5)}`,
              metricStat: {
                metric: {
                  namespace: pick(["AWS/ApplicationELB", "AWS/RDS", "AWS/EKS", "Switchyard"]),
                  name: pick(["TargetResponseTime", "CPUUtilization", "FreeStorageSpace"]),
                  dimensions: { Service: pick(SERVICES) },
                },
                period: 60,
                stat: "p99",
              },
              returnData: true,
            },
          ],
        },
      },
    );
  };

  const gitHub = (): Json => {
    const repository = { full_name: `acme/${pick(SERVICES)}`, private: true };
    const sender = { login: pick(["octocat", "dependabot[bot]", "renovate[bot]", "alice", "bob"]) };
    if (random() < 0.4) {
      return envelope("switchyard.github", "GitHub Release Published", [], {
        action: "published",
        repository,
        sender,
        release: {
          tag_name: pick([`v${int(4)}.${int(20)}.${int(40)}`, `nightly-${int(300)}`]),
          prerelease: random() < 0.2,
        },
      });
    }
    return envelope("switchyard.github", "GitHub Workflow Run Completed", [], {
      action: "completed",
      repository,
      sender,
      workflow_run: {
        name: pick(["build", "test", "release"]),
        conclusion: pick(["success", "success", "success", "failure", "cancelled", "timed_out"]),
        head_branch: pick(["main", "main", `feature/${hex(4)}`]),
        run_attempt: 1 + int(3),
      },
    });
  };

  const alertmanager = (): Json => {
    const status = random() < 0.7 ? "firing" : "resolved";
    const alerts = Array.from({ length: 1 + int(4) }, () => {
      const annotations: Json = { summary: "Error budget burn rate too high" };
      if (random() < 0.7) annotations.runbook_url = `https://runbooks.example.com/${pick(SERVICES)}`;
      return {
        status: random() < 0.8 ? status : "resolved",
        labels: {
          alertname: pick(["HighErrorRate", "PodCrashLooping", "DiskFilling", "SLOBurn"]),
          severity: pick(["critical", "warning", "info", "page"]),
          namespace: pick(SERVICES),
          pod: `${pick(SERVICES)}-${hex(5)}`,
        },
        annotations,
        startsAt: time(),
        fingerprint: hex(16),
      };
    });
    return envelope("switchyard.alertmanager", "Alertmanager Alert", [], {
      version: "4",
      status,
      receiver: "switchyard",
      groupKey: `{}:{alertname="${pick(["HighErrorRate", "SLOBurn"])}"}`,
      commonLabels: { cluster: pick(["prod-eu", "staging-eu"]) },
      alerts,
      externalURL: "https://alertmanager.example.com",
    });
  };

  const switchyard = (): Json => {
    const service = pick(SERVICES);
    const sourceIp =
      random() < 0.5
        ? `10.${int(256)}.${int(256)}.${int(256)}`
        : random() < 0.5
          ? `fd00::${hex(4)}`
          : `203.0.113.${int(256)}`;
    const kind = int(5);
    if (kind === 0) {
      return envelope("switchyard", "Promotion Succeeded", [], {
        service,
        environment: random() < 0.5 ? "staging" : "production",
        digest: `sha256:${hex(64)}`,
        durationSeconds: int(1800),
        sourceIp,
      });
    }
    if (kind === 1) {
      return envelope("switchyard", "Approval Decided", [], {
        service,
        decision: random() < 0.8 ? "approved" : "rejected",
        approver: pick(["alice", "bob", "carol"]),
        sourceIp,
      });
    }
    if (kind === 2) {
      return envelope("switchyard", "Secret Rotated", [], {
        secretId: `switchyard/${service}/${pick(["postgres", "api-key", "redis"])}`,
        rotation: { strategy: pick(["single-user", "alternating-users"]), step: "finishSecret" },
      });
    }
    if (kind === 3) {
      const detail: Json = {
        dbInstance: `${service}-db`,
        sizeGiB: 20 + int(980),
        snapshotId: `switchyard-${hex(8)}`,
      };
      if (random() < 0.3) detail.drCopy = { region: "eu-central-1" };
      return envelope("switchyard", "Snapshot Created", [], detail);
    }
    return envelope("switchyard", "Incident Escalated", [], {
      fingerprint: hex(16),
      service,
      level: int(5),
      acknowledged: random() < 0.3,
    });
  };

  const kinds = [ecrImageAction, cloudWatchAlarm, gitHub, alertmanager, switchyard];
  return (): Json => (pick(kinds) as () => Json)();
}

/** The rule patterns: the mix of operators a platform's bus carries. */
const RULES: readonly Json[] = [
  {
    source: ["aws.ecr"],
    "detail-type": ["ECR Image Action"],
    detail: { "action-type": ["PUSH"], result: ["SUCCESS"] },
  },
  {
    source: ["aws.ecr"],
    detail: {
      "image-tag": [{ "anything-but": { prefix: "sha-" } }],
      "repository-name": [{ prefix: "switchyard/" }],
    },
  },
  {
    source: ["aws.ecr"],
    resources: [{ wildcard: "arn:aws:ecr:*:*:repository/switchyard/*" }],
    detail: { "image-tag": [{ wildcard: "v*.*.*" }] },
  },
  {
    source: ["aws.cloudwatch"],
    "detail-type": ["CloudWatch Alarm State Change"],
    detail: { state: { value: ["ALARM"] } },
  },
  { source: ["aws.cloudwatch"], detail: { state: { value: ["OK"] }, previousState: { value: ["ALARM"] } } },
  {
    source: ["aws.cloudwatch"],
    detail: { alarmName: [{ prefix: { "equals-ignore-case": "switchyard-" } }] },
  },
  {
    source: ["aws.cloudwatch"],
    detail: { configuration: { metrics: { metricStat: { metric: { namespace: ["AWS/RDS"] } } } } },
  },
  {
    source: ["switchyard.github"],
    "detail-type": ["GitHub Release Published"],
    detail: { release: { prerelease: [false], tag_name: [{ wildcard: "v*" }] } },
  },
  {
    source: ["switchyard.github"],
    "detail-type": ["GitHub Workflow Run Completed"],
    detail: { workflow_run: { conclusion: ["success"], head_branch: ["main"] } },
  },
  {
    source: ["switchyard.alertmanager"],
    detail: {
      status: ["firing"],
      alerts: { status: ["firing"], labels: { severity: ["critical", "page"] } },
    },
  },
  { source: ["switchyard.alertmanager"], detail: { status: ["resolved"] } },
  {
    source: ["switchyard.alertmanager"],
    detail: {
      alerts: { labels: { severity: ["critical"] }, annotations: { runbook_url: [{ exists: false }] } },
    },
  },
  { source: ["switchyard"], "detail-type": ["Promotion Succeeded"], detail: { environment: ["production"] } },
  { source: ["switchyard"], detail: { durationSeconds: [{ numeric: [">", 600] }] } },
  {
    source: ["switchyard"],
    "detail-type": ["Approval Decided"],
    detail: { decision: [{ "anything-but": "approved" }] },
  },
  {
    source: ["switchyard"],
    "detail-type": ["Incident Escalated"],
    detail: { level: [{ numeric: [">=", 2, "<", 10] }] },
  },
  { source: ["switchyard"], detail: { sourceIp: [{ cidr: "10.0.0.0/8" }, { cidr: "fd00::/8" }] } },
  {
    $or: [
      { source: ["aws.ecr"], detail: { result: ["FAILURE"] } },
      { source: ["switchyard.github"], detail: { workflow_run: { conclusion: ["failure", "timed_out"] } } },
    ],
  },
  {
    source: ["switchyard"],
    "detail-type": ["Secret Rotated"],
    detail: { secretId: [{ suffix: "/postgres" }], rotation: { strategy: ["alternating-users"] } },
  },
  {
    "detail-type": ["Snapshot Created"],
    detail: { drCopy: { region: [{ exists: true }] }, sizeGiB: [{ numeric: ["<=", 500] }] },
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Matches every event against every rule; returns the number of matches. */
function matchAll(
  rules: readonly { matches(event: string | object): boolean }[],
  events: readonly (string | object)[],
): number {
  let matches = 0;
  for (const event of events) {
    for (const rule of rules) if (rule.matches(event)) matches++;
  }
  return matches;
}

function timeRuns(run: () => number): { seconds: number; matches: number } {
  let matches = run();
  const seconds: number[] = [];
  for (let i = 0; i < TIMED_RUNS; i++) {
    const start = process.hrtime.bigint();
    matches = run();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { seconds: median(seconds), matches };
}

/**
 * Compiles the rules, generates the events, warms up, then times matching every event against every rule
 * (median of several runs), for events as objects and as JSON text.
 *
 * @example
 * for (const result of await run()) console.log(result.name, result.value, result.unit);
 */
export async function run(): Promise<BenchResult[]> {
  const next = eventGenerator(seededRandom(SEED));
  const events = Array.from({ length: EVENT_COUNT }, next);
  const texts = events.map((event) => JSON.stringify(event));

  let rules = RULES.map((pattern) => compilePattern(pattern));
  const compileStart = process.hrtime.bigint();
  for (let i = 0; i < COMPILE_ROUNDS; i++) rules = RULES.map((pattern) => compilePattern(pattern));
  const compileMicros =
    Number(process.hrtime.bigint() - compileStart) / 1e3 / (COMPILE_ROUNDS * RULES.length);

  const objects = timeRuns(() => matchAll(rules, events));
  const fromText = timeRuns(() => matchAll(rules, texts));
  if (fromText.matches !== objects.matches) {
    throw new Error(`JSON text and objects disagree: ${fromText.matches} vs ${objects.matches} matches`);
  }

  return [
    {
      name: `pattern: ${RULES.length} rules × ${EVENT_COUNT.toLocaleString("en")} events (objects)`,
      value: Math.round(EVENT_COUNT / objects.seconds),
      unit: "events/s",
      target: `≥ ${TARGET_EVENTS_PER_SECOND.toLocaleString("en")}`,
    },
    {
      name: `pattern: ${RULES.length} rules × ${EVENT_COUNT.toLocaleString("en")} events (JSON text, parsed once each)`,
      value: Math.round(EVENT_COUNT / fromText.seconds),
      unit: "events/s",
    },
    { name: "pattern: rule matches found", value: objects.matches, unit: "matches" },
    { name: "pattern: compile one pattern", value: Number(compileMicros.toFixed(1)), unit: "µs" },
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of await run()) {
    const target = result.target === undefined ? "" : `  (target ${result.target})`;
    console.log(`${result.name}: ${result.value.toLocaleString("en")} ${result.unit}${target}`);
  }
}

// The `switchyard` command line: start the local control plane, emit events, inspect it, manage local secrets.

import "./shims/node20.ts";
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { Command, CommanderError } from "commander";
import { ConfigError, causeMessage } from "../functions/core/errors.ts";
import { snapshotTagKeys } from "../functions/core/snapshot-names.ts";
import { createLogger } from "./log.ts";
import { localSettings } from "./settings.ts";

/** A failure to report as one line, without a stack. */
class CliError extends Error {
  override readonly name = "CliError";
}

const readInput = (file: string): string => {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CliError(
      code === "ENOENT" ? `${file}: no such file` : `${file}: cannot be read (${code ?? "error"})`,
    );
  }
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Turns what a person hands `emit` into a PutEvents request: a PutEvents body (`{Entries}`), one EventBridge
 * event (like the samples in events/samples/), or an array of events.
 */
export const toPutEventsRequest = (document: unknown, file: string): { Entries: unknown[] } => {
  if (isObject(document) && Array.isArray(document.Entries)) return { Entries: document.Entries };
  const events = Array.isArray(document) ? document : [document];
  return {
    Entries: events.map((event, i) => {
      const where = Array.isArray(document) ? `${file}[${i}]` : file;
      if (!isObject(event) || typeof event.source !== "string" || typeof event["detail-type"] !== "string") {
        throw new CliError(
          `${where}: expected a PutEvents request ({"Entries": [...]}) or an EventBridge event with "source", "detail-type" and "detail"`,
        );
      }
      return {
        Source: event.source,
        DetailType: event["detail-type"],
        Detail: JSON.stringify(event.detail ?? {}),
        ...(Array.isArray(event.resources) ? { Resources: event.resources } : {}),
        ...(typeof event.time === "string" ? { Time: event.time } : {}),
        ...(typeof event.EventBusName === "string" ? { EventBusName: event.EventBusName } : {}),
      };
    }),
  };
};

/** Calls the running runtime; a refused connection becomes a hint on how to start one. */
const callRuntime = async (path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> => {
  const { url } = localSettings();
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, init);
  } catch {
    throw new CliError(
      `No Switchyard runtime answers at ${url} (start one with "npm start", or set SWITCHYARD_URL)`,
    );
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, body };
};

const errorMessage = (body: unknown): string =>
  isObject(body) && typeof body.message === "string"
    ? `${body.error ?? "Error"}: ${body.message}`
    : String(body);

interface ExecutionView {
  workflow: string;
  name: string;
  status: string;
  startDate: string;
  stopDate?: string;
  output?: unknown;
  error?: string;
  cause?: string;
  transitions?: {
    type: string;
    stateName?: string;
    timestamp: string;
    input?: unknown;
    output?: unknown;
    error?: string;
    cause?: string;
  }[];
}

const duration = (e: ExecutionView): string =>
  e.stopDate ? `${Date.parse(e.stopDate) - Date.parse(e.startDate)} ms` : "running";

const listExecutions = ({ executions }: { executions: ExecutionView[] }): string =>
  executions.length === 0
    ? "no executions yet\n"
    : executions
        .map(
          (e) =>
            `${e.status.padEnd(10)} ${e.startDate}  ${duration(e).padStart(9)}  ${e.workflow}:${e.name}\n`,
        )
        .join("");

const describeExecution = (e: ExecutionView): string => {
  const lines = [
    `${e.workflow}:${e.name}  ${e.status}  (${duration(e)})`,
    ...(e.error ? [`error: ${e.error}${e.cause ? ` — ${e.cause}` : ""}`] : []),
    ...(e.output !== undefined ? [`output: ${JSON.stringify(e.output)}`] : []),
    "transitions:",
    ...(e.transitions ?? []).map(
      (t) =>
        `  ${t.timestamp.slice(11, 23)}  ${t.type}${t.stateName ? `  ${t.stateName}` : ""}${t.error ? `  ${t.error}` : ""}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
};

interface ApprovalView {
  id: string;
  service: string;
  environment: string;
  state: string;
  to: { tag?: string; digest: string };
  requestedBy: string;
  minApprovals: number;
  expiresAt: string;
  decisions: { approver: string; decision: string }[];
}

const progressOf = (a: ApprovalView): string =>
  `${a.decisions.filter((d) => d.decision === "approve").length} of ${a.minApprovals} approvals`;

const listApprovals = (list: ApprovalView[]): string =>
  list.length === 0
    ? "no approval requests\n"
    : list
        .map(
          (a) =>
            `${a.id}  ${a.state.padEnd(8)}  ${a.service} ${a.to.tag ?? a.to.digest.slice(0, 19)} → ${a.environment}  ` +
            `requested by ${a.requestedBy}, ${progressOf(a)}, expires ${a.expiresAt}\n`,
        )
        .join("");

interface IncidentView {
  id: string;
  fingerprint: string;
  status: string;
  severity: string;
  level: number;
  service?: string;
  summary: string;
  alertSource: string;
  runbookUrl?: string;
  sourceUrl?: string;
  description?: string;
  labels?: Record<string, string>;
  openedAt: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  resolution?: string;
  froze?: boolean;
  timeline?: { at: string; kind: string; message: string }[];
  changed?: boolean;
}

/** The widest summary the incident table shows; `incidents show` has the whole text. */
const maxSummaryColumn = 60;

const withoutMilliseconds = (iso: string): string => iso.replace(/\.\d+Z$/, "Z");

const clip = (text: string, width: number): string =>
  text.length <= width ? text : `${text.slice(0, width - 1)}…`;

/** The incidents as a table, newest first as the API lists them. */
export const listIncidents = (incidents: readonly IncidentView[], status: string | undefined): string =>
  incidents.length === 0
    ? `no ${status ? `${status} ` : ""}incidents\n`
    : table([
        ["ID", "STATUS", "SEVERITY", "LEVEL", "SERVICE", "SUMMARY", "OPENED"],
        ...incidents.map((i) => [
          i.id,
          i.status,
          i.severity,
          String(i.level),
          i.service ?? "-",
          clip(i.summary, maxSummaryColumn),
          withoutMilliseconds(i.openedAt),
        ]),
      ]);

/** One incident for a person: what, where, who answered, and its timeline. */
export const describeIncident = (i: IncidentView): string => {
  const state =
    i.status === "acknowledged"
      ? `acknowledged by ${i.acknowledgedBy ?? "someone"}${i.acknowledgedAt ? ` at ${withoutMilliseconds(i.acknowledgedAt)}` : ""}`
      : i.status === "resolved"
        ? `resolved${i.resolvedAt ? ` at ${withoutMilliseconds(i.resolvedAt)}` : ""}${i.resolution ? ` (${i.resolution})` : ""}`
        : `open, level ${i.level}`;
  const labels = Object.entries(i.labels ?? {}).map(([key, value]) => `${key}=${value}`);
  const lines = [
    `${i.id}  ${i.severity}  ${state}`,
    `summary      ${i.summary}`,
    ...(i.description ? [`description  ${i.description}`] : []),
    `service      ${i.service ?? "-"}${i.froze ? " (frozen by this incident)" : ""}`,
    `source       ${i.alertSource}${i.sourceUrl ? ` ${i.sourceUrl}` : ""}`,
    ...(i.runbookUrl ? [`runbook      ${i.runbookUrl}`] : []),
    `fingerprint  ${i.fingerprint}`,
    `opened       ${withoutMilliseconds(i.openedAt)}`,
    ...(labels.length > 0 ? [`labels       ${labels.join(" ")}`] : []),
    "timeline:",
    ...(i.timeline ?? []).map((e) => `  ${withoutMilliseconds(e.at)}  ${e.kind.padEnd(16)}  ${e.message}`),
  ];
  return `${lines.join("\n")}\n`;
};

/** The approver's local API token, from the secret store the runtime filled (never printed). */
const approverToken = async (approver: string): Promise<string> => {
  const { openLocalSecretStore } = await import("./secrets.ts");
  const { approverTokenSecret } = await import("./approver-tokens.ts");
  const store = openLocalSecretStore(localSettings().home);
  try {
    return (await store.getSecretValue(approverTokenSecret(approver))).secretString;
  } catch {
    throw new CliError(
      `${approver} has no approver token in ${localSettings().home}: is it listed as an approver in switchyard.yaml, and has the runtime started once?`,
    );
  } finally {
    store.close();
  }
};

interface SnapshotView {
  id: string;
  database: string;
  status: string;
  reason: string;
  createdAt: string;
  sizeBytes?: number;
  tags?: Record<string, string>;
}

const bytesPerKib = 1024;
const sizeUnits = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** 1536 → "1.5 KiB"; unknown → "-". */
const humanSize = (bytes: number | undefined): string => {
  if (bytes === undefined) return "-";
  let value = bytes;
  let unit = 0;
  while (value >= bytesPerKib && unit < sizeUnits.length - 1) {
    value /= bytesPerKib;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${sizeUnits[unit]}`;
};

/** Rows padded into columns two spaces apart, without trailing blanks. */
const table = (rows: readonly (readonly string[])[]): string => {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map(
      (row) =>
        `${row
          .map((cell, column) => cell.padEnd(widths[column] ?? 0))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
};

const listSnapshots = (snapshots: readonly SnapshotView[], database: string | undefined): string => {
  if (snapshots.length === 0) {
    return `no snapshots${database ? ` of ${database}` : ""} yet (take one with: switchyard snapshots create${database ? ` ${database}` : ""})\n`;
  }
  const withNotes = snapshots.some((s) => s.tags?.[snapshotTagKeys.note] !== undefined);
  return table([
    ["ID", "DATABASE", "STATUS", "REASON", "CREATED", "SIZE", ...(withNotes ? ["NOTE"] : [])],
    ...snapshots.map((s) => [
      s.id,
      s.database,
      s.status,
      s.reason,
      s.createdAt.replace(/\.\d+Z$/, "Z"),
      humanSize(s.sizeBytes),
      ...(withNotes ? [s.tags?.[snapshotTagKeys.note] ?? ""] : []),
    ]),
  ]);
};

/** One database's result in a snapshot run or a restore drill, as the workflow's last step reports it. */
interface DatabaseOutcome {
  database: string;
  outcome: string;
  message: string;
}

const isOutcome = (value: unknown): value is DatabaseOutcome =>
  isObject(value) &&
  typeof value.database === "string" &&
  typeof value.outcome === "string" &&
  typeof value.message === "string";

/**
 * The workflow's state holding `key`: the output of a succeeded execution, else (a failed execution has no output)
 * the last recorded state input or output that holds it.
 */
const lastStateWith = (execution: ExecutionView, key: string): Record<string, unknown> | undefined => {
  if (isObject(execution.output) && key in execution.output) return execution.output;
  for (const transition of [...(execution.transitions ?? [])].reverse()) {
    for (const state of [transition.output, transition.input]) {
      if (isObject(state) && key in state) return state;
    }
  }
  return undefined;
};

/** The step failure behind a failed execution, when a Task failed (the Fail state's own cause is generic). */
const failedStep = (execution: ExecutionView): string | undefined => {
  const failure = [...(execution.transitions ?? [])]
    .reverse()
    .find((t) => (t.type === "TaskFailed" || t.type === "LambdaFunctionFailed") && t.error);
  if (!failure?.error) return undefined;
  const message = failure.cause ? causeMessage(failure.cause) : "";
  return message && message !== failure.error ? `${failure.error}: ${message}` : failure.error;
};

/** The workflows the snapshot commands start, with the state key each reports its databases under. */
const snapshotWorkflows = {
  "rds-snapshot": {
    results: "snapshots",
    nothing: "no database to snapshot: none carries snapshots.selector's tag",
  },
  "restore-drill": {
    results: "drills",
    nothing: "no database to drill: none carries snapshots.selector's tag",
  },
} as const;

/**
 * A finished snapshot run or restore drill for a person: one line per database with its outcome, retention and the
 * quota warning when there are any, then the execution's status (with the error and its cause when it failed).
 */
export const describeSnapshotExecution = (
  execution: ExecutionView,
  workflow: keyof typeof snapshotWorkflows,
): string => {
  const { results, nothing } = snapshotWorkflows[workflow];
  const lines: string[] = [];
  const state = lastStateWith(execution, results);
  const outcomes = Array.isArray(state?.[results]) ? (state[results] as unknown[]).filter(isOutcome) : [];
  const width = Math.max(0, ...outcomes.map((o) => o.database.length));
  for (const o of outcomes) lines.push(`  ${o.database.padEnd(width)}  ${o.outcome.padEnd(7)}  ${o.message}`);
  const plan = lastStateWith(execution, "plan")?.plan;
  if (outcomes.length === 0 && execution.status === "SUCCEEDED" && isObject(plan) && plan.count === 0) {
    lines.push(`  ${nothing}`);
  }
  if (isObject(plan) && typeof plan.quotaWarning === "string") lines.push(`  warning: ${plan.quotaWarning}`);
  const retention = lastStateWith(execution, "retention")?.retention;
  const pruned = isObject(retention) && Array.isArray(retention.pruned) ? retention.pruned : [];
  for (const p of pruned) {
    if (!isObject(p) || !Array.isArray(p.deleted) || p.deleted.length === 0) continue;
    lines.push(
      `  retention: deleted ${p.deleted.join(", ")} (${String(p.database)}, past snapshots.retentionDays)`,
    );
  }
  const status = `${execution.status.padEnd(10)} ${execution.workflow}:${execution.name} (${duration(execution)})`;
  if (execution.status === "SUCCEEDED") {
    lines.push(status);
  } else {
    lines.push(
      `${status}: ${execution.error ?? "failed"}${execution.cause ? ` — ${causeMessage(execution.cause)}` : ""}`,
    );
    const cause = outcomes.length === 0 ? failedStep(execution) : undefined;
    if (cause) lines.push(`  because ${cause}`);
  }
  return `${lines.join("\n")}\n`;
};

/** How often `--wait` asks the runtime whether an execution has ended. */
const executionPollMs = 500;

/** Polls GET /executions/{id} until the execution is no longer RUNNING. */
const waitForExecution = async (executionArn: string): Promise<ExecutionView> => {
  for (;;) {
    const { status, body } = await callRuntime(`/executions/${encodeURIComponent(executionArn)}`);
    if (status !== 200) throw new CliError(`cannot follow ${executionArn}: ${errorMessage(body)}`);
    const execution = body as ExecutionView;
    if (execution.status !== "RUNNING") return execution;
    await new Promise((resolve) => setTimeout(resolve, executionPollMs));
  }
};

/** Who the CLI says is calling (the local API trusts x-switchyard-user, as no authorizer runs there). */
const callerHeaders = (): Record<string, string> => {
  try {
    return { "x-switchyard-user": userInfo().username };
  } catch {
    return {};
  }
};

/** `<workflow>:<name>` of an execution ARN, the short id `switchyard executions` takes. */
const shortId = (workflow: string, executionArn: string): string =>
  `${workflow}:${executionArn.slice(executionArn.lastIndexOf(":") + 1)}`;

/** Starts a snapshot run or a drill through the API, then waits for it and reports it, unless told not to wait. */
const startSnapshotWorkflow = async (
  workflow: keyof typeof snapshotWorkflows,
  path: string,
  body: Record<string, unknown>,
  options: { wait: boolean; json?: boolean },
): Promise<void> => {
  const { status, body: answer } = await callRuntime(path, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "switchyard-cli", ...callerHeaders() },
    body: JSON.stringify(body),
  });
  if (status !== 202) throw new CliError(errorMessage(answer));
  const { executionArn } = answer as { executionArn: string };
  if (!options.wait) {
    if (options.json) print(answer);
    else process.stdout.write(`${executionArn}\n`);
    return;
  }
  if (!options.json) process.stdout.write(`started    ${shortId(workflow, executionArn)}\n`);
  const execution = await waitForExecution(executionArn);
  if (options.json) print(execution);
  else process.stdout.write(describeSnapshotExecution(execution, workflow));
  if (execution.status !== "SUCCEEDED") process.exitCode = 1;
};

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

export const buildProgram = (): Command => {
  const program = new Command()
    .name("switchyard")
    .description(
      "Switchyard, the event-driven control plane of the developer platform — local runtime and tools",
    )
    .showHelpAfterError()
    .exitOverride();

  program
    .command("start")
    .description(
      "start the local control plane (gateway, event bus, workflow runner, scheduler) on 127.0.0.1:$PORT",
    )
    .action(async () => {
      const settings = localSettings();
      const { startRuntime } = await import("./runtime.ts");
      const runtime = await startRuntime({
        home: settings.home,
        port: settings.port,
        configPath: settings.configPath,
        logger: createLogger(),
      });
      const shutdown = () => {
        runtime.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
    });

  program
    .command("emit")
    .description(
      "put events on the running runtime's bus (a PutEvents request, an EventBridge event, or an array of events)",
    )
    .argument("<file>", "JSON file, or - for standard input")
    .option("--json", "print the PutEvents response as JSON")
    .action(async (file: string, options: { json?: boolean }) => {
      let document: unknown;
      try {
        document = JSON.parse(readInput(file));
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(`${file}: not valid JSON (${(error as Error).message})`);
      }
      const request = toPutEventsRequest(document, file);
      const { status, body } = await callRuntime("/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(request),
      });
      if (status !== 200) throw new CliError(`emit failed (${status}) ${errorMessage(body)}`);
      const response = body as {
        FailedEntryCount: number;
        Entries: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
      };
      if (options.json) print(response);
      else {
        response.Entries.forEach((entry, i) => {
          process.stdout.write(
            entry.EventId
              ? `accepted  ${entry.EventId}\n`
              : `rejected  entry ${i}: ${entry.ErrorCode}: ${entry.ErrorMessage}\n`,
          );
        });
      }
      if (response.FailedEntryCount > 0) process.exitCode = 1;
    });

  program
    .command("status")
    .description("show whether the runtime is up, with its event and execution counts")
    .option("--json", "print as JSON")
    .action(async (options: { json?: boolean }) => {
      const health = await callRuntime("/healthz");
      if (health.status !== 200) throw new CliError(`runtime is not healthy (${health.status})`);
      const counts = (await callRuntime("/status")).body as {
        events: number;
        deliveries: Record<string, number>;
        executions: Record<string, number>;
      };
      // Counted by the runtime over everything it holds, not over one page of a listing.
      const nonZero = (byStatus: Record<string, number>) =>
        Object.fromEntries(Object.entries(byStatus).filter(([, n]) => n > 0));
      const summary = {
        url: localSettings().url,
        status: "ok",
        events: counts.events,
        deliveries: nonZero(counts.deliveries),
        executions: counts.executions,
      };
      if (options.json) print(summary);
      else {
        process.stdout.write(`switchyard at ${summary.url}: ${summary.status}\n`);
        process.stdout.write(
          `events      ${summary.events} (deliveries ${JSON.stringify(summary.deliveries)})\n`,
        );
        process.stdout.write(`executions  ${JSON.stringify(summary.executions)}\n`);
      }
    });

  program
    .command("executions")
    .description("list workflow executions, or show one with its state transitions")
    .argument("[id]", "execution ARN or <workflow>:<name>")
    .option("--json", "print the API's JSON")
    .action(async (id: string | undefined, options: { json?: boolean }) => {
      const { status, body } = await callRuntime(
        id ? `/executions/${encodeURIComponent(id)}` : "/executions",
      );
      if (status !== 200) throw new CliError(errorMessage(body));
      if (options.json) print(body);
      else
        process.stdout.write(
          id
            ? describeExecution(body as ExecutionView)
            : listExecutions(body as { executions: ExecutionView[] }),
        );
    });

  const images = program
    .command("images")
    .description("play the container registry: push images the local runtime then knows");
  images
    .command("push")
    .description(
      "emit the ECR push of <repository>:<tag> (as ECR would after `docker push`), starting its promotion",
    )
    .argument("<repository>", "ECR repository name, e.g. checkout or payments/worker")
    .argument("<tag>", "image tag, e.g. 1.4.3")
    .option(
      "--digest <digest>",
      "the image digest (sha256:<64 hex>); derived from repository, tag and time if omitted",
    )
    .action(async (repository: string, tag: string, options: { digest?: string }) => {
      const { ecrPushEntry } = await import("./image-recorder.ts");
      let entry: unknown;
      try {
        entry = ecrPushEntry(repository, tag, options.digest, { now: () => new Date() });
      } catch (error) {
        throw new CliError(error instanceof Error ? error.message : String(error));
      }
      const { status, body } = await callRuntime("/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ Entries: [entry] }),
      });
      const answer = body as {
        FailedEntryCount?: number;
        Entries?: { EventId?: string; ErrorMessage?: string }[];
      };
      if (status !== 200 || answer.FailedEntryCount !== 0)
        throw new CliError(`push failed: ${errorMessage(body)}`);
      const detail = JSON.parse((entry as { Detail: string }).Detail) as { "image-digest": string };
      process.stdout.write(
        `pushed    ${repository}:${tag} ${detail["image-digest"]}\naccepted  ${answer.Entries?.[0]?.EventId}\n`,
      );
    });

  program
    .command("rotate")
    .description("rotate a secret of switchyard.yaml now, as Secrets Manager would on its schedule")
    .argument("<secret>", "secret name, e.g. checkout/db")
    .action(async (secret: string) => {
      const { status, body } = await callRuntime(`/secrets/${encodeURIComponent(secret)}/rotate`, {
        method: "POST",
      });
      if (status !== 200) throw new CliError(errorMessage(body));
      const result = body as {
        secretId: string;
        versionId: string;
        previousVersionId?: string;
        activeUser?: string;
      };
      process.stdout.write(
        `rotated   ${result.secretId} → version ${result.versionId}${result.previousVersionId ? ` (was ${result.previousVersionId})` : ""}${result.activeUser ? `, user ${result.activeUser}` : ""}\n`,
      );
    });

  const approvals = program
    .command("approvals")
    .description("list approval requests of gated environments, and approve or reject one");
  approvals
    .command("list")
    .description("list approval requests, newest first (default: the pending ones)")
    .option("--status <status>", "pending, approved, rejected or expired", "pending")
    .option("--json", "print the API's JSON")
    .action(async (options: { status: string; json?: boolean }) => {
      const { status, body } = await callRuntime(`/approvals?status=${encodeURIComponent(options.status)}`, {
        headers: { accept: "application/json" },
      });
      if (status !== 200) throw new CliError(errorMessage(body));
      if (options.json) print(body);
      else process.stdout.write(listApprovals(body as ApprovalView[]));
    });
  for (const [command, decision] of [
    ["approve", "approve"],
    ["reject", "reject"],
  ] as const) {
    approvals
      .command(command)
      .description(`${command} an approval request as one of its approvers`)
      .argument("<id>", "the approval id (switchyard approvals list)")
      .requiredOption("--as <approver>", "the approver you are, as switchyard.yaml lists them")
      .option("--comment <text>", "why; shown to the others and in the Approval Decided event")
      .action(async (id: string, options: { as: string; comment?: string }) => {
        const token = await approverToken(options.as);
        const { status, body } = await callRuntime(`/approvals/${encodeURIComponent(id)}/decision`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            authorization: `Bearer ${token}`,
            "user-agent": "switchyard-cli",
          },
          body: JSON.stringify({ decision, ...(options.comment ? { comment: options.comment } : {}) }),
        });
        if (status !== 200) throw new CliError(errorMessage(body));
        const record = body as ApprovalView;
        process.stdout.write(`${record.id}  ${record.state}  (${progressOf(record)})\n`);
      });
  }

  const incidents = program
    .command("incidents")
    .description("incidents opened by alerts: list them, show one with its timeline, acknowledge one");
  incidents
    .command("list")
    .description("list incidents, newest first")
    .option("--status <status>", "open, acknowledged or resolved (default: all)")
    .option("--limit <n>", "at most this many (1 to 1000)", "100")
    .option("--json", "print the API's JSON")
    .action(async (options: { status?: string; limit: string; json?: boolean }) => {
      const query = new URLSearchParams({
        ...(options.status !== undefined && { status: options.status }),
        limit: options.limit,
      });
      const { status, body } = await callRuntime(`/incidents?${query}`, {
        headers: { accept: "application/json" },
      });
      if (status !== 200) throw new CliError(errorMessage(body));
      if (options.json) print(body);
      else
        process.stdout.write(
          listIncidents((body as { incidents: IncidentView[] }).incidents, options.status),
        );
    });
  incidents
    .command("show")
    .description("show an incident with its labels and timeline")
    .argument("<id>", "the incident id (switchyard incidents list)")
    .option("--json", "print the API's JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const { status, body } = await callRuntime(`/incidents/${encodeURIComponent(id)}`, {
        headers: { accept: "application/json" },
      });
      if (status !== 200) throw new CliError(errorMessage(body));
      if (options.json) print(body);
      else process.stdout.write(describeIncident(body as IncidentView));
    });
  incidents
    .command("ack")
    .description("acknowledge an incident: escalation stops, PagerDuty and the Slack thread are told")
    .argument("<id>", "the incident id (switchyard incidents list)")
    .option("--as <name>", "who acknowledges (default: your login name)")
    .option("--json", "print the API's JSON")
    .action(async (id: string, options: { as?: string; json?: boolean }) => {
      const { status, body } = await callRuntime(`/incidents/${encodeURIComponent(id)}/ack`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "user-agent": "switchyard-cli",
          ...(options.as !== undefined ? { "x-switchyard-user": options.as } : callerHeaders()),
        },
        body: "{}",
      });
      if (status !== 200) throw new CliError(errorMessage(body));
      const incident = body as IncidentView;
      if (options.json) print(incident);
      else
        process.stdout.write(
          incident.changed
            ? `${incident.id}  acknowledged by ${incident.acknowledgedBy ?? "you"}\n`
            : `${incident.id}  already acknowledged by ${incident.acknowledgedBy ?? "someone"}${incident.acknowledgedAt ? ` at ${withoutMilliseconds(incident.acknowledgedAt)}` : ""}\n`,
        );
    });

  const snapshots = program
    .command("snapshots")
    .description(
      "database snapshots: list them, take one now, or run a restore drill (without a database: every one snapshots.selector picks)",
    );
  snapshots
    .command("list")
    .description("list Switchyard's snapshots, newest first")
    .argument("[database]", "only this database's (its RDS-style identifier, e.g. orders)")
    .option("--json", "print the API's JSON")
    .action(async (database: string | undefined, options: { json?: boolean }) => {
      const { status, body } = await callRuntime(
        `/snapshots${database ? `?database=${encodeURIComponent(database)}` : ""}`,
      );
      if (status !== 200) throw new CliError(errorMessage(body));
      if (options.json) print(body);
      else process.stdout.write(listSnapshots((body as { snapshots: SnapshotView[] }).snapshots, database));
    });
  snapshots
    .command("create")
    .description(
      "snapshot a database now (or every tagged one), wait until each is available, and apply retention; Ctrl-C stops waiting, not the run",
    )
    .argument("[database]", "the database's identifier; omit for every database snapshots.selector picks")
    .option(
      "--reason <text>",
      'why: a note kept on the snapshot ("before the orders migration"), or "pre-change" with --promotion',
    )
    .option("--promotion <id>", "the promotion a pre-change snapshot guards")
    .option("--no-wait", "print the execution ARN and return without waiting")
    .option("--json", "print the API's JSON (the execution once it ended, unless --no-wait)")
    .action(
      async (
        database: string | undefined,
        options: { reason?: string; promotion?: string; wait: boolean; json?: boolean },
      ) => {
        await startSnapshotWorkflow(
          "rds-snapshot",
          "/snapshots",
          {
            ...(database !== undefined && { database }),
            ...(options.reason !== undefined && { reason: options.reason }),
            ...(options.promotion !== undefined && { promotionId: options.promotion }),
          },
          options,
        );
      },
    );
  snapshots
    .command("drill")
    .description(
      "restore a database's newest snapshot (or every tagged one's) into a throwaway database, run the smoke query, and delete it; Ctrl-C stops waiting, not the drill",
    )
    .argument("[database]", "the database's identifier; omit for every database snapshots.selector picks")
    .option("--no-wait", "print the execution ARN and return without waiting")
    .option("--json", "print the API's JSON (the execution once it ended, unless --no-wait)")
    .action(async (database: string | undefined, options: { wait: boolean; json?: boolean }) => {
      await startSnapshotWorkflow(
        "restore-drill",
        "/snapshots/drills",
        database !== undefined ? { database } : {},
        options,
      );
    });

  const secrets = program
    .command("secrets")
    .description("manage secrets in the local secret store ($SWITCHYARD_HOME/secrets.db)");
  secrets
    .command("put")
    .description("store a new version of a secret (creating it if needed); it becomes AWSCURRENT")
    .argument("<name>", "secret name, e.g. switchyard/github-webhook")
    .argument(
      "[value]",
      "the value; omit or use - to read it from standard input (keeps it out of shell history)",
    )
    .action(async (name: string, value: string | undefined) => {
      const secretString =
        value === undefined || value === "-" ? readInput("-").replace(/\r?\n$/, "") : value;
      const { openLocalSecretStore } = await import("./secrets.ts");
      const store = openLocalSecretStore(localSettings().home);
      try {
        const exists = (await store.listSecrets()).some((s) => s.name === name);
        if (!exists) await store.createSecret({ name });
        const version = await store.putSecretValue(name, secretString);
        process.stdout.write(
          `stored ${name} version ${version.versionId} (${version.versionStages.join(", ")})\n`,
        );
      } finally {
        store.close();
      }
    });
  secrets
    .command("list")
    .description("list secret names (never values)")
    .action(async () => {
      const { openLocalSecretStore } = await import("./secrets.ts");
      const store = openLocalSecretStore(localSettings().home);
      try {
        for (const secret of await store.listSecrets()) process.stdout.write(`${secret.name}\n`);
      } finally {
        store.close();
      }
    });

  return program;
};

/** Runs the CLI: known failures print one clear line and exit 1; nothing prints a stack. */
export const main = async (argv: string[]): Promise<void> => {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    // Our own errors explain themselves; a programming error is reported as such, still without a stack.
    const programmingError = [TypeError, ReferenceError, RangeError, SyntaxError].some(
      (c) => error instanceof c,
    );
    const message = error instanceof Error ? error.message : String(error);
    const known = error instanceof CliError || error instanceof ConfigError || !programmingError;
    process.stderr.write(`switchyard: ${known ? message : `unexpected error: ${message}`}\n`);
    process.exitCode = 1;
  }
};

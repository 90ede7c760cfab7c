// The `switchyard` command line: start the local control plane, emit events, inspect it, manage local secrets.

import "./shims/node20.ts";
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ConfigError } from "../functions/core/errors.ts";
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
  transitions?: { type: string; stateName?: string; timestamp: string; error?: string }[];
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

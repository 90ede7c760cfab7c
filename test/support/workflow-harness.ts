// The workflow tests' harness: one local runner per file over an in-memory db, its Lambda steps and service
// integrations faked, every call recorded, and each step's payload parsed by its handler's input schema.

import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import type { z } from "zod";
import { findCatalogEntry } from "../../events/catalog.ts";
import type { DomainEvent } from "../../functions/core/ports.ts";
import type { FunctionName } from "../../functions/registry.ts";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { localSubstitutions } from "../../local/integrations.ts";
import {
  type ExecutionDescription,
  type HistoryEvent,
  type LocalFunction,
  type LocalIntegration,
  WorkflowRunner,
} from "../../local/workflows/index.ts";
import { type WorkflowName, workflows } from "../../workflows/registry.ts";

/** The repository root, which the runner reads ASL files from. */
const rootDir = fileURLToPath(new URL("../../", import.meta.url));
/** How long a run may take before the test fails: a workflow that hangs fails rather than waiting forever. */
const defaultTimeoutMs = 20_000;
/** The pause after a run ends, so that a step started after the end shows up in the calls. */
const settleMs = 50;

export type Payload = Record<string, unknown>;
/** A faked Lambda step: the payload the workflow sent, and what the function answers (or throws). */
export type Step = (payload: Payload) => Promise<unknown>;

/**
 * A step that fails with an error of that name, as a Lambda's error reaches Step Functions' Retry and Catch.
 *
 * @example
 * steps["plan-snapshots"] = failing("ValidationError");
 */
export const failing =
  (name: string, message = `${name} failed`) =>
  async (): Promise<never> => {
    throw Object.assign(new Error(message), { name });
  };

/** What answers a task token: the runner, as SendTaskSuccess and SendTaskFailure reach it. */
export type TaskTokens = Pick<WorkflowRunner, "sendTaskSuccess" | "sendTaskFailure">;

/** A faked Step Functions service integration (an `aws-sdk:*` or `sqs:*` Task). */
export interface FakeIntegration {
  /** The Task's resource, without `.sync` or `.waitForTaskToken`. */
  resource: string;
  /** What the service answers the Task's parameters with, or the error it throws; it may answer a task token later. */
  answer: (parameters: Payload, tokens: TaskTokens) => Promise<unknown>;
  /** What the call list records of the parameters; the parameters themselves by default. */
  recorded?: (parameters: Payload) => Payload;
}

export interface WorkflowHarnessOptions<
  W extends WorkflowName,
  F extends FunctionName,
  S extends string,
  I extends string,
> {
  workflow: W;
  /** The execution input a test runs with unless it passes its own. */
  input: unknown;
  /** The functions the workflow calls, with what each handler parses: the workflow must send what it accepts. */
  inputSchemas: Record<F, z.ZodType>;
  /** The test's fakes as they stand: read at each call, so that a test may replace one for itself. */
  steps: () => Partial<Record<S, Step>>;
  /** Which fake answers a call, where one function stands for several steps; the function's name by default. */
  stepOf?: (name: NoInfer<F>, payload: Payload) => S;
  /** The service integrations, by the name their calls are recorded under. */
  integrations?: Record<I, FakeIntegration>;
  /** Extra `${Key}` values of the ASL. */
  substitutions?: Readonly<Record<string, string>>;
  timeoutMs?: number;
}

/** The GitOps writer's answer to one Commit message: its result, or the error it fails the task with. */
export type CommitAnswer = { error: string; cause: string } | Payload;

/** The commit queue's URL in the ASL, as the local runtime substitutes it. */
export const commitQueueSubstitutions = localSubstitutions({
  commits: "https://sqs.us-east-1.amazonaws.com/000000000000/switchyard-commits.fifo",
});

/**
 * The GitOps writer behind the Commit step's SQS message, answering the message's task token as the real one does.
 * Calls are recorded as the message body with its group id.
 *
 * @example
 * integrations: { commit: fakeGitOpsWriter((body) => commit(body)) }
 */
export const fakeGitOpsWriter = (answer: (body: Payload) => CommitAnswer): FakeIntegration => ({
  resource: "arn:aws:states:::sqs:sendMessage",
  recorded: ({ MessageBody, MessageGroupId }) => ({ ...(MessageBody as Payload), MessageGroupId }),
  answer: async ({ MessageBody }, tokens) => {
    const body = MessageBody as Payload;
    const result = answer(body);
    setImmediate(() => {
      const token = body.taskToken as string;
      if ("error" in result && typeof result.error === "string") {
        void tokens.sendTaskFailure(token, result.error, String(result.cause));
      } else void tokens.sendTaskSuccess(token, result);
    });
    return { MessageId: "m-1" };
  },
});

export interface WorkflowRun {
  /** The execution as it ended. */
  done: ExecutionDescription;
  history: HistoryEvent[];
  /** The states entered, in order. */
  entered: HistoryEvent["stateName"][];
}

export interface WorkflowHarness<W extends WorkflowName, C extends string> {
  /** The runner, built once before the file's tests. */
  readonly runner: WorkflowRunner<W>;
  /** Every step and integration call of the current test, in order. */
  readonly calls: { step: C; payload: Payload }[];
  /** Runs the workflow to its end and reads its history. */
  run: (input?: unknown) => Promise<WorkflowRun>;
  /** The payloads one step or integration was called with. */
  payloads: (step: C) => Payload[];
  /** How often one step or integration was called. */
  ran: (step: C) => number;
}

/** The states a history entered, in order. */
export const enteredStates = (history: HistoryEvent[]): HistoryEvent["stateName"][] =>
  history.filter((e) => e.type.endsWith("StateEntered")).map((e) => e.stateName);

/**
 * Sets up, in the calling `describe`, one runner for the workflow (compiling a workflow makes a runner slow to
 * build, so one serves the file), closes it after the file, and clears the calls before each test.
 *
 * @example
 * let steps: Record<StepName, Step>;
 * const { calls, run, payloads } = workflowHarness({
 *   workflow: "restore-drill",
 *   input,
 *   inputSchemas: { "plan-restore-drills": planRestoreDrillsInputSchema, ... },
 *   steps: () => steps,
 * });
 */
export const workflowHarness = <
  W extends WorkflowName,
  F extends FunctionName,
  S extends string = F,
  I extends string = never,
>(
  options: WorkflowHarnessOptions<W, F, S, I>,
): WorkflowHarness<W, S | I> => {
  const calls: { step: S | I; payload: Payload }[] = [];
  let db: SqliteDatabase | undefined;
  let runner: WorkflowRunner<W> | undefined;
  const started = (): WorkflowRunner<W> => {
    if (runner === undefined) throw new Error("the workflow harness is used outside its describe block");
    return runner;
  };

  beforeAll(() => {
    db = openDatabase(":memory:");
    const functions: Partial<Record<FunctionName, LocalFunction>> = {};
    for (const [name, schema] of Object.entries(options.inputSchemas) as [F, z.ZodType][]) {
      functions[name] = async (payload: unknown) => {
        const step = options.stepOf?.(name, payload as Payload) ?? (name as string as S);
        calls.push({ step, payload: payload as Payload });
        schema.parse(payload);
        const fake = options.steps()[step];
        if (fake === undefined) throw new Error(`no fake for the step ${step}`);
        return fake(payload as Payload);
      };
    }
    const integrations: Record<string, LocalIntegration> = {};
    for (const [name, integration] of Object.entries(options.integrations ?? {}) as [I, FakeIntegration][]) {
      integrations[integration.resource] = async (parameters) => {
        const payload = parameters as Payload;
        calls.push({ step: name, payload: integration.recorded?.(payload) ?? payload });
        return integration.answer(payload, started());
      };
    }
    runner = new WorkflowRunner<W>({
      db,
      rootDir,
      functions,
      integrations,
      ...(options.substitutions === undefined ? {} : { substitutions: options.substitutions }),
      workflows: { [options.workflow]: workflows[options.workflow] } as Record<W, (typeof workflows)[W]>,
    });
  });
  afterAll(async () => {
    await runner?.close();
    db?.close();
  });
  beforeEach(() => {
    calls.length = 0;
  });

  const payloads = (step: S | I) => calls.filter((c) => c.step === step).map((c) => c.payload);
  return {
    get runner() {
      return started();
    },
    calls,
    run: async (input = options.input) => {
      const { executionArn } = await started().startExecution({ workflow: options.workflow, input });
      const done = await started().waitForExecution(executionArn, options.timeoutMs ?? defaultTimeoutMs);
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const history = await started().getExecutionHistory(executionArn);
      return { done, history, entered: enteredStates(history) };
    },
    payloads,
    ran: (step) => payloads(step).length,
  };
};

/**
 * Checks a published event against its catalog entry's schema, in the envelope EventBridge delivers it in.
 *
 * @example
 * for (const event of published) expectCatalogued(event, "2025-01-14T03:40:00Z");
 */
export const expectCatalogued = (event: DomainEvent, time: string): void => {
  const entry = findCatalogEntry("switchyard", event.detailType);
  expect(entry).toBeDefined();
  entry!.schema.parse({
    version: "0",
    id: "b0c8a3e2-5f1d-4c7a-9e36-2d4f81a7c5e9",
    "detail-type": event.detailType,
    source: "switchyard",
    account: "123456789012",
    time,
    region: "eu-west-1",
    resources: [],
    detail: event.detail,
  });
};

/** The one event published, checked against the catalog as `expectCatalogued` does. */
export const onlyCataloguedEvent = (published: readonly DomainEvent[], time: string): DomainEvent => {
  expect(published).toHaveLength(1);
  const [event] = published;
  expectCatalogued(event!, time);
  return event!;
};

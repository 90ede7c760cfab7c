// The local workflow runner against small ASL fixtures and the real promote-image definition.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import {
  type HistoryEvent,
  type IntegrationContext,
  type LocalFunction,
  WorkflowRunner,
  type WorkflowSource,
} from "../../local/workflows/index.ts";

const rootDir = fileURLToPath(new URL("../../", import.meta.url));
const account = "000000000000";
const region = "us-east-1";

const fixture = (name: string): WorkflowSource => ({
  file: `test/workflows/fixtures/${name}.asl.json`,
  functions: ["resolve-services"],
});

const workflows = {
  // The first shape of promote-image (resolve, then choose), kept as a fixture so these tests do not follow the
  // real workflow as it grows; test/workflows/promote-image.test.ts covers the real one.
  "promote-image": fixture("resolve-only"),
  "retry-catch": fixture("retry-catch"),
  context: fixture("context"),
  callback: fixture("callback"),
  "long-task": fixture("long-task"),
  "execution-timeout": fixture("execution-timeout"),
  "missing-function": fixture("missing-function"),
  "lambda-callback": fixture("lambda-callback"),
};
type FixtureName = keyof typeof workflows;

const substitutions = {
  ApprovalQueueUrl: `https://sqs.${region}.amazonaws.com/${account}/approvals`,
  MissingFunctionArn: `arn:aws:lambda:${region}:${account}:function:switchyard-missing`,
};

const ecrPush = {
  id: "event-1",
  "detail-type": "ECR Image Action",
  detail: { "action-type": "PUSH", result: "SUCCESS", "repository-name": "api", "image-tag": "1.2.3" },
};

/** Sends of the fake SQS integration, and a way to wait for the next one. */
class Outbox {
  readonly messages: { parameters: unknown; ctx: IntegrationContext }[] = [];
  private waiting: (() => void)[] = [];

  readonly integration = async (parameters: unknown, ctx: IntegrationContext): Promise<unknown> => {
    this.messages.push({ parameters, ctx });
    for (const wake of this.waiting.splice(0)) wake();
    return { MessageId: `message-${this.messages.length}` };
  };

  /** The token of the `count`-th message, once it has been sent. */
  async token(count = this.messages.length + 1): Promise<string> {
    while (this.messages.length < count) await new Promise<void>((wake) => this.waiting.push(wake));
    const token = this.messages[count - 1]?.ctx.taskToken;
    if (!token) throw new Error("the message carried no task token");
    return token;
  }
}

const types = (history: HistoryEvent[]): string[] => history.map((event) => event.type);

/** Lets the runner's queued work (engine events, store flushes) happen under fake timers. */
const settle = async (): Promise<void> => {
  for (let turn = 0; turn < 5; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** Moves fake time forward `ms`, letting each step's consequences run. */
const advance = async (ms: number): Promise<void> => {
  await settle();
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
};

const useFakeTimers = (): void => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
};

describe("WorkflowRunner", () => {
  let db: SqliteDatabase;
  let runner: WorkflowRunner<FixtureName>;
  let resolveServices: LocalFunction;
  let outbox: Outbox;

  beforeAll(() => {
    db = openDatabase(":memory:");
    runner = new WorkflowRunner<FixtureName>({
      db,
      rootDir,
      workflows,
      substitutions,
      functions: { "resolve-services": (payload) => resolveServices(payload) },
      integrations: {
        "arn:aws:states:::sqs:sendMessage": (parameters, ctx) => outbox.integration(parameters, ctx),
      },
    });
  });

  afterAll(async () => {
    await runner.close();
    db.close();
  });

  beforeEach(() => {
    resolveServices = async () => ({ services: ["api"], reason: "matched" });
    outbox = new Outbox();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  describe("promote-image", () => {
    it("resolves the services and records every transition in order", async () => {
      const payloads: unknown[] = [];
      resolveServices = async (payload) => {
        payloads.push(payload);
        return { services: ["api", "worker"], reason: "2 services deploy api" };
      };

      const { executionArn } = await runner.startExecution({ workflow: "promote-image", input: ecrPush });
      const done = await runner.waitForExecution(executionArn, 2_000);

      expect(done).toMatchObject({
        status: "SUCCEEDED",
        workflow: "promote-image",
        stateMachineArn: `arn:aws:states:${region}:${account}:stateMachine:switchyard-promote-image`,
        output: { services: ["api", "worker"], reason: "2 services deploy api" },
      });
      expect(done.stopDate).toBeInstanceOf(Date);
      expect(payloads).toEqual([{ eventId: "event-1", repository: "api", image: ecrPush.detail }]);
      const history = await runner.getExecutionHistory(executionArn);
      expect(types(history)).toEqual([
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
      ]);
      expect(history.map((event) => event.id)).toEqual(history.map((_, index) => index + 1));
      expect(history[1]).toMatchObject({ stateName: "ResolveServices", input: ecrPush });
      expect(history[2]).toMatchObject({
        resource: "arn:aws:states:::lambda:invoke",
        retryCount: 0,
        parameters: {
          FunctionName: `arn:aws:lambda:${region}:${account}:function:switchyard-resolve-services`,
          Payload: { eventId: "event-1", repository: "api", image: ecrPush.detail },
        },
      });
      expect(history[9]).toMatchObject({ stateName: "ServicesResolved", output: done.output });
      expect(history[10]).toMatchObject({ output: done.output });
    });

    it("wraps the function's result in the lambda:invoke response, so ResultSelector reads $.Payload", async () => {
      const { executionArn } = await runner.startExecution({ workflow: "promote-image", input: ecrPush });
      await runner.waitForExecution(executionArn, 2_000);

      const succeeded = (await runner.getExecutionHistory(executionArn)).find(
        (event) => event.type === "TaskSucceeded",
      );
      expect(succeeded?.output).toMatchObject({
        ExecutedVersion: "$LATEST",
        StatusCode: 200,
        Payload: { services: ["api"], reason: "matched" },
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: expect.any(String) },
      });
      const exited = (await runner.getExecutionHistory(executionArn)).find(
        (event) => event.type === "TaskStateExited",
      );
      expect(exited?.output).toMatchObject({ resolved: { services: ["api"], reason: "matched" } });
    });

    it("takes the NoService branch when no service deploys the repository", async () => {
      resolveServices = async () => ({ services: [], reason: "no service deploys api" });

      const { executionArn } = await runner.startExecution({ workflow: "promote-image", input: ecrPush });
      const done = await runner.waitForExecution(executionArn, 2_000);

      expect(done).toMatchObject({
        status: "SUCCEEDED",
        output: { services: [], reason: "no service deploys api" },
      });
      const history = await runner.getExecutionHistory(executionArn);
      expect(history.find((event) => event.type === "SucceedStateEntered")?.stateName).toBe("NoService");
    });
  });

  describe("task errors", () => {
    it("fails with Lambda.ResourceNotFoundException for a function without a local handler", async () => {
      const { executionArn } = await runner.startExecution({ workflow: "missing-function", input: {} });
      const done = await runner.waitForExecution(executionArn, 2_000);

      expect(done).toMatchObject({ status: "FAILED", error: "Lambda.ResourceNotFoundException" });
      expect(done.cause).toContain("function:switchyard-missing");
    });

    it("names the error after the thrown error, retries it as Retry says, then catches it", async () => {
      useFakeTimers();
      class ConflictError extends Error {
        override name = "ConflictError";
      }
      const payloads: unknown[] = [];
      resolveServices = async (payload) => {
        payloads.push(payload);
        throw new ConflictError("the branch moved");
      };

      const { executionArn } = await runner.startExecution({
        workflow: "retry-catch",
        input: { behaviour: "conflict" },
      });
      await advance(1_000);
      expect(payloads).toHaveLength(2);
      await advance(2_000);
      const done = await runner.waitForExecution(executionArn, 100);

      expect(payloads).toEqual([0, 1, 2].map((retryCount) => ({ behaviour: "conflict", retryCount })));
      expect(done.status).toBe("SUCCEEDED");
      const { error } = done.output as { error: { Error: string; Cause: string } };
      expect(error.Error).toBe("ConflictError");
      expect(JSON.parse(error.Cause)).toEqual({
        errorMessage: "the branch moved",
        errorType: "ConflictError",
        trace: expect.arrayContaining([expect.stringContaining("ConflictError: the branch moved")]),
      });
      const history = await runner.getExecutionHistory(executionArn);
      expect(types(history)).toEqual([
        "ExecutionStarted",
        "TaskStateEntered",
        ...["TaskScheduled", "TaskStarted", "TaskFailed"],
        ...["TaskScheduled", "TaskStarted", "TaskFailed"],
        ...["TaskScheduled", "TaskStarted", "TaskFailed"],
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
      ]);
      const failures = history.filter((event) => event.type === "TaskFailed");
      expect(failures.map((event) => [event.error, event.retryCount])).toEqual([
        ["ConflictError", 0],
        ["ConflictError", 1],
        ["ConflictError", 2],
      ]);
    });
  });

  describe("context object", () => {
    it("provides Execution, StateMachine, State and Map fields wherever paths are evaluated", async () => {
      const payloads: unknown[] = [];
      resolveServices = async (payload) => {
        payloads.push(payload);
        return { seen: true };
      };
      const input = { items: ["a", "b"] };

      const { executionArn, startDate } = await runner.startExecution({
        workflow: "context",
        name: "context-1",
        input,
      });
      const done = await runner.waitForExecution(executionArn, 2_000);

      expect(executionArn).toBe(`arn:aws:states:${region}:${account}:execution:switchyard-context:context-1`);
      expect(done.status).toBe("SUCCEEDED");
      const entered = (await runner.getExecutionHistory(executionArn)).find(
        (event) => event.type === "TaskStateEntered",
      );
      expect(payloads).toEqual([
        {
          executionId: executionArn,
          executionName: "context-1",
          executionStartTime: startDate.toISOString(),
          executionInput: input,
          stateMachineId: `arn:aws:states:${region}:${account}:stateMachine:switchyard-context`,
          stateMachineName: "switchyard-context",
          stateName: "Inspect",
          stateEnteredTime: entered?.timestamp.toISOString(),
          retryCount: 0,
          greeting: "hello context-1",
        },
      ]);
      expect(done.output).toMatchObject({
        pass: { executionId: executionArn, stateName: "Describe", stateMachineName: "switchyard-context" },
        map: [
          { index: 0, value: "a", executionName: "context-1", executionInput: input },
          { index: 1, value: "b", executionName: "context-1", executionInput: input },
        ],
      });
      const iterations = (await runner.getExecutionHistory(executionArn)).filter((event) =>
        event.type.startsWith("MapIteration"),
      );
      expect(iterations.map((event) => [event.type, event.mapIndex])).toEqual(
        expect.arrayContaining([
          ["MapIterationStarted", 0],
          ["MapIterationStarted", 1],
          ["MapIterationSucceeded", 0],
          ["MapIterationSucceeded", 1],
        ]),
      );
    });
  });

  describe("waitForTaskToken", () => {
    it("hands $$.Task.Token to the integration and continues with SendTaskSuccess's output", async () => {
      const { executionArn } = await runner.startExecution({
        workflow: "callback",
        input: { change: "api:1.2.3" },
      });
      const token = await outbox.token();

      expect(outbox.messages[0]).toEqual({
        parameters: { QueueUrl: substitutions.ApprovalQueueUrl, MessageBody: { token, change: "api:1.2.3" } },
        ctx: { executionArn, stateName: "RequestApproval", taskToken: token },
      });
      expect((await runner.describeExecution(executionArn)).status).toBe("RUNNING");
      await runner.sendTaskSuccess(token, { approved: true, by: "alice" });
      const done = await runner.waitForExecution(executionArn, 2_000);

      expect(done).toMatchObject({
        status: "SUCCEEDED",
        output: { change: "api:1.2.3", approval: { approved: true, by: "alice" } },
      });
      const history = await runner.getExecutionHistory(executionArn);
      expect(types(history)).toEqual([
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
      ]);
      expect(history[2]).toMatchObject({ timeoutSeconds: 30, heartbeatSeconds: 10 });
      expect(history[4]?.output).toEqual({ MessageId: "message-1" });
      await expect(runner.sendTaskSuccess(token, {})).rejects.toMatchObject({ name: "TaskTimedOut" });
    });

    it("passes the token to a function through lambda:invoke.waitForTaskToken", async () => {
      const payloads: { token: string; change: string }[] = [];
      resolveServices = async (payload) => {
        payloads.push(payload as { token: string; change: string });
        return { queued: true };
      };

      const { executionArn } = await runner.startExecution({
        workflow: "lambda-callback",
        input: { change: "x" },
      });
      await settle();
      const token = payloads[0]?.token ?? "";
      await runner.sendTaskSuccess(token, { approved: true });
      const done = await runner.waitForExecution(executionArn, 2_000);

      expect(payloads).toEqual([{ token, change: "x" }]);
      expect(done.output).toEqual({ change: "x", approval: { approved: true } });
      const submitted = (await runner.getExecutionHistory(executionArn)).find(
        (event) => event.type === "TaskSubmitted",
      );
      expect(submitted?.output).toMatchObject({ StatusCode: 200, Payload: { queued: true } });
    });

    it("routes SendTaskFailure's error and cause to the States.TaskFailed catcher", async () => {
      const { executionArn } = await runner.startExecution({
        workflow: "callback",
        input: { change: "api:1.2.3" },
      });
      await runner.sendTaskFailure(await outbox.token(), "ApprovalRejected", "rejected by bob");
      const done = await runner.waitForExecution(executionArn, 2_000);

      expect(done.output).toMatchObject({ failure: { Error: "ApprovalRejected", Cause: "rejected by bob" } });
      const failed = (await runner.getExecutionHistory(executionArn)).find(
        (event) => event.type === "TaskFailed",
      );
      expect(failed).toMatchObject({ error: "ApprovalRejected", cause: "rejected by bob" });
    });

    it("times out after TimeoutSeconds despite heartbeats, and States.TaskFailed does not catch it", async () => {
      useFakeTimers();
      const { executionArn } = await runner.startExecution({
        workflow: "callback",
        input: { change: "api:1.2.3" },
      });
      const token = await outbox.token();
      for (let second = 8; second < 30; second += 8) {
        await advance(8_000);
        await runner.sendTaskHeartbeat(token);
      }
      expect((await runner.describeExecution(executionArn)).status).toBe("RUNNING");
      await advance(6_000);
      const done = await runner.waitForExecution(executionArn, 100);

      expect(done.output).toMatchObject({ failure: { Error: "States.Timeout" } });
      const history = await runner.getExecutionHistory(executionArn);
      expect(history.find((event) => event.type === "TaskTimedOut")).toMatchObject({
        error: "States.Timeout",
      });
      expect(history.find((event) => event.type === "PassStateEntered")?.stateName).toBe("Expired");
      await expect(runner.sendTaskSuccess(token, {})).rejects.toMatchObject({ name: "TaskTimedOut" });
    });

    it("fails with States.HeartbeatTimeout when no heartbeat comes within HeartbeatSeconds", async () => {
      useFakeTimers();
      const { executionArn } = await runner.startExecution({
        workflow: "callback",
        input: { change: "api:1.2.3" },
      });
      await outbox.token();
      await advance(9_000);
      expect((await runner.describeExecution(executionArn)).status).toBe("RUNNING");
      await advance(2_000);
      const done = await runner.waitForExecution(executionArn, 100);

      expect(done.output).toMatchObject({ failure: { Error: "States.HeartbeatTimeout" } });
      const history = await runner.getExecutionHistory(executionArn);
      expect(history.find((event) => event.type === "TaskTimedOut")).toMatchObject({
        error: "States.HeartbeatTimeout",
      });
      expect(history.find((event) => event.type === "PassStateEntered")?.stateName).toBe("NotApproved");
    });

    it("answers TaskDoesNotExist for an unknown token and InvalidToken for a malformed one", async () => {
      await expect(runner.sendTaskSuccess("A".repeat(64), {})).rejects.toMatchObject({
        name: "TaskDoesNotExist",
      });
      await expect(runner.sendTaskHeartbeat("A".repeat(64))).rejects.toMatchObject({
        name: "TaskDoesNotExist",
      });
      await expect(runner.sendTaskFailure("not a token")).rejects.toMatchObject({ name: "InvalidToken" });
    });
  });

  describe("timeouts", () => {
    it("does not cut a Task without TimeoutSeconds at the engine's 60 s default", async () => {
      useFakeTimers();
      let finish: (value: unknown) => void = () => {};
      resolveServices = () => new Promise((resolve) => (finish = resolve));

      const { executionArn } = await runner.startExecution({
        workflow: "long-task",
        input: { bounded: false },
      });
      await advance(10 * 60_000);
      expect((await runner.describeExecution(executionArn)).status).toBe("RUNNING");
      finish({ finally: true });
      const done = await runner.waitForExecution(executionArn, 1_000);

      expect(done).toMatchObject({ status: "SUCCEEDED", output: { finally: true } });
      const history = await runner.getExecutionHistory(executionArn);
      expect(types(history)).toContain("LambdaFunctionSucceeded");
    });

    it("fails a Task with States.Timeout once its TimeoutSeconds elapse", async () => {
      useFakeTimers();
      resolveServices = () => new Promise(() => {});

      const { executionArn } = await runner.startExecution({
        workflow: "long-task",
        input: { bounded: true },
      });
      await advance(4_000);
      expect((await runner.describeExecution(executionArn)).status).toBe("RUNNING");
      await advance(1_500);
      const done = await runner.waitForExecution(executionArn, 100);

      expect(done).toMatchObject({ status: "FAILED", error: "States.Timeout" });
      const history = await runner.getExecutionHistory(executionArn);
      expect(history.find((event) => event.type === "LambdaFunctionTimedOut")).toMatchObject({
        stateName: "Bounded",
        error: "States.Timeout",
      });
    });

    it("ends the execution TIMED_OUT after the definition's TimeoutSeconds", async () => {
      useFakeTimers();
      const { executionArn } = await runner.startExecution({ workflow: "execution-timeout", input: {} });
      await advance(2_500);
      const done = await runner.waitForExecution(executionArn, 100);

      expect(done).toMatchObject({ status: "TIMED_OUT", error: "States.Timeout" });
      const history = await runner.getExecutionHistory(executionArn);
      expect(types(history)).toEqual(["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]);
    });
  });

  describe("startExecution", () => {
    it("records the execution before it resolves", async () => {
      resolveServices = () => new Promise(() => {});
      const { executionArn } = await runner.startExecution({
        workflow: "long-task",
        input: { bounded: false },
      });

      const row = db
        .prepare<[string], { status: string }>(
          "SELECT status FROM workflow_executions WHERE execution_arn = ?",
        )
        .get(executionArn);
      expect(row?.status).toBe("RUNNING");
      await runner.stopExecution(executionArn);
    });

    it("returns the running execution again for the same name and input", async () => {
      const first = await runner.startExecution({
        workflow: "callback",
        name: "approve-1",
        input: { change: "a" },
      });
      const again = await runner.startExecution({
        workflow: "callback",
        name: "approve-1",
        input: { change: "a" },
      });

      expect(again).toEqual(first);
      await outbox.token();
      await settle();
      expect(outbox.messages).toHaveLength(1);
      expect(
        (await runner.listExecutions({ workflow: "callback" })).filter((e) => e.name === "approve-1"),
      ).toHaveLength(1);
      await runner.stopExecution(first.executionArn);
    });

    it("throws ExecutionAlreadyExists for another input, or once the execution has ended", async () => {
      const { executionArn } = await runner.startExecution({
        workflow: "callback",
        name: "approve-2",
        input: { change: "a" },
      });

      await expect(
        runner.startExecution({ workflow: "callback", name: "approve-2", input: { change: "b" } }),
      ).rejects.toMatchObject({ name: "ExecutionAlreadyExists" });
      await runner.stopExecution(executionArn);
      await expect(
        runner.startExecution({ workflow: "callback", name: "approve-2", input: { change: "a" } }),
      ).rejects.toMatchObject({ name: "ExecutionAlreadyExists" });
    });

    it.each(["", "x".repeat(81), "has space", "a:b", "semi;colon", "brace{"])(
      "rejects the name %j",
      async (name) => {
        await expect(runner.startExecution({ workflow: "callback", name, input: {} })).rejects.toMatchObject({
          name: "InvalidName",
        });
      },
    );
  });

  describe("describeExecution and listExecutions", () => {
    it("finds an execution by ARN or by <workflow>:<name>", async () => {
      const { executionArn } = await runner.startExecution({
        workflow: "promote-image",
        name: "by-id",
        input: ecrPush,
      });
      await runner.waitForExecution("promote-image:by-id", 2_000);

      expect(await runner.describeExecution("promote-image:by-id")).toEqual(
        await runner.describeExecution(executionArn),
      );
      await expect(runner.describeExecution("promote-image:nope")).rejects.toMatchObject({
        name: "ExecutionDoesNotExist",
      });
      await expect(runner.describeExecution("arn:aws:nope")).rejects.toMatchObject({ name: "InvalidArn" });
    });

    it("lists executions newest first, filtered by workflow and status", async () => {
      useFakeTimers();
      const first = await runner.startExecution({ workflow: "promote-image", input: ecrPush });
      await advance(1_000);
      const second = await runner.startExecution({ workflow: "promote-image", input: ecrPush });
      await runner.waitForExecution(second.executionArn, 100);

      const listed = await runner.listExecutions({
        workflow: "promote-image",
        status: "SUCCEEDED",
        limit: 2,
      });
      expect(listed.map((item) => item.executionArn)).toEqual([second.executionArn, first.executionArn]);
      expect(listed[0]).not.toHaveProperty("input");
      expect(await runner.listExecutions({ workflow: "not-loaded" })).toEqual([]);
    });
  });

  describe("stopExecution", () => {
    it("ends a running execution ABORTED and closes its task token", async () => {
      const { executionArn } = await runner.startExecution({ workflow: "callback", input: { change: "a" } });
      const token = await outbox.token();

      const { stopDate } = await runner.stopExecution(executionArn, {
        error: "Superseded",
        cause: "newer image",
      });
      const done = await runner.waitForExecution(executionArn, 100);

      expect(done).toMatchObject({ status: "ABORTED", error: "Superseded", cause: "newer image", stopDate });
      const history = await runner.getExecutionHistory(executionArn);
      expect(history.at(-1)).toMatchObject({
        type: "ExecutionAborted",
        error: "Superseded",
        cause: "newer image",
      });
      expect(types(history)).not.toContain("TaskFailed");
      await expect(runner.sendTaskSuccess(token, {})).rejects.toMatchObject({ name: "TaskTimedOut" });
      expect(await runner.stopExecution(executionArn)).toEqual({ stopDate });
    });
  });
});

describe("loading definitions", () => {
  const load = (name: string, extra: Record<string, string> = {}) =>
    new WorkflowRunner<string>({
      db: openDatabase(":memory:"),
      rootDir,
      workflows: { [name]: fixture(name) },
      functions: {},
      substitutions: extra,
    });

  it("rejects an unknown placeholder, naming the file and the key", () => {
    expect(() => load("unknown-placeholder")).toThrow(
      "test/workflows/fixtures/unknown-placeholder.asl.json: unknown placeholder ${EventBusName}",
    );
  });

  it("accepts the placeholder once it is substituted", async () => {
    const runner = load("unknown-placeholder", { EventBusName: "switchyard" });
    expect(await runner.listExecutions()).toEqual([]);
    await runner.close();
  });

  it("rejects JSONata", () => {
    expect(() => load("jsonata")).toThrow(/jsonata\.asl\.json: .*JSONata/);
  });

  it("rejects Assign", () => {
    expect(() => load("assign")).toThrow(
      /assign\.asl\.json: state 'Remember' uses workflow variables \(Assign\)/,
    );
  });
});

describe("resuming after a restart", () => {
  let home: string;
  let outbox: Outbox;
  const sources = { callback: fixture("callback") };

  const open = (db: SqliteDatabase): WorkflowRunner<"callback"> =>
    new WorkflowRunner<"callback">({
      db,
      rootDir,
      workflows: sources,
      substitutions,
      functions: {},
      integrations: {
        "arn:aws:states:::sqs:sendMessage": (parameters, ctx) => outbox.integration(parameters, ctx),
      },
    });

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "switchyard-runner-"));
    outbox = new Outbox();
  });

  afterEach(() => {
    vi.useRealTimers();
    rmSync(home, { recursive: true, force: true });
  });

  it("continues a waitForTaskToken Task with the same token, without sending again", async () => {
    const file = join(home, "state.db");
    const firstDb = openDatabase(file);
    const first = open(firstDb);
    const { executionArn } = await first.startExecution({
      workflow: "callback",
      input: { change: "api:2.0.0" },
    });
    const token = await outbox.token();
    // The send has returned and been recorded: a restart must not send it again.
    await settle();
    await first.close();
    firstDb.close();

    const db = openDatabase(file);
    const second = open(db);
    expect((await second.describeExecution(executionArn)).status).toBe("RUNNING");
    expect(await second.resume()).toEqual([executionArn]);
    await settle();
    expect(outbox.messages).toHaveLength(1);
    await second.sendTaskSuccess(token, { approved: true });
    const done = await second.waitForExecution(executionArn, 2_000);

    expect(done).toMatchObject({
      status: "SUCCEEDED",
      output: { change: "api:2.0.0", approval: { approved: true } },
    });
    const history = await second.getExecutionHistory(executionArn);
    expect(types(history)).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "TaskScheduled",
      "TaskStarted",
      "TaskSubmitted",
      "TaskSucceeded",
      "TaskStateExited",
      "SucceedStateEntered",
      "SucceedStateExited",
      "ExecutionSucceeded",
    ]);
    expect(history.map((event) => event.id)).toEqual(history.map((_, index) => index + 1));
    await second.close();
    db.close();
  });

  it("ends an execution TIMED_OUT when its TimeoutSeconds passed while it was not running", async () => {
    const file = join(home, "state.db");
    const sources = { "execution-timeout": fixture("execution-timeout") };
    const firstDb = openDatabase(file);
    const first = new WorkflowRunner({ db: firstDb, rootDir, workflows: sources, functions: {} });
    const { executionArn } = await first.startExecution({ workflow: "execution-timeout", input: {} });
    await settle();
    await first.close();
    firstDb.close();

    const db = openDatabase(file);
    const threeSecondsLater = () => new Date(Date.now() + 3_000);
    const second = new WorkflowRunner({
      db,
      rootDir,
      workflows: sources,
      functions: {},
      clock: threeSecondsLater,
    });
    await second.resume();
    const done = await second.waitForExecution(executionArn, 100);

    expect(done).toMatchObject({ status: "TIMED_OUT", error: "States.Timeout" });
    expect(types(await second.getExecutionHistory(executionArn))).toEqual([
      "ExecutionStarted",
      "WaitStateEntered",
      "ExecutionTimedOut",
    ]);
    await second.close();
    db.close();
  });

  it("picks up SendTaskSuccess made by another process on the same database", async () => {
    const file = join(home, "state.db");
    const runtimeDb = openDatabase(file);
    const runtime = open(runtimeDb);
    const cliDb = openDatabase(file);
    const cli = open(cliDb);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    const { executionArn } = await runtime.startExecution({
      workflow: "callback",
      input: { change: "api:2.0.0" },
    });
    const token = await outbox.token();
    await settle();

    await cli.sendTaskSuccess(token, { approved: true, by: "cli" });
    await advance(1_000);
    const done = await runtime.waitForExecution(executionArn, 100);

    expect(done).toMatchObject({ status: "SUCCEEDED", output: { approval: { approved: true, by: "cli" } } });
    vi.useRealTimers();
    await Promise.all([runtime.close(), cli.close()]);
    runtimeDb.close();
    cliDb.close();
  });

  it("takes the outcome of a token completed while the execution was not running", async () => {
    const file = join(home, "state.db");
    const firstDb = openDatabase(file);
    const first = open(firstDb);
    const { executionArn } = await first.startExecution({
      workflow: "callback",
      input: { change: "api:2.0.0" },
    });
    const token = await outbox.token();
    await settle();
    await first.close();
    firstDb.close();

    const db = openDatabase(file);
    const second = open(db);
    await second.sendTaskFailure(token, "ApprovalRejected", "rejected while the runtime was down");
    await second.resume();
    const done = await second.waitForExecution(executionArn, 2_000);

    expect(done.output).toMatchObject({ failure: { Error: "ApprovalRejected" } });
    expect(outbox.messages).toHaveLength(1);
    await second.close();
    db.close();
  });
});

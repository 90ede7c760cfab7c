// SQLite persistence of executions, their history and their task tokens; transitions are batched per tick.

import type { SqliteDatabase } from "../db.ts";
import type { HistoryEvent, HistoryEventType, NewHistoryEvent } from "./history.ts";

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

/** PENDING until completed by SendTask*, timed out by the runner, or closed with its task or execution. */
export type TokenStatus = "PENDING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "CLOSED";

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  workflow: string;
  name: string;
  status: ExecutionStatus;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  /** Hash of the definition the execution started with, to warn when a resumed one has changed. */
  definitionHash: string;
  /** The top-level state entered last, with its input: where a resumed execution continues. */
  checkpoint?: { stateName: string; input: unknown; enteredAt: Date };
}

export interface TokenRecord {
  token: string;
  executionArn: string;
  stateName: string;
  status: TokenStatus;
  /** The Task's effective input, which identifies the Task entry when a resumed execution re-enters it. */
  stateInput: unknown;
  retryCount: number;
  createdAt: Date;
  lastHeartbeatAt?: Date;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
  /** When the resource was invoked with this token (a resumed Task with this set does not invoke again). */
  invokedAt?: Date;
  output?: unknown;
  error?: string;
  cause?: string;
  completedAt?: Date;
  /** When the Task turned the outcome into its result; a consumed token is never adopted again. */
  consumedAt?: Date;
}

/** Tables this store owns in the shared database. */
export const workflowTables = {
  executions: "workflow_executions",
  history: "workflow_history",
  tokens: "task_tokens",
} as const;

const schema = `
CREATE TABLE IF NOT EXISTS workflow_executions (
  execution_arn TEXT PRIMARY KEY,
  state_machine_arn TEXT NOT NULL,
  workflow TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  input TEXT NOT NULL,
  output TEXT,
  error TEXT,
  cause TEXT,
  start_date INTEGER NOT NULL,
  stop_date INTEGER,
  definition_hash TEXT NOT NULL,
  checkpoint_state TEXT,
  checkpoint_input TEXT,
  checkpoint_entered_at INTEGER
);
CREATE INDEX IF NOT EXISTS workflow_executions_by_start ON workflow_executions (start_date DESC);
CREATE INDEX IF NOT EXISTS workflow_executions_by_status ON workflow_executions (status, start_date DESC);
CREATE TABLE IF NOT EXISTS workflow_history (
  execution_arn TEXT NOT NULL REFERENCES workflow_executions (execution_arn) ON DELETE CASCADE,
  id INTEGER NOT NULL,
  type TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  state_name TEXT,
  input TEXT,
  output TEXT,
  error TEXT,
  cause TEXT,
  details TEXT,
  PRIMARY KEY (execution_arn, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task_tokens (
  token TEXT PRIMARY KEY,
  execution_arn TEXT NOT NULL REFERENCES workflow_executions (execution_arn) ON DELETE CASCADE,
  state_name TEXT NOT NULL,
  status TEXT NOT NULL,
  state_input TEXT NOT NULL,
  retry_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_heartbeat_at INTEGER,
  timeout_seconds INTEGER,
  heartbeat_seconds INTEGER,
  invoked_at INTEGER,
  output TEXT,
  error TEXT,
  cause TEXT,
  completed_at INTEGER,
  consumed_at INTEGER
);
CREATE INDEX IF NOT EXISTS task_tokens_by_execution ON task_tokens (execution_arn, state_name);
`;

interface ExecutionRow {
  execution_arn: string;
  state_machine_arn: string;
  workflow: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output: string | null;
  error: string | null;
  cause: string | null;
  start_date: number;
  stop_date: number | null;
  definition_hash: string;
  checkpoint_state: string | null;
  checkpoint_input: string | null;
  checkpoint_entered_at: number | null;
}

interface HistoryRow {
  id: number;
  type: HistoryEventType;
  timestamp: number;
  state_name: string | null;
  input: string | null;
  output: string | null;
  error: string | null;
  cause: string | null;
  details: string | null;
}

interface TokenRow {
  token: string;
  execution_arn: string;
  state_name: string;
  status: TokenStatus;
  state_input: string;
  retry_count: number;
  created_at: number;
  last_heartbeat_at: number | null;
  timeout_seconds: number | null;
  heartbeat_seconds: number | null;
  invoked_at: number | null;
  output: string | null;
  error: string | null;
  cause: string | null;
  completed_at: number | null;
  consumed_at: number | null;
}

/** JSON text of a value; `undefined` stays absent (NULL) so that a JSON `null` survives the round trip. */
const encode = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const decode = (text: string | null): unknown => (text === null ? undefined : JSON.parse(text));
const toDate = (ms: number | null): Date | undefined => (ms === null ? undefined : new Date(ms));
const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** Drops absent optional fields, so records compare and print without `undefined` noise. */
const compact = <T extends object>(record: T): T =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;

const toExecution = (row: ExecutionRow): ExecutionRecord =>
  compact({
    executionArn: row.execution_arn,
    stateMachineArn: row.state_machine_arn,
    workflow: row.workflow,
    name: row.name,
    status: row.status,
    input: decode(row.input),
    output: decode(row.output),
    error: orUndefined(row.error),
    cause: orUndefined(row.cause),
    startDate: new Date(row.start_date),
    stopDate: toDate(row.stop_date),
    definitionHash: row.definition_hash,
    checkpoint:
      row.checkpoint_state === null
        ? undefined
        : {
            stateName: row.checkpoint_state,
            input: decode(row.checkpoint_input),
            enteredAt: new Date(row.checkpoint_entered_at ?? row.start_date),
          },
  });

const toToken = (row: TokenRow): TokenRecord =>
  compact({
    token: row.token,
    executionArn: row.execution_arn,
    stateName: row.state_name,
    status: row.status,
    stateInput: decode(row.state_input),
    retryCount: row.retry_count,
    createdAt: new Date(row.created_at),
    lastHeartbeatAt: toDate(row.last_heartbeat_at),
    timeoutSeconds: orUndefined(row.timeout_seconds),
    heartbeatSeconds: orUndefined(row.heartbeat_seconds),
    invokedAt: toDate(row.invoked_at),
    output: decode(row.output),
    error: orUndefined(row.error),
    cause: orUndefined(row.cause),
    completedAt: toDate(row.completed_at),
    consumedAt: toDate(row.consumed_at),
  });

/** Fields of a history event kept in the `details` column. */
const detailFields = [
  "resource",
  "parameters",
  "retryCount",
  "timeoutSeconds",
  "heartbeatSeconds",
  "mapIndex",
] as const;

const toHistoryEvent = (row: HistoryRow): HistoryEvent =>
  compact({
    id: row.id,
    type: row.type,
    timestamp: new Date(row.timestamp),
    stateName: orUndefined(row.state_name),
    input: decode(row.input),
    output: decode(row.output),
    error: orUndefined(row.error),
    cause: orUndefined(row.cause),
    ...(row.details === null ? {} : (JSON.parse(row.details) as Partial<HistoryEvent>)),
  });

export interface ExecutionFilter {
  workflow?: string;
  status?: ExecutionStatus;
  limit: number;
}

export interface ExecutionOutcome {
  status: Exclude<ExecutionStatus, "RUNNING">;
  stopDate: Date;
  output?: unknown;
  error?: string;
  cause?: string;
}

/**
 * The runner's tables in the shared SQLite database. Writes that must be durable before the caller goes on
 * (a started execution, a task token before its side effect, an execution's end) commit at once; the
 * transitions in between are queued and committed together at the end of the tick, so one transaction
 * carries the handful of transitions a tick produces.
 *
 * @example
 * const store = new WorkflowStore(openDatabase(join(home, "state.db")));
 * store.append(arn, { type: "PassStateEntered", timestamp: new Date(), stateName: "Start", input: {} });
 */
export class WorkflowStore {
  private readonly db: SqliteDatabase;
  private readonly statements;
  private readonly nextIds = new Map<string, number>();
  private pending: (() => void)[] = [];
  private flushHandle: NodeJS.Immediate | undefined;
  private disposed = false;

  constructor(db: SqliteDatabase) {
    this.db = db;
    db.exec(schema);
    this.statements = {
      insertExecution: db.prepare(
        `INSERT INTO workflow_executions (execution_arn, state_machine_arn, workflow, name, status, input, start_date, definition_hash)
         VALUES (@executionArn, @stateMachineArn, @workflow, @name, 'RUNNING', @input, @startDate, @definitionHash)`,
      ),
      getExecution: db.prepare<[string], ExecutionRow>(
        "SELECT * FROM workflow_executions WHERE execution_arn = ?",
      ),
      running: db.prepare<[], ExecutionRow>(
        "SELECT * FROM workflow_executions WHERE status = 'RUNNING' ORDER BY start_date",
      ),
      finishExecution: db.prepare(
        `UPDATE workflow_executions SET status = @status, stop_date = @stopDate, output = @output, error = @error,
         cause = @cause, checkpoint_state = NULL, checkpoint_input = NULL, checkpoint_entered_at = NULL
         WHERE execution_arn = @executionArn AND status = 'RUNNING'`,
      ),
      checkpoint: db.prepare(
        `UPDATE workflow_executions SET checkpoint_state = ?, checkpoint_input = ?, checkpoint_entered_at = ?
         WHERE execution_arn = ? AND status = 'RUNNING'`,
      ),
      maxHistoryId: db.prepare<[string], { id: number | null }>(
        "SELECT MAX(id) AS id FROM workflow_history WHERE execution_arn = ?",
      ),
      insertHistory: db.prepare(
        `INSERT INTO workflow_history (execution_arn, id, type, timestamp, state_name, input, output, error, cause, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      history: db.prepare<[string], HistoryRow>(
        "SELECT * FROM workflow_history WHERE execution_arn = ? ORDER BY id",
      ),
      insertToken: db.prepare(
        `INSERT INTO task_tokens (token, execution_arn, state_name, status, state_input, retry_count, created_at,
         last_heartbeat_at, timeout_seconds, heartbeat_seconds)
         VALUES (@token, @executionArn, @stateName, 'PENDING', @stateInput, @retryCount, @createdAt, @createdAt,
         @timeoutSeconds, @heartbeatSeconds)`,
      ),
      getToken: db.prepare<[string], TokenRow>("SELECT * FROM task_tokens WHERE token = ?"),
      adoptableTokens: db.prepare<[string, string], TokenRow>(
        `SELECT * FROM task_tokens WHERE execution_arn = ? AND state_name = ? AND consumed_at IS NULL
         AND status <> 'CLOSED' ORDER BY created_at`,
      ),
      markTokenInvoked: db.prepare("UPDATE task_tokens SET invoked_at = ? WHERE token = ?"),
      completeToken: db.prepare(
        `UPDATE task_tokens SET status = @status, output = @output, error = @error, cause = @cause,
         completed_at = @completedAt WHERE token = @token AND status = 'PENDING'`,
      ),
      heartbeatToken: db.prepare(
        "UPDATE task_tokens SET last_heartbeat_at = ? WHERE token = ? AND status = 'PENDING'",
      ),
      consumeToken: db.prepare("UPDATE task_tokens SET consumed_at = ? WHERE token = ?"),
      closeTokens: db.prepare(
        "UPDATE task_tokens SET status = 'CLOSED', completed_at = ? WHERE execution_arn = ? AND status = 'PENDING'",
      ),
    };
  }

  /** Records a new RUNNING execution and its `ExecutionStarted` event, durably. */
  insertExecution(record: ExecutionRecord, started: NewHistoryEvent): void {
    this.now(() => {
      this.statements.insertExecution.run({
        executionArn: record.executionArn,
        stateMachineArn: record.stateMachineArn,
        workflow: record.workflow,
        name: record.name,
        input: encode(record.input),
        startDate: record.startDate.getTime(),
        definitionHash: record.definitionHash,
      });
      this.nextIds.set(record.executionArn, 1);
      this.insertHistory(record.executionArn, started);
    });
  }

  getExecution(executionArn: string): ExecutionRecord | undefined {
    const row = this.statements.getExecution.get(executionArn);
    return row && toExecution(row);
  }

  listExecutions(filter: ExecutionFilter): ExecutionRecord[] {
    const where: string[] = [];
    const values: (string | number)[] = [];
    if (filter.workflow !== undefined) {
      where.push("workflow = ?");
      values.push(filter.workflow);
    }
    if (filter.status !== undefined) {
      where.push("status = ?");
      values.push(filter.status);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    const rows = this.db
      .prepare<(string | number)[], ExecutionRow>(
        `SELECT * FROM workflow_executions ${clause} ORDER BY start_date DESC, rowid DESC LIMIT ?`,
      )
      .all(...values, filter.limit);
    return rows.map(toExecution);
  }

  /** How many executions there are in each status (statuses with none are absent). */
  countByStatus(): Partial<Record<ExecutionStatus, number>> {
    const rows = this.db
      .prepare<[], { status: ExecutionStatus; n: number }>(
        "SELECT status, COUNT(*) AS n FROM workflow_executions GROUP BY status",
      )
      .all();
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  runningExecutions(): ExecutionRecord[] {
    return this.statements.running.all().map(toExecution);
  }

  /** Queues a history event; it commits with the tick's other transitions. */
  append(executionArn: string, event: NewHistoryEvent): void {
    this.later(() => this.insertHistory(executionArn, event));
  }

  /** Queues the checkpoint a resumed execution restarts from. */
  checkpoint(executionArn: string, stateName: string, input: unknown, enteredAt: Date): void {
    this.later(() =>
      this.statements.checkpoint.run(stateName, encode(input), enteredAt.getTime(), executionArn),
    );
  }

  /** Ends a RUNNING execution with its closing event and closes its pending tokens, durably. */
  finishExecution(executionArn: string, outcome: ExecutionOutcome, event: NewHistoryEvent): boolean {
    let finished = false;
    this.now(() => {
      const stopDate = outcome.stopDate.getTime();
      const changes = this.statements.finishExecution.run({
        executionArn,
        status: outcome.status,
        stopDate,
        output: encode(outcome.output),
        error: outcome.error ?? null,
        cause: outcome.cause ?? null,
      }).changes;
      if (changes === 0) return;
      finished = true;
      this.insertHistory(executionArn, event);
      this.statements.closeTokens.run(stopDate, executionArn);
    });
    this.nextIds.delete(executionArn);
    return finished;
  }

  /** The recorded history, oldest first (queued transitions included). */
  history(executionArn: string): HistoryEvent[] {
    this.flush();
    return this.statements.history.all(executionArn).map(toHistoryEvent);
  }

  /** Records a new PENDING token, durably, before its side effect can hand it out. */
  insertToken(token: Omit<TokenRecord, "status" | "lastHeartbeatAt">): void {
    this.now(() =>
      this.statements.insertToken.run({
        token: token.token,
        executionArn: token.executionArn,
        stateName: token.stateName,
        stateInput: encode(token.stateInput) ?? "null",
        retryCount: token.retryCount,
        createdAt: token.createdAt.getTime(),
        timeoutSeconds: token.timeoutSeconds ?? null,
        heartbeatSeconds: token.heartbeatSeconds ?? null,
      }),
    );
  }

  getToken(token: string): TokenRecord | undefined {
    const row = this.statements.getToken.get(token);
    return row && toToken(row);
  }

  /** Unconsumed tokens of a Task state, oldest first: what a resumed Task entry may take over. */
  adoptableTokens(executionArn: string, stateName: string): TokenRecord[] {
    return this.statements.adoptableTokens.all(executionArn, stateName).map(toToken);
  }

  markTokenInvoked(token: string, at: Date): void {
    this.now(() => this.statements.markTokenInvoked.run(at.getTime(), token));
  }

  /** Settles a PENDING token; `false` when it was no longer pending. */
  completeToken(
    token: string,
    status: Exclude<TokenStatus, "PENDING">,
    at: Date,
    result: { output?: unknown; error?: string; cause?: string } = {},
  ): boolean {
    let changed = false;
    this.now(() => {
      changed =
        this.statements.completeToken.run({
          token,
          status,
          output: encode(result.output),
          error: result.error ?? null,
          cause: result.cause ?? null,
          completedAt: at.getTime(),
        }).changes > 0;
    });
    return changed;
  }

  /** Records a heartbeat; `false` when the token was no longer pending. */
  heartbeatToken(token: string, at: Date): boolean {
    let changed = false;
    this.now(() => {
      changed = this.statements.heartbeatToken.run(at.getTime(), token).changes > 0;
    });
    return changed;
  }

  consumeToken(token: string, at: Date): void {
    this.later(() => this.statements.consumeToken.run(at.getTime(), token));
  }

  /** Commits the queued writes now. */
  flush(): void {
    if (this.flushHandle) clearImmediate(this.flushHandle);
    this.flushHandle = undefined;
    if (this.pending.length === 0 || this.disposed) return;
    const writes = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const write of writes) write();
    })();
  }

  /** Commits what is queued and stops writing: the database may be closed afterwards. */
  dispose(): void {
    this.flush();
    this.disposed = true;
  }

  private insertHistory(executionArn: string, event: NewHistoryEvent): void {
    const id = this.nextId(executionArn);
    const details = Object.fromEntries(
      detailFields.filter((field) => event[field] !== undefined).map((field) => [field, event[field]]),
    );
    this.statements.insertHistory.run(
      executionArn,
      id,
      event.type,
      event.timestamp.getTime(),
      event.stateName ?? null,
      encode(event.input),
      encode(event.output),
      event.error ?? null,
      event.cause ?? null,
      Object.keys(details).length > 0 ? JSON.stringify(details) : null,
    );
  }

  private nextId(executionArn: string): number {
    const id =
      this.nextIds.get(executionArn) ?? (this.statements.maxHistoryId.get(executionArn)?.id ?? 0) + 1;
    this.nextIds.set(executionArn, id + 1);
    return id;
  }

  /** Runs a write after the queued ones, in one transaction with them. */
  private now(write: () => void): void {
    if (this.disposed) return;
    const writes = this.pending;
    this.pending = [];
    if (this.flushHandle) clearImmediate(this.flushHandle);
    this.flushHandle = undefined;
    this.db.transaction(() => {
      for (const queued of writes) queued();
      write();
    })();
  }

  private later(write: () => void): void {
    if (this.disposed) return;
    this.pending.push(write);
    this.flushHandle ??= setImmediate(() => this.flush());
  }
}

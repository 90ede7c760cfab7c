// The local event bus: a durable SQLite event log, EventBridge rule matching, retried delivery and dead letters.

import { createHash, randomUUID } from "node:crypto";
import { type CompiledPattern, compilePattern } from "../../events/pattern.ts";
import type { Rule } from "../../events/rules.ts";
import type { BusName } from "../../events/types.ts";
import { type SqliteDatabase, type SqliteStatement, statementCache } from "../db.ts";
import type { LocalLogger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { Wakeup } from "../wakeup.ts";
import { type AcceptedEntry, validatePutEvents } from "./put-events.ts";
import { targetInput } from "./target-input.ts";

/** Delivers one matched event to a rule's target; resolves with a reference to what it started. */
export type Deliver = (
  rule: Rule,
  payload: unknown,
  delivery: { eventId: string; name: string },
) => Promise<string>;

export interface EventBusOptions {
  db: SqliteDatabase;
  rules: readonly Rule[];
  deliver: Deliver;
  region?: string;
  account?: string;
  clock?: () => Date;
  logger?: LocalLogger;
  /** First retry delay; doubles per attempt up to `maxBackoffMs` (EventBridge backs off exponentially too). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /**
   * Called for each accepted event inside the transaction that stores it, so what it records commits (or rolls
   * back) with the event. The local runtime uses it to play ECR: pushed images become known to the registry.
   */
  onAccepted?: (event: Record<string, unknown>) => void;
}

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export interface PutEventsResponse {
  FailedEntryCount: number;
  Entries: PutEventsResultEntry[];
}

export type DeliveryStatus = "pending" | "delivered" | "dead";

export interface DeliveryRecord {
  rule: string;
  status: DeliveryStatus;
  attempts: number;
  target?: string;
  lastError?: string;
  updatedAt: string;
}

export interface StoredEvent {
  id: string;
  bus: string;
  ingestedAt: string;
  event: Record<string, unknown>;
  deliveries: DeliveryRecord[];
}

/** The buses events can be put on: AWS services' default bus and Switchyard's own. */
const localBuses: ReadonlySet<BusName> = new Set<BusName>(["default", "switchyard"]);
const defaultBaseBackoffMs = 1_000;
const defaultMaxBackoffMs = 60_000;
const defaultConcurrency = 8;
/** Step Functions execution names are at most 80 characters. */
const maxExecutionNameLength = 80;

const schema = `
CREATE TABLE IF NOT EXISTS bus_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  bus TEXT NOT NULL,
  source TEXT NOT NULL,
  detail_type TEXT NOT NULL,
  ingested_at TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_deliveries (
  event_seq INTEGER NOT NULL REFERENCES bus_events(seq),
  rule TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  target_ref TEXT,
  last_error TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (event_seq, rule)
);
CREATE INDEX IF NOT EXISTS bus_deliveries_due ON bus_deliveries (status, next_attempt_at);
`;

interface DueRow {
  event_seq: number;
  rule: string;
  attempts: number;
  id: string;
  body: string;
  ingested_at: string;
}

/** EventBridge's `time` has second precision: `2026-11-27T10:00:00Z`. */
const eventTime = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

/** A deterministic execution name per (rule, event), so a redelivery after a crash cannot start a second run. */
export const executionNameFor = (rule: string, eventId: string): string => {
  const name = `${rule}-${eventId}`;
  if (name.length <= maxExecutionNameLength) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 16);
  return `${rule.slice(0, maxExecutionNameLength - eventId.length - hash.length - 2)}-${hash}-${eventId}`;
};

/**
 * The bus. `putEvents` stores each accepted event and the deliveries its matching rules owe in one SQLite
 * transaction before it answers, so an acknowledged event survives `kill -9`; `start()` then delivers
 * everything still pending, retrying with backoff and dead-lettering after the rule's retry policy.
 *
 * @example
 * const bus = new LocalEventBus({ db, rules, deliver });
 * bus.start();
 * bus.putEvents({ Entries: [{ Source: "aws.ecr", DetailType: "ECR Image Action", Detail: "{}" }] });
 */
export class LocalEventBus {
  private readonly db: SqliteDatabase;
  private readonly rules: ReadonlyMap<string, { rule: Rule; pattern: CompiledPattern; arn: string }>;
  private readonly rulesByBus: ReadonlyMap<string, { rule: Rule; pattern: CompiledPattern }[]>;
  private readonly deliver: Deliver;
  private readonly region: string;
  private readonly account: string;
  private readonly clock: () => Date;
  private readonly logger: LocalLogger;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly concurrency: number;
  private readonly onAccepted: ((event: Record<string, unknown>) => void) | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly wakeup = new Wakeup(() => this.pump());
  private readonly sql: (text: string) => SqliteStatement;
  private running = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: EventBusOptions) {
    this.db = options.db;
    this.deliver = options.deliver;
    this.region = options.region ?? "us-east-1";
    this.account = options.account ?? "000000000000";
    this.clock = options.clock ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
    this.baseBackoffMs = options.baseBackoffMs ?? defaultBaseBackoffMs;
    this.maxBackoffMs = options.maxBackoffMs ?? defaultMaxBackoffMs;
    this.concurrency = options.concurrency ?? defaultConcurrency;
    this.onAccepted = options.onAccepted;
    const compiled = options.rules.map((rule) => ({
      rule,
      // Compiled once here: an invalid pattern stops the runtime at start, and no event re-parses it.
      pattern: compilePattern(rule.pattern),
      arn: `arn:aws:events:${this.region}:${this.account}:rule/${rule.bus === "default" ? "" : `${rule.bus}/`}${rule.name}`,
    }));
    this.rules = new Map(compiled.map((c) => [c.rule.name, c]));
    const byBus = new Map<string, { rule: Rule; pattern: CompiledPattern }[]>();
    for (const c of compiled) byBus.set(c.rule.bus, [...(byBus.get(c.rule.bus) ?? []), c]);
    this.rulesByBus = byBus;
    this.db.exec(schema);
    this.sql = statementCache(this.db);
  }

  /**
   * Accepts a PutEvents request body. Throws `PutEventsValidationError` for an invalid request; otherwise
   * answers per entry like EventBridge, after the accepted entries are durably stored.
   */
  putEvents(body: unknown): PutEventsResponse {
    const { accepted, rejected } = validatePutEvents(body, localBuses);
    const results: PutEventsResultEntry[] = [];
    for (const r of rejected) results[r.index] = { ErrorCode: r.errorCode, ErrorMessage: r.errorMessage };
    const stored = this.store(accepted);
    for (const s of stored) results[s.index] = { EventId: s.id };
    if (stored.length > 0) this.schedule(0);
    return { FailedEntryCount: rejected.length, Entries: results };
  }

  private store(entries: readonly AcceptedEntry[]): { index: number; id: string }[] {
    const insertEvent = this.sql(
      "INSERT INTO bus_events (id, bus, source, detail_type, ingested_at, body) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const insertDelivery = this.sql(
      "INSERT INTO bus_deliveries (event_seq, rule, status, next_attempt_at, updated_at) VALUES (?, ?, 'pending', ?, ?)",
    );
    const now = this.clock();
    const write = this.db.transaction(() =>
      entries.map((entry) => {
        const id = randomUUID();
        const event = {
          version: "0",
          id,
          "detail-type": entry.detailType,
          source: entry.source,
          account: this.account,
          time: eventTime(entry.time ?? now),
          region: this.region,
          resources: entry.resources,
          detail: entry.detail,
        };
        const { lastInsertRowid } = insertEvent.run(
          id,
          entry.busName,
          entry.source,
          entry.detailType,
          now.toISOString(),
          JSON.stringify(event),
        );
        this.onAccepted?.(event);
        const matched = (this.rulesByBus.get(entry.busName) ?? []).filter((r) => r.pattern.matches(event));
        for (const { rule } of matched)
          insertDelivery.run(lastInsertRowid, rule.name, now.getTime(), now.toISOString());
        this.logger.info(`event ${entry.source} "${entry.detailType}"`, {
          id,
          bus: entry.busName,
          rules: matched.length > 0 ? matched.map((m) => m.rule.name).join(",") : "none",
        });
        return { index: entry.index, id };
      }),
    );
    return write();
  }

  /** Starts delivering, beginning with whatever an earlier process left pending. */
  start(): void {
    this.running = true;
    const pending = this.sql("SELECT COUNT(*) AS n FROM bus_deliveries WHERE status = 'pending'").get() as {
      n: number;
    };
    if (pending.n > 0) this.logger.info("resuming pending deliveries", { count: pending.n });
    this.schedule(0);
  }

  /** Stops taking new deliveries and waits for the ones in flight. Pending ones stay pending for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeup.cancel();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Resolves when no delivery is in flight or due now (retries scheduled later do not count). */
  async idle(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    if (this.inFlight.size > 0) return false;
    const due = this.sql(
      "SELECT 1 FROM bus_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1",
    ).get(this.clock().getTime());
    return due === undefined;
  }

  private schedule(delayMs: number): void {
    if (this.running) this.wakeup.arm(delayMs);
  }

  private pump(): void {
    if (!this.running) return;
    const free = this.concurrency - this.inFlight.size;
    if (free > 0) {
      const due = this.sql(
        `SELECT d.event_seq, d.rule, d.attempts, e.id, e.body, e.ingested_at
           FROM bus_deliveries d JOIN bus_events e ON e.seq = d.event_seq
           WHERE d.status = 'pending' AND d.next_attempt_at <= ?
           ORDER BY d.next_attempt_at, d.event_seq LIMIT ?`,
      ).all(this.clock().getTime(), free + this.inFlight.size) as DueRow[];
      for (const row of due) {
        const key = `${row.event_seq}/${row.rule}`;
        if (this.inFlight.has(key) || this.inFlight.size >= this.concurrency) continue;
        const work = this.attempt(row).finally(() => {
          this.inFlight.delete(key);
          this.pump();
        });
        this.inFlight.set(key, work);
      }
    }
    if (this.inFlight.size === 0) {
      const next = this.sql(
        "SELECT MIN(next_attempt_at) AS at FROM bus_deliveries WHERE status = 'pending'",
      ).get() as { at: number | null };
      if (next.at !== null) this.schedule(next.at - this.clock().getTime());
      if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async attempt(row: DueRow): Promise<void> {
    const entry = this.rules.get(row.rule);
    const update = this.sql(
      `UPDATE bus_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, target_ref = ?, last_error = ?, updated_at = ?
       WHERE event_seq = ? AND rule = ?`,
    );
    const attempts = row.attempts + 1;
    const now = () => this.clock();
    if (!entry) {
      update.run(
        "dead",
        attempts,
        now().getTime(),
        null,
        `rule ${row.rule} no longer exists`,
        now().toISOString(),
        row.event_seq,
        row.rule,
      );
      this.logger.warn("dead-lettered: rule no longer exists", { event: row.id, rule: row.rule });
      return;
    }
    try {
      const event = JSON.parse(row.body) as Record<string, unknown>;
      const payload = targetInput(
        event,
        entry.rule.input,
        { name: entry.rule.name, arn: entry.arn },
        row.ingested_at,
      );
      const target = await this.deliver(entry.rule, payload, {
        eventId: row.id,
        name: executionNameFor(entry.rule.name, row.id),
      });
      update.run(
        "delivered",
        attempts,
        now().getTime(),
        target,
        null,
        now().toISOString(),
        row.event_seq,
        row.rule,
      );
      this.logger.info(`delivered to ${describeTarget(entry.rule)}`, {
        event: row.id,
        rule: row.rule,
        target,
      });
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const ageSeconds = (now().getTime() - Date.parse(row.ingested_at)) / 1000;
      const { maximumRetryAttempts, maximumEventAgeSeconds } = entry.rule.retryPolicy;
      const exhausted = attempts > maximumRetryAttempts || ageSeconds >= maximumEventAgeSeconds;
      const delay = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (attempts - 1));
      const nextAt = now().getTime() + delay;
      update.run(
        exhausted ? "dead" : "pending",
        attempts,
        nextAt,
        null,
        message,
        now().toISOString(),
        row.event_seq,
        row.rule,
      );
      if (exhausted)
        this.logger.error("dead-lettered", { event: row.id, rule: row.rule, attempts, error: message });
      else
        this.logger.warn("delivery failed, will retry", {
          event: row.id,
          rule: row.rule,
          attempts,
          error: message,
        });
    }
  }

  /** Recent events, newest first, each with its deliveries. */
  listEvents(options: { limit?: number; status?: DeliveryStatus } = {}): StoredEvent[] {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const rows = (
      options.status
        ? this.sql(
            `SELECT DISTINCT e.seq, e.id, e.bus, e.ingested_at, e.body FROM bus_events e
               JOIN bus_deliveries d ON d.event_seq = e.seq WHERE d.status = ? ORDER BY e.seq DESC LIMIT ?`,
          ).all(options.status, limit)
        : this.sql("SELECT seq, id, bus, ingested_at, body FROM bus_events ORDER BY seq DESC LIMIT ?").all(
            limit,
          )
    ) as { seq: number; id: string; bus: string; ingested_at: string; body: string }[];
    return rows.map((row) => this.toStored(row));
  }

  /** One event by id, with its deliveries; undefined when unknown. */
  getEvent(id: string): StoredEvent | undefined {
    const row = this.sql("SELECT seq, id, bus, ingested_at, body FROM bus_events WHERE id = ?").get(id) as
      | { seq: number; id: string; bus: string; ingested_at: string; body: string }
      | undefined;
    return row ? this.toStored(row) : undefined;
  }

  /** Counts per delivery status, for `status` and the dashboard. */
  stats(): { events: number; deliveries: Record<DeliveryStatus, number> } {
    const events = (this.sql("SELECT COUNT(*) AS n FROM bus_events").get() as { n: number }).n;
    const deliveries: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const row of this.sql("SELECT status, COUNT(*) AS n FROM bus_deliveries GROUP BY status").all() as {
      status: DeliveryStatus;
      n: number;
    }[]) {
      deliveries[row.status] = row.n;
    }
    return { events, deliveries };
  }

  private toStored(row: {
    seq: number;
    id: string;
    bus: string;
    ingested_at: string;
    body: string;
  }): StoredEvent {
    const deliveries = (
      this.sql(
        "SELECT rule, status, attempts, target_ref, last_error, updated_at FROM bus_deliveries WHERE event_seq = ? ORDER BY rule",
      ).all(row.seq) as {
        rule: string;
        status: DeliveryStatus;
        attempts: number;
        target_ref: string | null;
        last_error: string | null;
        updated_at: string;
      }[]
    ).map((d) => ({
      rule: d.rule,
      status: d.status,
      attempts: d.attempts,
      ...(d.target_ref ? { target: d.target_ref } : {}),
      ...(d.last_error ? { lastError: d.last_error } : {}),
      updatedAt: d.updated_at,
    }));
    return { id: row.id, bus: row.bus, ingestedAt: row.ingested_at, event: JSON.parse(row.body), deliveries };
  }
}

const describeTarget = (rule: Rule): string =>
  rule.target.kind === "workflow" ? `workflow ${rule.target.workflow}` : `function ${rule.target.function}`;

// A durable local SQS FIFO queue: ordered per message group, batched to its consumer like a Lambda event source.

import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { type SqliteDatabase, type SqliteStatement, statementCache } from "../db.ts";
import { type LocalLogger, silentLogger } from "../log.ts";
import { Wakeup } from "../wakeup.ts";

/** SQS drops a FIFO message whose deduplication id was seen in the last five minutes. */
const deduplicationWindowMs = 5 * 60 * 1000;
/** A failed batch's messages wait this long before they are received again (locally much shorter than AWS). */
const defaultRetryDelayMs = 1_000;

export interface FifoQueueOptions {
  db: SqliteDatabase;
  /** The queue's name, e.g. `switchyard-commits.fifo`. */
  name: string;
  region: string;
  account: string;
  /** The consumer, called with an SQS event of up to `batchSize` messages of one group, in order. */
  consumer: (event: SQSEvent) => Promise<SQSBatchResponse | undefined | undefined>;
  batchSize: number;
  maxReceiveCount: number;
  retryDelayMs?: number;
  clock?: () => Date;
  logger?: LocalLogger;
}

export interface SendMessageInput {
  body: string;
  groupId: string;
  deduplicationId?: string;
}

interface Row {
  seq: number;
  id: string;
  group_id: string;
  dedup_id: string;
  body: string;
  receive_count: number;
  sent_at: number;
  first_received_at: number | null;
}

const schema = `
CREATE TABLE IF NOT EXISTS queue_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  group_id TEXT NOT NULL,
  dedup_id TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('visible', 'dead')),
  receive_count INTEGER NOT NULL DEFAULT 0,
  visible_at INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  first_received_at INTEGER,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS queue_messages_due ON queue_messages (queue, status, group_id, seq);
CREATE TABLE IF NOT EXISTS queue_deduplication (
  queue TEXT NOT NULL,
  dedup_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  sequence_number TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (queue, dedup_id)
);
`;

/**
 * The queue. `send` stores the message before it returns (so an accepted message survives a crash); the
 * consumer gets batches of one group's oldest messages, never two batches of one group at once, and a
 * message is deleted only when its batch succeeds — a failed item and every later one of its group are
 * received again, and a message received `maxReceiveCount` times is kept as dead.
 *
 * @example
 * const queue = new LocalFifoQueue({ db, name: "switchyard-commits.fifo", consumer, batchSize: 10, ... });
 * queue.start();
 * queue.send({ body: JSON.stringify(job), groupId: "acme/gitops@main" });
 */
export class LocalFifoQueue {
  readonly url: string;
  readonly arn: string;
  private readonly options: FifoQueueOptions;
  private readonly clock: () => Date;
  private readonly logger: LocalLogger;
  private readonly busyGroups = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly wakeup = new Wakeup(() => this.pump());
  private readonly sql: (text: string) => SqliteStatement;
  private running = false;

  constructor(options: FifoQueueOptions) {
    this.options = options;
    this.clock = options.clock ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
    this.url = `https://sqs.${options.region}.amazonaws.com/${options.account}/${options.name}`;
    this.arn = `arn:aws:sqs:${options.region}:${options.account}:${options.name}`;
    options.db.exec(schema);
    this.sql = statementCache(options.db);
  }

  /** SendMessage: answers `{ MessageId, SequenceNumber, MD5OfMessageBody }` like SQS, after the message is stored. */
  send(input: SendMessageInput): { MessageId: string; SequenceNumber: string; MD5OfMessageBody: string } {
    const now = this.clock().getTime();
    const dedupId = input.deduplicationId ?? createHash("sha256").update(input.body).digest("hex");
    const md5 = createHash("md5").update(input.body).digest("hex");
    const write = this.options.db.transaction(() => {
      const seen = this.sql(
        "SELECT message_id, sequence_number, sent_at FROM queue_deduplication WHERE queue = ? AND dedup_id = ?",
      ).get(this.options.name, dedupId) as
        | { message_id: string; sequence_number: string; sent_at: number }
        | undefined;
      if (seen && now - seen.sent_at < deduplicationWindowMs) {
        return { MessageId: seen.message_id, SequenceNumber: seen.sequence_number, MD5OfMessageBody: md5 };
      }
      const id = randomUUID();
      const { lastInsertRowid } = this.sql(
        `INSERT INTO queue_messages (queue, id, group_id, dedup_id, body, status, visible_at, sent_at)
         VALUES (?, ?, ?, ?, ?, 'visible', ?, ?)`,
      ).run(this.options.name, id, input.groupId, dedupId, input.body, now, now);
      const sequenceNumber = String(lastInsertRowid).padStart(20, "0");
      this.sql(
        `INSERT INTO queue_deduplication (queue, dedup_id, message_id, sequence_number, sent_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (queue, dedup_id) DO UPDATE SET message_id = excluded.message_id,
           sequence_number = excluded.sequence_number, sent_at = excluded.sent_at`,
      ).run(this.options.name, dedupId, id, sequenceNumber, now);
      return { MessageId: id, SequenceNumber: sequenceNumber, MD5OfMessageBody: md5 };
    });
    const result = write();
    this.schedule(0);
    return result;
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  /** Stops receiving and waits for the batches in flight; undelivered messages stay for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeup.cancel();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Messages not yet consumed (visible) and dead ones. */
  depth(): { visible: number; dead: number } {
    const rows = this.sql(
      "SELECT status, COUNT(*) AS n FROM queue_messages WHERE queue = ? GROUP BY status",
    ).all(this.options.name) as { status: "visible" | "dead"; n: number }[];
    return {
      visible: rows.find((r) => r.status === "visible")?.n ?? 0,
      dead: rows.find((r) => r.status === "dead")?.n ?? 0,
    };
  }

  private schedule(delayMs: number): void {
    if (this.running) this.wakeup.arm(delayMs);
  }

  private pump(): void {
    if (!this.running) return;
    const now = this.clock().getTime();
    const groups = this.sql(
      `SELECT group_id, MIN(visible_at) AS visible_at FROM queue_messages
       WHERE queue = ? AND status = 'visible' GROUP BY group_id`,
    ).all(this.options.name) as { group_id: string; visible_at: number }[];
    let nextAt: number | undefined;
    for (const group of groups) {
      if (this.busyGroups.has(group.group_id)) continue;
      // FIFO: the group's oldest message gates the group, even while it waits out a retry delay.
      const head = this.sql(
        "SELECT visible_at FROM queue_messages WHERE queue = ? AND status = 'visible' AND group_id = ? ORDER BY seq LIMIT 1",
      ).get(this.options.name, group.group_id) as { visible_at: number };
      if (head.visible_at > now) {
        nextAt = Math.min(nextAt ?? head.visible_at, head.visible_at);
        continue;
      }
      const batch = this.sql(
        `SELECT seq, id, group_id, dedup_id, body, receive_count, sent_at, first_received_at FROM queue_messages
         WHERE queue = ? AND status = 'visible' AND group_id = ? ORDER BY seq LIMIT ?`,
      ).all(this.options.name, group.group_id, this.options.batchSize) as Row[];
      this.busyGroups.add(group.group_id);
      const work = this.deliver(batch).finally(() => {
        this.busyGroups.delete(group.group_id);
        this.inFlight.delete(work);
        this.schedule(0);
      });
      this.inFlight.add(work);
    }
    if (nextAt !== undefined) this.schedule(nextAt - now);
  }

  private async deliver(batch: Row[]): Promise<void> {
    const now = this.clock().getTime();
    const received = this.options.db.transaction(() =>
      batch.map((row) => {
        this.sql(
          "UPDATE queue_messages SET receive_count = receive_count + 1, first_received_at = COALESCE(first_received_at, ?) WHERE seq = ?",
        ).run(now, row.seq);
        return {
          ...row,
          receive_count: row.receive_count + 1,
          first_received_at: row.first_received_at ?? now,
        };
      }),
    )();
    const event: SQSEvent = { Records: received.map((row) => this.toRecord(row)) };
    let failedIds: Set<string>;
    let error: string | undefined;
    try {
      const response = await this.options.consumer(event);
      failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      if (failedIds.size > 0) error = "reported as a batch item failure";
    } catch (cause) {
      failedIds = new Set(received.map((r) => r.id));
      error = cause instanceof Error ? `${cause.name}: ${cause.message}` : "consumer failed";
    }
    // A FIFO batch fails from its first failed item on: later items of the group must not overtake it.
    const firstFailed = received.findIndex((row) => failedIds.has(row.id));
    const done = firstFailed === -1 ? received : received.slice(0, firstFailed);
    const retry = firstFailed === -1 ? [] : received.slice(firstFailed);
    this.options.db.transaction(() => {
      for (const row of done) this.sql("DELETE FROM queue_messages WHERE seq = ?").run(row.seq);
      for (const row of retry) {
        const dead = row.receive_count >= this.options.maxReceiveCount;
        this.sql("UPDATE queue_messages SET status = ?, visible_at = ?, last_error = ? WHERE seq = ?").run(
          dead ? "dead" : "visible",
          now + (this.options.retryDelayMs ?? defaultRetryDelayMs),
          error ?? null,
          row.seq,
        );
        if (dead)
          this.logger.error(`queue ${this.options.name}: message dead-lettered`, { message: row.id, error });
      }
    })();
    if (retry.length > 0 && error) {
      this.logger.warn(`queue ${this.options.name}: batch failed, will retry`, {
        messages: retry.length,
        error,
      });
    }
  }

  private toRecord(row: Row): SQSRecord {
    return {
      messageId: row.id,
      receiptHandle: `${row.id}#${row.receive_count}`,
      body: row.body,
      attributes: {
        ApproximateReceiveCount: String(row.receive_count),
        SentTimestamp: String(row.sent_at),
        SenderId: this.options.account,
        ApproximateFirstReceiveTimestamp: String(row.first_received_at ?? row.sent_at),
        SequenceNumber: String(row.seq).padStart(20, "0"),
        MessageGroupId: row.group_id,
        MessageDeduplicationId: row.dedup_id,
      },
      messageAttributes: {},
      md5OfBody: createHash("md5").update(row.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: this.arn,
      awsRegion: this.options.region,
    };
  }
}

// The local FIFO queue: order per group, batches, one batch in flight per group, retries, dead letters, durability.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type SqliteDatabase } from "../../local/db.ts";
import { type FifoQueueOptions, LocalFifoQueue } from "../../local/queue/fifo-queue.ts";
import { eventually } from "../support/runtime.ts";

describe("LocalFifoQueue", () => {
  let dir: string;
  let db: SqliteDatabase;
  const queues: LocalFifoQueue[] = [];

  const make = (consumer: FifoQueueOptions["consumer"], options: Partial<FifoQueueOptions> = {}) => {
    const queue = new LocalFifoQueue({
      db,
      name: "jobs.fifo",
      region: "eu-west-1",
      account: "123456789012",
      consumer,
      batchSize: 3,
      maxReceiveCount: 2,
      retryDelayMs: 5,
      ...options,
    });
    queues.push(queue);
    return queue;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "queue-"));
    db = openDatabase(join(dir, "state.db"));
  });
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.stop();
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers each group's messages in order, in batches, as Lambda's SQS event", async () => {
    const batches: SQSEvent[] = [];
    const queue = make(async (event) => {
      batches.push(event);
      return { batchItemFailures: [] };
    });
    for (let i = 1; i <= 5; i++) queue.send({ body: `a${i}`, groupId: "a", deduplicationId: `a${i}` });
    queue.start();
    await eventually(() => (queue.depth().visible === 0 ? true : undefined));
    expect(batches.map((b) => b.Records.map((r) => r.body))).toEqual([
      ["a1", "a2", "a3"],
      ["a4", "a5"],
    ]);
    const record = batches[0]!.Records[0]!;
    expect(record).toMatchObject({
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:jobs.fifo",
      awsRegion: "eu-west-1",
      attributes: { MessageGroupId: "a", MessageDeduplicationId: "a1", ApproximateReceiveCount: "1" },
    });
    expect(queue.url).toBe("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo");
  });

  it("never hands out two batches of one group at once, but serves other groups meanwhile", async () => {
    const active = new Map<string, number>();
    let overlap = false;
    const seen: string[] = [];
    const queue = make(async (event) => {
      const group = event.Records[0]!.attributes.MessageGroupId!;
      active.set(group, (active.get(group) ?? 0) + 1);
      if ((active.get(group) ?? 0) > 1) overlap = true;
      seen.push(...event.Records.map((r) => r.body));
      await new Promise((resolve) => setTimeout(resolve, 5));
      active.set(group, (active.get(group) ?? 0) - 1);
      return undefined;
    });
    queue.start();
    for (let i = 0; i < 9; i++)
      queue.send({ body: `${i % 3}-${i}`, groupId: String(i % 3), deduplicationId: `d${i}` });
    await eventually(() => (queue.depth().visible === 0 ? true : undefined));
    expect(overlap).toBe(false);
    for (const group of ["0", "1", "2"]) {
      const order = seen.filter((b) => b.startsWith(`${group}-`)).map((b) => Number(b.split("-")[1]));
      expect(order).toEqual([...order].sort((x, y) => x - y));
    }
  });

  it("redelivers a failed item and every later one of its group, keeping the ones before it", async () => {
    const deliveries: string[][] = [];
    let failed = false;
    const queue = make(async (event): Promise<SQSBatchResponse> => {
      deliveries.push(event.Records.map((r) => r.body));
      if (!failed) {
        failed = true;
        return { batchItemFailures: [{ itemIdentifier: event.Records[1]!.messageId }] };
      }
      return { batchItemFailures: [] };
    });
    for (const body of ["x1", "x2", "x3"]) queue.send({ body, groupId: "x", deduplicationId: body });
    queue.start();
    await eventually(() => (queue.depth().visible === 0 ? true : undefined));
    expect(deliveries).toEqual([
      ["x1", "x2", "x3"],
      ["x2", "x3"],
    ]);
  });

  it("keeps a message received maxReceiveCount times as dead, and moves on", async () => {
    const queue = make(async () => {
      throw new Error("always fails");
    });
    queue.send({ body: "poison", groupId: "p", deduplicationId: "poison" });
    queue.start();
    await eventually(() => (queue.depth().dead === 1 ? true : undefined));
    expect(queue.depth()).toEqual({ visible: 0, dead: 1 });
  });

  it("drops a repeated deduplication id within five minutes, answering with the first message", () => {
    const queue = make(async () => undefined);
    const first = queue.send({ body: "same", groupId: "g", deduplicationId: "k" });
    const again = queue.send({ body: "same", groupId: "g", deduplicationId: "k" });
    expect(again.MessageId).toBe(first.MessageId);
    expect(queue.depth().visible).toBe(1);
    // Without an id the body's hash deduplicates, like content-based deduplication.
    queue.send({ body: "body-a", groupId: "g" });
    queue.send({ body: "body-a", groupId: "g" });
    expect(queue.depth().visible).toBe(2);
  });

  it("keeps sent messages across a restart", async () => {
    make(async () => undefined).send({ body: "kept", groupId: "g", deduplicationId: "kept" });
    db.close();
    db = openDatabase(join(dir, "state.db"));
    const bodies: string[] = [];
    const queue = make(async (event) => {
      bodies.push(...event.Records.map((r) => r.body));
      return undefined;
    });
    queue.start();
    await eventually(() => (bodies.length === 1 ? true : undefined));
    expect(bodies).toEqual(["kept"]);
  });
});

// The GitOps commit queue's message: what a promotion's Commit step sends and the writer reads.

import { z } from "zod";
import type { CommitRequest } from "./commit-images.ts";

/** The body the workflow's Commit step sends (its task token included). */
export const commitMessageSchema = z.object({
  taskToken: z.string().min(1),
  promotionId: z.uuid(),
  service: z.string().min(1),
  environment: z.string().min(1),
  eventId: z.string().min(1),
  image: z.object({
    repository: z.string().min(1),
    tag: z.string().min(1).nullable(),
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    pushedAt: z.iso.datetime({ offset: true }),
  }),
});

export interface QueueRecord {
  messageId: string;
  body: string;
}

/**
 * Reads a batch's records. A record that cannot be read is set aside rather than failed: failing it would
 * block its FIFO group until it is dead-lettered, and the promotion waiting on it times out visibly anyway.
 *
 * @example
 * const { requests, unreadable } = readCommitRecords(event.Records);
 */
export const readCommitRecords = (
  records: readonly QueueRecord[],
): { requests: CommitRequest[]; unreadable: { messageId: string; problem: string }[] } => {
  const requests: CommitRequest[] = [];
  const unreadable: { messageId: string; problem: string }[] = [];
  for (const record of records) {
    let json: unknown;
    try {
      json = JSON.parse(record.body);
    } catch {
      unreadable.push({ messageId: record.messageId, problem: "body is not JSON" });
      continue;
    }
    const parsed = commitMessageSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      unreadable.push({
        messageId: record.messageId,
        problem: `${issue?.path.join(".") || "body"}: ${issue?.message}`,
      });
      continue;
    }
    const { image, ...rest } = parsed.data;
    requests.push({
      ...rest,
      messageId: record.messageId,
      image: {
        repository: image.repository,
        ...(image.tag ? { tag: image.tag } : {}),
        digest: image.digest,
        pushedAt: image.pushedAt,
      },
    });
  }
  return { requests, unreadable };
};

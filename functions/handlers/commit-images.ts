// Lambda: the GitOps writer, fed by the branch's FIFO queue; answers each promotion's Commit task token.

import { SqsSchema } from "@aws-lambda-powertools/parser/schemas";
import type { SQSBatchResponse } from "aws-lambda";
import type { z } from "zod";
import { type CommitImagesDeps, commitImages } from "../core/commit-images.ts";
import { readCommitRecords } from "../core/commit-queue.ts";
import { commitImagesDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";
import { logger } from "../wiring/observability.ts";

export const makeCommitImages =
  (deps: CommitImagesDeps) =>
  async (event: z.infer<typeof SqsSchema>): Promise<SQSBatchResponse> => {
    const { requests, unreadable } = readCommitRecords(event.Records);
    for (const { messageId, problem } of unreadable)
      logger.error("commit message set aside", { messageId, problem });
    const { failedMessageIds } = await commitImages(deps, requests);
    return { batchItemFailures: failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
  };

export const handler = coldStart(() => withHandlerStack(makeCommitImages(commitImagesDeps()), SqsSchema));

// Lambda: the approval step timed out — close the request as expired and publish Approval Decided.

import { z } from "zod";
import { type ApprovalDeps, expireApproval } from "../core/request-approval.ts";
import { approvalDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const expireApprovalInputSchema = z.object({ promotionId: z.uuid() });

export const makeExpireApproval =
  (deps: ApprovalDeps) => async (input: z.infer<typeof expireApprovalInputSchema>) =>
    expireApproval(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeExpireApproval(approvalDeps()), expireApprovalInputSchema),
);

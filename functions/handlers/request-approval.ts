// Lambda (waitForTaskToken): records an approval request and e-mails each approver a personal signed link.

import { z } from "zod";
import { type RequestApprovalDeps, requestApproval } from "../core/request-approval.ts";
import { requestApprovalDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const requestApprovalInputSchema = z.object({
  taskToken: z.string().min(1),
  promotionId: z.uuid(),
  snapshotId: z.string().min(1).nullable(),
});

export const makeRequestApproval =
  (deps: RequestApprovalDeps) => async (input: z.infer<typeof requestApprovalInputSchema>) =>
    requestApproval(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeRequestApproval(requestApprovalDeps()), requestApprovalInputSchema),
);

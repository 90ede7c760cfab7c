// Lambda: starts the Argo CD sync of a service's application to a revision (gated environments do not auto-sync).

import { z } from "zod";
import { type StartSyncResult, startSync, type WatchSyncDeps } from "../core/watch-sync.ts";
import { awsConfig, clock, deployTarget } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const syncApplicationInputSchema = z.object({
  service: z.string().min(1),
  environment: z.string().min(1),
  revision: z.string().regex(/^[0-9a-f]{40}$/, "expected a git commit SHA"),
});

export const makeSyncApplication =
  (deps: Pick<WatchSyncDeps, "config" | "deployTarget" | "clock">) =>
  async (input: z.infer<typeof syncApplicationInputSchema>): Promise<StartSyncResult> =>
    startSync(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(
    makeSyncApplication({ config: awsConfig(), deployTarget: deployTarget(), clock }),
    syncApplicationInputSchema,
  ),
);

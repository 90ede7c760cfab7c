// Lambda: one look at a restarted Deployment — Ready, still rolling out, timed out, or undone.

import { z } from "zod";
import { type WatchRolloutDeps, type WatchRolloutResult, watchRollout } from "../core/secret-rollout.ts";
import { watchRolloutDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

const timestamp = z.iso.datetime({ offset: true });

export const watchRolloutInputSchema = z.object({
  namespace: z.string().min(1).max(63),
  name: z.string().min(1).max(253),
  restartedAt: timestamp,
  deadline: timestamp,
});

export const makeWatchRollout =
  (deps: WatchRolloutDeps) =>
  async (input: z.infer<typeof watchRolloutInputSchema>): Promise<WatchRolloutResult> =>
    watchRollout(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeWatchRollout(watchRolloutDeps()), watchRolloutInputSchema),
);

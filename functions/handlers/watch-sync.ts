// Lambda: one look at the Argo CD Application — Synced and Healthy at the committed revision yet?

import { z } from "zod";
import { type WatchSyncDeps, type WatchSyncResult, watchSync } from "../core/watch-sync.ts";
import { watchSyncDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const watchSyncInputSchema = z.object({
  promotionId: z.uuid(),
  service: z.string().min(1),
  environment: z.string().min(1),
  revision: z.string().regex(/^[0-9a-f]{40}$/, "expected a git commit SHA"),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 hex>"),
  committedAt: z.iso.datetime({ offset: true }),
  deadline: z.iso.datetime({ offset: true }),
  attempt: z.number().int().min(0),
});

export const makeWatchSync =
  (deps: WatchSyncDeps) =>
  async (input: z.infer<typeof watchSyncInputSchema>): Promise<WatchSyncResult> =>
    watchSync(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeWatchSync(watchSyncDeps()), watchSyncInputSchema),
);

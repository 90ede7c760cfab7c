// Lambda: makes External Secrets re-sync a consumer's ExternalSecret, then reports when its Secret changed.

import { z } from "zod";
import {
  type SyncExternalSecretDeps,
  type SyncExternalSecretResult,
  syncExternalSecret,
} from "../core/secret-rollout.ts";
import { syncExternalSecretDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

const timestamp = z.iso.datetime({ offset: true });

export const syncExternalSecretInputSchema = z.object({
  rolloutId: z.string().min(1).max(256),
  namespace: z.string().min(1).max(63),
  externalSecret: z.string().min(1).max(253),
  forcedAt: timestamp.nullable(),
  initialHash: z.string().min(1).nullable(),
  deadline: timestamp.nullable(),
});

export const makeSyncExternalSecret =
  (deps: SyncExternalSecretDeps) =>
  async (input: z.infer<typeof syncExternalSecretInputSchema>): Promise<SyncExternalSecretResult> =>
    syncExternalSecret(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeSyncExternalSecret(syncExternalSecretDeps()), syncExternalSecretInputSchema),
);

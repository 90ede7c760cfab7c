// Lambda: the pre-change snapshot of a gated promotion — start it, then report until it is available.

import { z } from "zod";
import {
  type SnapshotBeforeChangeDeps,
  type SnapshotBeforeChangeResult,
  snapshotBeforeChange,
} from "../core/snapshot-before-change.ts";
import { awsConfig, clock, eventPublisher, promotionStore, snapshotService } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const snapshotBeforeChangeInputSchema = z.object({
  promotionId: z.uuid(),
  database: z.string().min(1),
  snapshotId: z.string().min(1).nullable(),
  deadline: z.iso.datetime({ offset: true }).nullable(),
});

export const makeSnapshotBeforeChange =
  (deps: SnapshotBeforeChangeDeps) =>
  async (input: z.infer<typeof snapshotBeforeChangeInputSchema>): Promise<SnapshotBeforeChangeResult> =>
    snapshotBeforeChange(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(
    makeSnapshotBeforeChange({
      config: awsConfig(),
      snapshots: snapshotService(),
      store: promotionStore(),
      publisher: eventPublisher(),
      clock,
    }),
    snapshotBeforeChangeInputSchema,
  ),
);

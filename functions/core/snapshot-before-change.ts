// Use case: the pre-change snapshot of a gated promotion — take it once, then look until it is available.

import { snapshotCreatedDetailSchema } from "../../events/schemas/switchyard.ts";
import type { SwitchyardConfig } from "./config.ts";
import type { Clock, EventPublisher, PromotionStore, SnapshotService } from "./ports.ts";

export interface SnapshotBeforeChangeInput {
  promotionId: string;
  database: string;
  /** Null on the first call, which starts the snapshot. */
  snapshotId: string | null;
  /** Null on the first call, which sets it from `promotion.snapshotTimeoutMinutes`. */
  deadline: string | null;
}

export interface SnapshotBeforeChangeResult {
  state: "available" | "creating" | "failed" | "timed-out";
  snapshotId: string;
  deadline: string;
  pollIntervalSeconds: number;
  reason: string;
}

export interface SnapshotBeforeChangeDeps {
  config: Pick<SwitchyardConfig, "promotion">;
  snapshots: Pick<SnapshotService, "createSnapshot" | "getSnapshot">;
  store: Pick<PromotionStore, "updatePromotion">;
  publisher: EventPublisher;
  clock: Clock;
}

const millisecondsPerMinute = 60_000;
/** Snapshots take minutes: looking more often than this only costs API calls. */
const minimumPollIntervalSeconds = 5;

/**
 * First call: starts a snapshot of the service's database tagged `pre-change:<promotion id>`. Later calls: reports
 * its state. Once available it publishes `Snapshot Created` (at least once: a retried step may publish again).
 * Past the deadline it reports `timed-out`; the workflow then ends the promotion, as no change goes ahead
 * without a way back.
 *
 * @example
 * let step = await snapshotBeforeChange(deps, { promotionId, database: "checkout-db", snapshotId: null, deadline: null });
 */
export const snapshotBeforeChange = async (
  deps: SnapshotBeforeChangeDeps,
  input: SnapshotBeforeChangeInput,
): Promise<SnapshotBeforeChangeResult> => {
  const now = deps.clock.now();
  const deadline =
    input.deadline ??
    new Date(
      now.getTime() + deps.config.promotion.snapshotTimeoutMinutes * millisecondsPerMinute,
    ).toISOString();
  const pollIntervalSeconds = Math.max(minimumPollIntervalSeconds, deps.config.promotion.pollIntervalSeconds);

  const snapshot =
    input.snapshotId === null
      ? await deps.snapshots.createSnapshot({
          database: input.database,
          reason: "pre-change",
          promotionId: input.promotionId,
        })
      : await deps.snapshots.getSnapshot(input.snapshotId);
  if (input.snapshotId === null && snapshot) {
    await deps.store.updatePromotion(input.promotionId, {
      reason: `pre-change snapshot ${snapshot.id} of ${input.database} started`,
    });
  }
  const snapshotId = snapshot?.id ?? input.snapshotId ?? "";
  const result = (
    state: SnapshotBeforeChangeResult["state"],
    reason: string,
  ): SnapshotBeforeChangeResult => ({
    state,
    snapshotId,
    deadline,
    pollIntervalSeconds: state === "available" ? 0 : pollIntervalSeconds,
    reason,
  });

  if (!snapshot)
    return result("failed", `pre-change snapshot ${snapshotId} of ${input.database} disappeared`);
  if (snapshot.status === "available") {
    const detail = snapshotCreatedDetailSchema.parse({
      snapshotId: snapshot.id,
      dbInstanceIdentifier: snapshot.database,
      reason: "pre-change",
      promotionId: input.promotionId,
      createdAt: snapshot.createdAt,
    });
    await deps.publisher.publish([{ detailType: "Snapshot Created", detail }]);
    await deps.store.updatePromotion(input.promotionId, {
      reason: `pre-change snapshot ${snapshot.id} is available`,
    });
    return result("available", `snapshot ${snapshot.id} is available`);
  }
  if (snapshot.status === "failed" || snapshot.status === "deleting") {
    return result("failed", `pre-change snapshot ${snapshot.id} of ${input.database} is ${snapshot.status}`);
  }
  if (now.getTime() >= Date.parse(deadline)) {
    return result(
      "timed-out",
      `pre-change snapshot ${snapshot.id} of ${input.database} was not available within ${deps.config.promotion.snapshotTimeoutMinutes} min`,
    );
  }
  return result("creating", `snapshot ${snapshot.id} is ${snapshot.status}`);
};

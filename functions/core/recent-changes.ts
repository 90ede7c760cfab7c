// What changed for a service lately, read from Switchyard's domain events: the "recent changes" of an incident post.

import type { SwitchyardConfig } from "./config.ts";
import type { RecentChange, RecentChanges } from "./incidents.ts";
import type { PromotionStore } from "./ports.ts";

/** A domain event as the bus keeps it. */
export interface ChangeEvent {
  "detail-type": string;
  time: string;
  detail: Record<string, unknown>;
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

/**
 * The change a domain event records for `service`, or undefined when it is not about that service: promotions by
 * their service, rotations by the secrets the service consumes, snapshots by the service's database.
 *
 * @example
 * changeFor(event, config, "checkout"); // { at, kind: "Promotion Succeeded", summary: "checkout 1.4.2 → production" }
 */
export const changeFor = (
  event: ChangeEvent,
  config: Pick<SwitchyardConfig, "services" | "secrets">,
  service: string,
): RecentChange | undefined => {
  const { detail } = event;
  const kind = event["detail-type"];
  const change = (summary: string): RecentChange => ({
    at: event.time,
    kind,
    summary: `${kind}: ${summary}`,
  });
  if (kind.startsWith("Promotion ")) {
    if (detail.service !== service) return undefined;
    const image = detail.image as { tag?: string; digest?: string } | undefined;
    return change(
      `${service} ${image?.tag ?? image?.digest?.slice(0, 19) ?? ""} → ${text(detail.environment)}`,
    );
  }
  if (kind === "Secret Rotated" || kind === "Secret Rollout Failed") {
    const secret = text(detail.secretName);
    const consumed = config.secrets.some(
      (s) => s.name === secret && s.consumers.some((consumer) => consumer.service === service),
    );
    return consumed ? change(secret) : undefined;
  }
  if (kind.startsWith("Snapshot") || kind.startsWith("Restore Drill")) {
    const database = config.services.find((s) => s.name === service)?.database;
    return database !== undefined && detail.dbInstanceIdentifier === database
      ? change(text(detail.snapshotId) || database)
      : undefined;
  }
  return undefined;
};

/**
 * Recent changes from a list of domain events (the local runtime's event log), newest first.
 *
 * @example
 * new EventLogRecentChanges(config, async (since) => bus.listEvents({ limit: 1000 }).map((e) => e.event));
 */
export class EventLogRecentChanges implements RecentChanges {
  constructor(
    private readonly config: Pick<SwitchyardConfig, "services" | "secrets">,
    private readonly events: () => Promise<readonly ChangeEvent[]>,
  ) {}

  async list(service: string, since: Date): Promise<RecentChange[]> {
    return (await this.events())
      .filter((event) => Date.parse(event.time) >= since.getTime())
      .map((event) => changeFor(event, this.config, service))
      .filter((change): change is RecentChange => change !== undefined)
      .sort((a, b) => (a.at < b.at ? 1 : -1));
  }
}

/**
 * Recent changes on AWS, from the promotion table: EventBridge keeps no queryable history, so rotations and
 * snapshots are not listed there.
 */
export class PromotionRecentChanges implements RecentChanges {
  constructor(private readonly promotions: Pick<PromotionStore, "listPromotions">) {}

  async list(service: string, since: Date): Promise<RecentChange[]> {
    const promotions = await this.promotions.listPromotions({ service });
    return promotions
      .filter((p) => Date.parse(p.updatedAt) >= since.getTime())
      .map((p) => ({
        at: p.updatedAt,
        kind: `Promotion ${p.phase}`,
        summary: `Promotion ${p.phase}: ${service} ${p.image.tag ?? p.image.digest?.slice(0, 19) ?? ""} → ${p.environment}`,
      }));
  }
}

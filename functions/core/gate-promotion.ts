// Use case: may a gated promotion go on now? Freezes hold it; the gate also reads what the next steps need.

import type { SwitchyardConfig } from "./config.ts";
import { ValidationError } from "./errors.ts";
import type { Clock, Freeze, FreezeStore, PromotionStore } from "./ports.ts";

export interface GatePromotionInput {
  promotionId: string;
  service: string;
  environment: string;
  /** When waiting for a thaw gives up; null on the first look, which sets it from `promotion.freeze.maxWaitHours`. */
  deadline: string | null;
}

export interface GateResult {
  /** `clear`: go on; `wait`: frozen, look again after `pollIntervalSeconds`; `frozen`: end the promotion. */
  state: "clear" | "wait" | "frozen";
  reason: string;
  deadline: string;
  pollIntervalSeconds: number;
  /** The database to snapshot before the change, or null when the service declares none. */
  database: string | null;
  /** The approval's `TimeoutSeconds`, from the environment's `approval.timeoutHours`. */
  approvalTimeoutSeconds: number;
}

export interface GatePromotionDeps {
  config: Pick<SwitchyardConfig, "services" | "environments" | "promotion">;
  freezes: Pick<FreezeStore, "list">;
  store: Pick<PromotionStore, "getPromotion" | "updatePromotion">;
  clock: Clock;
}

const secondsPerHour = 3600;
const millisecondsPerHour = 3_600_000;

/**
 * The freezes of a service in force at `now`: those without an end, and those whose `until` is still ahead.
 *
 * @example activeFreezes(await freezes.list("checkout"), clock.now())
 */
export const activeFreezes = (freezes: readonly Freeze[], now: Date): Freeze[] =>
  freezes.filter((f) => f.until === undefined || Date.parse(f.until) > now.getTime());

const describeFreeze = (freeze: Freeze): string =>
  `${freeze.reason} (set by ${freeze.setBy} at ${freeze.setAt}${freeze.until ? `, until ${freeze.until}` : ""})`;

/**
 * One look at the gate. A service with a freeze in force does not go on: with `promotion.freeze.action: wait` it
 * waits (the promotion records why, once) until the freeze lifts or `maxWaitHours` pass; with `fail` it ends at
 * once. The reason names every freeze in force and who set it.
 *
 * @example
 * const gate = await gatePromotion(deps, { promotionId, service: "checkout", environment: "production", deadline: null });
 * if (gate.state === "wait") await sleep(gate.pollIntervalSeconds);
 */
export const gatePromotion = async (
  deps: GatePromotionDeps,
  input: GatePromotionInput,
): Promise<GateResult> => {
  const service = deps.config.services.find((s) => s.name === input.service);
  if (!service) throw new ValidationError(`unknown service "${input.service}" in switchyard.yaml`);
  const environment = deps.config.environments.find((e) => e.name === input.environment);
  if (!environment)
    throw new ValidationError(`unknown environment "${input.environment}" in switchyard.yaml`);
  const { approval } = environment;
  if (approval === "none") {
    throw new ValidationError(`environment "${input.environment}" has no approval gate (approval: none)`);
  }
  const now = deps.clock.now();
  const policy = deps.config.promotion.freeze;
  const deadline =
    input.deadline ?? new Date(now.getTime() + policy.maxWaitHours * millisecondsPerHour).toISOString();
  const result = (state: GateResult["state"], reason: string): GateResult => ({
    state,
    reason,
    deadline,
    pollIntervalSeconds: policy.pollIntervalSeconds,
    database: service.database ?? null,
    approvalTimeoutSeconds: Math.max(1, Math.round(approval.timeoutHours * secondsPerHour)),
  });

  const inForce = activeFreezes(await deps.freezes.list(input.service), now);
  if (inForce.length === 0) return result("clear", `${input.service} is not frozen`);
  const why = `${input.service} is frozen: ${inForce.map(describeFreeze).join("; ")}`;
  if (policy.action === "fail") {
    return result("frozen", `${why}; promotion.freeze.action is fail`);
  }
  if (now.getTime() >= Date.parse(deadline)) {
    return result(
      "frozen",
      `${why}; still frozen after waiting ${policy.maxWaitHours} h (promotion.freeze.maxWaitHours)`,
    );
  }
  if (input.deadline === null) {
    await deps.store.updatePromotion(input.promotionId, {
      reason: `${why}; waiting until it lifts (at most until ${deadline})`,
    });
  }
  return result("wait", why);
};

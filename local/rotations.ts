// Secret rotation in the local runtime: what Secrets Manager does on AWS — rotate on schedule or on demand, then report.

import { randomUUID } from "node:crypto";
import { Cron } from "croner";
import { parseScheduleExpression } from "../events/schedules.ts";
import type { SecretConfig, SwitchyardConfig } from "../functions/core/config.ts";
import { NotFoundError } from "../functions/core/errors.ts";
import type { Clock, DatabaseAdmin, SecretStore, SecretSummary } from "../functions/core/ports.ts";
import { type RotationResult, rotateNow } from "../functions/core/rotate-secret.ts";
import type { PutEventsResponse } from "./bus/event-bus.ts";
import type { PutEventsRequestEntry } from "./bus/put-events.ts";
import type { LocalLogger } from "./log.ts";
import { toCronerPattern } from "./scheduler.ts";

/** How often the runtime looks for secrets whose rotation is due. */
const defaultCheckIntervalMs = 60_000;
const secretsManagerService = "secretsmanager.amazonaws.com";

export interface LocalRotationsOptions {
  config: Pick<SwitchyardConfig, "secrets">;
  secrets: SecretStore;
  database: DatabaseAdmin;
  /** Where the rotation events go, as Secrets Manager's CloudTrail records reach EventBridge's default bus. */
  putEvents: (request: { Entries: PutEventsRequestEntry[] }) => PutEventsResponse;
  account: string;
  region: string;
  logger: LocalLogger;
  clock?: Clock;
  checkIntervalMs?: number;
}

/**
 * When a secret's next rotation is due: its schedule counted from the last rotation (or its creation), as Secrets
 * Manager counts `rate()` and `cron()` rotation rules.
 *
 * @example nextRotation(secretConfig, summary) // 2026-12-27T10:00:00.000Z for rate(30 days) from a rotation on 11-27
 */
export const nextRotation = (secret: SecretConfig, summary: SecretSummary): Date | undefined => {
  const since = summary.lastRotatedDate ?? summary.createdDate;
  const parsed = parseScheduleExpression(secret.rotation.schedule);
  if (parsed.kind === "rate") return new Date(since.getTime() + parsed.periodMs);
  if (parsed.kind === "cron") {
    return (
      new Cron(toCronerPattern(parsed.fields), { timezone: "UTC", paused: true }).nextRun(since) ?? undefined
    );
  }
  return undefined;
};

/**
 * Rotates the secrets of switchyard.yaml locally: `rotate(name)` runs the rotation function's four steps now (one
 * rotation per secret at a time), and `start()` rotates each secret when its schedule says so. Each outcome is put on
 * the bus as Secrets Manager reports it on AWS — a CloudTrail `RotationSucceeded` or `RotationFailed` event from
 * `aws.secretsmanager` — so the same rule starts the same rollout workflow. Neither events nor logs carry a value.
 *
 * @example
 * const rotations = new LocalRotations({ config, secrets, database, putEvents: (r) => bus.putEvents(r), ... });
 * await rotations.rotate("checkout/db");
 */
export class LocalRotations {
  private readonly clock: Clock;
  private readonly chains = new Map<string, Promise<unknown>>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: LocalRotationsOptions) {
    this.clock = options.clock ?? { now: () => new Date() };
  }

  /** Rotates `name` now, after any rotation of it still running; rejects with the rotation's error. */
  rotate(name: string): Promise<RotationResult> {
    if (!this.options.config.secrets.some((s) => s.name === name)) {
      return Promise.reject(
        new NotFoundError(
          `secret "${name}" is not in switchyard.yaml's secrets; expected one of: ${this.options.config.secrets.map((s) => s.name).join(", ") || "none"}`,
        ),
      );
    }
    const previous = this.chains.get(name) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.rotateOnce(name));
    this.chains.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }

  /** Looks for due rotations now and every `checkIntervalMs`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () => void this.rotateDue(),
      this.options.checkIntervalMs ?? defaultCheckIntervalMs,
    );
    this.timer.unref();
    void this.rotateDue();
  }

  /** Stops looking, and waits for rotations in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.chains.values()]);
  }

  private async rotateDue(): Promise<void> {
    const summaries = new Map((await this.options.secrets.listSecrets()).map((s) => [s.name, s]));
    const now = this.clock.now();
    for (const secret of this.options.config.secrets) {
      const summary = summaries.get(secret.name);
      const due = summary ? nextRotation(secret, summary) : undefined;
      if (!due || due.getTime() > now.getTime()) continue;
      await this.rotate(secret.name).catch(() => undefined);
    }
  }

  private async rotateOnce(name: string): Promise<RotationResult> {
    const { secrets, database, config, logger } = this.options;
    const token = randomUUID();
    const arn = (await secrets.describeSecret(name)).arn;
    try {
      const result = await rotateNow({ config, secrets, database, clock: this.clock }, name, token);
      this.report(arn, token, "RotationSucceeded");
      logger.info("secret rotated", { secret: name, version: result.versionId, strategy: result.strategy });
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.report(arn, token, "RotationFailed", message);
      logger.warn("secret rotation failed", { secret: name, version: token, error: message });
      throw error;
    }
  }

  /** The CloudTrail record Secrets Manager writes for a rotation's outcome, on the default bus. */
  private report(arn: string, token: string, eventName: string, errorMessage?: string): void {
    const { account, region } = this.options;
    const time = this.clock
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
    const detail = {
      eventVersion: "1.08",
      userIdentity: { accountId: account, invokedBy: secretsManagerService },
      eventTime: time,
      eventSource: secretsManagerService,
      eventName,
      awsRegion: region,
      sourceIPAddress: secretsManagerService,
      userAgent: secretsManagerService,
      ...(errorMessage !== undefined ? { errorMessage: errorMessage.slice(0, 1024) } : {}),
      requestParameters: null,
      responseElements: null,
      additionalEventData: { SecretId: arn },
      requestID: `Rotation-${arn}-${token}`,
      eventID: randomUUID(),
      readOnly: false,
      eventType: "AwsServiceEvent",
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: "Management",
    };
    const response = this.options.putEvents({
      Entries: [
        {
          Source: "aws.secretsmanager",
          DetailType: "AWS Service Event via CloudTrail",
          Detail: JSON.stringify(detail),
          Time: time,
        },
      ],
    });
    if (response.FailedEntryCount > 0) {
      this.options.logger.error("the rotation event was not accepted by the bus", {
        secret: arn,
        error: response.Entries[0]?.ErrorMessage,
      });
    }
  }
}

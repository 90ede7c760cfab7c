// Use cases of incident escalation: route an alert, open, notify a level, wait, escalate, acknowledge, close.

import { createHash } from "node:crypto";
import { z } from "zod";
import {
  type alertReceivedDetailSchema,
  incidentAcknowledgedDetailSchema,
  incidentEscalatedDetailSchema,
  incidentOpenedDetailSchema,
  incidentResolvedDetailSchema,
} from "../../events/schemas/switchyard.ts";
import { type IncidentSeverity, incidentSeverities, type SwitchyardConfig } from "./config.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import type {
  ChatNotifier,
  Clock,
  EventPublisher,
  FreezeStore,
  IdGenerator,
  IncidentRecord,
  IncidentStore,
  IncidentTimelineEntry,
  Mailer,
  Pager,
  WorkflowCallbacks,
  WorkflowStarter,
} from "./ports.ts";

export type AlertReceived = z.infer<typeof alertReceivedDetailSchema>;

/** The workflow every firing alert's incident runs. */
export const incidentWorkflow = "incident-escalation";

/** A line of the service's recent history, for the Slack post ("promotion of checkout 1.4.2 to production"). */
export interface RecentChange {
  at: string;
  kind: string;
  summary: string;
}

/** Reads what happened to a service lately, from Switchyard's own domain events. */
export interface RecentChanges {
  list(service: string, since: Date): Promise<RecentChange[]>;
}

export interface IncidentDeps {
  config: Pick<SwitchyardConfig, "incidents">;
  incidents: IncidentStore;
  freezes: FreezeStore;
  pager: Pager;
  chat: ChatNotifier;
  mailer: Mailer;
  callbacks: WorkflowCallbacks;
  workflows: WorkflowStarter;
  publisher: EventPublisher;
  clock: Clock;
  ids: IdGenerator;
  recentChanges: RecentChanges;
  /** The signed acknowledge link of an incident (the page behind it acknowledges). */
  ackUrl: (incident: IncidentRecord) => Promise<string>;
}

/** Where the workflow waits: for an acknowledgement (with the level's timeout), or only for the resolution. */
export type WaitPhase = "ack" | "resolve";
export type WaitOutcome = "acknowledged" | "resolved";

const conflictRetries = 5;
const maxSummaryLength = 1024;

/**
 * The execution name of an alert's incident: the same fingerprint and start always give the same name, so
 * Alertmanager's repeats and HA peers sending twice never start a second execution (StartExecution is idempotent
 * by name), while a flapping alert (fired again with a new start) gets a new incident.
 *
 * @example
 * incidentExecutionName("845c32a29100d116", "2025-01-14T10:03:27.391Z"); // "incident-3f0c…" (56 characters)
 */
export const incidentExecutionName = (fingerprint: string, startsAt: string): string =>
  `incident-${createHash("sha256")
    .update(`${fingerprint}\n${new Date(startsAt).toISOString()}`)
    .digest("hex")
    .slice(0, 47)}`;

const rank = (severity: IncidentSeverity): number => incidentSeverities.indexOf(severity);

/** Whether an incident of `severity` freezes its service under `freezeSeverity` (critical is the worst). */
export const freezes = (severity: IncidentSeverity, freezeSeverity: IncidentSeverity | "none"): boolean =>
  freezeSeverity !== "none" && rank(severity) <= rank(freezeSeverity);

/** The last level an incident can reach: level 1, then every configured level, `repeat` more times over. */
export const maxLevel = (config: Pick<SwitchyardConfig, "incidents">): number => {
  const { levels, repeat } = config.incidents.escalation;
  return 1 + levels.length * (repeat + 1);
};

/** How long level `level` waits for an acknowledgement before the next: the next level's `after`. */
export const waitSecondsAt = (config: Pick<SwitchyardConfig, "incidents">, level: number): number => {
  const { levels } = config.incidents.escalation;
  return levels[(level - 1) % levels.length]?.after ?? 300;
};

/** Who level `level` (from 2) notifies besides the Slack thread. */
export const targetsAt = (config: Pick<SwitchyardConfig, "incidents">, level: number) => {
  const { levels } = config.incidents.escalation;
  return level < 2 ? [] : (levels[(level - 2) % levels.length]?.notify ?? []);
};

const entry = (at: Date, kind: IncidentTimelineEntry["kind"], message: string): IncidentTimelineEntry => ({
  at: at.toISOString(),
  kind,
  message,
});

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Re-reads and re-applies an update until no other writer got in between. */
const updateWithRetry = async (
  store: IncidentStore,
  id: string,
  change: (
    incident: IncidentRecord,
  ) =>
    | { changes: Parameters<IncidentStore["update"]>[2]; timeline?: readonly IncidentTimelineEntry[] }
    | undefined,
): Promise<IncidentRecord> => {
  for (let attempt = 1; ; attempt++) {
    const incident = await store.get(id);
    if (!incident) throw new NotFoundError(`incident ${id} does not exist`);
    const next = change(incident);
    if (next === undefined) return incident;
    try {
      return await store.update(id, incident.version, next.changes, next.timeline);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= conflictRetries) throw error;
    }
  }
};

const subjectOf = (incident: IncidentRecord) => ({
  incidentId: incident.id,
  fingerprint: incident.fingerprint,
  alertSource: incident.alertSource,
  ...(incident.service !== undefined && { service: incident.service }),
  severity: incident.severity,
  level: incident.level,
  summary: incident.summary.slice(0, maxSummaryLength),
});

/** Wakes the workflow waiting on the incident, if it waits; a token that moved on (timed out) is not an error. */
const wake = async (
  deps: Pick<IncidentDeps, "incidents" | "callbacks">,
  id: string,
  outcome: WaitOutcome,
) => {
  const token = await deps.incidents.waitToken(id);
  if (token === undefined) return;
  try {
    await deps.callbacks.sendTaskSuccess(token, { outcome });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    // The wait timed out (escalation) or already ended: the workflow reads the status at its next step.
    if (!/TaskTimedOut|InvalidToken|TaskDoesNotExist|NotFound/.test(name)) throw error;
  }
};

/**
 * A normalised alert: a firing one starts its incident's workflow under the name its fingerprint and start give
 * (a repeat starts nothing new); a resolved one resolves the active incident of its fingerprint and wakes its
 * workflow — a resolve for an unknown or already-closed incident changes nothing.
 */
export const routeAlert = async (
  deps: Pick<IncidentDeps, "incidents" | "callbacks" | "workflows" | "clock">,
  alert: AlertReceived,
): Promise<{ action: "started" | "resolved" | "ignored"; incidentId?: string; executionName?: string }> => {
  if (alert.status === "firing") {
    // Switchyard's own failures carry the failure's time: a repeat while the first is open is the same incident.
    if (alert.alertSource === "switchyard" && (await deps.incidents.findActive(alert.fingerprint))) {
      return { action: "ignored" };
    }
    const executionName = incidentExecutionName(alert.fingerprint, alert.startsAt);
    await deps.workflows.start(incidentWorkflow, { alert, executionName }, executionName);
    return { action: "started", executionName };
  }
  const active = await deps.incidents.findActive(alert.fingerprint);
  if (!active) return { action: "ignored" };
  const now = deps.clock.now();
  const resolved = await updateWithRetry(deps.incidents, active.id, (incident) =>
    incident.status === "resolved"
      ? undefined
      : {
          changes: { status: "resolved", resolvedAt: now.toISOString(), resolution: "alert-resolved" },
          timeline: [entry(now, "resolved", "the alert resolved")],
        },
  );
  await wake(deps, resolved.id, "resolved");
  return { action: "resolved", incidentId: resolved.id };
};

export const openIncidentInputSchema = z.object({
  alert: z.custom<AlertReceived>((value) => typeof value === "object" && value !== null),
  executionName: z.string().min(1),
});

/**
 * Records the incident (one per fingerprint and start), freezes its service when the severity calls for it, and
 * publishes `Incident Opened`. A repeat finds the incident already there and reports `created: false`.
 */
export const openIncident = async (
  deps: Pick<IncidentDeps, "config" | "incidents" | "freezes" | "publisher" | "clock" | "ids">,
  input: { alert: AlertReceived },
): Promise<{ incidentId: string; created: boolean; level: number; waitSeconds: number }> => {
  const { alert } = input;
  const now = deps.clock.now();
  const { created, incident } = await deps.incidents.open({
    id: deps.ids.next(),
    fingerprint: alert.fingerprint,
    startsAt: new Date(alert.startsAt).toISOString(),
    alertSource: alert.alertSource,
    severity: alert.severity,
    ...(alert.service !== undefined && { service: alert.service }),
    summary: alert.summary,
    ...(alert.description !== undefined && { description: alert.description }),
    ...(alert.runbookUrl !== undefined && { runbookUrl: alert.runbookUrl }),
    ...(alert.sourceUrl !== undefined && { sourceUrl: alert.sourceUrl }),
    labels: alert.labels,
    openedAt: now.toISOString(),
  });
  const result = {
    incidentId: incident.id,
    created,
    level: incident.level,
    waitSeconds: waitSecondsAt(deps.config, incident.level),
  };
  if (!created) return result;
  let current = await updateWithRetry(deps.incidents, incident.id, () => ({
    changes: {},
    timeline: [entry(now, "opened", `${alert.severity}: ${alert.summary}`)],
  }));
  if (alert.service !== undefined && freezes(alert.severity, deps.config.incidents.freezeSeverity)) {
    await deps.freezes.put({
      service: alert.service,
      id: incident.id,
      reason: `${alert.severity} incident: ${alert.summary}`.slice(0, 500),
      setBy: "switchyard",
      setAt: now.toISOString(),
      source: "incident",
    });
    current = await updateWithRetry(deps.incidents, incident.id, () => ({
      changes: { froze: true },
      timeline: [entry(now, "freeze-set", `${alert.service} is frozen until this incident resolves`)],
    }));
  }
  await deps.publisher.publish([
    {
      detailType: "Incident Opened",
      detail: incidentOpenedDetailSchema.parse({
        ...subjectOf(current),
        ...(current.runbookUrl !== undefined && { runbookUrl: current.runbookUrl }),
        alertStartedAt: current.startsAt,
        openedAt: current.openedAt,
      }),
    },
  ]);
  return result;
};

const severityEmoji: Record<IncidentSeverity, string> = {
  critical: ":red_circle:",
  error: ":large_orange_circle:",
  warning: ":large_yellow_circle:",
  info: ":large_blue_circle:",
};

/** The Slack blocks of an incident's root message. */
export const incidentBlocks = (
  incident: IncidentRecord,
  ackUrl: string,
  changes: readonly RecentChange[],
): Record<string, unknown>[] => {
  const status =
    incident.status === "open"
      ? `*Open* — level ${incident.level}`
      : incident.status === "acknowledged"
        ? `*Acknowledged* by ${incident.acknowledgedBy ?? "someone"}`
        : `*Resolved* (${incident.resolution ?? "resolved"})`;
  const labels = Object.entries(incident.labels)
    .map(([key, value]) => `\`${key}=${value}\``)
    .join(" ");
  const links = [
    ...(incident.runbookUrl ? [`<${incident.runbookUrl}|Runbook>`] : []),
    ...(incident.sourceUrl ? [`<${incident.sourceUrl}|Source>`] : []),
    ...(incident.status === "open" ? [`<${ackUrl}|Acknowledge>`] : []),
  ];
  return [
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: `${severityEmoji[incident.severity]} *${incident.severity.toUpperCase()}* ${incident.summary}`.slice(
          0,
          3000,
        ),
      },
    },
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Status*\n${status}` },
        { type: "mrkdwn", text: `*Service*\n${incident.service ?? "—"}` },
      ],
    },
    ...(incident.description
      ? [{ type: "section", text: { type: "mrkdwn", text: incident.description.slice(0, 3000) } }]
      : []),
    ...(labels ? [{ type: "context", elements: [{ type: "mrkdwn", text: labels.slice(0, 3000) }] }] : []),
    ...(changes.length > 0
      ? [
          {
            type: "section",
            text: {
              type: "mrkdwn",
              text: `*Recent changes*\n${changes
                .slice(0, 10)
                .map((change) => `• ${change.at.slice(11, 16)} ${change.summary}`)
                .join("\n")}`.slice(0, 3000),
            },
          },
        ]
      : []),
    ...(links.length > 0 ? [{ type: "section", text: { type: "mrkdwn", text: links.join("  ·  ") } }] : []),
  ];
};

const fallbackText = (incident: IncidentRecord): string =>
  `[${incident.severity}] ${incident.summary}`.slice(0, maxSummaryLength);

const pagerPayload = (incident: IncidentRecord) => ({
  summary: incident.summary.slice(0, maxSummaryLength),
  source: incident.labels.instance ?? incident.service ?? incident.alertSource,
  severity: incident.severity,
  timestamp: incident.startsAt,
  ...(incident.service !== undefined && { component: incident.service }),
  ...(incident.labels.alertname !== undefined && { class: incident.labels.alertname }),
  custom_details: {
    ...incident.labels,
    ...(incident.description !== undefined && { description: incident.description }),
    switchyard_incident: incident.id,
  },
});

const pagerLinks = (incident: IncidentRecord) => [
  ...(incident.runbookUrl ? [{ href: incident.runbookUrl, text: "Runbook" }] : []),
  ...(incident.sourceUrl ? [{ href: incident.sourceUrl, text: "Source" }] : []),
];

/**
 * Notifies one level. Level 1: the incident's root message in the Slack channel and a PagerDuty trigger on the
 * configured routing key. Later levels: a line in the Slack thread, then each target of the level (another
 * PagerDuty service, a channel or user group, a mailbox). Every channel is tried on its own: Slack failing does
 * not stop the page, nor the reverse; failures are kept in the timeline and never fail the step.
 */
export const notifyIncident = async (
  deps: IncidentDeps,
  input: { incidentId: string; level: number },
): Promise<{ incidentId: string; level: number; notified: string[]; failed: string[] }> => {
  const incident = await deps.incidents.get(input.incidentId);
  if (!incident) throw new NotFoundError(`incident ${input.incidentId} does not exist`);
  const { incidents: settings } = deps.config;
  const now = () => deps.clock.now();
  const timeline: IncidentTimelineEntry[] = [];
  const notified: string[] = [];
  const failed: string[] = [];
  let slack = incident.slack;
  const paged = new Set(incident.pagedRoutingKeys);
  const ackUrl = await deps.ackUrl(incident);

  const page = async (routingKeySecret: string) => {
    try {
      const result = await deps.pager.send(routingKeySecret, {
        event_action: "trigger",
        dedup_key: incident.fingerprint,
        payload: pagerPayload(incident),
        links: [...pagerLinks(incident), { href: ackUrl, text: "Acknowledge in Switchyard" }],
        client: "Switchyard",
        client_url: ackUrl,
      });
      paged.add(routingKeySecret);
      notified.push(`pagerduty:${routingKeySecret}`);
      timeline.push(entry(now(), "paged", `PagerDuty (${routingKeySecret}) triggered, ${result.delivery}`));
    } catch (error) {
      failed.push(`pagerduty:${routingKeySecret}`);
      timeline.push(entry(now(), "page-failed", `PagerDuty (${routingKeySecret}): ${errorText(error)}`));
    }
  };
  const post = async (
    channel: string,
    text: string,
    blocks?: Record<string, unknown>[],
    threadTs?: string,
  ) => {
    try {
      const posted = await deps.chat.postMessage({
        channel,
        text,
        ...(blocks !== undefined && { blocks }),
        ...(threadTs !== undefined && { threadTs }),
      });
      notified.push(`slack:${channel}`);
      timeline.push(
        entry(now(), "slack-posted", `Slack ${channel}${threadTs ? " (thread)" : ""}, ${posted.delivery}`),
      );
      return posted;
    } catch (error) {
      failed.push(`slack:${channel}`);
      timeline.push(entry(now(), "slack-failed", `Slack ${channel}: ${errorText(error)}`));
      return undefined;
    }
  };

  if (input.level <= 1) {
    const changes =
      incident.service !== undefined && settings.recentChangesMinutes > 0
        ? await deps.recentChanges
            .list(incident.service, new Date(now().getTime() - settings.recentChangesMinutes * 60_000))
            .catch(() => [])
        : [];
    // Both at once: neither waits for the other's retries.
    const [posted] = await Promise.all([
      slack === undefined
        ? post(settings.slack.channel, fallbackText(incident), incidentBlocks(incident, ackUrl, changes))
        : Promise.resolve(undefined),
      page(settings.pagerduty.routingKey.secret),
    ]);
    if (posted) slack = { channel: posted.channel, ts: posted.ts };
  } else {
    const targets = targetsAt(deps.config, input.level);
    const names = targets.map((t) =>
      "pagerduty" in t ? `PagerDuty ${t.pagerduty.secret}` : "slack" in t ? t.slack : t.email,
    );
    const line = `:rotating_light: Not acknowledged: escalated to level ${input.level}${names.length > 0 ? ` — notifying ${names.join(", ")}` : ""}. <${ackUrl}|Acknowledge>`;
    await Promise.all([
      slack ? post(slack.channel, line, undefined, slack.ts) : Promise.resolve(undefined),
      ...targets.map(async (target) => {
        if ("pagerduty" in target) return page(target.pagerduty.secret);
        if ("slack" in target) {
          // A user group is mentioned in the incident's thread (an S… id pings it; a handle is only named), a
          // channel gets its own post.
          const group = /^(@|S)/.test(target.slack);
          if (!group) return post(target.slack, `${line}\n${fallbackText(incident)}`);
          const mention = target.slack.startsWith("S") ? `<!subteam^${target.slack}>` : target.slack;
          return slack
            ? post(slack.channel, `${mention} ${fallbackText(incident)}`, undefined, slack.ts)
            : post(settings.slack.channel, `${mention} ${line}\n${fallbackText(incident)}`);
        }
        try {
          await deps.mailer.send({
            to: [target.email],
            subject: `[${incident.severity}] Escalated (level ${input.level}): ${incident.summary}`.slice(
              0,
              200,
            ),
            text: `${incident.summary}\n\nNobody has acknowledged this incident yet.\nAcknowledge: ${ackUrl}\n${incident.runbookUrl ? `Runbook: ${incident.runbookUrl}\n` : ""}`,
            html: `<p>${escapeHtml(incident.summary)}</p><p>Nobody has acknowledged this incident yet.</p><p><a href="${escapeHtml(ackUrl)}">Acknowledge</a>${incident.runbookUrl ? ` · <a href="${escapeHtml(incident.runbookUrl)}">Runbook</a>` : ""}</p>`,
          });
          notified.push(`email:${target.email}`);
          timeline.push(entry(now(), "emailed", `e-mail to ${target.email}`));
        } catch (error) {
          failed.push(`email:${target.email}`);
          timeline.push(entry(now(), "email-failed", `e-mail to ${target.email}: ${errorText(error)}`));
        }
        return undefined;
      }),
    ]);
  }
  await updateWithRetry(deps.incidents, incident.id, () => ({
    changes: { pagedRoutingKeys: [...paged], ...(slack !== undefined && { slack }) },
    timeline,
  }));
  return { incidentId: incident.id, level: input.level, notified, failed };
};

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/**
 * Parks the workflow on its task token. When the awaited answer is already in (an acknowledgement or resolution
 * that arrived while the workflow was between steps), answers the token at once.
 */
export const awaitIncident = async (
  deps: Pick<IncidentDeps, "incidents" | "callbacks">,
  input: { incidentId: string; taskToken: string; phase: WaitPhase },
): Promise<{ waiting: boolean }> => {
  await deps.incidents.setWaitToken(input.incidentId, input.taskToken);
  const incident = await deps.incidents.get(input.incidentId);
  if (!incident) throw new NotFoundError(`incident ${input.incidentId} does not exist`);
  const answered: WaitOutcome | undefined =
    incident.status === "resolved"
      ? "resolved"
      : incident.status === "acknowledged" && input.phase === "ack"
        ? "acknowledged"
        : undefined;
  if (answered === undefined) return { waiting: true };
  await deps.callbacks.sendTaskSuccess(input.taskToken, { outcome: answered });
  return { waiting: false };
};

/**
 * Nobody acknowledged within the level's wait: the next level (publishing `Incident Escalated`), or, past the last
 * level and its repeats, the end of escalation (the incident stays open until acknowledged or resolved). An answer
 * that arrived meanwhile wins.
 */
export const escalateIncident = async (
  deps: Pick<IncidentDeps, "config" | "incidents" | "publisher" | "clock">,
  input: { incidentId: string },
): Promise<{ action: "notify" | "hold" | WaitOutcome; level: number; waitSeconds: number }> => {
  const incident = await deps.incidents.get(input.incidentId);
  if (!incident) throw new NotFoundError(`incident ${input.incidentId} does not exist`);
  if (incident.status !== "open") {
    return { action: incident.status, level: incident.level, waitSeconds: 0 };
  }
  const now = deps.clock.now();
  if (incident.level >= maxLevel(deps.config)) {
    await updateWithRetry(deps.incidents, incident.id, () => ({
      changes: {},
      timeline: [entry(now, "escalation-ended", "every level was notified: waiting for an acknowledgement")],
    }));
    return { action: "hold", level: incident.level, waitSeconds: 0 };
  }
  const level = incident.level + 1;
  const updated = await updateWithRetry(deps.incidents, incident.id, (current) =>
    current.status !== "open" || current.level >= level
      ? undefined
      : { changes: { level }, timeline: [entry(now, "escalated", `escalated to level ${level}`)] },
  );
  if (updated.status !== "open") return { action: updated.status, level: updated.level, waitSeconds: 0 };
  const notified = targetsAt(deps.config, level).map((t) =>
    "pagerduty" in t
      ? `pagerduty:${t.pagerduty.secret}`
      : "slack" in t
        ? `slack:${t.slack}`
        : `email:${t.email}`,
  );
  await deps.publisher.publish([
    {
      detailType: "Incident Escalated",
      detail: incidentEscalatedDetailSchema.parse({
        ...subjectOf(updated),
        previousLevel: level - 1,
        notified: notified.length > 0 ? notified : [`slack:${deps.config.incidents.slack.channel}`],
        escalatedAt: now.toISOString(),
      }),
    },
  ]);
  return { action: "notify", level, waitSeconds: waitSecondsAt(deps.config, level) };
};

/**
 * Someone answered (the API, the CLI, the acknowledge link, PagerDuty): records who, publishes `Incident
 * Acknowledged` and wakes the workflow, which stops escalating. Acknowledging again is a no-op; a resolved
 * incident cannot be acknowledged (409).
 */
export const acknowledgeIncident = async (
  deps: Pick<IncidentDeps, "incidents" | "callbacks" | "publisher" | "clock">,
  input: { incidentId: string; by: string; via: string },
): Promise<{ incident: IncidentRecord; changed: boolean }> => {
  const now = deps.clock.now();
  let changed = false;
  const incident = await updateWithRetry(deps.incidents, input.incidentId, (current) => {
    if (current.status === "resolved") {
      throw new ConflictError(`incident ${current.id} is already resolved: it can no longer be acknowledged`);
    }
    if (current.status === "acknowledged") return undefined;
    changed = true;
    return {
      changes: { status: "acknowledged", acknowledgedAt: now.toISOString(), acknowledgedBy: input.by },
      timeline: [entry(now, "acknowledged", `acknowledged by ${input.by} (${input.via})`)],
    };
  });
  if (!changed) return { incident, changed };
  await deps.publisher.publish([
    {
      detailType: "Incident Acknowledged",
      detail: incidentAcknowledgedDetailSchema.parse({
        ...subjectOf(incident),
        acknowledgedBy: input.by,
        acknowledgedAt: now.toISOString(),
      }),
    },
  ]);
  await wake(deps, incident.id, "acknowledged");
  return { incident, changed };
};

/**
 * The outside world learns the answer: on acknowledgement PagerDuty `acknowledge` (every routing key paged) and the
 * Slack message updated; on resolution PagerDuty `resolve`, Slack updated, the incident's freeze lifted and
 * `Incident Resolved` published. Outside failures are kept in the timeline, never fail the step.
 */
export const closeIncident = async (
  deps: IncidentDeps,
  input: { incidentId: string; outcome: WaitOutcome },
): Promise<{ incidentId: string; outcome: WaitOutcome }> => {
  const incident = await deps.incidents.get(input.incidentId);
  if (!incident) throw new NotFoundError(`incident ${input.incidentId} does not exist`);
  const now = () => deps.clock.now();
  const timeline: IncidentTimelineEntry[] = [];
  const action = input.outcome === "acknowledged" ? "acknowledge" : "resolve";
  const ackUrl = await deps.ackUrl(incident);
  await Promise.all([
    ...incident.pagedRoutingKeys.map(async (routingKeySecret) => {
      try {
        await deps.pager.send(routingKeySecret, { event_action: action, dedup_key: incident.fingerprint });
        timeline.push(entry(now(), "paged", `PagerDuty (${routingKeySecret}) ${action}d`));
      } catch (error) {
        timeline.push(
          entry(now(), "page-failed", `PagerDuty (${routingKeySecret}) ${action}: ${errorText(error)}`),
        );
      }
    }),
    (async () => {
      if (!incident.slack) return;
      const line =
        input.outcome === "acknowledged"
          ? `:eyes: Acknowledged by ${incident.acknowledgedBy ?? "someone"}: escalation stopped.`
          : `:white_check_mark: Resolved (${incident.resolution ?? "resolved"}).`;
      try {
        await deps.chat.updateMessage({
          channel: incident.slack.channel,
          ts: incident.slack.ts,
          text: fallbackText(incident),
          blocks: incidentBlocks(incident, ackUrl, []),
        });
        await deps.chat.postMessage({
          channel: incident.slack.channel,
          text: line,
          threadTs: incident.slack.ts,
        });
        timeline.push(entry(now(), "slack-posted", `Slack updated: ${input.outcome}`));
      } catch (error) {
        timeline.push(entry(now(), "slack-failed", `Slack update: ${errorText(error)}`));
      }
    })(),
  ]);
  let froze = incident.froze;
  if (input.outcome === "resolved" && incident.froze && incident.service !== undefined) {
    try {
      await deps.freezes.remove(incident.service, incident.id);
      froze = false;
      timeline.push(
        entry(now(), "freeze-lifted", `${incident.service} is no longer frozen by this incident`),
      );
    } catch (error) {
      timeline.push(entry(now(), "freeze-lifted", `lifting the freeze failed: ${errorText(error)}`));
    }
  }
  const updated = await updateWithRetry(deps.incidents, incident.id, () => ({
    changes: { froze },
    timeline,
  }));
  if (input.outcome === "resolved") {
    await deps.incidents.setWaitToken(incident.id, null);
    await deps.publisher.publish([
      {
        detailType: "Incident Resolved",
        detail: incidentResolvedDetailSchema.parse({
          ...subjectOf(updated),
          resolution: updated.resolution ?? "alert-resolved",
          openedAt: updated.openedAt,
          resolvedAt: updated.resolvedAt ?? now().toISOString(),
        }),
      },
    ]);
  }
  return { incidentId: incident.id, outcome: input.outcome };
};

// Server-rendered incident pages: status, severity, labels, runbook, timeline and the acknowledge form, no JavaScript.

import { escapeHtml } from "../core/html.ts";
import type { IncidentRecord, IncidentTimelineEntry } from "../core/ports.ts";

export { pageHeaders } from "./approval-page.ts";

/** The longest name the acknowledge form takes, the same limit the API enforces. */
export const maxAckNameLength = 200;

type Tone = "open" | "acknowledged" | "resolved" | "problem";

const styles = `
:root {
  color-scheme: light dark;
  --bg: #f4f6f8; --card: #ffffff; --text: #1c2128; --muted: #57606a; --border: #d0d7de; --link: #0a58ca;
  --open: #b42318; --open-bg: #fde7e6; --acknowledged: #7a4d00; --acknowledged-bg: #fff4cc;
  --resolved: #116329; --resolved-bg: #dcf5e3; --problem: #b42318; --problem-bg: #fde7e6;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1419; --card: #171d24; --text: #e6edf3; --muted: #9aa6b2; --border: #30363d; --link: #6cb6ff;
    --open: #ff7b72; --open-bg: #42100d; --acknowledged: #f2cc60; --acknowledged-bg: #3b2e05;
    --resolved: #56d364; --resolved-bg: #0f3320; --problem: #ff7b72; --problem-bg: #42100d;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 44rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
header { margin-bottom: 1.25rem; border-left: 6px solid var(--tone); padding-left: 1rem; }
.eyebrow { margin: 0; color: var(--muted); font-size: .875rem; letter-spacing: .02em; }
h1 { margin: .25rem 0 .5rem; font-size: 1.6rem; line-height: 1.25; overflow-wrap: anywhere; }
h2 { margin: 0 0 .75rem; font-size: 1.1rem; }
dl + h2, p + h2 { margin-top: 1.25rem; }
p { margin: .5rem 0; }
a { color: var(--link); }
.card {
  background: var(--card); border: 1px solid var(--border); border-radius: 12px;
  padding: 1rem 1.25rem; margin: 0 0 1rem;
}
.badge {
  display: inline-block; padding: .1rem .6rem; border-radius: 999px; font-size: .8rem; font-weight: 600;
  text-transform: uppercase; letter-spacing: .04em; color: var(--tone); background: var(--tone-bg);
  border: 1px solid var(--tone);
}
.tone-open { --tone: var(--open); --tone-bg: var(--open-bg); }
.tone-acknowledged { --tone: var(--acknowledged); --tone-bg: var(--acknowledged-bg); }
.tone-resolved { --tone: var(--resolved); --tone-bg: var(--resolved-bg); }
.tone-problem { --tone: var(--problem); --tone-bg: var(--problem-bg); }
.status { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; color: var(--muted); }
dl { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: .4rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.muted { color: var(--muted); }
.labels { display: flex; flex-wrap: wrap; gap: .35rem; list-style: none; margin: 0; padding: 0; }
.labels li { border: 1px solid var(--border); border-radius: 6px; padding: 0 .4rem; overflow-wrap: anywhere; }
.description { white-space: pre-wrap; overflow-wrap: anywhere; }
ol.timeline { list-style: none; margin: 0; padding: 0; }
ol.timeline li { padding: .5rem 0; border-top: 1px solid var(--border); overflow-wrap: anywhere; }
ol.timeline li:first-child { border-top: 0; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input[type="text"] {
  width: 100%; padding: .5rem .6rem; font: inherit; color: var(--text);
  background: var(--bg); border: 1px solid var(--border); border-radius: 8px;
}
.actions { margin-top: 1rem; }
button {
  min-height: 44px; min-width: 10rem; padding: .6rem 1.25rem; font: inherit; font-weight: 600;
  border-radius: 8px; cursor: pointer; border: 2px solid transparent;
  background: var(--acknowledged); color: #fff;
}
@media (prefers-color-scheme: dark) { button { color: #0f1419; } }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
@media (max-width: 30rem) {
  dl { grid-template-columns: 1fr; gap: 0; }
  dd { margin-bottom: .5rem; }
  button { width: 100%; }
}
`;

const eyebrow = "Switchyard · incident";

const page = (input: { title: string; tone: Tone; body: string }): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(input.title)} · Switchyard</title>
<style>${styles}</style>
</head>
<body class="tone-${input.tone}">
<main>
${input.body}
</main>
</body>
</html>
`;

const badge = (tone: Tone, label: string): string =>
  `<span class="badge tone-${tone}">${escapeHtml(label)}</span>`;

const time = (iso: string): string => `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso)}</time>`;

const row = (label: string, valueHtml: string): string =>
  `<dt>${escapeHtml(label)}</dt><dd>${valueHtml}</dd>`;

/** Only http(s) URLs become links: a `javascript:` runbook URL from an alert's annotations stays text. */
const link = (url: string): string =>
  /^https?:\/\//i.test(url)
    ? `<a href="${escapeHtml(url)}" rel="noopener noreferrer">${escapeHtml(url)}</a>`
    : escapeHtml(url);

const header = (input: { title: string; tone: Tone; badgeLabel: string; detail?: string }): string =>
  `<header>
<p class="eyebrow">${escapeHtml(eyebrow)}</p>
<h1>${escapeHtml(input.title)}</h1>
<div class="status">${badge(input.tone, input.badgeLabel)}${input.detail === undefined ? "" : `<span>${escapeHtml(input.detail)}</span>`}</div>
</header>`;

const statusLabel = (incident: IncidentRecord): string =>
  incident.status === "open"
    ? `Open · level ${incident.level}`
    : incident.status === "acknowledged"
      ? "Acknowledged"
      : "Resolved";

const statusDetail = (incident: IncidentRecord): string =>
  incident.status === "acknowledged"
    ? `${incident.severity} · acknowledged by ${incident.acknowledgedBy ?? "someone"}${incident.acknowledgedAt ? ` at ${incident.acknowledgedAt}` : ""}`
    : incident.status === "resolved"
      ? `${incident.severity} · resolved${incident.resolvedAt ? ` at ${incident.resolvedAt}` : ""}${incident.resolution === "manual" ? " (by hand)" : ""}`
      : `${incident.severity} · not acknowledged yet`;

const detailsCard = (incident: IncidentRecord): string => {
  const labels = Object.entries(incident.labels);
  const rows = [
    row("Severity", escapeHtml(incident.severity)),
    row("Status", escapeHtml(statusLabel(incident))),
    row(
      "Service",
      incident.service === undefined ? `<span class="muted">—</span>` : escapeHtml(incident.service),
    ),
    row("Source", escapeHtml(incident.alertSource)),
    ...(incident.runbookUrl !== undefined ? [row("Runbook", link(incident.runbookUrl))] : []),
    ...(incident.sourceUrl !== undefined ? [row("Alert", link(incident.sourceUrl))] : []),
    row("Started", time(incident.startsAt)),
    row("Opened", time(incident.openedAt)),
    ...(incident.acknowledgedAt !== undefined
      ? [
          row(
            "Acknowledged",
            `${time(incident.acknowledgedAt)} by ${escapeHtml(incident.acknowledgedBy ?? "someone")}`,
          ),
        ]
      : []),
    ...(incident.resolvedAt !== undefined ? [row("Resolved", time(incident.resolvedAt))] : []),
    ...(incident.froze && incident.service !== undefined
      ? [row("Freeze", `${escapeHtml(incident.service)} is frozen until this incident resolves`)]
      : []),
    row("Fingerprint", `<code>${escapeHtml(incident.fingerprint)}</code>`),
    row("Incident", `<code>${escapeHtml(incident.id)}</code>`),
  ];
  const description =
    incident.description === undefined
      ? ""
      : `<p class="description">${escapeHtml(incident.description)}</p>\n`;
  const labelList =
    labels.length === 0
      ? ""
      : `<h2 id="labels-heading">Labels</h2>
<ul class="labels" aria-labelledby="labels-heading">${labels
          .map(([key, value]) => `<li><code>${escapeHtml(key)}=${escapeHtml(value)}</code></li>`)
          .join("")}</ul>`;
  return `<section class="card" aria-labelledby="details-heading">
<h2 id="details-heading">The incident</h2>
${description}<dl>${rows.join("\n")}</dl>
${labelList}
</section>`;
};

const timelineKinds: Record<IncidentTimelineEntry["kind"], string> = {
  opened: "Opened",
  "slack-posted": "Slack",
  "slack-failed": "Slack failed",
  paged: "Paged",
  "page-failed": "Page failed",
  emailed: "E-mailed",
  "email-failed": "E-mail failed",
  escalated: "Escalated",
  "escalation-ended": "Escalation ended",
  acknowledged: "Acknowledged",
  resolved: "Resolved",
  "freeze-set": "Freeze set",
  "freeze-lifted": "Freeze lifted",
};

const timelineCard = (incident: IncidentRecord): string => {
  const items =
    incident.timeline.length === 0
      ? `<p class="muted">Nothing has happened yet.</p>`
      : `<ol class="timeline">${incident.timeline
          .map(
            (entry) =>
              `<li>${time(entry.at)} <strong>${escapeHtml(timelineKinds[entry.kind] ?? entry.kind)}</strong> ${escapeHtml(entry.message)}</li>`,
          )
          .join("\n")}</ol>`;
  return `<section class="card" aria-labelledby="timeline-heading">
<h2 id="timeline-heading">Timeline</h2>
${items}
</section>`;
};

const ackForm = (incident: IncidentRecord, linkToken: string, ackUrl: string): string =>
  `<section class="card" aria-labelledby="ack-heading">
<h2 id="ack-heading">Acknowledge</h2>
<p>Acknowledging stops the escalation: nobody else is paged for this incident. PagerDuty and the Slack thread are told.</p>
<form method="post" action="${escapeHtml(ackUrl)}">
<input type="hidden" name="token" value="${escapeHtml(linkToken)}">
<label for="by">Your name <span class="muted">(optional, shown in the timeline and in Slack)</span></label>
<input type="text" id="by" name="by" maxlength="${maxAckNameLength}" autocomplete="name">
<div class="actions"><button type="submit">Acknowledge</button></div>
</form>
<p class="muted">Level ${escapeHtml(String(incident.level))} of the escalation. This link acknowledges this incident only.</p>
</section>`;

const howToAck = (incident: IncidentRecord): string =>
  `<section class="card" aria-labelledby="ack-heading">
<h2 id="ack-heading">How to acknowledge</h2>
<p>Open the acknowledge link from the Slack post, the page or the e-mail, acknowledge in PagerDuty, or use the CLI:</p>
<p><code>switchyard incidents ack ${escapeHtml(incident.id)} --as &lt;you&gt;</code></p>
</section>`;

/**
 * An incident as it stands: status, severity, summary, labels, runbook and timeline; while it is open and the visitor
 * came through a valid acknowledge link, a form posting `token` and an optional `by` (their name) to `ackUrl`.
 * Without a link the page says how to acknowledge. Every value is escaped; nothing runs a script.
 *
 * @example
 * renderIncidentPage({ incident, linkToken: token, ackUrl: `/incidents/${incident.id}/ack` });
 */
export const renderIncidentPage = (input: {
  incident: IncidentRecord;
  linkToken?: string;
  ackUrl: string;
  /** A line above the incident, after an acknowledgement ("Acknowledged — escalation stopped"). */
  notice?: { title: string; detail: string };
}): string => {
  const { incident, linkToken, ackUrl, notice } = input;
  const tone: Tone = incident.status;
  const action =
    incident.status !== "open"
      ? ""
      : linkToken !== undefined
        ? ackForm(incident, linkToken, ackUrl)
        : howToAck(incident);
  return page({
    title: notice?.title ?? incident.summary,
    tone,
    body: [
      header({
        title: notice?.title ?? incident.summary,
        tone,
        badgeLabel: statusLabel(incident),
        detail: notice?.detail ?? statusDetail(incident),
      }),
      notice === undefined ? "" : `<p><strong>${escapeHtml(incident.summary)}</strong></p>`,
      action,
      detailsCard(incident),
      timelineCard(incident),
    ]
      .filter((part) => part !== "")
      .join("\n"),
  });
};

/**
 * For an incident id that names nothing.
 *
 * @example
 * return { statusCode: 404, headers: pageHeaders, body: renderIncidentNotFoundPage(id) };
 */
export const renderIncidentNotFoundPage = (incidentId: string): string =>
  page({
    title: "Incident not found",
    tone: "problem",
    body: [
      header({
        title: "Incident not found",
        tone: "problem",
        badgeLabel: "Not found",
        detail: `There is no incident ${incidentId.slice(0, 128)}.`,
      }),
      `<section class="card"><p>Check that the address is complete: links are sometimes cut in two. <code>switchyard incidents list</code> shows the incidents.</p></section>`,
    ].join("\n"),
  });

/**
 * For a link that does not let its holder see or acknowledge: malformed, forged, made for another incident, or
 * expired. Shows the reason (a `ForbiddenError` message, which never holds the token), never the token.
 *
 * @example
 * return { statusCode: 403, headers: pageHeaders, body: renderIncidentForbiddenPage(error.message) };
 */
export const renderIncidentForbiddenPage = (message: string): string =>
  page({
    title: "This link is not valid",
    tone: "problem",
    body: [
      header({
        title: "This link is not valid",
        tone: "problem",
        badgeLabel: "Not allowed",
        detail: message,
      }),
      `<section class="card"><p>Acknowledge links expire after a week and work for one incident only: use the link from the latest Slack post, page or e-mail, or acknowledge with <code>switchyard incidents ack &lt;id&gt;</code> or in PagerDuty.</p></section>`,
    ].join("\n"),
  });

/**
 * For an acknowledgement that came too late: the incident already resolved.
 *
 * @example
 * return { statusCode: 409, headers: pageHeaders, body: renderIncidentResolvedPage(incident) };
 */
export const renderIncidentResolvedPage = (incident: IncidentRecord): string =>
  renderIncidentPage({
    incident,
    ackUrl: "",
    notice: {
      title: "Already resolved",
      detail: `The incident resolved${incident.resolvedAt ? ` at ${incident.resolvedAt}` : ""}: there is nothing left to acknowledge.`,
    },
  });

/**
 * For a request the page cannot act on (an invalid form field), with the reason.
 *
 * @example
 * return { statusCode: 400, headers: pageHeaders, body: renderIncidentProblemPage("Invalid request body.by: …") };
 */
export const renderIncidentProblemPage = (message: string): string =>
  page({
    title: "The acknowledgement was not recorded",
    tone: "problem",
    body: header({
      title: "The acknowledgement was not recorded",
      tone: "problem",
      badgeLabel: "Problem",
      detail: message,
    }),
  });

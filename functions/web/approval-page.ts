// Server-rendered approval pages: the request, its decisions and the decision form, readable without JavaScript.

import { type ApprovalVote, approvalProgress, isRequester } from "../core/approvals.ts";
import { shortDigest } from "../core/decide-promotion.ts";
import { escapeHtml } from "../core/html.ts";
import type { ApprovalChannel, ApprovalDecision, ApprovalRecord } from "../core/ports.ts";

export { escapeHtml };

/**
 * Headers for every page: never cached (a page shows one moment of a request, and the form carries a personal
 * token), never framed, no referrer leaking the token-bearing URL, and no script of any kind.
 *
 * @example
 * return { statusCode: 200, headers: pageHeaders, body: renderApprovalPage({ record, decisionUrl, now }) };
 */
export const pageHeaders: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
});

/** The decision form's comment limit, the same as the one `decide` enforces. */
const maxCommentLength = 2_048;
const millisecondsPerMinute = 60_000;
const minutesPerHour = 60;
const hoursPerDay = 24;
/** Below this, hours read better than days ("in 36 h" rather than "in 2 d"). */
const hoursShownBeforeDays = 48;

type Tone = "pending" | "approved" | "rejected" | "expired" | "problem";

const styles = `
:root {
  color-scheme: light dark;
  --bg: #f4f6f8; --card: #ffffff; --text: #1c2128; --muted: #57606a; --border: #d0d7de; --link: #0a58ca;
  --pending: #7a4d00; --pending-bg: #fff4cc; --approved: #116329; --approved-bg: #dcf5e3;
  --rejected: #b42318; --rejected-bg: #fde7e6; --expired: #4b5563; --expired-bg: #e9ecef;
  --problem: #b42318; --problem-bg: #fde7e6;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1419; --card: #171d24; --text: #e6edf3; --muted: #9aa6b2; --border: #30363d; --link: #6cb6ff;
    --pending: #f2cc60; --pending-bg: #3b2e05; --approved: #56d364; --approved-bg: #0f3320;
    --rejected: #ff7b72; --rejected-bg: #42100d; --expired: #b1bac4; --expired-bg: #262c33;
    --problem: #ff7b72; --problem-bg: #42100d;
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
h1 { margin: .25rem 0 .5rem; font-size: 1.6rem; line-height: 1.25; }
h2 { margin: 0 0 .75rem; font-size: 1.1rem; }
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
.tone-pending { --tone: var(--pending); --tone-bg: var(--pending-bg); }
.tone-approved { --tone: var(--approved); --tone-bg: var(--approved-bg); }
.tone-rejected { --tone: var(--rejected); --tone-bg: var(--rejected-bg); }
.tone-expired { --tone: var(--expired); --tone-bg: var(--expired-bg); }
.tone-problem { --tone: var(--problem); --tone-bg: var(--problem-bg); }
.status { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; color: var(--muted); }
dl { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: .4rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.digest { word-break: break-all; color: var(--muted); }
.muted { color: var(--muted); }
ol.decisions { list-style: none; margin: 0; padding: 0; }
ol.decisions li { padding: .6rem 0; border-top: 1px solid var(--border); }
ol.decisions li:first-child { border-top: 0; }
blockquote {
  margin: .4rem 0 0; padding: .4rem .75rem; border-left: 3px solid var(--border); color: var(--text);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
textarea {
  width: 100%; min-height: 5rem; padding: .5rem .6rem; font: inherit; color: var(--text);
  background: var(--bg); border: 1px solid var(--border); border-radius: 8px; resize: vertical;
}
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1rem; }
button {
  min-height: 44px; min-width: 8rem; padding: .6rem 1.25rem; font: inherit; font-weight: 600;
  border-radius: 8px; cursor: pointer; border: 2px solid transparent;
}
button[value="approve"] { background: var(--approved); color: #fff; }
button[value="reject"] { background: transparent; color: var(--rejected); border-color: var(--rejected); }
@media (prefers-color-scheme: dark) { button[value="approve"] { color: #0f1419; } }
button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
@media (max-width: 30rem) {
  dl { grid-template-columns: 1fr; gap: 0; }
  dd { margin-bottom: .5rem; }
  .actions button { flex: 1 1 100%; }
}
`;

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

const stateLabels: Record<ApprovalRecord["state"], string> = {
  pending: "Pending",
  approved: "Approved",
  rejected: "Rejected",
  expired: "Expired",
};

const channelLabels: Record<ApprovalChannel, string> = {
  email: "e-mail link",
  api: "API",
  cli: "CLI",
};

const badge = (tone: Tone, label: string): string =>
  `<span class="badge tone-${tone}">${escapeHtml(label)}</span>`;

const time = (iso: string): string => `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso)}</time>`;

/**
 * "in 3 h", "25 min ago": coarse on purpose, the exact time stands beside it.
 */
const relativeTime = (iso: string, now: Date): string => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "";
  const deltaMs = ms - now.getTime();
  const minutes = Math.round(Math.abs(deltaMs) / millisecondsPerMinute);
  const hours = Math.round(minutes / minutesPerHour);
  const amount =
    minutes < 1
      ? "less than a minute"
      : minutes < minutesPerHour
        ? `${minutes} min`
        : hours < hoursShownBeforeDays
          ? `${hours} h`
          : `${Math.round(hours / hoursPerDay)} d`;
  return deltaMs >= 0 ? `in ${amount}` : `${amount} ago`;
};

/** Whether the request is past its expiry, whatever its stored state says. */
const isPastExpiry = (record: ApprovalRecord, now: Date): boolean =>
  now.getTime() >= Date.parse(record.expiresAt);

const shownState = (record: ApprovalRecord, now?: Date): ApprovalRecord["state"] =>
  record.state === "pending" && now !== undefined && isPastExpiry(record, now) ? "expired" : record.state;

const progressText = (record: ApprovalRecord): string => {
  const { approvals, needed } = approvalProgress(record);
  return `${approvals} of ${needed} approval${needed === 1 ? "" : "s"}`;
};

const imageLabel = (image: { tag?: string; digest: string }): string =>
  `${image.tag === undefined ? "" : `${escapeHtml(image.tag)} `}<code title="${escapeHtml(image.digest)}">${escapeHtml(shortDigest(image.digest))}</code>`;

/** The change as the page names it: "checkout 1.4.2 to production". */
const changeName = (record: ApprovalRecord): string =>
  `${record.service} ${record.to.tag ?? shortDigest(record.to.digest)} to ${record.environment}`;

const isWebLink = (url: string): boolean => /^https?:\/\//i.test(url);

const row = (label: string, valueHtml: string): string =>
  `<dt>${escapeHtml(label)}</dt><dd>${valueHtml}</dd>`;

const summaryCard = (record: ApprovalRecord, now?: Date): string => {
  const rows = [
    row("Service", escapeHtml(record.service)),
    row("Environment", escapeHtml(record.environment)),
    row(
      "Change",
      record.from === undefined
        ? `${imageLabel(record.to)} <span class="muted">(first deploy)</span>`
        : `${imageLabel(record.from)} → ${imageLabel(record.to)}`,
    ),
    row("Digest", `<code class="digest">${escapeHtml(record.to.digest)}</code>`),
    row("Repository", `<code>${escapeHtml(record.to.repository)}</code>`),
  ];
  if (record.changelogUrl !== undefined) {
    rows.push(
      row(
        "Changelog",
        isWebLink(record.changelogUrl)
          ? `<a href="${escapeHtml(record.changelogUrl)}" rel="noopener noreferrer">${escapeHtml(record.changelogUrl)}</a>`
          : escapeHtml(record.changelogUrl),
      ),
    );
  }
  if (record.snapshotId !== undefined) {
    rows.push(row("Snapshot", `<code>${escapeHtml(record.snapshotId)}</code>`));
  }
  rows.push(
    row("Requested by", escapeHtml(record.requestedBy)),
    row("Requested", time(record.requestedAt)),
    row(
      record.state === "pending" ? "Expires" : "Expiry",
      `${time(record.expiresAt)}${now === undefined ? "" : ` <span class="muted">(${escapeHtml(relativeTime(record.expiresAt, now))})</span>`}`,
    ),
  );
  if (record.closedAt !== undefined) rows.push(row("Closed", time(record.closedAt)));
  rows.push(row("Approval", `<code>${escapeHtml(record.id)}</code>`));
  return `<section class="card" aria-labelledby="change-heading">
<h2 id="change-heading">The change</h2>
<dl>${rows.join("\n")}</dl>
</section>`;
};

const decisionItem = (decision: ApprovalDecision): string => {
  const approved = decision.decision === "approve";
  const comment =
    decision.comment === undefined
      ? ""
      : `<blockquote aria-label="Comment">${escapeHtml(decision.comment)}</blockquote>`;
  return `<li><strong>${escapeHtml(decision.approver)}</strong> ${badge(approved ? "approved" : "rejected", approved ? "Approved" : "Rejected")}
<div class="muted">${time(decision.at)} · by ${escapeHtml(channelLabels[decision.channel] ?? decision.channel)}</div>${comment}</li>`;
};

const decisionsCard = (record: ApprovalRecord): string => {
  const list =
    record.decisions.length === 0
      ? `<p class="muted">No decision yet.</p>`
      : `<ol class="decisions">${record.decisions.map(decisionItem).join("\n")}</ol>`;
  return `<section class="card" aria-labelledby="decisions-heading">
<h2 id="decisions-heading">Decisions</h2>
<p><strong>${escapeHtml(progressText(record))}</strong> <span class="muted">· approvers: ${escapeHtml(record.approvers.join(", "))}</span></p>
${list}
</section>`;
};

const header = (input: { eyebrow: string; title: string; tone: Tone; badgeLabel: string; detail?: string }) =>
  `<header>
<p class="eyebrow">${escapeHtml(input.eyebrow)}</p>
<h1>${escapeHtml(input.title)}</h1>
<div class="status">${badge(input.tone, input.badgeLabel)}${input.detail === undefined ? "" : `<span>${escapeHtml(input.detail)}</span>`}</div>
</header>`;

const howToDecide = (
  record: ApprovalRecord,
): string => `<section class="card" aria-labelledby="decide-heading">
<h2 id="decide-heading">How to decide</h2>
<p>Decisions are made from the personal link in the approval e-mail, or with the CLI:</p>
<p><code>switchyard approvals approve ${escapeHtml(record.id)} --as &lt;you&gt;</code><br><code>switchyard approvals reject ${escapeHtml(record.id)} --as &lt;you&gt;</code></p>
</section>`;

const decisionForm = (input: {
  record: ApprovalRecord;
  approver: string;
  linkToken: string;
  decisionUrl: string;
}): string => {
  const { record, approver, linkToken, decisionUrl } = input;
  const earlier = record.decisions.find(
    (d) => d.approver.trim().toLowerCase() === approver.trim().toLowerCase(),
  );
  if (earlier !== undefined) {
    return `<section class="card" aria-labelledby="decide-heading">
<h2 id="decide-heading">Your decision</h2>
<p>You (${escapeHtml(approver)}) already ${earlier.decision === "approve" ? "approved" : "rejected"} this change at ${time(earlier.at)}. A decision is final.</p>
</section>`;
  }
  const requester = isRequester(record, approver);
  const approveButton = requester ? "" : `<button name="decision" value="approve">Approve</button>`;
  const requesterNote = requester
    ? `<p class="muted">You requested this change, so you may reject it but not approve it: another approver must.</p>`
    : "";
  return `<section class="card" aria-labelledby="decide-heading">
<h2 id="decide-heading">Your decision</h2>
<p>You are deciding as <strong>${escapeHtml(approver)}</strong>.</p>
${requesterNote}<form method="post" action="${escapeHtml(decisionUrl)}">
<input type="hidden" name="token" value="${escapeHtml(linkToken)}">
<label for="comment">Comment <span class="muted">(optional)</span></label>
<textarea id="comment" name="comment" rows="3" maxlength="${maxCommentLength}"></textarea>
<div class="actions">${approveButton}<button name="decision" value="reject">Reject</button></div>
</form>
<p class="muted">A decision is final and counts once. This link is personal: do not forward it.</p>
</section>`;
};

const eyebrow = "Switchyard · production approval";

/**
 * The approval request: what changes, who asked, until when, the decisions so far, and, for an approver who came
 * through their personal link while the request is pending, a form posting `token`, `comment` and `decision`
 * (`approve` or `reject`) to `decisionUrl`. Without a link token the page is read-only and says where decisions are
 * made. No script: the form works in any browser.
 *
 * @example
 * renderApprovalPage({ record, approver: "ana@example.com", linkToken: token, decisionUrl: `/approvals/${record.id}/decision`, now: clock.now() });
 */
export const renderApprovalPage = (input: {
  record: ApprovalRecord;
  approver?: string;
  linkToken?: string;
  decisionUrl: string;
  now: Date;
}): string => {
  const { record, approver, linkToken, decisionUrl, now } = input;
  const state = shownState(record, now);
  const tone: Tone = state;
  const detail =
    state === "pending"
      ? `${progressText(record)} · expires ${relativeTime(record.expiresAt, now)}`
      : progressText(record);
  const action =
    state !== "pending"
      ? ""
      : approver !== undefined && linkToken !== undefined
        ? decisionForm({ record, approver, linkToken, decisionUrl })
        : howToDecide(record);
  return page({
    title: `Promote ${changeName(record)}?`,
    tone,
    body: [
      header({
        eyebrow,
        title: `Promote ${changeName(record)}?`,
        tone,
        badgeLabel: stateLabels[state],
        detail,
      }),
      action,
      summaryCard(record, now),
      decisionsCard(record),
    ]
      .filter((part) => part !== "")
      .join("\n"),
  });
};

/**
 * The answer to a decision just taken: "Approved" or "Rejected" when it closed the request, otherwise "Your approval
 * was recorded — 1 of 2", with the request below.
 *
 * @example
 * renderDecisionRecordedPage({ record: updated, vote: { approver, decision: "approve" }, now: clock.now() });
 */
export const renderDecisionRecordedPage = (input: {
  record: ApprovalRecord;
  vote: Pick<ApprovalVote, "approver" | "decision"> & { comment?: string };
  now: Date;
}): string => {
  const { record, vote, now } = input;
  const name = changeName(record);
  const { approvals, needed } = approvalProgress(record);
  const outcome =
    record.state === "approved"
      ? { title: "Approved", detail: `${name} goes ahead.` }
      : record.state === "rejected"
        ? { title: "Rejected", detail: `${name} will not be deployed.` }
        : vote.decision === "approve"
          ? {
              title: `Your approval was recorded — ${approvals} of ${needed}`,
              detail: `${name} waits for more approvals.`,
            }
          : { title: "Your decision was recorded", detail: stateLabels[record.state] };
  const tone: Tone = record.state;
  return page({
    title: outcome.title,
    tone,
    body: [
      header({
        eyebrow,
        title: outcome.title,
        tone,
        badgeLabel: stateLabels[record.state],
        detail: `${outcome.detail} Recorded for ${vote.approver.trim().toLowerCase()}.`,
      }),
      summaryCard(record, now),
      decisionsCard(record),
    ].join("\n"),
  });
};

/**
 * For a request that was already approved or rejected when the link was opened: who decided, and when.
 *
 * @example
 * if (record.state !== "pending") return { statusCode: 409, headers: pageHeaders, body: renderClosedPage({ record }) };
 */
export const renderClosedPage = (input: { record: ApprovalRecord }): string => {
  const { record } = input;
  if (record.state === "expired") return renderExpiredPage({ record, approvalId: record.id });
  const { approvedBy, rejectedBy } = approvalProgress(record);
  const at = record.closedAt === undefined ? "" : ` at ${record.closedAt}`;
  const outcome =
    record.state === "approved"
      ? { title: "Already approved", detail: `Approved by ${approvedBy.join(", ")}${at}.` }
      : record.state === "rejected"
        ? { title: "Already rejected", detail: `Rejected by ${rejectedBy?.approver ?? "an approver"}${at}.` }
        : { title: "Still pending", detail: `Waiting for approvals: ${progressText(record)}.` };
  const closedNote =
    record.state === "pending"
      ? ""
      : `<section class="card"><p>This request is closed: no further decision is needed or accepted.</p></section>`;
  const tone: Tone = record.state;
  return page({
    title: outcome.title,
    tone,
    body: [
      header({
        eyebrow,
        title: outcome.title,
        tone,
        badgeLabel: stateLabels[record.state],
        detail: outcome.detail,
      }),
      closedNote,
      summaryCard(record),
      decisionsCard(record),
    ]
      .filter((part) => part !== "")
      .join("\n"),
  });
};

/**
 * For a request that expired, or that the workflow no longer waits for: nothing can be decided any more.
 *
 * @example
 * renderExpiredPage({ record, approvalId: record.id })
 */
export const renderExpiredPage = (input: { record?: ApprovalRecord; approvalId: string }): string => {
  const { record, approvalId } = input;
  const detail =
    record === undefined
      ? `Approval ${approvalId} can no longer be decided.`
      : `The request expired at ${record.expiresAt}; the change was not deployed.`;
  return page({
    title: "This approval expired",
    tone: "expired",
    body: [
      header({ eyebrow, title: "This approval expired", tone: "expired", badgeLabel: "Expired", detail }),
      `<section class="card"><p>The workflow no longer waits for this approval, so no decision is accepted. To deploy the change, request the promotion again.</p></section>`,
      record === undefined ? "" : summaryCard(record),
      record === undefined ? "" : decisionsCard(record),
    ]
      .filter((part) => part !== "")
      .join("\n"),
  });
};

/**
 * For an approval id that names nothing.
 *
 * @example
 * return { statusCode: 404, headers: pageHeaders, body: renderNotFoundPage(id) };
 */
export const renderNotFoundPage = (approvalId: string): string =>
  page({
    title: "Approval not found",
    tone: "problem",
    body: [
      header({
        eyebrow,
        title: "Approval not found",
        tone: "problem",
        badgeLabel: "Not found",
        detail: `There is no approval ${approvalId}.`,
      }),
      `<section class="card"><p>Check that the address is complete: links in e-mails are sometimes cut in two. <code>switchyard approvals list</code> shows the open requests.</p></section>`,
    ].join("\n"),
  });

/**
 * For a link that does not entitle its holder to decide: malformed, forged, made for another approval or person, or
 * expired. Shows the reason (a `ForbiddenError` message, which never holds the token) and never the token.
 *
 * @example
 * return { statusCode: 403, headers: pageHeaders, body: renderForbiddenPage(error.message) };
 */
export const renderForbiddenPage = (message: string): string =>
  page({
    title: "This link is not valid",
    tone: "problem",
    body: [
      header({
        eyebrow,
        title: "This link is not valid",
        tone: "problem",
        badgeLabel: "Not allowed",
        detail: message,
      }),
      `<section class="card"><p>The link is not valid for this approval or for this person. Approval links are personal and expire: use the link from your own, latest approval e-mail, or decide with <code>switchyard approvals approve &lt;id&gt; --as &lt;you&gt;</code>.</p></section>`,
    ].join("\n"),
  });

// The e-mail that asks one approver to decide a production change through their personal link.

import { identityFromArn } from "./approvals.ts";
import { shortDigest } from "./decide-promotion.ts";
import { ValidationError } from "./errors.ts";
import { escapeHtml } from "./html.ts";
import type { ApprovalRecord, EmailMessage } from "./ports.ts";

/** Line breaks and other control characters in a subject would start a new header, or garble one. */
const controlCharacters = /\p{Cc}+/gu;

const oneLine = (text: string): string => text.replace(controlCharacters, " ").trim();

const imageText = (image: { tag?: string; digest: string }): string =>
  image.tag === undefined ? shortDigest(image.digest) : `${image.tag} (${shortDigest(image.digest)})`;

/** What the request is about, label and value, in the order both bodies list it. */
const summary = (record: ApprovalRecord, requester: string): [string, string][] => [
  ["Service", record.service],
  ["Environment", record.environment],
  [
    "Change",
    record.from === undefined
      ? `${imageText(record.to)} (first deploy)`
      : `${imageText(record.from)} → ${imageText(record.to)}`,
  ],
  ["Digest", record.to.digest],
  ["Repository", record.to.repository],
  ...(record.changelogUrl === undefined ? [] : [["Changelog", record.changelogUrl] as [string, string]]),
  ...(record.snapshotId === undefined ? [] : [["Snapshot", record.snapshotId] as [string, string]]),
  ["Requested by", requester],
  ["Expires", record.expiresAt],
];

const isWebLink = (url: string): boolean => /^https?:\/\//i.test(url);

const cell = "padding:4px 16px 4px 0;vertical-align:top;";

const htmlBody = (input: {
  heading: string;
  rows: [string, string][];
  link: string;
  approver: string;
  record: ApprovalRecord;
}): string => {
  const { heading, rows, link, approver, record } = input;
  const tableRows = rows
    .map(([label, value]) => {
      const shown =
        label === "Changelog" && isWebLink(value)
          ? `<a href="${escapeHtml(value)}">${escapeHtml(value)}</a>`
          : escapeHtml(value);
      return `<tr><td style="${cell}color:#57606a;white-space:nowrap;">${escapeHtml(label)}</td><td style="${cell}word-break:break-all;">${shown}</td></tr>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(heading)}</title></head>
<body style="margin:0;padding:24px 16px;background:#f4f6f8;color:#1c2128;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;">
<div style="max-width:600px;margin:0 auto;background:#ffffff;border:1px solid #d0d7de;border-radius:12px;padding:24px;">
<p style="margin:0;color:#57606a;font-size:14px;">Switchyard · production approval</p>
<h1 style="margin:4px 0 16px;font-size:22px;line-height:1.3;">${escapeHtml(heading)}</h1>
<table role="presentation" style="border-collapse:collapse;font-size:15px;">
${tableRows}
</table>
<p style="margin:24px 0;"><a href="${escapeHtml(link)}" style="display:inline-block;padding:12px 20px;background:#116329;color:#ffffff;text-decoration:none;border-radius:8px;font-weight:600;">Review and decide</a></p>
<p style="font-size:14px;color:#57606a;">Or open this address: <a href="${escapeHtml(link)}" style="word-break:break-all;">${escapeHtml(link)}</a></p>
<p style="font-size:14px;"><strong>This link is personal.</strong> It lets ${escapeHtml(approver)}, and nobody else, approve or reject this change until ${escapeHtml(record.expiresAt)}. Do not forward it.</p>
<p style="font-size:14px;color:#57606a;">You can also decide with <code>switchyard approvals approve ${escapeHtml(record.id)} --as ${escapeHtml(approver)}</code> or <code>switchyard approvals reject ${escapeHtml(record.id)} --as ${escapeHtml(approver)}</code>.</p>
</div>
</body>
</html>
`;
};

/**
 * The request to one approver: a subject that names the change and the requester, and text and HTML bodies with the
 * change, the expiry and the approver's personal link (which must not be forwarded: it decides as them).
 *
 * @example
 * await mailer.send(approvalEmail({ record, approver: "ana@example.com", link: `${baseUrl}/approvals/${record.id}?token=${token}` }));
 * // subject: "Approve checkout 1.4.2 to production? (requested by maria@example.com)"
 */
export const approvalEmail = (input: {
  record: ApprovalRecord;
  approver: string;
  link: string;
}): EmailMessage => {
  const { record, link } = input;
  const approver = input.approver.trim().toLowerCase();
  if (approver === "") throw new ValidationError(`Approval ${record.id}: an e-mail needs an approver`);
  const requester = identityFromArn(record.requestedBy);
  const target = record.to.tag ?? shortDigest(record.to.digest);
  const heading = oneLine(`Approve ${record.service} ${target} to ${record.environment}?`);
  const rows = summary(record, requester);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const text = [
    heading,
    "",
    ...rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`),
    "",
    "Review and decide:",
    link,
    "",
    `This link is personal. It lets ${approver}, and nobody else, approve or reject this change until ${record.expiresAt}. Do not forward it.`,
    "",
    `You can also decide with \`switchyard approvals approve ${record.id} --as ${approver}\` or \`switchyard approvals reject ${record.id} --as ${approver}\`.`,
    "",
  ].join("\n");
  return {
    to: [approver],
    subject: oneLine(`${heading} (requested by ${requester})`),
    text,
    html: htmlBody({ heading, rows, link, approver, record }),
  };
};

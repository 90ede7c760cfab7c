// Approval pages: every value escaped, the decision form only for a pending request opened with a personal link.

import { describe, expect, it } from "vitest";
import {
  escapeHtml,
  pageHeaders,
  renderApprovalPage,
  renderClosedPage,
  renderDecisionRecordedPage,
  renderExpiredPage,
  renderForbiddenPage,
  renderNotFoundPage,
} from "../../functions/web/approval-page.ts";
import { expectEscaped, hostile, approvalRecord as record, toDigest } from "../support/approvals.ts";

const now = new Date("2026-11-28T06:00:00.000Z");
const token = "eyJ2IjoxfQ.c2lnbmF0dXJlLW9mLXRoZS1saW5rLXRva2VuLXRoaXJ0eS10d28";
const decisionUrl = "/approvals/5e0c3c2a-8d4b-5f1e-9a7b-0c1d2e3f4a5b/decision";

const expectDocument = (html: string, title: string): void => {
  expect(html.startsWith("<!doctype html>")).toBe(true);
  expect(html).toContain(`<html lang="en">`);
  expect(html).toContain(`<meta charset="utf-8">`);
  expect(html).toContain(`<meta name="viewport" content="width=device-width, initial-scale=1">`);
  expect(html).toContain(`<title>${title} · Switchyard</title>`);
  expect(html).not.toMatch(/<script|javascript:|\son[a-z]+=/i);
};

const form = { approver: "ana@example.com", linkToken: token, decisionUrl, now };

describe("escapeHtml", () => {
  it.each([
    ["<script>", "&lt;script&gt;"],
    [`"double"`, "&quot;double&quot;"],
    ["'single'", "&#39;single&#39;"],
    ["a & b", "a &amp; b"],
    ["&amp; stays visible", "&amp;amp; stays visible"],
    ["plain text", "plain text"],
  ])("escapes %s", (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });
});

describe("pageHeaders", () => {
  it("forbid caching, framing, referrers and scripts", () => {
    expect(pageHeaders).toEqual({
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
      "content-security-policy":
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    });
  });
});

describe("renderApprovalPage", () => {
  it("shows the change, the requester, the expiry and the progress", () => {
    const html = renderApprovalPage({ record: record(), decisionUrl, now });
    expectDocument(html, "Promote checkout 1.4.2 to production?");
    for (const text of [
      "checkout",
      "production",
      "1.4.1",
      "1.4.2",
      `title="${toDigest}"`,
      "sha256:abababababab",
      `<code class="digest">${toDigest}</code>`,
      "shop/checkout",
      `href="https://github.com/acme/checkout/compare/1.4.1...1.4.2"`,
      "switchyard-orders-20261128T055500Z-pre-change",
      "maria@example.com",
      "2026-11-28T09:00:00.000Z",
      "(in 3 h)",
      "0 of 2 approvals",
    ]) {
      expect(html).toContain(text);
    }
  });

  it("lists the decisions so far with who, what, comment, when and channel", () => {
    const html = renderApprovalPage({
      record: record({
        decisions: [
          {
            approver: "ana@example.com",
            decision: "approve",
            comment: "Looks good",
            at: "2026-11-28T05:58:00.000Z",
            channel: "cli",
          },
        ],
      }),
      decisionUrl,
      now,
    });
    expect(html).toContain("1 of 2 approvals");
    expect(html).toMatch(/ana@example\.com<\/strong> <span class="badge tone-approved">Approved<\/span>/);
    expect(html).toContain("Looks good");
    expect(html).toContain(`<time datetime="2026-11-28T05:58:00.000Z">`);
    expect(html).toContain("by CLI");
  });

  it("offers the form to an approver who came with their link while the request is pending", () => {
    const html = renderApprovalPage({ record: record(), ...form });
    expect(html).toContain(`<form method="post" action="${decisionUrl}">`);
    expect(html).toContain(`<input type="hidden" name="token" value="${token}">`);
    expect(html).toContain(`<textarea id="comment" name="comment"`);
    expect(html).toContain(`<label for="comment">`);
    expect(html).toContain(`<button name="decision" value="approve">Approve</button>`);
    expect(html).toContain(`<button name="decision" value="reject">Reject</button>`);
    expect(html).toContain("You are deciding as <strong>ana@example.com</strong>");
  });

  it.each([
    ["without an approver or token", {}],
    ["with an approver but no token", { approver: "ana@example.com" }],
  ])("is read-only %s, and points to the e-mail and the CLI", (_, extra) => {
    const html = renderApprovalPage({ record: record(), decisionUrl, now, ...extra });
    expect(html).not.toContain("<form");
    expect(html).not.toContain(token);
    expect(html).toContain("personal link in the approval e-mail");
    expect(html).toContain("switchyard approvals approve 5e0c3c2a-8d4b-5f1e-9a7b-0c1d2e3f4a5b");
  });

  it.each([
    ["approved", record({ state: "approved", closedAt: "2026-11-28T05:59:00.000Z" }), now],
    ["rejected", record({ state: "rejected", closedAt: "2026-11-28T05:59:00.000Z" }), now],
    ["expired", record({ state: "expired", closedAt: "2026-11-28T09:00:00.000Z" }), now],
    ["past its expiry though still pending", record(), new Date("2026-11-28T09:30:00.000Z")],
  ])("has no form when the request is %s, even with a token", (_, closed, at) => {
    const html = renderApprovalPage({ ...form, record: closed, now: at });
    expect(html).not.toContain("<form");
    expect(html).not.toContain(token);
  });

  it("tells an approver who already decided instead of offering the form again", () => {
    const html = renderApprovalPage({
      ...form,
      record: record({
        decisions: [
          {
            approver: "ana@example.com",
            decision: "approve",
            at: "2026-11-28T05:58:00.000Z",
            channel: "api",
          },
        ],
      }),
    });
    expect(html).not.toContain("<form");
    expect(html).toContain("already approved this change");
  });

  it("offers the requester only the Reject button", () => {
    const html = renderApprovalPage({
      ...form,
      record: record({ requestedBy: "arn:aws:sts::1:assumed-role/Dev/ana@example.com" }),
    });
    expect(html).toContain(`value="reject">Reject</button>`);
    expect(html).not.toContain(`value="approve">Approve</button>`);
  });

  it("escapes every value it shows", () => {
    const html = renderApprovalPage({
      record: record({
        service: hostile,
        environment: hostile,
        from: { tag: hostile, digest: hostile },
        to: { repository: hostile, tag: hostile, digest: hostile },
        changelogUrl: `https://x.example/${hostile}`,
        snapshotId: hostile,
        requestedBy: hostile,
        approvers: [hostile],
        decisions: [
          { approver: hostile, decision: "reject", comment: hostile, at: now.toISOString(), channel: "api" },
        ],
        id: hostile,
      }),
      approver: hostile,
      linkToken: `${hostile}"><b>`,
      decisionUrl: `/x"${hostile}`,
      now,
    });
    expectEscaped(html);
    expect(html).not.toContain(`"><b>`);
    expect(html).not.toContain(`"/x"`);
  });

  it("links only web changelogs", () => {
    const html = renderApprovalPage({
      record: record({ changelogUrl: "javascript:alert(1)" }),
      decisionUrl,
      now,
    });
    expect(html).not.toContain(`href="javascript:`);
  });
});

describe("renderDecisionRecordedPage", () => {
  const approval = {
    approver: "ana@example.com",
    decision: "approve" as const,
    at: "2026-11-28T05:58:00.000Z",
    channel: "email" as const,
  };

  it("says the approval was recorded and how many more are needed", () => {
    const html = renderDecisionRecordedPage({
      record: record({ decisions: [approval] }),
      vote: { approver: "ana@example.com", decision: "approve" },
      now,
    });
    expectDocument(html, "Your approval was recorded — 1 of 2");
    expect(html).toContain("<h1>Your approval was recorded — 1 of 2</h1>");
    expect(html).not.toContain("<form");
  });

  it.each([
    ["approved", "Approved"],
    ["rejected", "Rejected"],
  ] as const)("says %s when the decision closed the request", (state, heading) => {
    const html = renderDecisionRecordedPage({
      record: record({ state, closedAt: now.toISOString(), decisions: [approval] }),
      vote: { approver: "bob@example.com", decision: state === "approved" ? "approve" : "reject" },
      now,
    });
    expect(html).toContain(`<h1>${heading}</h1>`);
    expect(html).toContain("checkout 1.4.2 to production");
  });
});

describe("renderClosedPage", () => {
  it("says who approved and when", () => {
    const html = renderClosedPage({
      record: record({
        state: "approved",
        closedAt: "2026-11-28T05:59:00.000Z",
        decisions: [
          {
            approver: "ana@example.com",
            decision: "approve",
            at: "2026-11-28T05:58:00.000Z",
            channel: "email",
          },
          {
            approver: "bob@example.com",
            decision: "approve",
            at: "2026-11-28T05:59:00.000Z",
            channel: "cli",
          },
        ],
      }),
    });
    expectDocument(html, "Already approved");
    expect(html).toContain("Approved by ana@example.com, bob@example.com at 2026-11-28T05:59:00.000Z.");
    expect(html).not.toContain("<form");
  });

  it("says who rejected and shows their comment", () => {
    const html = renderClosedPage({
      record: record({
        state: "rejected",
        closedAt: "2026-11-28T05:59:00.000Z",
        decisions: [
          {
            approver: "bob@example.com",
            decision: "reject",
            comment: hostile,
            at: "2026-11-28T05:59:00.000Z",
            channel: "api",
          },
        ],
      }),
    });
    expectDocument(html, "Already rejected");
    expect(html).toContain("Rejected by bob@example.com at 2026-11-28T05:59:00.000Z.");
    expectEscaped(html);
  });
});

describe("renderExpiredPage", () => {
  it("explains that the workflow no longer waits, with the request when known", () => {
    const html = renderExpiredPage({ record: record({ state: "expired" }), approvalId: "ignored" });
    expectDocument(html, "This approval expired");
    expect(html).toContain("The request expired at 2026-11-28T09:00:00.000Z");
    expect(html).toContain("shop/checkout");
  });

  it("names the approval when the record is gone", () => {
    const html = renderExpiredPage({ approvalId: hostile });
    expectDocument(html, "This approval expired");
    expectEscaped(html);
  });
});

describe("renderNotFoundPage", () => {
  it("names the approval, escaped", () => {
    const html = renderNotFoundPage(hostile);
    expectDocument(html, "Approval not found");
    expectEscaped(html);
  });
});

describe("renderForbiddenPage", () => {
  it("says the link is not valid for this approval or person, without echoing a token", () => {
    const html = renderForbiddenPage("The approval link was made for another approval than 5e0c…");
    expectDocument(html, "This link is not valid");
    expect(html).toContain("not valid for this approval or for this person");
    expect(html).toContain("made for another approval");
    expect(html).not.toContain(token);
    expect(html).not.toContain("<form");
  });

  it("escapes the message", () => {
    expectEscaped(renderForbiddenPage(hostile));
  });
});

// Approval fixtures shared by the e-mail and page tests: one request, and a value that must come out escaped.

import { expect } from "vitest";
import type { ApprovalRecord } from "../../functions/core/ports.ts";

/** The digest the request promotes. */
export const toDigest = `sha256:${"ab".repeat(32)}`;

/** A pending request for two approvals, every optional field set. */
export const approvalRecord = (overrides: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: "5e0c3c2a-8d4b-5f1e-9a7b-0c1d2e3f4a5b",
  promotionId: "promotion-1",
  service: "checkout",
  environment: "production",
  from: { tag: "1.4.1", digest: `sha256:${"cd".repeat(32)}` },
  to: { repository: "shop/checkout", tag: "1.4.2", digest: toDigest },
  changelogUrl: "https://github.com/acme/checkout/compare/1.4.1...1.4.2",
  snapshotId: "switchyard-orders-20261128T055500Z-pre-change",
  requestedBy: "maria@example.com",
  approvers: ["ana@example.com", "bob@example.com"],
  minApprovals: 2,
  requestedAt: "2026-11-28T05:55:00.000Z",
  expiresAt: "2026-11-28T09:00:00.000Z",
  decisions: [],
  state: "pending",
  version: 1,
  ...overrides,
});

/** A value that breaks out of HTML unless escaped. */
export const hostile = `<script>alert("x")</script>&'`;

/** The escaped hostile value, and proof the raw one never made it into the page. */
export const expectEscaped = (html: string): void => {
  expect(html).not.toContain("<script");
  expect(html).not.toContain(`alert("x")`);
  expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
};

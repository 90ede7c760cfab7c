// The approval e-mail: one approver, a subject naming the change, the personal link in both bodies, HTML escaped.

import { describe, expect, it } from "vitest";
import { approvalEmail } from "../../functions/core/approval-email.ts";
import { expectEscaped, hostile, approvalRecord as record, toDigest } from "../support/approvals.ts";

const token = "eyJ2IjoxfQ.c2lnbmF0dXJlLW9mLXRoZS1saW5rLXRva2VuLXRoaXJ0eS10d28";

describe("approvalEmail", () => {
  const link = `https://switchyard.example.com/approvals/5e0c3c2a-8d4b-5f1e-9a7b-0c1d2e3f4a5b?token=${token}`;

  it("asks one approver, naming the change and the requester", () => {
    const message = approvalEmail({
      record: record({ requestedBy: "arn:aws:sts::1:assumed-role/Dev/Maria@example.com" }),
      approver: " Ana@Example.com",
      link,
    });
    expect(message.to).toEqual(["ana@example.com"]);
    expect(message.subject).toBe("Approve checkout 1.4.2 to production? (requested by maria@example.com)");
  });

  it("carries the summary, the expiry and the personal link in both bodies", () => {
    const message = approvalEmail({ record: record(), approver: "ana@example.com", link });
    for (const body of [message.text, message.html]) {
      expect(body).toContain("1.4.1 (sha256:cdcdcdcdcdcd) → 1.4.2 (sha256:abababababab)");
      expect(body).toContain(toDigest);
      expect(body).toContain("shop/checkout");
      expect(body).toContain("2026-11-28T09:00:00.000Z");
      expect(body).toContain("switchyard-orders-20261128T055500Z-pre-change");
      expect(body).toMatch(/personal/);
      expect(body).toMatch(/Do not forward it/);
    }
    expect(message.text).toContain(link);
    expect(message.html).toContain(`href="${link}"`);
  });

  it("escapes the HTML body and keeps the subject on one line", () => {
    const message = approvalEmail({
      record: record({ service: `${hostile}\r\nBcc: x@evil.example`, requestedBy: hostile }),
      approver: "ana@example.com",
      link: `${link}"${hostile}`,
    });
    expectEscaped(message.html);
    expect(message.subject).not.toMatch(/[\r\n]/);
  });

  it("names a digest-only change by its short digest", () => {
    const message = approvalEmail({
      record: record({ to: { repository: "shop/checkout", digest: toDigest } }),
      approver: "ana@example.com",
      link,
    });
    expect(message.subject).toBe(
      "Approve checkout sha256:abababababab to production? (requested by maria@example.com)",
    );
  });
});

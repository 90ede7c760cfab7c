// Approval rules: four eyes, one vote per approver whatever the channel, a quorum of distinct approvers, expiry.

import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type ApprovalVote,
  approvalId,
  approvalProgress,
  decide,
  expire,
  identityFromArn,
  isRequester,
  maxCommentLength,
} from "../../functions/core/approvals.ts";
import { ConflictError, ValidationError } from "../../functions/core/errors.ts";
import { ForbiddenError, GoneError } from "../../functions/core/http-errors.ts";
import type { ApprovalRecord } from "../../functions/core/ports.ts";

const now = new Date("2026-11-28T08:00:00.000Z");
const later = new Date("2026-11-28T08:05:00.000Z");

const pending = (overrides: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: "5e0c3c2a-8d4b-5f1e-9a7b-0c1d2e3f4a5b",
  promotionId: "promotion-1",
  service: "checkout",
  environment: "production",
  from: { tag: "1.4.1", digest: `sha256:${"1".repeat(64)}` },
  to: { repository: "checkout", tag: "1.4.2", digest: `sha256:${"2".repeat(64)}` },
  requestedBy: "maria@example.com",
  approvers: ["ana@example.com", "Bob@Example.com", "maria@example.com", "carl@example.com"],
  minApprovals: 2,
  requestedAt: "2026-11-28T07:00:00.000Z",
  expiresAt: "2026-11-28T09:00:00.000Z",
  decisions: [],
  state: "pending",
  version: 3,
  ...overrides,
});

const approve = (approver: string, channel: ApprovalVote["channel"] = "email"): ApprovalVote => ({
  approver,
  decision: "approve",
  channel,
});
const reject = (approver: string, comment?: string): ApprovalVote => ({
  approver,
  decision: "reject",
  channel: "api",
  ...(comment !== undefined && { comment }),
});

describe("decide", () => {
  it("keeps a request pending after the first of two approvals, and keeps its version", () => {
    const next = decide(pending(), approve("ana@example.com"), now);
    expect(next.state).toBe("pending");
    expect(next.closedAt).toBeUndefined();
    expect(next.version).toBe(3);
    expect(next.decisions).toEqual([
      { approver: "ana@example.com", decision: "approve", at: now.toISOString(), channel: "email" },
    ]);
  });

  it("approves once two distinct approvers approved", () => {
    const first = decide(pending(), approve("ana@example.com"), now);
    const second = decide(first, approve("bob@example.com", "cli"), later);
    expect(second.state).toBe("approved");
    expect(second.closedAt).toBe(later.toISOString());
    expect(second.decisions.map((d) => [d.approver, d.channel])).toEqual([
      ["ana@example.com", "email"],
      ["bob@example.com", "cli"],
    ]);
  });

  it("approves on the first approval when one is needed", () => {
    expect(decide(pending({ minApprovals: 1 }), approve("ana@example.com"), now).state).toBe("approved");
  });

  it("rejects on one rejection, even after an approval", () => {
    const first = decide(pending(), approve("ana@example.com"), now);
    const next = decide(first, reject("bob@example.com", "  not during the sale  "), later);
    expect(next.state).toBe("rejected");
    expect(next.closedAt).toBe(later.toISOString());
    expect(next.decisions[1]).toEqual({
      approver: "bob@example.com",
      decision: "reject",
      comment: "not during the sale",
      at: later.toISOString(),
      channel: "api",
    });
  });

  it("does not change the record it was given", () => {
    const record = pending();
    decide(record, approve("ana@example.com"), now);
    expect(record).toEqual(pending());
  });

  it.each([
    ["the same address", "maria@example.com"],
    ["another case and blanks", "  Maria@Example.COM "],
    ["an assumed-role ARN", "arn:aws:sts::123456789012:assumed-role/Dev/Maria@example.com"],
    ["an IAM user ARN", "arn:aws:iam::123456789012:user/engineers/maria@example.com"],
  ])("refuses a requester approving their own change (requestedBy as %s)", (_, requestedBy) => {
    const error = (() => {
      try {
        decide(pending({ requestedBy }), approve("maria@example.com"), now);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as Error).message).toBe("maria@example.com requested this change and cannot approve it");
  });

  it("lets the requester reject their own change", () => {
    const next = decide(pending(), reject("maria@example.com", "wrong build"), now);
    expect(next.state).toBe("rejected");
  });

  it("refuses someone who is not an approver", () => {
    expect(() => decide(pending(), approve("mallory@example.com"), now)).toThrow(ForbiddenError);
    expect(() => decide(pending(), approve("  "), now)).toThrow(ForbiddenError);
  });

  it("matches approvers case-insensitively and records them lower-cased", () => {
    const next = decide(pending(), approve("  BOB@example.COM "), now);
    expect(next.decisions[0]?.approver).toBe("bob@example.com");
  });

  it.each([
    ["by e-mail, then e-mail", "email", "email"],
    ["by e-mail, then the CLI", "email", "cli"],
    ["by the API, then e-mail", "api", "email"],
  ] as const)("refuses a second decision by the same approver %s", (_, firstChannel, secondChannel) => {
    const first = decide(pending({ minApprovals: 3 }), approve("ana@example.com", firstChannel), now);
    expect(() => decide(first, approve("ANA@example.com", secondChannel), later)).toThrow(
      new ConflictError(
        `ana@example.com already decided (approve) on approval ${first.id} at ${now.toISOString()} by ${firstChannel}`,
      ),
    );
    expect(() => decide(first, { ...reject("ana@example.com"), channel: secondChannel }, later)).toThrow(
      ConflictError,
    );
  });

  it("counts distinct approvers, not decisions, towards the quorum", () => {
    const record = pending({
      decisions: [
        { approver: "ana@example.com", decision: "approve", at: now.toISOString(), channel: "email" },
        { approver: "ANA@example.com", decision: "approve", at: now.toISOString(), channel: "cli" },
      ],
    });
    expect(approvalProgress(record).approvals).toBe(1);
    expect(decide(record, approve("carl@example.com"), later).state).toBe("approved");
  });

  it.each([
    ["its state is expired", pending({ state: "expired" }), now],
    ["now is its expiry", pending(), new Date("2026-11-28T09:00:00.000Z")],
    ["now is past its expiry", pending(), new Date("2026-11-28T10:00:00.000Z")],
  ])("answers Gone when %s", (_, record, at) => {
    expect(() => decide(record, approve("ana@example.com"), at)).toThrow(
      new GoneError(`Approval ${record.id} expired at ${record.expiresAt}`),
    );
  });

  it.each(["approved", "rejected"] as const)("refuses any decision on a request already %s", (state) => {
    const record = pending({ state, closedAt: now.toISOString() });
    expect(() => decide(record, approve("carl@example.com"), later)).toThrow(
      new ConflictError(`Approval ${record.id} is already ${state}`),
    );
  });

  it("omits a blank comment and keeps one of the maximum length", () => {
    expect(
      decide(pending(), { ...approve("ana@example.com"), comment: "   " }, now).decisions[0],
    ).not.toHaveProperty("comment");
    const longest = "é".repeat(maxCommentLength);
    expect(
      decide(pending(), { ...approve("ana@example.com"), comment: longest }, now).decisions[0]?.comment,
    ).toBe(longest);
  });

  it("refuses a comment longer than the maximum", () => {
    expect(() =>
      decide(pending(), { ...approve("ana@example.com"), comment: "x".repeat(maxCommentLength + 1) }, now),
    ).toThrow(ValidationError);
  });
});

describe("expire", () => {
  it("closes a pending request as expired", () => {
    expect(expire(pending(), later)).toMatchObject({
      state: "expired",
      closedAt: later.toISOString(),
      version: 3,
    });
  });

  it.each(["approved", "rejected", "expired"] as const)("returns a request already %s unchanged", (state) => {
    const record = pending({ state, closedAt: now.toISOString() });
    expect(expire(record, later)).toBe(record);
  });
});

describe("approvalProgress", () => {
  it("counts approvals against the quorum and names who approved and who rejected", () => {
    const record = pending({
      decisions: [
        { approver: "ana@example.com", decision: "approve", at: now.toISOString(), channel: "email" },
        {
          approver: "bob@example.com",
          decision: "reject",
          comment: "no",
          at: later.toISOString(),
          channel: "cli",
        },
      ],
    });
    expect(approvalProgress(record)).toEqual({
      approvals: 1,
      needed: 2,
      approvedBy: ["ana@example.com"],
      rejectedBy: { approver: "bob@example.com", comment: "no" },
    });
  });

  it("has no rejectedBy while nobody rejected", () => {
    expect(approvalProgress(pending())).toEqual({ approvals: 0, needed: 2, approvedBy: [] });
  });
});

describe("identityFromArn", () => {
  it.each([
    ["arn:aws:sts::123456789012:assumed-role/Dev/Maria@Example.com", "maria@example.com"],
    ["arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b2c/ana@example.com", "ana@example.com"],
    ["arn:aws:iam::123456789012:user/ops/team/Bob@example.com", "bob@example.com"],
    ["arn:aws:iam::123456789012:user/carl", "carl"],
    ["arn:aws-us-gov:sts::123456789012:federated-user/dana", "dana"],
    ["arn:aws:iam::123456789012:root", "root"],
    ["  Ana@Example.com ", "ana@example.com"],
    ["ci-bot", "ci-bot"],
  ])("reads %s as %s", (input, identity) => {
    expect(identityFromArn(input)).toBe(identity);
  });
});

describe("isRequester", () => {
  it("recognises the requester behind an ARN, whatever the case", () => {
    const record = { requestedBy: "arn:aws:sts::1:assumed-role/Dev/maria@x.com" };
    expect(isRequester(record, "Maria@X.com")).toBe(true);
    expect(isRequester(record, "ana@x.com")).toBe(false);
  });
});

describe("approvalId", () => {
  it("is a valid version 5 UUID", () => {
    const id = approvalId("0b6f3c1e-promotion");
    expect(z.uuid().safeParse(id).success).toBe(true);
    expect(id[14]).toBe("5");
    expect(["8", "9", "a", "b"]).toContain(id[19]);
  });

  it("is the same for the same promotion and differs between promotions", () => {
    expect(approvalId("promotion-1")).toBe(approvalId("promotion-1"));
    expect(approvalId("promotion-1")).not.toBe(approvalId("promotion-2"));
  });

  it("refuses an empty promotion id", () => {
    expect(() => approvalId(" ")).toThrow(ValidationError);
  });
});

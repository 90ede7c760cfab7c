// Reads the local runtime's outbox: the approval e-mails it wrote, with their personal links.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface OutboxMail {
  file: string;
  to: string;
  subject: string;
  /** The message with quoted-printable soft breaks and escapes undone. */
  text: string;
  /** Every approval link in the message. */
  links: string[];
}

const decodeQuotedPrintable = (text: string): string =>
  Buffer.from(
    text
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    "latin1",
  ).toString("utf8");

/** The e-mails in `<home>/outbox`, oldest first. */
export const readOutbox = (home: string): OutboxMail[] => {
  const dir = join(home, "outbox");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".eml"))
    .sort()
    .map((name) => {
      const raw = readFileSync(join(dir, name), "utf8");
      const text = decodeQuotedPrintable(raw);
      return {
        file: join(dir, name),
        to: /^To: (.+)$/m.exec(raw)?.[1]?.trim() ?? "",
        subject: /^Subject: (.+)$/m.exec(raw)?.[1]?.trim() ?? "",
        text,
        links: [
          ...new Set(
            text.match(/https?:\/\/[^\s"<>]+\/approvals\/[0-9a-f-]{36}\?token=[A-Za-z0-9._~%-]+/g) ?? [],
          ),
        ],
      };
    });
};

/** The personal approval link e-mailed to `approver` for `approvalId`. */
export const linkFor = (home: string, approver: string, approvalId: string): string | undefined =>
  readOutbox(home)
    .filter((mail) => mail.to.includes(approver))
    .flatMap((mail) => mail.links)
    .find((link) => link.includes(`/approvals/${approvalId}?`));

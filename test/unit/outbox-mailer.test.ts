// The outbox mailer: one well-formed RFC 5322 multipart message per send, written whole or not at all.

import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/core/errors.ts";
import type { Clock, EmailMessage, IdGenerator } from "../../functions/core/ports.ts";
import { encodeHeader, encodeQuotedPrintable, OutboxMailer } from "../../local/adapters/outbox-mailer.ts";

const clock: Clock = { now: () => new Date("2026-11-28T06:00:00.123Z") };
const sequentialIds = (): IdGenerator => {
  let n = 0;
  return { next: () => `0b6f3c1e-0000-4000-8000-00000000000${++n}` };
};

const message: EmailMessage = {
  to: ["ana@example.com"],
  subject: "Approve checkout 1.4.2 to production? (requested by maria@example.com)",
  text: "Approve checkout 1.4.2?\n\nReview and decide:\nhttps://switchyard.example.com/approvals/5e0c?token=abc.def\n",
  html: `<!doctype html>\n<p style="margin:0">Approve <b>checkout</b> 1.4.2 → production? ${"x".repeat(200)}</p>\n`,
};

/** Reverses quoted-printable: soft line breaks go, `=XX` become bytes, hard breaks stay CRLF. */
const decodeQuotedPrintable = (encoded: string): string =>
  Buffer.from(
    encoded
      .replace(/=\r\n/g, "")
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    "latin1",
  ).toString("utf8");

/** Reverses RFC 2047 base64 encoded words after unfolding. */
const decodeHeaderValue = (value: string): string => {
  const unfolded = value.replace(/\r\n(?=[ \t])/g, "");
  return unfolded.includes("=?UTF-8?B?")
    ? unfolded
        .split(" ")
        .map((word) => /^=\?UTF-8\?B\?(.*)\?=$/.exec(word)?.[1] ?? "")
        .map((b64) => Buffer.from(b64, "base64"))
        .reduce((all, bytes) => Buffer.concat([all, bytes]), Buffer.alloc(0))
        .toString("utf8")
    : unfolded;
};

interface ParsedMessage {
  raw: string;
  headers: Map<string, string>;
  parts: { headers: string; body: string }[];
}

const parse = (raw: string): ParsedMessage => {
  const [head, ...rest] = raw.split("\r\n\r\n");
  const headers = new Map<string, string>();
  for (const field of head!.split(/\r\n(?![ \t])/)) {
    const colon = field.indexOf(":");
    // Unfolding (RFC 5322 §2.2.3) removes the CRLF before folding whitespace and keeps the whitespace.
    headers.set(
      field.slice(0, colon).toLowerCase(),
      field
        .slice(colon + 1)
        .replace(/\r\n(?=[ \t])/g, "")
        .trim(),
    );
  }
  const boundary = /boundary="([^"]+)"/.exec(headers.get("content-type") ?? "")?.[1];
  const body = rest.join("\r\n\r\n");
  const sections = body.split(`--${boundary}`);
  expect(sections.at(-1)).toBe("--\r\n");
  const parts = sections.slice(1, -1).map((section) => {
    const [partHeaders, ...partBody] = section.replace(/^\r\n/, "").split("\r\n\r\n");
    return { headers: partHeaders!, body: partBody.join("\r\n\r\n").replace(/\r\n$/, "") };
  });
  return { raw, headers, parts };
};

describe("OutboxMailer", () => {
  let dir: string;

  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "switchyard-outbox-")), "outbox");
  });

  afterEach(async () => {
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  const send = async (input: EmailMessage = message, from = "Switchyard <switchyard@example.com>") => {
    const mailer = new OutboxMailer({ dir, from, clock, ids: sequentialIds() });
    const result = await mailer.send(input);
    const files = await readdir(dir);
    return { result, files, raw: await readFile(join(dir, files[0]!), "utf8") };
  };

  it("writes <UTC timestamp>-<id>.eml in a directory it creates, and answers with the Message-ID", async () => {
    const { result, files } = await send();
    expect(files).toEqual(["20261128T060000.123Z-0b6f3c1e-0000-4000-8000-000000000001.eml"]);
    expect(result).toEqual({ messageId: "<0b6f3c1e-0000-4000-8000-000000000001@example.com>" });
  });

  it("writes the headers RFC 5322 asks for", async () => {
    const { headers } = parse((await send()).raw);
    expect(headers.get("from")).toBe("Switchyard <switchyard@example.com>");
    expect(headers.get("to")).toBe("ana@example.com");
    expect(headers.get("subject")).toBe(message.subject);
    expect(headers.get("date")).toBe("Sat, 28 Nov 2026 06:00:00 +0000");
    expect(headers.get("message-id")).toBe("<0b6f3c1e-0000-4000-8000-000000000001@example.com>");
    expect(headers.get("mime-version")).toBe("1.0");
    expect(headers.get("content-type")).toMatch(/^multipart\/alternative; boundary="=_switchyard_[^"]+"$/);
  });

  it("carries the text and HTML bodies as quoted-printable parts that decode to what was sent", async () => {
    const { parts } = parse((await send()).raw);
    expect(parts.map((part) => part.headers)).toEqual([
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable",
      "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable",
    ]);
    expect(decodeQuotedPrintable(parts[0]!.body)).toBe(message.text.replace(/\n/g, "\r\n"));
    expect(decodeQuotedPrintable(parts[1]!.body)).toBe(message.html.replace(/\n/g, "\r\n"));
  });

  it("uses CRLF line endings only, ASCII only, and lines of at most 78 characters", async () => {
    const { raw } = await send({ ...message, subject: `Déployer checkout ${"→ ".repeat(40)}?` });
    expect(raw).not.toMatch(/[^\r]\n/);
    expect(raw).not.toMatch(/\r(?!\n)/);
    expect(raw).toMatch(/^[\x20-\x7e\r\n]*$/);
    for (const line of raw.split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
  });

  it("encodes a non-ASCII subject per RFC 2047", async () => {
    const subject = "Déployer checkout 1.4.2 en production ? (demandé par maría@example.com) 🚀";
    const { headers, raw } = parse((await send({ ...message, subject })).raw);
    expect(raw).toContain("Subject: =?UTF-8?B?");
    expect(decodeHeaderValue(headers.get("subject")!)).toBe(subject);
  });

  it("puts every recipient of one message in one file", async () => {
    const to = ["ana@example.com", "bob@example.com", "carl.longname+approvals@platform.example.com"];
    const { files, raw } = await send({ ...message, to });
    expect(files).toHaveLength(1);
    expect(parse(raw).headers.get("to")).toBe(to.join(", "));
  });

  it("writes a file per message", async () => {
    const mailer = new OutboxMailer({ dir, from: "switchyard@example.com", clock, ids: sequentialIds() });
    await mailer.send(message);
    await mailer.send(message);
    expect((await readdir(dir)).sort()).toEqual([
      "20261128T060000.123Z-0b6f3c1e-0000-4000-8000-000000000001.eml",
      "20261128T060000.123Z-0b6f3c1e-0000-4000-8000-000000000002.eml",
    ]);
  });

  it("leaves no partial or temporary file when the write fails", async () => {
    // The message's final name is taken by a directory, so the rename fails after the temporary file was written.
    const name = "20261128T060000.123Z-0b6f3c1e-0000-4000-8000-000000000001.eml";
    await mkdir(join(dir, name, "occupied"), { recursive: true });
    const mailer = new OutboxMailer({ dir, from: "switchyard@example.com", clock, ids: sequentialIds() });
    await expect(mailer.send(message)).rejects.toThrow();
    expect(await readdir(dir)).toEqual([name]);
  });

  it.each([
    ["no recipient", { ...message, to: [] }],
    ["a recipient with a line break", { ...message, to: ["ana@example.com\r\nBcc: x@evil.example"] }],
    ["a recipient that is not an address", { ...message, to: ["ana"] }],
  ])("refuses a message with %s", async (_, input) => {
    const mailer = new OutboxMailer({ dir, from: "switchyard@example.com", clock, ids: sequentialIds() });
    await expect(mailer.send(input)).rejects.toThrow(ValidationError);
  });

  it("keeps a subject on one header, whatever line breaks it holds", async () => {
    const { raw } = await send({ ...message, subject: "Approve?\r\nBcc: x@evil.example" });
    expect(raw).not.toMatch(/^Bcc:/m);
    expect(parse(raw).headers.get("subject")).toBe("Approve? Bcc: x@evil.example");
  });

  it.each([
    "not an address",
    "Switchyard <switchyard@example.com>\r\nBcc: x@evil.example",
    "Swïtchyard <s@example.com>",
  ])("refuses the sender %j", (from) => {
    expect(() => new OutboxMailer({ dir, from, clock, ids: sequentialIds() })).toThrow(ValidationError);
  });

  // A second, independent reader: Python's standard RFC 5322 / MIME parser (python3 is part of the toolchain).
  it("writes messages Python's e-mail parser reads back", async () => {
    const subject = "Déployer checkout 1.4.2 ? 🚀";
    const { files } = await send({ ...message, subject });
    const script = join(dir, "..", "read.py");
    await writeFile(
      script,
      [
        "import sys, json, email, email.policy",
        "m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)",
        "body = lambda kind: m.get_body((kind,)).get_content().replace('\\r\\n', '\\n')",
        "print(json.dumps({'subject': str(m['subject']), 'to': str(m['to']), 'defects': len(m.defects),",
        "  'text': body('plain'), 'html': body('html')}))",
      ].join("\n"),
    );
    const output = execFileSync("python3", [script, join(dir, files[0]!)], { encoding: "utf8" });
    expect(JSON.parse(output)).toEqual({
      subject,
      to: "ana@example.com",
      defects: 0,
      text: message.text,
      html: message.html,
    });
  });
});

describe("encodeQuotedPrintable", () => {
  it.each([
    ["plain ASCII", "Hello, world", "Hello, world"],
    ["an equals sign", "a = b", "a =3D b"],
    ["UTF-8", "Café →", "Caf=C3=A9 =E2=86=92"],
    ["trailing whitespace", "end \nnext\t", "end=20\r\nnext=09"],
    ["LF and CRLF line breaks", "a\nb\r\nc", "a\r\nb\r\nc"],
  ])("encodes %s", (_, input, expected) => {
    expect(encodeQuotedPrintable(input)).toBe(expected);
  });

  it("breaks long lines with soft breaks, never inside an =XX", () => {
    const encoded = encodeQuotedPrintable("é".repeat(100));
    for (const line of encoded.split("\r\n")) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line).toMatch(/^(=[0-9A-F]{2})*=?$/);
    }
    expect(decodeQuotedPrintable(encoded)).toBe("é".repeat(100));
  });
});

describe("encodeHeader", () => {
  it("keeps printable ASCII as it is", () => {
    expect(encodeHeader("Subject", "Approve checkout 1.4.2?")).toBe("Subject: Approve checkout 1.4.2?");
  });

  it("never splits a character across encoded words", () => {
    const value = "🚀".repeat(30);
    const header = encodeHeader("Subject", value);
    expect(decodeHeaderValue(header.slice("Subject: ".length))).toBe(value);
  });
});

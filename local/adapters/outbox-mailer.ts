// The local Mailer: every message becomes an RFC 5322 `.eml` file in the outbox, for a person or a test to open.

import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ValidationError } from "../../functions/core/errors.ts";
import type { Clock, EmailMessage, IdGenerator, Mailer } from "../../functions/core/ports.ts";

const crlf = "\r\n";
/** RFC 2045: encoded lines are at most 76 characters, the soft line break's `=` included. */
const maxQuotedPrintableLineLength = 76;
/** RFC 5322 asks header lines to stay within 78 characters (998 at most). */
const maxHeaderLineLength = 78;
const maxHeaderLineHardLength = 998;
/** Bytes per RFC 2047 encoded word: 39 bytes are 52 base64 characters, so `Subject: =?UTF-8?B?…?=` fits in 78. */
const encodedWordBytes = 39;
const printableAscii = /^[\x20-\x7e]*$/;
/** An addr-spec without comments or quoting: what switchyard.yaml lists. Anything else is refused, never mangled. */
const addressPattern = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
/** `Name <address>` or a bare address, printable ASCII only. */
const fromPattern = /^(?:[\x20-\x7e]*<([^<>\s]+)>|([^<>\s]+))$/;
/** Characters an id may bring into a file name and a Message-ID. */
const unsafeIdCharacters = /[^A-Za-z0-9._-]/g;

const hex = (byte: number): string => `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;

/**
 * Quoted-printable (RFC 2045 §6.7) of UTF-8 text, CRLF line endings: printable ASCII stays readable, everything else
 * and `=` become `=XX`, whitespace at a line's end is encoded so no transport can strip it, and long lines are
 * broken with soft line breaks that never split an `=XX`.
 *
 * @example
 * encodeQuotedPrintable("Café = 1\n") // "Caf=C3=A9 =3D 1\r\n"
 */
export const encodeQuotedPrintable = (text: string): string =>
  text
    .split(/\r\n|\r|\n/)
    .map((line) => {
      const bytes = Buffer.from(line, "utf8");
      const tokens = [...bytes].map((byte, index) => {
        const isLast = index === bytes.length - 1;
        if ((byte === 0x20 || byte === 0x09) && !isLast) return String.fromCharCode(byte);
        if (byte >= 0x21 && byte <= 0x7e && byte !== 0x3d) return String.fromCharCode(byte);
        return hex(byte);
      });
      const lines: string[] = [];
      let current = "";
      for (const token of tokens) {
        // Room for the soft break's `=` stays on every line but the last.
        if (current.length + token.length > maxQuotedPrintableLineLength - 1) {
          lines.push(`${current}=`);
          current = "";
        }
        current += token;
      }
      lines.push(current);
      return lines.join(crlf);
    })
    .join(crlf);

/** Splits text into pieces of at most `maxBytes` UTF-8 bytes, never inside a character. */
const utf8Chunks = (text: string, maxBytes: number): string[] => {
  const chunks: string[] = [];
  let current = "";
  for (const char of text) {
    if (Buffer.byteLength(current + char, "utf8") > maxBytes && current !== "") {
      chunks.push(current);
      current = "";
    }
    current += char;
  }
  if (current !== "") chunks.push(current);
  return chunks;
};

/** Folds a printable-ASCII header at spaces so lines stay within 78 characters where a space allows. */
const foldAscii = (name: string, value: string, separator = " "): string => {
  const words = value.split(separator);
  const lines: string[] = [];
  let current = `${name}:`;
  for (const [index, word] of words.entries()) {
    const glue = index === 0 ? " " : separator;
    if (index > 0 && current.length + glue.length + word.length > maxHeaderLineLength) {
      lines.push(`${current}${separator.trimEnd()}`);
      current = ` ${word}`;
    } else {
      current += `${glue}${word}`;
    }
  }
  lines.push(current);
  if (lines.some((line) => line.length > maxHeaderLineHardLength)) {
    throw new ValidationError(
      `The ${name} header has a word longer than ${maxHeaderLineHardLength} characters`,
    );
  }
  return lines.join(crlf);
};

/**
 * An unstructured header (RFC 5322 §2.2.3) with its value: printable ASCII as it is (folded), anything else as RFC
 * 2047 base64 encoded words, one per folded line. Line breaks in the value are turned into spaces, so a value can
 * never start a header of its own.
 *
 * @example
 * encodeHeader("Subject", "Approve checkout 1.4.2?") // "Subject: Approve checkout 1.4.2?"
 * encodeHeader("Subject", "Déployer ?") // "Subject: =?UTF-8?B?RMOpcGxveWVyID8=?="
 */
export const encodeHeader = (name: string, value: string): string => {
  const flat = value.replace(/\r\n|\r|\n/g, " ");
  if (printableAscii.test(flat)) return foldAscii(name, flat);
  const words = utf8Chunks(flat, encodedWordBytes).map(
    (chunk) => `=?UTF-8?B?${Buffer.from(chunk, "utf8").toString("base64")}?=`,
  );
  return `${name}: ${words.join(`${crlf} `)}`;
};

/** RFC 5322 §3.3: `Tue, 01 Jul 2025 12:00:00 +0000`. */
const rfc5322Date = (date: Date): string => date.toUTCString().replace(/GMT$/, "+0000");

/** A file name part that sorts by time: `20250701T120000.123Z`. */
const fileTimestamp = (date: Date): string => date.toISOString().replace(/[-:]/g, "");

export interface OutboxMailerOptions {
  /** The outbox directory; created on first send. */
  dir: string;
  /** `switchyard@example.com` or `Switchyard <switchyard@example.com>`, printable ASCII. */
  from: string;
  clock: Clock;
  ids: IdGenerator;
}

/**
 * Writes each message, with every recipient in `To`, to `<dir>/<UTC timestamp>-<id>.eml`: RFC 5322 headers (From,
 * To, Subject encoded per RFC 2047 when not ASCII, Date, Message-ID, MIME-Version) and a multipart/alternative body
 * with the text and HTML parts in quoted-printable, CRLF line endings throughout. Each file is written under a
 * temporary name and renamed, so a reader never sees half a message. Resolves with the Message-ID.
 *
 * @example
 * const mailer = new OutboxMailer({ dir: join(home, "outbox"), from: "switchyard@localhost", clock, ids });
 * const { messageId } = await mailer.send(approvalEmail({ record, approver, link }));
 */
export class OutboxMailer implements Mailer {
  private readonly dir: string;
  private readonly from: string;
  private readonly domain: string;
  private readonly clock: Clock;
  private readonly ids: IdGenerator;

  constructor(options: OutboxMailerOptions) {
    const match = fromPattern.exec(options.from.trim());
    const address = match?.[1] ?? match?.[2];
    if (address === undefined || !addressPattern.test(address)) {
      throw new ValidationError(
        `The sender "${options.from}" is not an e-mail address, with or without a name`,
      );
    }
    this.dir = options.dir;
    this.from = options.from.trim();
    this.domain = address.slice(address.lastIndexOf("@") + 1);
    this.clock = options.clock;
    this.ids = options.ids;
  }

  async send(message: EmailMessage): Promise<{ messageId: string }> {
    if (message.to.length === 0) throw new ValidationError("An e-mail needs at least one recipient");
    const invalid = message.to.filter((address) => !addressPattern.test(address));
    if (invalid.length > 0) {
      throw new ValidationError(`Not e-mail addresses: ${invalid.map((a) => JSON.stringify(a)).join(", ")}`);
    }
    const now = this.clock.now();
    const id = this.ids.next().replace(unsafeIdCharacters, "");
    if (id === "") throw new ValidationError("The id generator gave an id with no usable character");
    const messageId = `<${id}@${this.domain}>`;
    const boundary = `=_switchyard_${id}`.slice(0, 70);
    const content = [
      foldAscii("From", this.from),
      foldAscii("To", message.to.join(", "), ", "),
      encodeHeader("Subject", message.subject),
      `Date: ${rfc5322Date(now)}`,
      `Message-ID: ${messageId}`,
      "MIME-Version: 1.0",
      `Content-Type: multipart/alternative;${crlf} boundary="${boundary}"`,
      "",
      "This is a multi-part message in MIME format.",
      `--${boundary}`,
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      encodeQuotedPrintable(message.text),
      `--${boundary}`,
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      encodeQuotedPrintable(message.html),
      `--${boundary}--`,
      "",
    ].join(crlf);

    await mkdir(this.dir, { recursive: true });
    const name = `${fileTimestamp(now)}-${id}.eml`;
    const temporary = join(this.dir, `.${name}.tmp`);
    try {
      await writeFile(temporary, content, { encoding: "utf8", flag: "wx" });
      await rename(temporary, join(this.dir, name));
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return { messageId };
  }
}

// The production Mailer: Amazon SES v2 SendEmail with simple content (subject, text and HTML bodies).

import { type SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { TransientError, ValidationError } from "../../core/errors.ts";
import type { EmailMessage, Mailer } from "../../core/ports.ts";
import { isTransientSdkError, sdkErrorName } from "./sdk-errors.ts";

const charset = "UTF-8";

/** SES's answers for "slow down": the sending rate or the daily quota, both of which pass. */
const throttlingErrorNames = new Set(["TooManyRequestsException", "LimitExceededException"]);
const isTransient = (error: unknown): boolean => isTransientSdkError(error, throttlingErrorNames);
const errorName = sdkErrorName;

export interface SesMailerOptions {
  client: SESv2Client;
  /** A verified identity, optionally with a name: `Switchyard <switchyard@example.com>`. */
  from: string;
  /** The configuration set whose event destinations record sends, bounces and complaints. */
  configurationSetName?: string;
}

/**
 * Sends each message with one `SendEmail` call (every recipient in `To`), letting SES build the MIME message and
 * encode the UTF-8 subject. Throttling (`TooManyRequestsException`, `LimitExceededException`, HTTP 429) and SES
 * server errors become a `TransientError`, which the workflow retries; any other failure (an unverified sender, a
 * rejected message, a paused account) is rethrown as an `Error` naming SES's error, with it as `cause`. Messages
 * never carry the bodies: they hold personal approval links.
 *
 * @example
 * const mailer = new SesMailer({ client: new SESv2Client({}), from: "Switchyard <switchyard@example.com>" });
 * const { messageId } = await mailer.send(approvalEmail({ record, approver, link }));
 */
export class SesMailer implements Mailer {
  private readonly client: SESv2Client;
  private readonly from: string;
  private readonly configurationSetName: string | undefined;

  constructor(options: SesMailerOptions) {
    this.client = options.client;
    this.from = options.from;
    this.configurationSetName = options.configurationSetName;
  }

  async send(message: EmailMessage): Promise<{ messageId: string }> {
    if (message.to.length === 0) throw new ValidationError("An e-mail needs at least one recipient");
    const what = `SES SendEmail "${message.subject}" to ${message.to.length} recipient(s)`;
    let messageId: string | undefined;
    try {
      ({ MessageId: messageId } = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.from,
          Destination: { ToAddresses: [...message.to] },
          Content: {
            Simple: {
              Subject: { Data: message.subject, Charset: charset },
              Body: {
                Text: { Data: message.text, Charset: charset },
                Html: { Data: message.html, Charset: charset },
              },
            },
          },
          ...(this.configurationSetName !== undefined && { ConfigurationSetName: this.configurationSetName }),
        }),
      ));
    } catch (error) {
      const name = errorName(error) || "no answer";
      if (isTransient(error))
        throw new TransientError(`${what} was throttled or failed (${name})`, { cause: error });
      throw new Error(`${what} failed (${name})`, { cause: error });
    }
    if (messageId === undefined) throw new Error(`${what} answered without a MessageId`);
    return { messageId };
  }
}

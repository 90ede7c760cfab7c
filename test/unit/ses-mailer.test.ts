// The SES mailer: one SendEmail with simple UTF-8 content; throttling is retryable, every other failure is not.

import {
  AccountSuspendedException,
  LimitExceededException,
  MessageRejected,
  SESv2Client,
  SESv2ServiceException,
  SendEmailCommand,
  TooManyRequestsException,
} from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { SesMailer } from "../../functions/adapters/aws/ses-mailer.ts";
import { TransientError, ValidationError } from "../../functions/core/errors.ts";
import type { EmailMessage } from "../../functions/core/ports.ts";

const message: EmailMessage = {
  to: ["ana@example.com", "bob@example.com"],
  subject: "Déployer checkout 1.4.2 en production ?",
  text: "Review and decide: https://switchyard.example.com/approvals/5e0c?token=secret-token",
  html: `<p><a href="https://switchyard.example.com/approvals/5e0c?token=secret-token">Review</a></p>`,
};
const from = "Switchyard <switchyard@example.com>";
const metadata = { httpStatusCode: 400 };

describe("SesMailer", () => {
  const client = new SESv2Client({ region: "eu-west-1" });
  const ses = mockClient(client);

  afterEach(() => ses.reset());

  it("sends the subject and both bodies as simple UTF-8 content to every recipient", async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: "0100018c-ses-id" });
    const result = await new SesMailer({ client, from }).send(message);
    expect(result).toEqual({ messageId: "0100018c-ses-id" });
    expect(ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input)).toEqual([
      {
        FromEmailAddress: from,
        Destination: { ToAddresses: message.to },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: "UTF-8" },
            Body: {
              Text: { Data: message.text, Charset: "UTF-8" },
              Html: { Data: message.html, Charset: "UTF-8" },
            },
          },
        },
      },
    ]);
  });

  it("names the configuration set when given one", async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: "id" });
    await new SesMailer({ client, from, configurationSetName: "switchyard" }).send(message);
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input.ConfigurationSetName).toBe("switchyard");
  });

  it.each([
    [
      "TooManyRequestsException",
      new TooManyRequestsException({
        message: "Maximum sending rate exceeded",
        $metadata: { httpStatusCode: 429 },
      }),
    ],
    [
      "LimitExceededException",
      new LimitExceededException({ message: "Daily quota exceeded", $metadata: metadata }),
    ],
    [
      "a server error",
      new SESv2ServiceException({
        name: "InternalFailure",
        $fault: "server",
        message: "x",
        $metadata: { httpStatusCode: 500 },
      }),
    ],
  ])("turns %s into a TransientError carrying it as cause", async (_, failure) => {
    ses.on(SendEmailCommand).rejects(failure);
    const error = await new SesMailer({ client, from }).send(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryable).toBe(true);
    expect((error as Error).cause).toBe(failure);
  });

  it.each([
    [
      "MessageRejected",
      new MessageRejected({ message: "Email address is not verified", $metadata: metadata }),
    ],
    [
      "AccountSuspendedException",
      new AccountSuspendedException({ message: "suspended", $metadata: metadata }),
    ],
  ])("rethrows %s as a non-retryable error naming it, with it as cause", async (name, failure) => {
    ses.on(SendEmailCommand).rejects(failure);
    const error = await new SesMailer({ client, from }).send(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).cause).toBe(failure);
  });

  it("never puts the bodies, which hold personal links, in its errors", async () => {
    ses.on(SendEmailCommand).rejects(new MessageRejected({ message: "rejected", $metadata: metadata }));
    const error = (await new SesMailer({ client, from }).send(message).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain("secret-token");
  });

  it("fails when SES answers without a MessageId", async () => {
    ses.on(SendEmailCommand).resolves({});
    await expect(new SesMailer({ client, from }).send(message)).rejects.toThrow(/without a MessageId/);
  });

  it("refuses a message without recipients before calling SES", async () => {
    await expect(new SesMailer({ client, from }).send({ ...message, to: [] })).rejects.toThrow(
      ValidationError,
    );
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});

// The local Pager and ChatNotifier: pages and Slack messages become JSON files in the outbox when no key is set.

import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { preparePagerEvent } from "../../functions/adapters/pagerduty/events-api-pager.ts";
import { NotFoundError, ValidationError } from "../../functions/core/errors.ts";
import type {
  ChatMessage,
  ChatNotifier,
  Clock,
  IdGenerator,
  Pager,
  PagerEvent,
  PagerResult,
  SecretStore,
} from "../../functions/core/ports.ts";

/** Characters an id may bring into a file name. */
const unsafeIdCharacters = /[^A-Za-z0-9._-]/g;
const pagerSuffix = ".pagerduty.json";
const slackSuffix = ".slack.json";
const microsecondsPerMillisecond = 1_000;
const microsecondsPerSecond = 1_000_000;

/** A PagerDuty event the outbox pager wrote: what would have been POSTed, the routing key named by its secret. */
export interface OutboxPage {
  kind: "pagerduty";
  writtenAt: string;
  routingKeySecret: string;
  /** The event after the same checks and clipping as the Events API pager (`routing_key` left out). */
  event: PagerEvent;
}

/** A Slack call the outbox notifier wrote, with the arguments Slack's Web API would have received. */
export interface OutboxSlackMessage {
  kind: "slack";
  writtenAt: string;
  method: "chat.postMessage" | "chat.update";
  channel: string;
  /** The message's ts: the one given out by chat.postMessage, or the one chat.update changes. */
  ts: string;
  text: string;
  blocks?: readonly Record<string, unknown>[];
  /** chat.postMessage in a thread: the ts of the thread's first message. */
  thread_ts?: string;
}

export type OutboxIncidentMessage = (OutboxPage | OutboxSlackMessage) & { file: string };

export interface OutboxIncidentNotifierOptions {
  /** The outbox directory (`$SWITCHYARD_HOME/outbox`); created on first write. */
  dir: string;
  clock: Clock;
  ids: IdGenerator;
}

/** A file name part that sorts by time: `20250701T120000.123Z`, as the outbox mailer names its files. */
const fileTimestamp = (date: Date): string => date.toISOString().replace(/[-:]/g, "");

/** Writes `content` to `<dir>/<UTC timestamp>-<id><suffix>` under a temporary name first, so no reader sees half a file. */
const writeOutboxFile = async (
  options: OutboxIncidentNotifierOptions,
  now: Date,
  suffix: string,
  content: unknown,
): Promise<string> => {
  const id = options.ids.next().replace(unsafeIdCharacters, "");
  if (id === "") throw new ValidationError("The id generator gave an id with no usable character");
  await mkdir(options.dir, { recursive: true });
  const name = `${fileTimestamp(now)}-${id}${suffix}`;
  const temporary = join(options.dir, `.${name}.tmp`);
  try {
    await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`, { encoding: "utf8", flag: "wx" });
    await rename(temporary, join(options.dir, name));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return join(options.dir, name);
};

/**
 * The local Pager: each event becomes `<dir>/<UTC timestamp>-<id>.pagerduty.json` holding the routing key's secret
 * name and the event exactly as the Events API pager would send it (same checks, same clipping), so what a person
 * reads in the outbox is what PagerDuty would have received. Resolves with `delivery: "outbox"`.
 *
 * @example
 * const pager = new OutboxPager({ dir: join(home, "outbox"), clock, ids });
 * await pager.send("switchyard/pagerduty-routing-key", { event_action: "resolve", dedup_key: fingerprint });
 */
export class OutboxPager implements Pager {
  constructor(private readonly options: OutboxIncidentNotifierOptions) {}

  async send(routingKeySecret: string, event: PagerEvent): Promise<PagerResult> {
    const prepared = preparePagerEvent(event);
    const now = this.options.clock.now();
    const page: OutboxPage = {
      kind: "pagerduty",
      writtenAt: now.toISOString(),
      routingKeySecret,
      event: prepared,
    };
    await writeOutboxFile(this.options, now, pagerSuffix, page);
    return { status: "success", dedupKey: prepared.dedup_key, delivery: "outbox" };
  }
}

/**
 * The local ChatNotifier: each call becomes `<dir>/<UTC timestamp>-<id>.slack.json` with Slack's argument names.
 * `postMessage` gives out a `ts` shaped like Slack's (`"1700000000.000100"`: seconds and microseconds of the clock,
 * strictly increasing), so thread replies and updates name their message as they would in Slack.
 *
 * @example
 * const chat = new OutboxChatNotifier({ dir: join(home, "outbox"), clock, ids });
 * const { channel, ts } = await chat.postMessage({ channel: "#incidents", text: "checkout 5xx above 5%" });
 * await chat.updateMessage({ channel, ts, text: "Resolved: checkout 5xx above 5%" });
 */
export class OutboxChatNotifier implements ChatNotifier {
  private lastTsMicros = 0;
  /** `channel ts` of every message this notifier posted, known without reading the outbox. */
  private readonly posted = new Set<string>();

  constructor(private readonly options: OutboxIncidentNotifierOptions) {}

  async postMessage(message: ChatMessage): Promise<{ channel: string; ts: string; delivery: "outbox" }> {
    checkMessage(message);
    const now = this.options.clock.now();
    const ts = this.nextTs(now);
    const record: OutboxSlackMessage = {
      kind: "slack",
      writtenAt: now.toISOString(),
      method: "chat.postMessage",
      channel: message.channel,
      ts,
      text: message.text,
      ...(message.blocks !== undefined && { blocks: message.blocks }),
      ...(message.threadTs !== undefined && { thread_ts: message.threadTs }),
    };
    await writeOutboxFile(this.options, now, slackSuffix, record);
    this.posted.add(`${message.channel} ${ts}`);
    return { channel: message.channel, ts, delivery: "outbox" };
  }

  async updateMessage(message: ChatMessage & { ts: string }): Promise<void> {
    checkMessage(message);
    if (!(await this.postedHere(message.channel, message.ts))) {
      // Slack answers message_not_found; the outbox does the same rather than record an update of nothing.
      throw new ValidationError(`The outbox holds no Slack message ${message.ts} in ${message.channel}`);
    }
    const now = this.options.clock.now();
    const record: OutboxSlackMessage = {
      kind: "slack",
      writtenAt: now.toISOString(),
      method: "chat.update",
      channel: message.channel,
      ts: message.ts,
      text: message.text,
      ...(message.blocks !== undefined && { blocks: message.blocks }),
    };
    await writeOutboxFile(this.options, now, slackSuffix, record);
  }

  /**
   * Whether the message `ts` in `channel` was posted to the outbox (by this notifier or an earlier run on the same
   * home): its updates then belong in the outbox too, even once a Slack token exists.
   */
  async postedHere(channel: string, ts: string): Promise<boolean> {
    if (this.posted.has(`${channel} ${ts}`)) return true;
    const messages = await readIncidentOutbox(this.options.dir);
    const found = messages.some(
      (m) => m.kind === "slack" && m.method === "chat.postMessage" && m.channel === channel && m.ts === ts,
    );
    if (found) this.posted.add(`${channel} ${ts}`);
    return found;
  }

  /** Seconds and microseconds of `now`, one microsecond past the last ts when the clock has not moved on. */
  private nextTs(now: Date): string {
    const micros = Math.max(now.getTime() * microsecondsPerMillisecond, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    const seconds = Math.floor(micros / microsecondsPerSecond);
    const fraction = String(micros % microsecondsPerSecond).padStart(6, "0");
    return `${seconds}.${fraction}`;
  }
}

const checkMessage = (message: ChatMessage): void => {
  if (typeof message.channel !== "string" || message.channel.trim() === "") {
    throw new ValidationError("A Slack message needs a channel");
  }
  const hasBlocks = message.blocks !== undefined && message.blocks.length > 0;
  if ((typeof message.text !== "string" || message.text === "") && !hasBlocks) {
    throw new ValidationError(`A Slack message to ${message.channel} needs text or blocks`);
  }
};

/**
 * Every page and Slack message in the outbox, oldest first (e-mails and other files are left out).
 *
 * @example
 * const pages = (await readIncidentOutbox(join(home, "outbox"))).filter((m) => m.kind === "pagerduty");
 */
export const readIncidentOutbox = async (dir: string): Promise<OutboxIncidentMessage[]> => {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const files = names.filter(
    (n) => !n.startsWith(".") && (n.endsWith(pagerSuffix) || n.endsWith(slackSuffix)),
  );
  return Promise.all(
    files.sort().map(async (name) => {
      const file = join(dir, name);
      const content = JSON.parse(await readFile(file, "utf8")) as OutboxPage | OutboxSlackMessage;
      return { ...content, file };
    }),
  );
};

const isSecretNotFound = (error: unknown): boolean =>
  error instanceof NotFoundError || (error instanceof Error && error.name === "ResourceNotFoundException");

/** Whether the secret exists with a value; a store failure other than "not found" is thrown, never taken as "no". */
const hasSecret = async (secrets: Pick<SecretStore, "getSecretValue">, name: string): Promise<boolean> => {
  try {
    return (await secrets.getSecretValue(name)).secretString.trim() !== "";
  } catch (error) {
    if (isSecretNotFound(error)) return false;
    throw error;
  }
};

/**
 * The local runtime's Pager: PagerDuty for real when the routing key's secret exists in the secret store (set with
 * `switchyard secrets put`), the outbox otherwise. Decided for each event, so a key put while the runtime runs takes
 * effect with the next page.
 *
 * @example
 * const pager = fallbackPager(new EventsApiPager({ eventsUrl, secrets }), new OutboxPager({ dir, clock, ids }), secrets);
 */
export const fallbackPager = (
  real: Pager,
  outbox: Pager,
  secrets: Pick<SecretStore, "getSecretValue">,
): Pager => ({
  send: async (routingKeySecret, event) =>
    (await hasSecret(secrets, routingKeySecret))
      ? real.send(routingKeySecret, event)
      : outbox.send(routingKeySecret, event),
});

/**
 * The local runtime's ChatNotifier: Slack for real when the token's secret `tokenSecret` exists, the outbox
 * otherwise. An update goes where its message went: a message posted to the outbox is updated in the outbox even
 * after a token was put, since Slack has never seen its ts. (Without a token, an update of a message only Slack has
 * is refused as Slack would refuse an unknown ts.)
 *
 * @example
 * const chat = fallbackChatNotifier(
 *   new SlackWebApiNotifier({ apiUrl, tokenSecret, secrets }),
 *   new OutboxChatNotifier({ dir, clock, ids }),
 *   secrets,
 *   tokenSecret,
 * );
 */
export const fallbackChatNotifier = (
  real: ChatNotifier,
  outbox: OutboxChatNotifier,
  secrets: Pick<SecretStore, "getSecretValue">,
  tokenSecret: string,
): ChatNotifier => ({
  postMessage: async (message) =>
    (await hasSecret(secrets, tokenSecret)) ? real.postMessage(message) : outbox.postMessage(message),
  updateMessage: async (message) =>
    !(await hasSecret(secrets, tokenSecret)) || (await outbox.postedHere(message.channel, message.ts))
      ? outbox.updateMessage(message)
      : real.updateMessage(message),
});

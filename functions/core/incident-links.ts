// Signed incident acknowledge links: whoever holds one may acknowledge that one incident until it expires.

import type { SwitchyardConfig } from "./config.ts";
import { ForbiddenError } from "./http-errors.ts";
import { linkKeys, signLinkToken, verifyLinkToken } from "./link-token.ts";
import type { Clock, IncidentRecord, SecretStore } from "./ports.ts";

/** How long an acknowledge link works: every escalation level sends a fresh one, so a week covers any incident. */
export const ackLinkValidityDays = 7;

const millisecondsPerDay = 24 * 60 * 60 * 1_000;

/**
 * The link token's holder: acknowledge links are sent to a channel, a pager and mailboxes, not to one person, so
 * they name a role rather than an approver. An approval's token never names it (approvers are addresses), and the
 * subject below is never an approval id: a token of one kind never opens the other.
 */
export const ackLinkHolder = "ack-link";

/** The subject an incident's link token is signed for (an approval token's subject is a UUID, never this). */
const subjectOf = (incidentId: string): string => `incident:${incidentId}`;

/**
 * The token of an incident's acknowledge link, signed with the approvals link key (`approvals.linkKeySecret`).
 *
 * @example
 * const token = signAckToken(signingKey, incident.id, new Date("2026-12-05T10:00:00Z"));
 */
export const signAckToken = (key: string, incidentId: string, expiresAt: Date): string =>
  signLinkToken(key, {
    approvalId: subjectOf(incidentId),
    approver: ackLinkHolder,
    expiresAt: expiresAt.toISOString(),
  });

/** The link-token reasons, said of an acknowledge link (the shared verifier speaks of approval links). */
const ackLinkRefusal = (error: ForbiddenError, incidentId: string): ForbiddenError => {
  const expiredAt = /expired at (\S+)$/.exec(error.message)?.[1];
  const message =
    expiredAt !== undefined
      ? `The acknowledge link expired at ${expiredAt}`
      : /another approval/.test(error.message)
        ? `The acknowledge link was made for another incident than ${incidentId}`
        : /signature/.test(error.message)
          ? "The acknowledge link's signature is not valid"
          : "The acknowledge link is malformed";
  return new ForbiddenError(message, { cause: error });
};

/**
 * Checks an acknowledge link's token against the link keys (current first, then previous): `ForbiddenError` when it
 * is malformed, forged, made for another incident (or is an approval's token), or expired. Messages never hold the
 * token or a key.
 *
 * @example
 * verifyAckToken(keys, request.query.token, { incidentId, now: clock.now() }); // { expiresAt: "2026-12-05T10:00:00.000Z" }
 */
export const verifyAckToken = (
  keys: readonly string[],
  token: string,
  expected: { incidentId: string; now: Date },
): { expiresAt: string } => {
  let claims: { approver: string; expiresAt: string };
  try {
    claims = verifyLinkToken(keys, token, { approvalId: subjectOf(expected.incidentId), now: expected.now });
  } catch (error) {
    if (error instanceof ForbiddenError) throw ackLinkRefusal(error, expected.incidentId);
    throw error;
  }
  if (claims.approver !== ackLinkHolder) {
    throw new ForbiddenError(
      `The acknowledge link was made for another incident than ${expected.incidentId}`,
    );
  }
  return { expiresAt: claims.expiresAt };
};

/** Where an incident's page is, without a token (read-only where reading is open). */
export const incidentPageUrl = (baseUrl: string, incidentId: string): string =>
  `${baseUrl.replace(/\/+$/, "")}/incidents/${encodeURIComponent(incidentId)}`;

/**
 * The acknowledge link of an incident: its page with a token valid `ackLinkValidityDays` from `now`. The page shows
 * the incident and an Acknowledge button; opening it changes nothing (mail scanners and chat unfurlers open links).
 *
 * @example
 * incidentAckUrl("https://pages.example.com", incident, signingKey, clock.now());
 * // "https://pages.example.com/incidents/7d7c…?token=eyJ2Ijox…"
 */
export const incidentAckUrl = (
  baseUrl: string,
  incident: Pick<IncidentRecord, "id">,
  key: string,
  now: Date,
): string => {
  const expiresAt = new Date(now.getTime() + ackLinkValidityDays * millisecondsPerDay);
  return `${incidentPageUrl(baseUrl, incident.id)}?token=${encodeURIComponent(signAckToken(key, incident.id, expiresAt))}`;
};

export interface AckLinkDeps {
  config: Pick<SwitchyardConfig, "approvals">;
  secrets: SecretStore;
  clock: Clock;
}

/**
 * Verifies an acknowledge link's token with the link keys (cached); on a refusal the keys are read once more, since
 * the key may have been rotated since they were cached. A store failure is a plain `Error` (500), never a 4xx.
 *
 * @example
 * await verifyAckLink({ config, secrets, clock }, token, incidentId);
 */
export const verifyAckLink = async (
  deps: AckLinkDeps,
  token: string,
  incidentId: string,
): Promise<{ expiresAt: string }> => {
  const secretName = deps.config.approvals.linkKeySecret;
  const now = deps.clock.now();
  const keys = await linkKeys(deps.secrets, secretName, { clock: deps.clock });
  try {
    return verifyAckToken(keys, token, { incidentId, now });
  } catch (error) {
    if (!(error instanceof ForbiddenError)) throw error;
    const fresh = await linkKeys(deps.secrets, secretName, { clock: deps.clock, fresh: true });
    return verifyAckToken(fresh, token, { incidentId, now });
  }
};

export interface MakeAckUrlDeps extends AckLinkDeps {
  /** Where the pages are served (`incidents.baseUrl`, else the pages API's or the local runtime's URL). */
  baseUrl: () => string;
  /**
   * Told when the link could not be signed (the link key unreadable): the incident's plain page URL is used instead,
   * because a missing key must never stop a page or a Slack post.
   */
  onSignFailure?: (error: unknown) => void;
}

/**
 * The `ackUrl(incident)` of `IncidentDeps`: a fresh signed link each call, signed with the current link key.
 *
 * @example
 * const ackUrl = makeAckUrl({ config, secrets, clock, baseUrl: () => config.incidents.baseUrl ?? apiUrl });
 * await ackUrl(incident); // "https://api.example.com/incidents/7d7c…?token=…"
 */
export const makeAckUrl =
  (deps: MakeAckUrlDeps) =>
  async (incident: Pick<IncidentRecord, "id">): Promise<string> => {
    const baseUrl = deps.baseUrl();
    try {
      const [signingKey] = await linkKeys(deps.secrets, deps.config.approvals.linkKeySecret, {
        clock: deps.clock,
      });
      if (signingKey === undefined)
        throw new Error(`The link key ${deps.config.approvals.linkKeySecret} is empty`);
      return incidentAckUrl(baseUrl, incident, signingKey, deps.clock.now());
    } catch (error) {
      deps.onSignFailure?.(error);
      return incidentPageUrl(baseUrl, incident.id);
    }
  };

// Per-approver API tokens of the local runtime: where no IAM identity exists, a bearer token names the approver.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { SecretStore } from "../functions/core/ports.ts";

/** Bytes of randomness in a generated approver token. */
const tokenBytes = 32;

/**
 * The secret holding an approver's local API token.
 *
 * @example approverTokenSecret("maria.lopez@example.com") // "switchyard/approvers/maria.lopez@example.com"
 */
export const approverTokenSecret = (approver: string): string =>
  `switchyard/approvers/${approver.trim().toLowerCase()}`;

/**
 * Gives every approver of switchyard.yaml a token in the local secret store (`switchyard secrets list` shows the
 * names; the CLI reads the token of `--as <approver>`). Existing tokens are kept.
 *
 * @example await ensureApproverTokens(secrets, ["maria.lopez@example.com"]);
 */
export const ensureApproverTokens = async (
  secrets: SecretStore,
  approvers: readonly string[],
): Promise<void> => {
  const existing = new Set((await secrets.listSecrets()).map((s) => s.name));
  for (const approver of new Set(approvers.map((a) => a.trim().toLowerCase()))) {
    const name = approverTokenSecret(approver);
    if (existing.has(name)) continue;
    await secrets.createSecret({
      name,
      secretString: randomBytes(tokenBytes).toString("base64url"),
      description: `Switchyard (local): API token of approver ${approver}`,
    });
  }
};

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * Which approver a bearer token belongs to, compared in constant time against each approver's token (hashes of
 * equal length, so neither the length nor a prefix leaks); undefined for anyone else's.
 *
 * @example const approver = await approverForToken(secrets, config approvers)(bearer);
 */
export const approverForToken =
  (secrets: SecretStore, approvers: () => readonly string[]) =>
  async (token: string): Promise<string | undefined> => {
    const presented = digest(token);
    let match: string | undefined;
    for (const approver of new Set(approvers().map((a) => a.trim().toLowerCase()))) {
      const stored = await secrets.getSecretValue(approverTokenSecret(approver)).catch(() => undefined);
      if (stored && timingSafeEqual(digest(stored.secretString), presented)) match ??= approver;
    }
    return match;
  };

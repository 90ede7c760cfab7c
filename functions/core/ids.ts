// Deterministic identifiers: the same inputs name the same thing, so a retried step finds what it made before.

import { createHash } from "node:crypto";

/** The namespace of Switchyard's name-based UUIDs (itself a random v4 UUID, fixed forever). */
const switchyardNamespace = "6b7c2f5e-3f1a-4d8e-9a0b-5c1d2e3f4a5b";

/**
 * An RFC 9562 version-5 (SHA-1, name-based) UUID of `name`.
 *
 * @example
 * nameBasedUuid("promote-image:ecr-image-pushed-…/checkout") // always the same UUID for the same name
 */
export const nameBasedUuid = (name: string): string => {
  const namespace = Buffer.from(switchyardNamespace.replace(/-/g, ""), "hex");
  const hash = createHash("sha1").update(namespace).update(name, "utf8").digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

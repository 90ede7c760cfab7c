// The promotion decision: every tag-policy rule, and how a burst of pushes coalesces into one promotion.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TagPolicy } from "../../functions/core/config.ts";
import {
  type CurrentImage,
  decidePromotion,
  type PromotionDecision,
  pickNewest,
  shortDigest,
} from "../../functions/core/decide-promotion.ts";
import type { ImageRef } from "../../functions/core/ports.ts";

/** Digests made of one repeated hex digit, so reasons in the tables stay readable. */
const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;
const a = "sha256:aaaaaaaaaaaa";
const b = "sha256:bbbbbbbbbbbb";

const t0 = "2026-05-01T12:00:00Z";
const t1 = "2026-05-01T12:05:00Z";
const t2 = "2026-05-01T12:10:00Z";

const semverPolicy: TagPolicy = { semver: "^1.0.0", includePrerelease: false };
const prereleasePolicy: TagPolicy = { semver: "^1.0.0", includePrerelease: true };
const patternPolicy: TagPolicy = { pattern: "^main-[0-9a-f]{7}$" };
const tagPolicy: TagPolicy = { tag: "stable" };

const image = (tag: string | undefined, digest: string, pushedAt = t1): ImageRef => ({
  repository: "checkout",
  ...(tag !== undefined && { tag }),
  digest,
  pushedAt,
});

interface Case {
  policy: TagPolicy;
  service?: string;
  candidate: ImageRef;
  current?: CurrentImage;
  quarantined?: boolean;
  expected: PromotionDecision;
}

const decide = ({ policy, service = "checkout", candidate, current, quarantined = false }: Case) =>
  decidePromotion({ service: { name: service, policy }, candidate, current, quarantined });

describe("decidePromotion: semver policy", () => {
  it.each<[string, Case]>([
    [
      "first deploy",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", A),
        expected: {
          action: "promote",
          tag: "1.4.0",
          digest: A,
          reason: `checkout: promote 1.4.0 (${a}): first deploy, nothing runs yet`,
        },
      },
    ],
    [
      "a newer version within the range",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", B, t1),
        current: { tag: "1.3.2", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.4.0",
          digest: B,
          reason: `checkout: promote 1.4.0 (${b}) over 1.3.2 (${a}): newer version within ^1.0.0`,
        },
      },
    ],
    [
      "1.10.0 over 1.9.0 (numeric, not text, order)",
      {
        policy: semverPolicy,
        candidate: image("1.10.0", B),
        current: { tag: "1.9.0", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.10.0",
          digest: B,
          reason: `checkout: promote 1.10.0 (${b}) over 1.9.0 (${a}): newer version within ^1.0.0`,
        },
      },
    ],
    [
      "a lower version, even when pushed later",
      {
        policy: semverPolicy,
        candidate: image("1.9.0", B, t2),
        current: { tag: "1.10.0", digest: A, pushedAt: t0 },
        expected: { action: "skip", reason: `checkout: skip 1.9.0 (${b}): would downgrade 1.10.0 (${a})` },
      },
    ],
    [
      "a leading v, read as node-semver's valid reads it, and kept in the tag written",
      {
        policy: semverPolicy,
        candidate: image("v1.4.0", B),
        current: { tag: "1.3.2", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "v1.4.0",
          digest: B,
          reason: `checkout: promote v1.4.0 (${b}) over 1.3.2 (${a}): newer version within ^1.0.0`,
        },
      },
    ],
    [
      "v1.3.0 below a running 1.4.0",
      {
        policy: semverPolicy,
        candidate: image("v1.3.0", B),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: { action: "skip", reason: `checkout: skip v1.3.0 (${b}): would downgrade 1.4.0 (${a})` },
      },
    ],
    [
      "an upper-case V (not semver, and no coercion)",
      {
        policy: semverPolicy,
        candidate: image("V1.4.0", A),
        expected: {
          action: "skip",
          reason: `checkout: skip V1.4.0 (${a}): tag "V1.4.0" is not valid semver (policy ^1.0.0)`,
        },
      },
    ],
    [
      "a non-version tag",
      {
        policy: semverPolicy,
        candidate: image("latest", A),
        expected: {
          action: "skip",
          reason: `checkout: skip latest (${a}): tag "latest" is not valid semver (policy ^1.0.0)`,
        },
      },
    ],
    [
      "a two-part version (loose mode would coerce it; strict does not)",
      {
        policy: semverPolicy,
        candidate: image("1.4", A),
        expected: {
          action: "skip",
          reason: `checkout: skip 1.4 (${a}): tag "1.4" is not valid semver (policy ^1.0.0)`,
        },
      },
    ],
    [
      "a tag with blanks around a version",
      {
        policy: semverPolicy,
        candidate: image(" 1.4.0", A),
        expected: {
          action: "skip",
          reason: `checkout: skip  1.4.0 (${a}): tag " 1.4.0" is not valid semver (policy ^1.0.0)`,
        },
      },
    ],
    [
      "a version outside the range",
      {
        policy: semverPolicy,
        candidate: image("2.0.0", B),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: { action: "skip", reason: `checkout: skip 2.0.0 (${b}): 2.0.0 does not satisfy ^1.0.0` },
      },
    ],
    [
      "a pre-release without includePrerelease",
      {
        policy: semverPolicy,
        candidate: image("1.5.0-rc.1", B),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `checkout: skip 1.5.0-rc.1 (${b}): 1.5.0-rc.1 is a pre-release, and includePrerelease is off for ^1.0.0`,
        },
      },
    ],
    [
      "a pre-release without includePrerelease, even when the range names one",
      {
        policy: { semver: ">=2.0.0-rc.0 <3.0.0", includePrerelease: false },
        candidate: image("2.0.0-rc.1", B),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `checkout: skip 2.0.0-rc.1 (${b}): 2.0.0-rc.1 is a pre-release, and includePrerelease is off for >=2.0.0-rc.0 <3.0.0`,
        },
      },
    ],
    [
      "a pre-release with includePrerelease",
      {
        policy: prereleasePolicy,
        candidate: image("1.5.0-rc.1", B),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.5.0-rc.1",
          digest: B,
          reason: `checkout: promote 1.5.0-rc.1 (${b}) over 1.4.0 (${a}): newer version within ^1.0.0`,
        },
      },
    ],
    [
      "the release over its own pre-release",
      {
        policy: prereleasePolicy,
        candidate: image("1.5.0", B),
        current: { tag: "1.5.0-rc.2", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.5.0",
          digest: B,
          reason: `checkout: promote 1.5.0 (${b}) over 1.5.0-rc.2 (${a}): newer version within ^1.0.0`,
        },
      },
    ],
    [
      "rc.10 over rc.9 (numeric pre-release identifiers)",
      {
        policy: prereleasePolicy,
        candidate: image("1.5.0-rc.10", B),
        current: { tag: "1.5.0-rc.9", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.5.0-rc.10",
          digest: B,
          reason: `checkout: promote 1.5.0-rc.10 (${b}) over 1.5.0-rc.9 (${a}): newer version within ^1.0.0`,
        },
      },
    ],
    [
      "beta over alpha.1 (alphanumeric identifiers compare as text)",
      {
        policy: prereleasePolicy,
        candidate: image("1.5.0-beta", B),
        current: { tag: "1.5.0-alpha.1", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.5.0-beta",
          digest: B,
          reason: `checkout: promote 1.5.0-beta (${b}) over 1.5.0-alpha.1 (${a}): newer version within ^1.0.0`,
        },
      },
    ],
    [
      "an earlier pre-release below a running one",
      {
        policy: prereleasePolicy,
        candidate: image("1.5.0-rc.1", B, t2),
        current: { tag: "1.5.0-rc.2", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `checkout: skip 1.5.0-rc.1 (${b}): would downgrade 1.5.0-rc.2 (${a})`,
        },
      },
    ],
    [
      "a pre-release below the release that runs",
      {
        policy: prereleasePolicy,
        candidate: image("1.5.0-rc.3", B, t2),
        current: { tag: "1.5.0", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `checkout: skip 1.5.0-rc.3 (${b}): would downgrade 1.5.0 (${a})`,
        },
      },
    ],
    [
      "build metadata: satisfies the range, and the tag is written as pushed",
      {
        policy: semverPolicy,
        candidate: image("1.2.3+build.7", B),
        current: { tag: "1.2.2", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.2.3+build.7",
          digest: B,
          reason: `checkout: promote 1.2.3+build.7 (${b}) over 1.2.2 (${a}): newer version within ^1.0.0`,
        },
      },
    ],
    [
      "build metadata does not order versions: a newer build of 1.2.3 is a re-push",
      {
        policy: semverPolicy,
        candidate: image("1.2.3+build.8", B, t1),
        current: { tag: "1.2.3+build.9", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.2.3+build.8",
          digest: B,
          reason: `checkout: promote 1.2.3+build.8 (${b}) over 1.2.3+build.9 (${a}): re-pushed tag, the newer push of version 1.2.3 wins`,
        },
      },
    ],
    [
      "a re-pushed tag (same version, new digest, later push)",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", B, t1),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.4.0",
          digest: B,
          reason: `checkout: promote 1.4.0 (${b}) over 1.4.0 (${a}): re-pushed tag, the newer push of version 1.4.0 wins`,
        },
      },
    ],
    [
      "a late event for the older push of a re-pushed tag",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", A, t0),
        current: { tag: "1.4.0", digest: B, pushedAt: t1 },
        expected: {
          action: "skip",
          reason: `checkout: skip 1.4.0 (${a}): an older push of version 1.4.0 than what runs, 1.4.0 (${b}) pushed ${t1} (this one ${t0})`,
        },
      },
    ],
    [
      "v1.4.0 re-pushing what runs as 1.4.0",
      {
        policy: semverPolicy,
        candidate: image("v1.4.0", B, t1),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "v1.4.0",
          digest: B,
          reason: `checkout: promote v1.4.0 (${b}) over 1.4.0 (${a}): re-pushed tag, the newer push of version 1.4.0 wins`,
        },
      },
    ],
    [
      "a re-push in the same second: the higher digest wins",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", B, t0),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.4.0",
          digest: B,
          reason: `checkout: promote 1.4.0 (${b}) over 1.4.0 (${a}): re-pushed tag, the newer push of version 1.4.0 wins`,
        },
      },
    ],
    [
      "a re-push in the same second: the lower digest loses",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", A, t0),
        current: { tag: "1.4.0", digest: B, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `checkout: skip 1.4.0 (${a}): pushed at the same time (${t0}) as what runs, 1.4.0 (${b}); the tie goes to the higher digest`,
        },
      },
    ],
    [
      "a re-push when what runs has no recorded push time",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", B),
        current: { tag: "1.4.0", digest: A },
        expected: {
          action: "promote",
          tag: "1.4.0",
          digest: B,
          reason: `checkout: promote 1.4.0 (${b}) over 1.4.0 (${a}): re-pushed tag, the newer push of version 1.4.0 wins`,
        },
      },
    ],
    [
      "what runs has a tag that is not a version",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", B, t0),
        current: { tag: "hotfix", digest: A, pushedAt: t1 },
        expected: {
          action: "promote",
          tag: "1.4.0",
          digest: B,
          reason: `checkout: promote 1.4.0 (${b}) over hotfix (${a}): what runs has no semver tag, so a version within ^1.0.0 replaces it`,
        },
      },
    ],
    [
      "what runs was pinned by digest alone",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", B),
        current: { digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "1.4.0",
          digest: B,
          reason: `checkout: promote 1.4.0 (${b}) over untagged ${a}: what runs has no semver tag, so a version within ^1.0.0 replaces it`,
        },
      },
    ],
    [
      "an untagged push",
      {
        policy: semverPolicy,
        candidate: image(undefined, B),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `checkout: skip untagged ${b}: a digest-only push has no tag, and the semver policy ^1.0.0 needs one`,
        },
      },
    ],
    [
      "the digest that runs",
      {
        policy: semverPolicy,
        candidate: image("1.4.0", A, t1),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: { action: "skip", reason: `checkout: skip 1.4.0 (${a}): already deployed` },
      },
    ],
    [
      "the digest that runs, under a new tag",
      {
        policy: semverPolicy,
        candidate: image("1.4.1", A, t1),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `checkout: skip 1.4.1 (${a}): already deployed (running as 1.4.0 (${a}))`,
        },
      },
    ],
    [
      "a quarantined digest",
      {
        policy: semverPolicy,
        candidate: image("1.5.0", B),
        current: { tag: "1.4.0", digest: A, pushedAt: t0 },
        quarantined: true,
        expected: {
          action: "skip",
          reason: `checkout: skip 1.5.0 (${b}): quarantined by a rollback; clear it with DELETE /quarantine/checkout/${B}`,
        },
      },
    ],
    [
      "a quarantined digest on a first deploy",
      {
        policy: semverPolicy,
        candidate: image("1.5.0", B),
        quarantined: true,
        expected: {
          action: "skip",
          reason: `checkout: skip 1.5.0 (${b}): quarantined by a rollback; clear it with DELETE /quarantine/checkout/${B}`,
        },
      },
    ],
  ])("%s", (_, testCase) => {
    expect(decide(testCase)).toEqual(testCase.expected);
  });
});

describe("decidePromotion: pattern policy", () => {
  const service = "payments-worker";
  it.each<[string, Case]>([
    [
      "first deploy",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-abc1234", A),
        expected: {
          action: "promote",
          tag: "main-abc1234",
          digest: A,
          reason: `payments-worker: promote main-abc1234 (${a}): first deploy, nothing runs yet`,
        },
      },
    ],
    [
      "a newer matching push",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-0000001", B, t1),
        current: { tag: "main-fffffff", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "main-0000001",
          digest: B,
          reason: `payments-worker: promote main-0000001 (${b}) over main-fffffff (${a}): newest push matching /^main-[0-9a-f]{7}$/ wins`,
        },
      },
    ],
    [
      "an older matching push",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-fffffff", B, t0),
        current: { tag: "main-0000001", digest: A, pushedAt: t1 },
        expected: {
          action: "skip",
          reason: `payments-worker: skip main-fffffff (${b}): older than what runs, main-0000001 (${a}) pushed ${t1} (this one ${t0})`,
        },
      },
    ],
    [
      "push times compared as instants, not as text",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-0000002", B, "2026-05-01T14:00:00+02:00"),
        current: { tag: "main-0000001", digest: A, pushedAt: "2026-05-01T12:30:00Z" },
        expected: {
          action: "skip",
          reason: `payments-worker: skip main-0000002 (${b}): older than what runs, main-0000001 (${a}) pushed 2026-05-01T12:30:00Z (this one 2026-05-01T14:00:00+02:00)`,
        },
      },
    ],
    [
      "a matching push in the same second with a lower digest",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-0000002", A, t1),
        current: { tag: "main-0000001", digest: B, pushedAt: t1 },
        expected: {
          action: "skip",
          reason: `payments-worker: skip main-0000002 (${a}): pushed at the same time (${t1}) as what runs, main-0000001 (${b}); the tie goes to the higher digest`,
        },
      },
    ],
    [
      "a tag the pattern does not match",
      {
        policy: patternPolicy,
        service,
        candidate: image("feature-abc1234", B),
        current: { tag: "main-0000001", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `payments-worker: skip feature-abc1234 (${b}): tag "feature-abc1234" does not match /^main-[0-9a-f]{7}$/`,
        },
      },
    ],
    [
      "a tag that only an unanchored reading would match",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-abc1234-dirty", B),
        expected: {
          action: "skip",
          reason: `payments-worker: skip main-abc1234-dirty (${b}): tag "main-abc1234-dirty" does not match /^main-[0-9a-f]{7}$/`,
        },
      },
    ],
    [
      "an unanchored pattern, used as written",
      {
        policy: { pattern: "main-" },
        service,
        candidate: image("hotfix-main-2", B),
        expected: {
          action: "promote",
          tag: "hotfix-main-2",
          digest: B,
          reason: `payments-worker: promote hotfix-main-2 (${b}): first deploy, nothing runs yet`,
        },
      },
    ],
    [
      "an untagged push",
      {
        policy: patternPolicy,
        service,
        candidate: image(undefined, B),
        expected: {
          action: "skip",
          reason: `payments-worker: skip untagged ${b}: a digest-only push has no tag to match against /^main-[0-9a-f]{7}$/`,
        },
      },
    ],
    [
      "the digest that runs",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-abc1234", A, t2),
        current: { tag: "main-abc1234", digest: A, pushedAt: t0 },
        expected: { action: "skip", reason: `payments-worker: skip main-abc1234 (${a}): already deployed` },
      },
    ],
    [
      "what runs has no recorded push time",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-0000002", B),
        current: { tag: "main-0000001", digest: A },
        expected: {
          action: "promote",
          tag: "main-0000002",
          digest: B,
          reason: `payments-worker: promote main-0000002 (${b}) over main-0000001 (${a}): no push time is recorded for what runs`,
        },
      },
    ],
    [
      "a quarantined digest",
      {
        policy: patternPolicy,
        service,
        candidate: image("main-0000002", B, t2),
        current: { tag: "main-0000001", digest: A, pushedAt: t0 },
        quarantined: true,
        expected: {
          action: "skip",
          reason: `payments-worker: skip main-0000002 (${b}): quarantined by a rollback; clear it with DELETE /quarantine/payments-worker/${B}`,
        },
      },
    ],
  ])("%s", (_, testCase) => {
    expect(decide(testCase)).toEqual(testCase.expected);
  });
});

describe("decidePromotion: tag policy", () => {
  const service = "storefront";
  it.each<[string, Case]>([
    [
      "first deploy, pinned by digest",
      {
        policy: tagPolicy,
        service,
        candidate: image("stable", A),
        expected: {
          action: "promote",
          tag: "stable",
          digest: A,
          reason: `storefront: promote stable (${a}): first deploy, nothing runs yet`,
        },
      },
    ],
    [
      "the followed tag moved to a newer push",
      {
        policy: tagPolicy,
        service,
        candidate: image("stable", B, t1),
        current: { tag: "stable", digest: A, pushedAt: t0 },
        expected: {
          action: "promote",
          tag: "stable",
          digest: B,
          reason: `storefront: promote stable (${b}) over stable (${a}): the followed tag "stable" moved to a newer push`,
        },
      },
    ],
    [
      "a late event for an older push of the tag",
      {
        policy: tagPolicy,
        service,
        candidate: image("stable", B, t0),
        current: { tag: "stable", digest: A, pushedAt: t1 },
        expected: {
          action: "skip",
          reason: `storefront: skip stable (${b}): older than what runs, stable (${a}) pushed ${t1} (this one ${t0})`,
        },
      },
    ],
    [
      "another tag",
      {
        policy: tagPolicy,
        service,
        candidate: image("latest", B),
        current: { tag: "stable", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `storefront: skip latest (${b}): "latest" is not the followed tag "stable"`,
        },
      },
    ],
    [
      "a tag that differs only in case",
      {
        policy: tagPolicy,
        service,
        candidate: image("Stable", B),
        expected: {
          action: "skip",
          reason: `storefront: skip Stable (${b}): "Stable" is not the followed tag "stable"`,
        },
      },
    ],
    [
      "an untagged push",
      {
        policy: tagPolicy,
        service,
        candidate: image(undefined, B, t2),
        current: { tag: "stable", digest: A, pushedAt: t0 },
        expected: {
          action: "skip",
          reason: `storefront: skip untagged ${b}: a digest-only push does not move the followed tag "stable"`,
        },
      },
    ],
    [
      "the digest that runs",
      {
        policy: tagPolicy,
        service,
        candidate: image("stable", A, t2),
        current: { tag: "stable", digest: A, pushedAt: t0 },
        expected: { action: "skip", reason: `storefront: skip stable (${a}): already deployed` },
      },
    ],
    [
      "a quarantined digest",
      {
        policy: tagPolicy,
        service,
        candidate: image("stable", C, t2),
        current: { tag: "stable", digest: A, pushedAt: t0 },
        quarantined: true,
        expected: {
          action: "skip",
          reason: `storefront: skip stable (sha256:cccccccccccc): quarantined by a rollback; clear it with DELETE /quarantine/storefront/${C}`,
        },
      },
    ],
  ])("%s", (_, testCase) => {
    expect(decide(testCase)).toEqual(testCase.expected);
  });
});

describe("decidePromotion: input it cannot read", () => {
  it.each([
    ["the candidate", image("1.4.0", B, "yesterday"), { tag: "1.3.0", digest: A, pushedAt: t0 }],
    ["what runs", image("stable", B, t1), { tag: "stable", digest: A, pushedAt: "not a time" }],
  ])("refuses a push time of %s that is not a time", (_, candidate, current) => {
    const policy = candidate.tag === "stable" ? tagPolicy : semverPolicy;
    expect(() => decide({ policy, candidate, current, expected: { action: "skip", reason: "" } })).toThrow(
      expect.objectContaining({
        name: "ValidationError",
        message: expect.stringContaining("not an ISO 8601"),
      }),
    );
  });
});

describe("shortDigest", () => {
  it.each([
    [A, a],
    ["sha256:abcdef1234567890abcdef1234567890abcdef1234567890abcdef1234567890", "sha256:abcdef123456"],
    ["sha512:abc", "sha512:abc"],
  ])("%s → %s", (digest, short) => {
    expect(shortDigest(digest)).toBe(short);
  });
});

/** A digest per label, as a registry would mint one. */
const digestOf = (label: string): string => `sha256:${createHash("sha256").update(label).digest("hex")}`;

/** A seeded shuffle (mulberry32), so a failing order can be replayed. */
const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
};

const seeds = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89];

/** What runs after deciding each push in arrival order and deploying every promotion. */
const applyInOrder = (
  service: { name: string; policy: TagPolicy },
  pushes: readonly ImageRef[],
  current: CurrentImage | undefined,
  quarantined: ReadonlySet<string>,
): CurrentImage | undefined =>
  pushes.reduce<CurrentImage | undefined>((running, candidate) => {
    const decision = decidePromotion({
      service,
      candidate,
      current: running,
      quarantined: quarantined.has(candidate.digest),
    });
    return decision.action === "promote" ? candidate : running;
  }, current);

describe("pickNewest", () => {
  const checkout = { name: "checkout", policy: semverPolicy };
  const minute = (n: number): string => new Date(Date.parse(t0) + n * 60_000).toISOString();
  const semverBurst: ImageRef[] = [
    image("1.2.0", digestOf("1.2.0"), minute(1)),
    image("1.9.0", digestOf("1.9.0"), minute(2)),
    image("1.10.0", digestOf("1.10.0 first push"), minute(3)),
    image("1.10.0", digestOf("1.10.0 re-push"), minute(4)),
    image("1.11.0", digestOf("1.11.0 bad build"), minute(5)),
    image("2.0.0", digestOf("2.0.0"), minute(6)),
    image("1.12.0-rc.1", digestOf("1.12.0-rc.1"), minute(7)),
    image("latest", digestOf("latest"), minute(8)),
    image(undefined, digestOf("untagged"), minute(9)),
    image("1.0.5", digestOf("1.0.5"), minute(10)),
  ];
  const running: CurrentImage = { tag: "1.1.0", digest: digestOf("1.1.0"), pushedAt: t0 };
  const quarantined = new Set([digestOf("1.11.0 bad build")]);

  it.each(seeds)("a burst of 10 semver pushes in shuffled order (seed %i) → the newest allowed", (seed) => {
    const burst = shuffled(semverBurst, seed);

    const { winner, passedOver } = pickNewest(checkout, burst, running, quarantined);

    expect(winner?.image).toEqual(image("1.10.0", digestOf("1.10.0 re-push"), minute(4)));
    expect(winner?.decision).toEqual({
      action: "promote",
      tag: "1.10.0",
      digest: digestOf("1.10.0 re-push"),
      reason: `checkout: promote 1.10.0 (${shortDigest(digestOf("1.10.0 re-push"))}) over 1.1.0 (${shortDigest(digestOf("1.1.0"))}): newer version within ^1.0.0`,
    });
    expect(passedOver.map((p) => p.image)).toEqual(burst.filter((push) => push !== winner?.image));
    expect(applyInOrder(checkout, burst, running, quarantined)).toEqual(winner?.image);
  });

  it("says why each other push of the burst is passed over", () => {
    const { passedOver } = pickNewest(checkout, semverBurst, running, quarantined);
    const winner = `1.10.0 (${shortDigest(digestOf("1.10.0 re-push"))})`;
    const as = (tag: string, label: string) => `${tag} (${shortDigest(digestOf(label))})`;

    expect(passedOver.map((p) => p.reason)).toEqual([
      `checkout: skip ${as("1.2.0", "1.2.0")}: superseded by ${winner} in the same burst`,
      `checkout: skip ${as("1.9.0", "1.9.0")}: superseded by ${winner} in the same burst`,
      `checkout: skip ${as("1.10.0", "1.10.0 first push")}: superseded by ${winner} in the same burst`,
      `checkout: skip ${as("1.11.0", "1.11.0 bad build")}: quarantined by a rollback; clear it with DELETE /quarantine/checkout/${digestOf("1.11.0 bad build")}`,
      `checkout: skip ${as("2.0.0", "2.0.0")}: 2.0.0 does not satisfy ^1.0.0`,
      `checkout: skip ${as("1.12.0-rc.1", "1.12.0-rc.1")}: 1.12.0-rc.1 is a pre-release, and includePrerelease is off for ^1.0.0`,
      `checkout: skip ${as("latest", "latest")}: tag "latest" is not valid semver (policy ^1.0.0)`,
      `checkout: skip untagged ${shortDigest(digestOf("untagged"))}: a digest-only push has no tag, and the semver policy ^1.0.0 needs one`,
      `checkout: skip ${as("1.0.5", "1.0.5")}: would downgrade 1.1.0 (${shortDigest(digestOf("1.1.0"))})`,
    ]);
  });

  it.each(seeds)(
    "a burst of 10 pattern pushes in shuffled order (seed %i) → the latest matching push",
    (seed) => {
      const worker = { name: "payments-worker", policy: patternPolicy };
      const pushes = Array.from({ length: 10 }, (_, n) =>
        image(
          n === 9 ? "feature-0000009" : `main-${n.toString(16).padStart(7, "0")}`,
          digestOf(`worker ${n}`),
          minute(n),
        ),
      );
      const burst = shuffled(pushes, seed);

      const { winner } = pickNewest(worker, burst);

      expect(winner?.image).toEqual(pushes[8]);
      expect(applyInOrder(worker, burst, undefined, new Set())).toEqual(pushes[8]);
    },
  );

  it.each(seeds)(
    "a burst of 10 moves of a followed tag (seed %i) → the latest, ties to the higher digest",
    (seed) => {
      const storefront = { name: "storefront", policy: tagPolicy };
      // Pairs of pushes share a second, as ECR's event times do when two builds finish together.
      const pushes = Array.from({ length: 10 }, (_, n) =>
        image("stable", digestOf(`storefront ${n}`), minute(Math.floor(n / 2))),
      );
      const lastSecond = pushes.slice(8);
      const expected = lastSecond[0]!.digest > lastSecond[1]!.digest ? lastSecond[0] : lastSecond[1];
      const burst = shuffled(pushes, seed);

      const { winner } = pickNewest(storefront, burst, { tag: "stable", digest: A, pushedAt: t0 });

      expect(winner?.image).toEqual(expected);
      expect(applyInOrder(storefront, burst, { tag: "stable", digest: A, pushedAt: t0 }, new Set())).toEqual(
        expected,
      );
    },
  );

  it("prefers the later push of two with the same version, whatever their order", () => {
    const early = image("1.4.0", A, t0);
    const late = image("1.4.0", B, t1);

    expect(pickNewest(checkout, [early, late]).winner?.image).toBe(late);
    expect(pickNewest(checkout, [late, early]).winner?.image).toBe(late);
  });

  it("passes over a push listed twice once for each listing", () => {
    const push = image("1.4.0", A);
    const { winner, passedOver } = pickNewest(checkout, [push, push]);

    expect(winner?.image).toBe(push);
    expect(passedOver).toEqual([
      { image: push, reason: `checkout: skip 1.4.0 (${a}): superseded by 1.4.0 (${a}) in the same burst` },
    ]);
  });

  it("promotes nothing when every push is refused, and keeps each refusal's reason", () => {
    const pushes = [image("2.0.0", A), image("1.0.0", B)];

    const picked = pickNewest(checkout, pushes, { tag: "1.4.0", digest: C, pushedAt: t0 });

    expect(picked.winner).toBeUndefined();
    expect(picked.passedOver).toEqual([
      { image: pushes[0], reason: `checkout: skip 2.0.0 (${a}): 2.0.0 does not satisfy ^1.0.0` },
      {
        image: pushes[1],
        reason: `checkout: skip 1.0.0 (${b}): would downgrade 1.4.0 (sha256:cccccccccccc)`,
      },
    ]);
  });

  it("promotes nothing from an empty burst", () => {
    expect(pickNewest(checkout, [])).toEqual({ passedOver: [] });
  });
});

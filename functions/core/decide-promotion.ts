// Use case: whether a pushed image replaces what an environment runs, by the service's tag policy.

import semver, { type SemVer } from "semver";
import type { ServiceConfig, TagPolicy } from "./config.ts";
import { ValidationError } from "./errors.ts";
import type { ImageRef } from "./ports.ts";

/** What an environment runs now, as far as the decision needs it. */
export interface CurrentImage {
  tag?: string;
  digest: string;
  /** When the running image was pushed; without it, push order cannot be compared and the candidate wins. */
  pushedAt?: string;
}

export interface DecidePromotionInput {
  service: Pick<ServiceConfig, "name" | "policy">;
  candidate: ImageRef;
  /** Absent when nothing has been deployed yet. */
  current?: CurrentImage;
  /** Whether a rollback quarantined the candidate's digest for this service. */
  quarantined: boolean;
}

export interface PromoteDecision {
  action: "promote";
  /** The tag to write next to the digest, exactly as pushed (`v1.2.3` stays `v1.2.3`). */
  tag?: string;
  digest: string;
  reason: string;
}

export interface SkipDecision {
  action: "skip";
  reason: string;
}

export type PromotionDecision = PromoteDecision | SkipDecision;

/** Hex digits of a digest kept in reasons: enough to tell images apart at a glance, as `docker images` does. */
const shortDigestHexLength = 12;
const sha256DigestPattern = /^sha256:[0-9a-f]{64}$/;

type Service = DecidePromotionInput["service"];
type SemverPolicy = Extract<TagPolicy, { semver: string }>;
type PatternPolicy = Extract<TagPolicy, { pattern: string }>;

const isSemverPolicy = (policy: TagPolicy): policy is SemverPolicy => "semver" in policy;
const isPatternPolicy = (policy: TagPolicy): policy is PatternPolicy => "pattern" in policy;

/**
 * A digest as reasons show it.
 *
 * @example
 * shortDigest("sha256:abcdef1234567890…") // "sha256:abcdef123456"
 */
export const shortDigest = (digest: string): string =>
  sha256DigestPattern.test(digest) ? digest.slice(0, "sha256:".length + shortDigestHexLength) : digest;

const describeImage = (image: { tag?: string; digest: string }): string =>
  image.tag === undefined
    ? `untagged ${shortDigest(image.digest)}`
    : `${image.tag} (${shortDigest(image.digest)})`;

/**
 * A tag read as semver the way node-semver's `valid` reads it, without loose mode or coercion: `1.2.3`,
 * `1.2.3-rc.1`, `1.2.3+build` and the conventional `v1.2.3` (node-semver strips one lowercase `v`) are versions;
 * `V1.2.3`, `=1.2.3`, `1.2`, `01.2.3` are not. node-semver would also trim surrounding blanks, which no registry
 * tag contains, so a tag that carries any is refused rather than quietly read as another.
 */
const parseVersion = (tag: string | undefined): SemVer | undefined => {
  if (tag === undefined || tag.trim() !== tag) return undefined;
  return semver.parse(tag) ?? undefined;
};

const pushedAtMs = (pushedAt: string, what: string): number => {
  const ms = Date.parse(pushedAt);
  if (Number.isNaN(ms)) throw new ValidationError(`${what} has pushedAt "${pushedAt}", not an ISO 8601 time`);
  return ms;
};

/** Whether the policy accepts the candidate at all, regardless of what runs; the reason says why not. */
const admissionFailure = (service: Service, candidate: ImageRef): string | undefined => {
  const { policy } = service;
  const subject = `${service.name}: skip ${describeImage(candidate)}`;
  if (isSemverPolicy(policy)) {
    if (candidate.tag === undefined) {
      return `${subject}: a digest-only push has no tag, and the semver policy ${policy.semver} needs one`;
    }
    const version = parseVersion(candidate.tag);
    if (version === undefined) {
      return `${subject}: tag "${candidate.tag}" is not valid semver (policy ${policy.semver})`;
    }
    // Stricter than node-semver, which lets a range that names a pre-release admit pre-releases of that same
    // version: here the flag alone decides, so no range can bring a pre-release to an environment by surprise.
    if (version.prerelease.length > 0 && !policy.includePrerelease) {
      return `${subject}: ${candidate.tag} is a pre-release, and includePrerelease is off for ${policy.semver}`;
    }
    if (!semver.satisfies(version, policy.semver, { includePrerelease: policy.includePrerelease })) {
      return `${subject}: ${candidate.tag} does not satisfy ${policy.semver}`;
    }
    return undefined;
  }
  if (isPatternPolicy(policy)) {
    if (candidate.tag === undefined) {
      return `${subject}: a digest-only push has no tag to match against /${policy.pattern}/`;
    }
    // The pattern is used as written: its author anchors it with ^…$ when a partial match must not count.
    if (!new RegExp(policy.pattern).test(candidate.tag)) {
      return `${subject}: tag "${candidate.tag}" does not match /${policy.pattern}/`;
    }
    return undefined;
  }
  if (candidate.tag === undefined) {
    return `${subject}: a digest-only push does not move the followed tag "${policy.tag}"`;
  }
  if (candidate.tag !== policy.tag) {
    return `${subject}: "${candidate.tag}" is not the followed tag "${policy.tag}"`;
  }
  return undefined;
};

/**
 * Orders two pushes by time, then by digest, so that two pushes in the same second still have one winner
 * whichever order their events arrive in. Positive when `a` is newer.
 */
const comparePushes = (a: ImageRef, b: { digest: string; pushedAt: string }, what: string): number => {
  const byTime = pushedAtMs(a.pushedAt, "the candidate") - pushedAtMs(b.pushedAt, what);
  if (byTime !== 0) return Math.sign(byTime);
  return a.digest === b.digest ? 0 : a.digest > b.digest ? 1 : -1;
};

/** Why a candidate loses to what runs by push order; undefined when it wins or no push time is recorded. */
const pushOrderSkip = (
  service: Service,
  candidate: ImageRef,
  current: CurrentImage,
  lead: string,
): string | undefined => {
  if (current.pushedAt === undefined) return undefined;
  const order = comparePushes(candidate, { digest: current.digest, pushedAt: current.pushedAt }, "what runs");
  if (order > 0) return undefined;
  const subject = `${service.name}: skip ${describeImage(candidate)}`;
  if (pushedAtMs(candidate.pushedAt, "the candidate") === pushedAtMs(current.pushedAt, "what runs")) {
    return `${subject}: pushed at the same time (${candidate.pushedAt}) as what runs, ${describeImage(current)}; the tie goes to the higher digest`;
  }
  return `${subject}: ${lead}, ${describeImage(current)} pushed ${current.pushedAt} (this one ${candidate.pushedAt})`;
};

const decideAgainstCurrent = (
  service: Service,
  candidate: ImageRef,
  current: CurrentImage,
): PromotionDecision => {
  const { policy } = service;
  const promote = (why: string): PromoteDecision => ({
    action: "promote",
    ...(candidate.tag !== undefined && { tag: candidate.tag }),
    digest: candidate.digest,
    reason: `${service.name}: promote ${describeImage(candidate)} over ${describeImage(current)}: ${why}`,
  });
  const skip = (reason: string): SkipDecision => ({ action: "skip", reason });

  if (isSemverPolicy(policy)) {
    const candidateVersion = parseVersion(candidate.tag);
    const currentVersion = parseVersion(current.tag);
    if (candidateVersion !== undefined && currentVersion !== undefined) {
      const byVersion = semver.compare(candidateVersion, currentVersion);
      if (byVersion < 0) {
        return skip(
          `${service.name}: skip ${describeImage(candidate)}: would downgrade ${describeImage(current)}`,
        );
      }
      if (byVersion > 0) return promote(`newer version within ${policy.semver}`);
      // Same version (build metadata does not count, as semver says), another digest: a re-pushed tag. The digest
      // is what runs, so the newer push of the version wins; a late event for the older push must not bring it back.
      const older = pushOrderSkip(
        service,
        candidate,
        current,
        `an older push of version ${candidateVersion.version} than what runs`,
      );
      if (older !== undefined) return skip(older);
      return promote(`re-pushed tag, the newer push of version ${candidateVersion.version} wins`);
    }
    // What runs carries no version (pinned by digest or by hand), so "downgrade" has no meaning: any version the
    // range accepts replaces it. Guarding by push time instead would make the outcome of a burst depend on the
    // order its events arrive in.
    return promote(`what runs has no semver tag, so a version within ${policy.semver} replaces it`);
  }

  const older = pushOrderSkip(service, candidate, current, "older than what runs");
  if (older !== undefined) return skip(older);
  if (current.pushedAt === undefined) return promote("no push time is recorded for what runs");
  return isPatternPolicy(policy)
    ? promote(`newest push matching /${policy.pattern}/ wins`)
    : promote(`the followed tag "${policy.tag}" moved to a newer push`);
};

/**
 * Decides whether `candidate` should replace what an environment runs for a service. Pure: the caller reads the
 * current deployment and the quarantine, and records the reason whatever the outcome.
 *
 * The rules, checked in this order:
 * 1. the policy must accept the candidate: a tag (digest-only pushes move nothing), then
 *    - `semver`: a valid version (a leading `v` is accepted, as node-semver's `valid` does), not a pre-release unless
 *      `includePrerelease`, satisfying the range;
 *    - `pattern`: the tag matches the regular expression as written;
 *    - `tag`: the tag is the followed tag, and the promotion pins its digest;
 * 2. the same digest as what runs → skip, already deployed;
 * 3. a digest a rollback quarantined → skip, until `DELETE /quarantine/{service}/{digest}` clears it;
 * 4. nothing runs yet → promote (first deploy);
 * 5. never backwards: `semver` compares versions (lower → skip "would downgrade"; the same version under another
 *    digest is a re-pushed tag, promoted when it is the newer push; what runs without a semver tag is replaced);
 *    `pattern` and `tag` compare push times (older → skip). Pushes at the same instant are ordered by digest, so
 *    a burst of distinct digests ends on the same image whatever order its events arrive in.
 *
 * @example
 * decidePromotion({
 *   service: { name: "checkout", policy: { semver: "^1.0.0", includePrerelease: false } },
 *   candidate: { repository: "checkout", tag: "1.4.0", digest: "sha256:…", pushedAt: "2026-05-01T12:00:00Z" },
 *   current: { tag: "1.3.2", digest: "sha256:…", pushedAt: "2026-04-20T09:30:00Z" },
 *   quarantined: false,
 * }) // { action: "promote", tag: "1.4.0", digest: "sha256:…", reason: "checkout: promote 1.4.0 (sha256:…) over 1.3.2 (…): newer version within ^1.0.0" }
 */
export const decidePromotion = (input: DecidePromotionInput): PromotionDecision => {
  const { service, candidate, current, quarantined } = input;
  pushedAtMs(candidate.pushedAt, `candidate ${describeImage(candidate)}`);

  const refused = admissionFailure(service, candidate);
  if (refused !== undefined) return { action: "skip", reason: refused };

  const subject = `${service.name}: skip ${describeImage(candidate)}`;
  if (current !== undefined && current.digest === candidate.digest) {
    const alias = current.tag !== candidate.tag ? ` (running as ${describeImage(current)})` : "";
    return { action: "skip", reason: `${subject}: already deployed${alias}` };
  }
  if (quarantined) {
    return {
      action: "skip",
      reason: `${subject}: quarantined by a rollback; clear it with DELETE /quarantine/${service.name}/${candidate.digest}`,
    };
  }
  if (current === undefined) {
    return {
      action: "promote",
      ...(candidate.tag !== undefined && { tag: candidate.tag }),
      digest: candidate.digest,
      reason: `${service.name}: promote ${describeImage(candidate)}: first deploy, nothing runs yet`,
    };
  }
  return decideAgainstCurrent(service, candidate, current);
};

/**
 * The policy's total order over candidates it accepts, newest first: `semver` by version, then push time;
 * `pattern` and `tag` by push time; then digest and tag, so the same burst always yields the same order.
 * Candidates the policy refuses sort last.
 */
const newestFirst =
  (service: Service) =>
  (a: ImageRef, b: ImageRef): number => {
    const admittedA = admissionFailure(service, a) === undefined;
    const admittedB = admissionFailure(service, b) === undefined;
    if (admittedA !== admittedB) return admittedA ? -1 : 1;
    if (admittedA && isSemverPolicy(service.policy)) {
      const versionA = parseVersion(a.tag);
      const versionB = parseVersion(b.tag);
      if (versionA !== undefined && versionB !== undefined) {
        const byVersion = semver.compare(versionB, versionA);
        if (byVersion !== 0) return byVersion;
      }
    }
    const byPush = comparePushes(b, a, `candidate ${describeImage(a)}`);
    if (byPush !== 0) return byPush;
    const tagA = a.tag ?? "";
    const tagB = b.tag ?? "";
    return tagA === tagB ? 0 : tagA < tagB ? 1 : -1;
  };

/** What `pickNewest` chose from a burst. */
export interface BurstPick {
  /** The candidate to promote and the decision for it; undefined when no candidate may replace what runs. */
  winner?: { image: ImageRef; decision: PromoteDecision };
  /** Every other candidate, in the order given, with why it is not promoted: its own skip, or the winner. */
  passedOver: { image: ImageRef; reason: string }[];
}

/**
 * Coalesces a burst of pushes for one service into at most one promotion: the newest candidate by the policy's
 * order (highest version for `semver`, latest push for `pattern` and `tag`, ties broken by push time, then digest)
 * that `decidePromotion` would promote. Applying the burst's decisions one by one, in any order, ends on the same
 * image, as long as the burst does not push one digest twice.
 *
 * @example
 * const { winner, passedOver } = pickNewest(service, pushes, deployment, new Set(quarantinedDigests));
 * if (winner) await commit(winner.image, winner.decision.reason);
 * for (const { image, reason } of passedOver) record(image, reason);
 */
export const pickNewest = (
  service: Service,
  candidates: readonly ImageRef[],
  current?: CurrentImage,
  quarantined: ReadonlySet<string> = new Set(),
): BurstPick => {
  const decisions = candidates.map((image) =>
    decidePromotion({ service, candidate: image, current, quarantined: quarantined.has(image.digest) }),
  );
  const order = newestFirst(service);
  // Positions, not objects, so that the same push listed twice is still two candidates.
  const ranked = candidates.map((_, index) => index).sort((a, b) => order(candidates[a]!, candidates[b]!));
  const winnerIndex = ranked.find((index) => decisions[index]?.action === "promote");
  const winnerDecision = winnerIndex === undefined ? undefined : decisions[winnerIndex];
  const winner =
    winnerIndex !== undefined && winnerDecision?.action === "promote"
      ? { image: candidates[winnerIndex]!, decision: winnerDecision }
      : undefined;

  const passedOver: BurstPick["passedOver"] = [];
  candidates.forEach((image, index) => {
    const decision = decisions[index]!;
    if (index === winnerIndex) return;
    const reason =
      decision.action === "skip" || winner === undefined
        ? decision.reason
        : `${service.name}: skip ${describeImage(image)}: superseded by ${describeImage(winner.image)} in the same burst`;
    passedOver.push({ image, reason });
  });
  return { ...(winner !== undefined && { winner }), passedOver };
};

// Field formats shared by the event schemas, each with an error message that says what was expected.
import { z } from "zod";

/** A 12-digit AWS account id, e.g. `123456789012`. */
export const awsAccountId = z.string().regex(/^\d{12}$/, "expected a 12-digit AWS account id");

/** An AWS region code, e.g. `eu-west-1`. */
export const awsRegion = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "expected an AWS region code such as eu-west-1");

/**
 * An EventBridge event id. AWS services do not emit RFC 4122 version/variant bits (e.g.
 * `c4c1c1c9-6542-e61b-6ef0-8c4d36933a92`), so only the 8-4-4-4-12 hex layout is checked.
 */
export const eventId = z.guid("expected an event id in 8-4-4-4-12 hex form");

/** A UTC timestamp as `Date.prototype.toISOString()` and EventBridge write it, e.g. `2025-01-14T09:30:12Z`. */
export const utcTimestamp = z.iso.datetime({ error: "expected an ISO 8601 UTC timestamp ending in Z" });

/** An RFC 3339 timestamp with any offset, as Go's `time.Time` marshals it (Alertmanager, GitHub). */
export const offsetTimestamp = z.iso.datetime({
  offset: true,
  error: "expected an ISO 8601 timestamp with Z or a ±hh:mm offset",
});

/**
 * The timestamp CloudWatch alarms write into `state.timestamp`: milliseconds and a `+0000` offset
 * without a colon, which `z.iso.datetime` does not accept.
 */
export const cloudWatchTimestamp = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/,
    "expected a CloudWatch timestamp such as 2025-01-14T09:30:12.345+0000",
  );

/** A content-addressed image digest, e.g. `sha256:` followed by 64 lowercase hex characters. */
export const imageDigest = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, "expected an image digest of the form sha256:<64 lowercase hex>");

/** An image tag as the OCI distribution spec allows it: up to 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`. */
export const imageTag = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, "expected an OCI image tag (1-128 of [A-Za-z0-9_.-])");

/** An ECR repository name, optionally namespaced (`team/checkout`), as the ECR API pattern defines it. */
export const ecrRepositoryName = z
  .string()
  .min(2)
  .max(256)
  .regex(
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    "expected an ECR repository name (lowercase, optionally namespaced with /)",
  );

/** A full 40-character git commit SHA. */
export const gitSha = z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-character lowercase hex git SHA");

/**
 * A Kubernetes-style DNS label (services and environments become namespaces, Argo CD applications
 * and label values, so they must fit all three).
 */
export const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "expected a DNS label (lowercase alphanumerics and -)");

/** The ARN of a Secrets Manager secret; Secrets Manager always appends a hyphen and 6 random characters. */
export const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
    "expected a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>)",
  );

/** A Secrets Manager secret name: up to 512 of `[A-Za-z0-9/_+=.@-]`. */
export const secretName = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9/_+=.@-]+$/, "expected a Secrets Manager secret name");

/** String-to-string maps such as Prometheus labels and annotations. */
export const stringMap = z.record(z.string(), z.string());

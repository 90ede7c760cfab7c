// The EKS IAM bearer token (a presigned STS GetCallerIdentity URL, as `aws eks get-token` makes it) and the cluster's endpoint.

import { Sha256 } from "@aws-crypto/sha256-js";
import { type Cluster, DescribeClusterCommand, type EKSClient } from "@aws-sdk/client-eks";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { NotFoundError, TransientError, ValidationError } from "../../core/errors.ts";
import type { Clock } from "../../core/ports.ts";

/** What the IAM authenticator expects before the base64url of the presigned URL. */
export const eksTokenPrefix = "k8s-aws-v1.";
/** The signed header that binds a token to one cluster, so it cannot be replayed against another. */
export const clusterIdHeader = "x-k8s-aws-id";
/**
 * `aws eks get-token` presigns for 60 s (its URL_TIMEOUT). STS in fact honours a presigned GetCallerIdentity for
 * 15 minutes after X-Amz-Date, so 60 s is a conservative bound; signing is local, so refreshing often costs nothing.
 */
export const presignExpiresSeconds = 60;
/** A cached token is replaced this long after signing, well inside the 60 s it is presigned for. */
export const tokenRefreshAfterSeconds = 50;
/** A token is never kept closer than this to the expiry of the session credentials that signed it. */
export const credentialExpiryMarginSeconds = 10;

const stsApiVersion = "2011-06-15";
const millisecondsPerSecond = 1000;
const systemClock: Clock = { now: () => new Date() };

/**
 * STS's regional endpoint, as the CLI resolves it (China regions live under `amazonaws.com.cn`).
 *
 * @example
 * stsHostname("eu-west-1") // "sts.eu-west-1.amazonaws.com"
 */
export const stsHostname = (region: string): string =>
  `sts.${region}.${region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"}`;

/** RFC 3986 escaping, the same the signer applies to the canonical query, so the URL carries what was signed. */
const escapeUri = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The CLI's parameter order (botocore adds them in this order, the signature last), so tokens match byte for byte. */
const queryOrder = [
  "Action",
  "Version",
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Security-Token",
  "X-Amz-Signature",
];
const queryRank = (key: string): number => {
  const rank = queryOrder.indexOf(key);
  return rank === -1 ? queryOrder.length : rank;
};

const toBase64Url = (text: string): string => Buffer.from(text, "utf8").toString("base64url");

/**
 * Signs one EKS token: `k8s-aws-v1.` + base64url (no padding) of a SigV4 query-presigned
 * `https://sts.<region>.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-…` URL whose signed
 * headers include `host` and `x-k8s-aws-id: <cluster>`. Pure apart from hashing: same inputs, same token.
 *
 * @example
 * const token = await signEksToken({ clusterName: "platform", region: "eu-west-1", credentials, signingDate: new Date() });
 */
export const signEksToken = async (input: {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  signingDate: Date;
}): Promise<string> => {
  const hostname = stsHostname(input.region);
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: "sts",
    sha256: Sha256,
  });
  const presigned = await signer.presign(
    {
      method: "GET",
      protocol: "https:",
      hostname,
      path: "/",
      query: { Action: "GetCallerIdentity", Version: stsApiVersion },
      headers: { host: hostname, [clusterIdHeader]: input.clusterName },
    },
    { expiresIn: presignExpiresSeconds, signingDate: input.signingDate },
  );
  const query = Object.entries(presigned.query ?? {})
    .sort(([a], [b]) => queryRank(a) - queryRank(b) || a.localeCompare(b))
    .flatMap(([key, value]) =>
      (Array.isArray(value) ? value : [value]).map((one) => `${escapeUri(key)}=${escapeUri(one ?? "")}`),
    )
    .join("&");
  return `${eksTokenPrefix}${toBase64Url(`https://${hostname}/?${query}`)}`;
};

export interface EksTokenProviderOptions {
  clusterName: string;
  region: string;
  /** Where the signing credentials come from, e.g. `fromNodeProviderChain()` (the Lambda role). */
  credentials: AwsCredentialIdentityProvider;
  clock?: Clock;
}

interface CachedToken {
  token: string;
  refreshAtMs: number;
}

/**
 * Bearer tokens for one EKS cluster, signed locally (no network call) and reused until shortly before they lapse.
 * Concurrent callers share one signing. Hand `() => provider.getToken()` to `kubeConfigFor`.
 *
 * @example
 * const provider = new EksTokenProvider({ clusterName: "platform", region: "eu-west-1", credentials: fromNodeProviderChain() });
 * const kubeConfig = kubeConfigFor({ ...(await eksClusterConnection({ eks, clusterName: "platform" })), token: () => provider.getToken() });
 */
export class EksTokenProvider {
  private readonly clock: Clock;
  private cached: CachedToken | undefined;
  private signing: Promise<CachedToken> | undefined;

  constructor(private readonly options: EksTokenProviderOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** A token valid for at least `presignExpiresSeconds - tokenRefreshAfterSeconds` more seconds. */
  async getToken(): Promise<string> {
    const nowMs = this.clock.now().getTime();
    if (this.cached !== undefined && nowMs < this.cached.refreshAtMs) return this.cached.token;
    this.signing ??= this.sign().finally(() => {
      this.signing = undefined;
    });
    this.cached = await this.signing;
    return this.cached.token;
  }

  private async sign(): Promise<CachedToken> {
    const { clusterName, region } = this.options;
    let credentials: AwsCredentialIdentity;
    try {
      credentials = await this.options.credentials();
    } catch (error) {
      throw new TransientError(
        `could not obtain AWS credentials to sign a token for EKS cluster ${clusterName}`,
        {
          cause: error,
        },
      );
    }
    const signingDate = this.clock.now();
    const token = await signEksToken({ clusterName, region, credentials, signingDate });
    const signedAtMs = signingDate.getTime();
    const byAge = signedAtMs + tokenRefreshAfterSeconds * millisecondsPerSecond;
    // A token outlives nothing it was signed with: expired session credentials make STS reject it.
    const byCredentials =
      credentials.expiration === undefined
        ? Number.POSITIVE_INFINITY
        : credentials.expiration.getTime() - credentialExpiryMarginSeconds * millisecondsPerSecond;
    return { token, refreshAtMs: Math.min(byAge, byCredentials) };
  }
}

/** Where the Kubernetes API of a cluster is and which CA signs its certificate. */
export interface ClusterConnection {
  /** `https://…eks.amazonaws.com`. */
  server: string;
  /** The cluster CA bundle, base64 PEM, exactly as DescribeCluster returns it (what `caData` expects). */
  caData: string;
}

const connections = new WeakMap<EKSClient, Map<string, Promise<ClusterConnection>>>();

const httpStatusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;

const throttlingErrorNames = new Set([
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
]);
const firstServerErrorStatus = 500;
const tooManyRequestsStatus = 429;

const describeCluster = async (eks: EKSClient, clusterName: string): Promise<ClusterConnection> => {
  let cluster: Cluster | undefined;
  try {
    cluster = (await eks.send(new DescribeClusterCommand({ name: clusterName }))).cluster;
  } catch (error) {
    const name = (error as { name?: string } | null)?.name ?? "";
    if (name === "ResourceNotFoundException") {
      throw new NotFoundError(`EKS cluster ${clusterName} does not exist`, { cause: error });
    }
    const status = httpStatusOf(error);
    // No HTTP status means the request never got an answer (network, timeout): worth another try.
    if (
      status === undefined ||
      status >= firstServerErrorStatus ||
      status === tooManyRequestsStatus ||
      throttlingErrorNames.has(name)
    ) {
      throw new TransientError(`DescribeCluster ${clusterName} failed (${name || "no response"})`, {
        cause: error,
      });
    }
    throw new ValidationError(`DescribeCluster ${clusterName} was refused (${name})`, { cause: error });
  }
  const server = cluster?.endpoint;
  const caData = cluster?.certificateAuthority?.data;
  if (server === undefined || caData === undefined) {
    // A cluster that is still CREATING has no endpoint yet; it will.
    throw new TransientError(
      `EKS cluster ${clusterName} has no endpoint or CA yet (status ${cluster?.status ?? "unknown"})`,
    );
  }
  return { server, caData };
};

/**
 * The API endpoint and CA of an EKS cluster, from `DescribeCluster`, asked once per client and cluster (a failed
 * lookup is not remembered, so the next call asks again).
 *
 * @example
 * const { server, caData } = await eksClusterConnection({ eks: new EKSClient({}), clusterName: "platform" });
 */
export const eksClusterConnection = (input: {
  eks: EKSClient;
  clusterName: string;
}): Promise<ClusterConnection> => {
  let byName = connections.get(input.eks);
  if (byName === undefined) {
    byName = new Map();
    connections.set(input.eks, byName);
  }
  const known = byName.get(input.clusterName);
  if (known !== undefined) return known;
  const lookup = describeCluster(input.eks, input.clusterName);
  byName.set(input.clusterName, lookup);
  lookup.catch(() => {
    if (byName.get(input.clusterName) === lookup) byName.delete(input.clusterName);
  });
  return lookup;
};

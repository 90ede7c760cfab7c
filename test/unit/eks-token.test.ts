// The EKS bearer token against the format `aws eks get-token` produces and the IAM authenticator verifies; DescribeCluster.

import { createHash, createHmac } from "node:crypto";
import {
  DescribeClusterCommand,
  EKSClient,
  EKSServiceException,
  ResourceNotFoundException,
} from "@aws-sdk/client-eks";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import {
  EksTokenProvider,
  eksClusterConnection,
  eksTokenPrefix,
  presignExpiresSeconds,
  signEksToken,
  stsHostname,
  tokenRefreshAfterSeconds,
} from "../../functions/adapters/aws/eks-token.ts";
import { NotFoundError, TransientError, ValidationError } from "../../functions/core/errors.ts";

// AWS's documentation example credentials: not real, stable across runs.
const longTermCredentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const sessionCredentials = { ...longTermCredentials, sessionToken: "FQoGZXIvYXdzEXAMPLE//session+token=" };
const clusterName = "platform";
const region = "eu-west-1";
const signingDate = new Date("2024-05-01T12:00:00.000Z");

/**
 * What `aws eks get-token --cluster-name platform --region eu-west-1` prints for these credentials at `signingDate`:
 * produced by the AWS CLI's own TokenGenerator (awscli/customizations/eks/get_token.py) with its clock frozen.
 */
const awsCliTokens = {
  longTerm:
    "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjQwNTAxJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNDA1MDFUMTIwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9NGVmMGYwN2YyY2Y5NTNhYmE0MDJjN2FkZDg1NTQ4YTJlYTE4ODY0MGIwMTQzN2ZkNDMzMzBkODljN2RmMmNhZg",
  session:
    "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjQwNTAxJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNDA1MDFUMTIwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TZWN1cml0eS1Ub2tlbj1GUW9HWlhJdllYZHpFWEFNUExFJTJGJTJGc2Vzc2lvbiUyQnRva2VuJTNEJlgtQW16LVNpZ25hdHVyZT04OTBhMTdmYzFjNGRiZmMzNDg0MTdjODFmYzNhNWYyZGViNTdlYTAzNjdlZTkwZDg3OTA5ZWM1ZTIwYWM2ZDQ2",
};

/** The query parameters aws-iam-authenticator lets through; anything else makes it reject the token. */
const authenticatorWhitelist = new Set([
  "action",
  "version",
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-signedheaders",
]);

/** Decodes a token as the authenticator does: prefix, then unpadded base64url, then a URL. */
const decode = (token: string): URL => {
  expect(token.startsWith(eksTokenPrefix)).toBe(true);
  const encoded = token.slice(eksTokenPrefix.length);
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from(encoded, "base64url").toString("utf8"));
};

const rfc3986 = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const hmac = (key: string | Buffer, data: string): Buffer =>
  createHmac("sha256", key).update(data, "utf8").digest();
const sha256Hex = (data: string): string => createHash("sha256").update(data, "utf8").digest("hex");

/** SigV4 query presigning, written out from the specification rather than taken from the signer under test. */
const expectedSignature = (url: URL, secretAccessKey: string, cluster: string): string => {
  const params = [...url.searchParams.entries()].filter(([key]) => key !== "X-Amz-Signature");
  const canonicalQuery = params
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .sort()
    .join("&");
  const canonicalRequest = [
    "GET",
    "/",
    canonicalQuery,
    `host:${url.host}\nx-k8s-aws-id:${cluster}\n`,
    "host;x-k8s-aws-id",
    sha256Hex(""),
  ].join("\n");
  const amzDate = url.searchParams.get("X-Amz-Date") ?? "";
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/sts/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), "sts"), "aws4_request");
  return createHmac("sha256", signingKey).update(stringToSign, "utf8").digest("hex");
};

describe("signEksToken", () => {
  it.each([
    ["long-term credentials", longTermCredentials, awsCliTokens.longTerm],
    ["session credentials", sessionCredentials, awsCliTokens.session],
  ])("matches aws eks get-token byte for byte with %s", async (_case, credentials, expected) => {
    expect(await signEksToken({ clusterName, region, credentials, signingDate })).toBe(expected);
  });

  it("is k8s-aws-v1. + unpadded base64url of a presigned STS GetCallerIdentity URL, as aws eks get-token makes", async () => {
    const token = await signEksToken({ clusterName, region, credentials: longTermCredentials, signingDate });
    expect(token).not.toContain("=");
    const url = decode(token);
    expect(url.protocol).toBe("https:");
    expect(url.host).toBe("sts.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe("/");
    const params = Object.fromEntries(url.searchParams.entries());
    expect(params).toEqual({
      Action: "GetCallerIdentity",
      Version: "2011-06-15",
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": "AKIDEXAMPLE/20240501/eu-west-1/sts/aws4_request",
      "X-Amz-Date": "20240501T120000Z",
      "X-Amz-Expires": String(presignExpiresSeconds),
      "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
      "X-Amz-Signature": expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(presignExpiresSeconds).toBe(60);
    for (const key of url.searchParams.keys())
      expect(authenticatorWhitelist.has(key.toLowerCase())).toBe(true);
  });

  it("signs host and x-k8s-aws-id exactly as the SigV4 specification computes it", async () => {
    const url = decode(
      await signEksToken({ clusterName, region, credentials: longTermCredentials, signingDate }),
    );
    expect(url.searchParams.get("X-Amz-Signature")).toBe(
      expectedSignature(url, longTermCredentials.secretAccessKey, clusterName),
    );
  });

  it("carries and signs the session token of temporary credentials", async () => {
    const url = decode(
      await signEksToken({ clusterName, region, credentials: sessionCredentials, signingDate }),
    );
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe(sessionCredentials.sessionToken);
    expect(url.searchParams.get("X-Amz-Signature")).toBe(
      expectedSignature(url, sessionCredentials.secretAccessKey, clusterName),
    );
  });

  it("binds the token to the cluster: another cluster name, another signature", async () => {
    const one = decode(
      await signEksToken({ clusterName, region, credentials: longTermCredentials, signingDate }),
    );
    const other = decode(
      await signEksToken({ clusterName: "other", region, credentials: longTermCredentials, signingDate }),
    );
    expect(other.searchParams.get("X-Amz-Signature")).not.toBe(one.searchParams.get("X-Amz-Signature"));
    expect(other.searchParams.get("X-Amz-Signature")).toBe(
      expectedSignature(other, longTermCredentials.secretAccessKey, "other"),
    );
  });

  it("is deterministic for fixed credentials and time", async () => {
    const input = { clusterName, region, credentials: longTermCredentials, signingDate };
    expect(await signEksToken(input)).toBe(await signEksToken(input));
  });

  it.each([
    ["eu-west-1", "sts.eu-west-1.amazonaws.com"],
    ["us-gov-west-1", "sts.us-gov-west-1.amazonaws.com"],
    ["cn-north-1", "sts.cn-north-1.amazonaws.com.cn"],
  ])("uses the regional STS endpoint of %s", (name, host) => {
    expect(stsHostname(name)).toBe(host);
  });
});

/** A clock the test moves by hand. */
const manualClock = (start: Date) => {
  let nowMs = start.getTime();
  return {
    now: () => new Date(nowMs),
    advanceSeconds: (seconds: number) => {
      nowMs += seconds * 1000;
    },
  };
};

const countingCredentials = (credentials: {
  accessKeyId: string;
  secretAccessKey: string;
  expiration?: Date;
}) => {
  let calls = 0;
  return {
    provider: async () => {
      calls += 1;
      return credentials;
    },
    calls: () => calls,
  };
};

describe("EksTokenProvider", () => {
  it("reuses a token until tokenRefreshAfterSeconds, then signs a new one", async () => {
    const clock = manualClock(signingDate);
    const credentials = countingCredentials(longTermCredentials);
    const provider = new EksTokenProvider({ clusterName, region, credentials: credentials.provider, clock });
    const first = await provider.getToken();
    clock.advanceSeconds(tokenRefreshAfterSeconds - 1);
    expect(await provider.getToken()).toBe(first);
    expect(credentials.calls()).toBe(1);
    clock.advanceSeconds(1);
    const second = await provider.getToken();
    expect(second).not.toBe(first);
    expect(decode(second).searchParams.get("X-Amz-Date")).toBe("20240501T120050Z");
    expect(credentials.calls()).toBe(2);
    expect(tokenRefreshAfterSeconds).toBeLessThan(presignExpiresSeconds);
  });

  it("signs once for concurrent callers", async () => {
    const credentials = countingCredentials(longTermCredentials);
    const provider = new EksTokenProvider({
      clusterName,
      region,
      credentials: credentials.provider,
      clock: manualClock(signingDate),
    });
    const tokens = await Promise.all([provider.getToken(), provider.getToken(), provider.getToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(credentials.calls()).toBe(1);
  });

  it("does not keep a token past the expiry of the session credentials that signed it", async () => {
    const clock = manualClock(signingDate);
    const expiration = new Date(signingDate.getTime() + 30_000);
    const credentials = countingCredentials({ ...longTermCredentials, expiration });
    const provider = new EksTokenProvider({ clusterName, region, credentials: credentials.provider, clock });
    const first = await provider.getToken();
    clock.advanceSeconds(19);
    expect(await provider.getToken()).toBe(first);
    clock.advanceSeconds(1);
    expect(await provider.getToken()).not.toBe(first);
    expect(credentials.calls()).toBe(2);
  });

  it("reports failing credentials as a TransientError and tries again on the next call", async () => {
    let fail = true;
    const provider = new EksTokenProvider({
      clusterName,
      region,
      clock: manualClock(signingDate),
      credentials: async () => {
        if (fail) throw new Error("instance metadata service timed out");
        return longTermCredentials;
      },
    });
    const error = await provider.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain(clusterName);
    fail = false;
    expect(decode(await provider.getToken()).host).toBe("sts.eu-west-1.amazonaws.com");
  });
});

describe("eksClusterConnection", () => {
  const eksMock = mockClient(EKSClient);
  afterEach(() => eksMock.reset());

  const activeCluster = {
    cluster: {
      name: clusterName,
      status: "ACTIVE" as const,
      endpoint: "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
      certificateAuthority: { data: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t" },
    },
  };

  it("returns the endpoint and CA data from DescribeCluster, asking once per client and cluster", async () => {
    eksMock.on(DescribeClusterCommand, { name: clusterName }).resolves(activeCluster);
    const eks = new EKSClient({ region });
    const first = await eksClusterConnection({ eks, clusterName });
    const second = await eksClusterConnection({ eks, clusterName });
    expect(first).toEqual({
      server: "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
      caData: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
    });
    expect(second).toBe(first);
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(1);
  });

  it("maps a missing cluster to NotFoundError and does not remember the failure", async () => {
    eksMock
      .on(DescribeClusterCommand)
      .rejectsOnce(
        new ResourceNotFoundException({ message: "No cluster found", $metadata: { httpStatusCode: 404 } }),
      )
      .resolves(activeCluster);
    const eks = new EKSClient({ region });
    await expect(eksClusterConnection({ eks, clusterName })).rejects.toBeInstanceOf(NotFoundError);
    await expect(eksClusterConnection({ eks, clusterName })).resolves.toMatchObject({
      server: expect.any(String),
    });
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(2);
  });

  it.each([
    [
      "throttling",
      new EKSServiceException({
        name: "ThrottlingException",
        $fault: "client",
        message: "Rate exceeded",
        $metadata: { httpStatusCode: 400 },
      }),
      TransientError,
    ],
    [
      "a server error",
      new EKSServiceException({
        name: "ServerException",
        $fault: "server",
        message: "boom",
        $metadata: { httpStatusCode: 500 },
      }),
      TransientError,
    ],
    [
      "no answer at all",
      Object.assign(new Error("socket hang up"), { name: "TimeoutError" }),
      TransientError,
    ],
    [
      "access denied",
      new EKSServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        message: "not authorized",
        $metadata: { httpStatusCode: 403 },
      }),
      ValidationError,
    ],
  ])("maps %s to the right error class", async (_case, failure, expected) => {
    eksMock.on(DescribeClusterCommand).rejects(failure);
    await expect(
      eksClusterConnection({ eks: new EKSClient({ region }), clusterName }),
    ).rejects.toBeInstanceOf(expected);
  });

  it("treats a cluster without an endpoint yet (CREATING) as transient", async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { name: clusterName, status: "CREATING" } });
    const error = await eksClusterConnection({ eks: new EKSClient({ region }), clusterName }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain("CREATING");
  });
});

// KubernetesDeployTarget in isolation: status mapping edge cases, error classes per HTTP answer, the sync write, tokens.

import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { HttpMethod, RequestContext } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  KubernetesDeployTarget,
  kubeConfigFor,
  maxSyncAttempts,
  toApplicationStatus,
} from "../../functions/adapters/kubernetes/kubernetes-deploy-target.ts";
import { NotFoundError, TransientError, ValidationError } from "../../functions/core/errors.ts";

const namespace = "argocd";
const name = "checkout-staging";
const metadata = { name, namespace, resourceVersion: "7" };

describe("toApplicationStatus", () => {
  it("maps every field Argo CD reports", () => {
    expect(
      toApplicationStatus(
        {
          metadata,
          status: {
            sync: { status: "OutOfSync", revision: "abc" },
            health: { status: "Degraded", message: "Deployment has timed out progressing." },
            reconciledAt: "2024-05-01T12:00:00Z",
            operationState: {
              phase: "Failed",
              message: "one or more objects failed to apply",
              syncResult: { revision: "abc" },
              startedAt: "2024-05-01T11:59:00Z",
              finishedAt: "2024-05-01T12:00:00Z",
            },
          },
        },
        namespace,
        name,
      ),
    ).toEqual({
      namespace,
      name,
      syncStatus: "OutOfSync",
      syncRevision: "abc",
      healthStatus: "Degraded",
      healthMessage: "Deployment has timed out progressing.",
      reconciledAt: "2024-05-01T12:00:00Z",
      operation: {
        phase: "Failed",
        message: "one or more objects failed to apply",
        revision: "abc",
        startedAt: "2024-05-01T11:59:00Z",
        finishedAt: "2024-05-01T12:00:00Z",
      },
    });
  });

  it("reads an Application the controller has not reconciled yet (no status) as Unknown/Unknown", () => {
    expect(toApplicationStatus({ metadata, spec: {} }, namespace, name)).toEqual({
      namespace,
      name,
      syncStatus: "Unknown",
      healthStatus: "Unknown",
    });
  });

  it.each([
    ["a health status Argo CD may add later", { health: { status: "Exploded" } }, "healthStatus"],
    ["a sync status it does not know", { sync: { status: "Drifting" } }, "syncStatus"],
    ["a number where a string belongs", { sync: { status: 42 }, health: { status: null } }, "syncStatus"],
    ["sync and health of the wrong shape", { sync: "Synced", health: ["Healthy"] }, "healthStatus"],
  ])("reads %s as Unknown", (_case, status, field) => {
    const mapped = toApplicationStatus({ metadata, status }, namespace, name);
    expect(mapped[field as "syncStatus" | "healthStatus"]).toBe("Unknown");
  });

  it("leaves out an operation whose phase it does not know, rather than guess", () => {
    const mapped = toApplicationStatus(
      { metadata, status: { operationState: { phase: "Paused", startedAt: "2024-05-01T12:00:00Z" } } },
      namespace,
      name,
    );
    expect(mapped.operation).toBeUndefined();
  });

  it("takes a running operation's revision from the requested sync until a result exists", () => {
    const mapped = toApplicationStatus(
      {
        metadata,
        status: {
          operationState: {
            phase: "Running",
            operation: { sync: { revision: "def" } },
            startedAt: "2024-05-01T12:00:00Z",
          },
        },
      },
      namespace,
      name,
    );
    expect(mapped.operation).toEqual({
      phase: "Running",
      revision: "def",
      startedAt: "2024-05-01T12:00:00Z",
    });
  });

  it.each([
    ["null", null],
    ["a string", "Application"],
    ["an object without metadata", { status: {} }],
  ])("rejects %s as not an Application (ValidationError)", (_case, object) => {
    expect(() => toApplicationStatus(object, namespace, name)).toThrow(ValidationError);
  });
});

interface Recorded {
  method: string;
  url: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

/** A stub API server answering from a script, one answer per request, recording what it was sent. */
const stubApiServer = async (answers: { status: number; body: unknown }[]) => {
  const recorded: Recorded[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let text = "";
    request.on("data", (chunk) => {
      text += chunk;
    });
    request.on("end", () => {
      recorded.push({
        method: request.method ?? "",
        url: request.url ?? "",
        contentType: request.headers["content-type"],
        authorization: request.headers.authorization,
        body: text === "" ? undefined : JSON.parse(text),
      });
      const answer = answers.shift() ?? {
        status: 500,
        body: { kind: "Status", message: "script exhausted" },
      };
      response.writeHead(answer.status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    recorded,
    target: (options: { token?: () => Promise<string> } = {}) =>
      new KubernetesDeployTarget(
        kubeConfigFor({
          server: url,
          skipTLSVerify: true,
          token: options.token ?? (async () => "stub-token"),
        }),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};

const status = (code: number, reason: string, message: string) => ({
  status: code,
  body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code },
});

const application = (extra: Record<string, unknown> = {}) => ({
  status: 200,
  body: { apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata, spec: {}, ...extra },
});

describe("KubernetesDeployTarget against a scripted API server", () => {
  let stub: Awaited<ReturnType<typeof stubApiServer>> | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it.each([
    [404, "NotFound", NotFoundError],
    [409, "Conflict", TransientError],
    [429, "TooManyRequests", TransientError],
    [500, "InternalError", TransientError],
    [503, "ServiceUnavailable", TransientError],
    [400, "BadRequest", ValidationError],
    [401, "Unauthorized", ValidationError],
    [403, "Forbidden", ValidationError],
    [422, "Invalid", ValidationError],
  ])("maps %i %s to %o", async (code, reason, expected) => {
    stub = await stubApiServer([status(code, reason, `the server says ${reason}`)]);
    const error = await stub
      .target()
      .getApplication(namespace, name)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(expected);
    expect((error as Error).cause).toBeDefined();
  });

  it("puts the server's Status message in the error, never the bearer token", async () => {
    stub = await stubApiServer([status(403, "Forbidden", 'applications.argoproj.io "x" is forbidden')]);
    const error = (await stub
      .target({ token: async () => "secret-bearer-value" })
      .refreshApplication(namespace, name)
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toContain("is forbidden");
    expect(error.message).not.toContain("secret-bearer-value");
    // Everything a logger could print, causes included.
    expect(inspect(error, { depth: 10 })).not.toContain("secret-bearer-value");
  });

  it("refreshes with a JSON merge patch of the annotation, normal by default", async () => {
    stub = await stubApiServer([application(), application()]);
    await stub.target().refreshApplication(namespace, name);
    await stub.target().refreshApplication(namespace, name, "hard");
    expect(
      stub.recorded.map(({ method, url, contentType, body }) => ({ method, url, contentType, body })),
    ).toEqual([
      {
        method: "PATCH",
        url: `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/applications/${name}`,
        contentType: "application/merge-patch+json",
        body: { metadata: { annotations: { "argocd.argoproj.io/refresh": "normal" } } },
      },
      expect.objectContaining({
        body: { metadata: { annotations: { "argocd.argoproj.io/refresh": "hard" } } },
      }),
    ]);
  });

  it("syncs with the resourceVersion it read as precondition, the app's sync options and retry, and clears the last result", async () => {
    const spec = { syncPolicy: { syncOptions: ["CreateNamespace=true"], retry: { limit: 2 } } };
    stub = await stubApiServer([application({ spec }), application()]);
    await stub.target().syncApplication(namespace, name, { revision: "abc" });
    const patch = stub.recorded[1];
    expect(patch?.contentType).toBe("application/merge-patch+json");
    expect(patch?.body).toEqual({
      metadata: { resourceVersion: "7" },
      operation: {
        initiatedBy: { username: "switchyard" },
        sync: {
          revision: "abc",
          prune: false,
          syncOptions: ["CreateNamespace=true"],
          syncStrategy: { hook: {} },
        },
        retry: { limit: 2 },
      },
      status: { operationState: null },
    });
  });

  it("re-reads and tries again when the Application changed between read and write (409)", async () => {
    stub = await stubApiServer([
      application(),
      status(409, "Conflict", "the object has been modified"),
      application({ metadata: { ...metadata, resourceVersion: "8" } }),
      application(),
    ]);
    await stub.target().syncApplication(namespace, name);
    expect(stub.recorded.map((r) => r.method)).toEqual(["GET", "PATCH", "GET", "PATCH"]);
    expect(stub.recorded[3]?.body).toMatchObject({ metadata: { resourceVersion: "8" } });
  });

  it("gives up with TransientError after maxSyncAttempts conflicts", async () => {
    const conflict = status(409, "Conflict", "the object has been modified");
    stub = await stubApiServer(
      Array.from({ length: maxSyncAttempts }, () => [application(), conflict]).flat(),
    );
    await expect(stub.target().syncApplication(namespace, name)).rejects.toBeInstanceOf(TransientError);
    expect(stub.recorded).toHaveLength(2 * maxSyncAttempts);
  });

  it("does not write when another operation is in progress", async () => {
    stub = await stubApiServer([application({ operation: { sync: { revision: "old" } } })]);
    await expect(stub.target().syncApplication(namespace, name)).rejects.toBeInstanceOf(TransientError);
    expect(stub.recorded.map((r) => r.method)).toEqual(["GET"]);
  });

  it("reports a failing token provider as TransientError without calling the API server", async () => {
    stub = await stubApiServer([application()]);
    const target = stub.target({
      token: async () => {
        throw new Error("credentials unavailable");
      },
    });
    await expect(target.getApplication(namespace, name)).rejects.toBeInstanceOf(TransientError);
    expect(stub.recorded).toHaveLength(0);
  });
});

describe("kubeConfigFor", () => {
  it("describes one cluster and asks the token provider on every request", async () => {
    let issued = 0;
    const kubeConfig = kubeConfigFor({
      server: "https://example.eks.amazonaws.com",
      caData: "LS0tLS1CRUdJTg==",
      token: async () => `token-${++issued}`,
    });
    expect(kubeConfig.getCurrentCluster()).toMatchObject({
      server: "https://example.eks.amazonaws.com",
      caData: "LS0tLS1CRUdJTg==",
      skipTLSVerify: false,
    });
    const first = new RequestContext("https://example.eks.amazonaws.com/version", HttpMethod.GET);
    const second = new RequestContext("https://example.eks.amazonaws.com/version", HttpMethod.GET);
    await kubeConfig.applySecurityAuthentication(first);
    await kubeConfig.applySecurityAuthentication(second);
    expect(first.getHeaders().Authorization).toBe("Bearer token-1");
    expect(second.getHeaders().Authorization).toBe("Bearer token-2");
  });
});

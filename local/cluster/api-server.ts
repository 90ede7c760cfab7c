// The simulated cluster's API server: the Kubernetes REST subset Switchyard uses, over HTTP, behind a bearer token.

import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  coreApiVersions,
  versionInfo,
} from "./discovery.ts";
import { KubernetesApiError, statusErrors } from "./kubernetes-status.ts";
import type { KubernetesObject } from "./object-store.ts";
import { applyPatch } from "./patch.ts";
import type { ServedResource } from "./served-resources.ts";

/** kube-apiserver's default limit on a request body (3 MiB). */
export const maxRequestBodyBytes = 3 * 1024 * 1024;

export interface ClusterApiServerOptions {
  resources: readonly ServedResource[];
  /** The one bearer token accepted; every request without it gets 401. Never logged. */
  token: string;
  /** Default 127.0.0.1: the simulated cluster is for this machine only. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
}

export interface ClusterApiServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  close(): Promise<void>;
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/** Compares digests so the time taken says nothing about how much of the token was right. */
const tokenMatches = (header: string | undefined, expected: Buffer): boolean => {
  const match = /^Bearer (.+)$/.exec(header ?? "");
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
};

const readBody = (request: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxRequestBodyBytes) {
        reject(statusErrors.tooLarge(maxRequestBodyBytes));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });

const send = (response: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The media type without parameters (`; charset=utf-8`), lower-cased, as the server negotiates on it. */
const mediaType = (header: string | undefined): string =>
  (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";

const listOf = (resource: ServedResource, namespace?: string) => {
  const { items, resourceVersion } = resource.store.list(namespace);
  return {
    apiVersion: `${resource.group}/${resource.version}`,
    kind: resource.listKind,
    metadata: { resourceVersion },
    items,
  };
};

const patchObject = async (
  request: IncomingMessage,
  resource: ServedResource,
  namespace: string,
  name: string,
): Promise<KubernetesObject> => {
  const text = (await readBody(request)).toString("utf8");
  const contentType = mediaType(request.headers["content-type"]);
  if (!resource.patchTypes.some((type) => type === contentType)) {
    throw statusErrors.unsupportedMediaType(contentType, resource.patchTypes);
  }
  const current = resource.store.get(namespace, name);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw statusErrors.badRequest(`error decoding patch: ${(error as Error).message}`);
  }
  const patched = applyPatch(current, body, contentType, resource.patchTypes);
  if (!isObject(patched) || !isObject(patched.metadata)) {
    throw statusErrors.invalid(resource, name, [
      {
        reason: "FieldValueInvalid",
        field: "metadata",
        message: "the patched object must keep its metadata",
      },
    ]);
  }
  return resource.store.replace(namespace, name, patched as KubernetesObject);
};

/**
 * Starts the API server: discovery, and get/list/patch of the served resources with Kubernetes `Status` errors
 * (401, 404, 405, 409, 415, 422). State lives in the resources' stores, in memory.
 *
 * @example
 * const server = await startClusterApiServer({ resources: [argoApplications()], token: "local-token" });
 * await fetch(`${server.url}/version`, { headers: { Authorization: "Bearer local-token" } });
 */
export const startClusterApiServer = async (options: ClusterApiServerOptions): Promise<ClusterApiServer> => {
  const expectedToken = digest(options.token);
  const { resources } = options;
  let serverAddress = "";

  const route = async (request: IncomingMessage): Promise<{ status: number; body: unknown }> => {
    if (!tokenMatches(request.headers.authorization, expectedToken)) throw statusErrors.unauthorized();
    const method = request.method ?? "GET";
    const path = new URL(request.url ?? "/", "http://simulated-cluster").pathname;
    let segments: string[];
    try {
      segments = path
        .split("/")
        .filter((s) => s !== "")
        .map(decodeURIComponent);
    } catch {
      throw statusErrors.badRequest(`malformed path ${path}`);
    }
    const readOnly = (body: unknown): { status: number; body: unknown } => {
      if (body === undefined) throw statusErrors.pathNotFound();
      if (method !== "GET") throw statusErrors.methodNotAllowed(method);
      return { status: 200, body };
    };
    const [root, group, version, ...rest] = segments;
    if (root === "version" && segments.length === 1) return readOnly(versionInfo());
    if (root === "api" && segments.length === 1) return readOnly(coreApiVersions(serverAddress));
    if (root !== "apis") throw statusErrors.pathNotFound();
    if (group === undefined) return readOnly(apiGroupList(resources));
    if (version === undefined) return readOnly(apiGroupDocument(resources, group));
    if (rest.length === 0) return readOnly(apiResourceList(resources, group, version));

    const find = (plural: string | undefined): ServedResource => {
      const resource = resources.find(
        (r) => r.group === group && r.version === version && r.plural === plural,
      );
      if (resource === undefined) throw statusErrors.pathNotFound();
      return resource;
    };
    if (rest.length === 1) return readOnly(listOf(find(rest[0])));
    const [namespaces, namespace, plural, name, ...beyond] = rest;
    if (namespaces !== "namespaces" || namespace === undefined || beyond.length > 0) {
      throw statusErrors.pathNotFound();
    }
    const resource = find(plural);
    if (name === undefined) return readOnly(listOf(resource, namespace));
    if (method === "GET") return { status: 200, body: resource.store.get(namespace, name) };
    if (method === "PATCH")
      return { status: 200, body: await patchObject(request, resource, namespace, name) };
    throw statusErrors.methodNotAllowed(method);
  };

  const server = createServer((request, response) => {
    route(request).then(
      ({ status, body }) => send(response, status, body),
      (error: unknown) => {
        const failure = error instanceof KubernetesApiError ? error : statusErrors.internal();
        send(response, failure.code, failure.body);
      },
    );
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  serverAddress = `${host}:${port}`;
  return {
    url: `http://${serverAddress}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Clients keep connections alive; without this, close() waits for them to idle out.
        server.closeAllConnections();
      }),
  };
};

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
import type { KubernetesObject, NewObject } from "./object-store.ts";
import { applyPatch } from "./patch.ts";
import { apiVersionOf, type ServedResource } from "./served-resources.ts";

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
    apiVersion: apiVersionOf(resource),
    kind: resource.listKind,
    metadata: { resourceVersion },
    items,
  };
};

const parseBody = async (request: IncomingMessage): Promise<unknown> => {
  const text = (await readBody(request)).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw statusErrors.badRequest(`error decoding the body: ${(error as Error).message}`);
  }
};

/** With a status subresource, only the controller writes status: a client's write keeps the stored one. */
const keepStatus = (resource: ServedResource, next: Record<string, unknown>, current?: KubernetesObject) => {
  if (resource.statusSubresource !== true) return;
  if (current?.status === undefined) delete next.status;
  else next.status = current.status;
};

const patchObject = async (
  request: IncomingMessage,
  resource: ServedResource,
  namespace: string,
  name: string,
): Promise<KubernetesObject> => {
  const contentType = mediaType(request.headers["content-type"]);
  if (!resource.patchTypes.some((type) => type === contentType)) {
    throw statusErrors.unsupportedMediaType(contentType, resource.patchTypes);
  }
  const current = resource.store.get(namespace, name);
  const body = await parseBody(request);
  const patched = applyPatch(current, body, contentType, resource.patchTypes, resource.strategicMerge);
  if (!isObject(patched) || !isObject(patched.metadata)) {
    throw statusErrors.invalid(resource, name, [
      {
        reason: "FieldValueInvalid",
        field: "metadata",
        message: "the patched object must keep its metadata",
      },
    ]);
  }
  keepStatus(resource, patched, current);
  resource.prepare?.(patched as KubernetesObject);
  return resource.store.replace(namespace, name, patched as KubernetesObject);
};

/** POST to a collection, with the checks kube-apiserver makes before the object reaches validation. */
const createObject = async (
  request: IncomingMessage,
  resource: ServedResource,
  namespace: string,
): Promise<KubernetesObject> => {
  const body = await parseBody(request);
  if (!isObject(body)) throw statusErrors.badRequest("the body must be a JSON object");
  const expected = apiVersionOf(resource);
  if (body.apiVersion !== expected || body.kind !== resource.kind) {
    throw statusErrors.badRequest(
      `the object must be apiVersion ${expected}, kind ${resource.kind} to be created at this path`,
    );
  }
  const metadata = isObject(body.metadata) ? body.metadata : {};
  if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
    throw statusErrors.badRequest(
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  if (typeof metadata.name !== "string" || metadata.name === "") {
    throw statusErrors.invalid(resource, "", [
      { reason: "FieldValueRequired", field: "metadata.name", message: "name or generateName is required" },
    ]);
  }
  // The server assigns these; what a client sends is ignored, as kube-apiserver ignores it.
  const { resourceVersion: _rv, uid: _uid, generation: _gen, creationTimestamp: _ts, ...settable } = metadata;
  const object = { ...body, metadata: { ...settable, namespace } };
  keepStatus(resource, object);
  resource.prepare?.(object as unknown as KubernetesObject);
  return resource.store.create(object as unknown as NewObject);
};

/**
 * Starts the API server: discovery (`/api`, `/apis`), and get/list/patch (and create, where the resource allows it)
 * of the served resources, the core group under `/api/v1`, with Kubernetes `Status` errors (400, 401, 404, 405,
 * 409, 413, 415, 422). State lives in the resources' stores, in memory.
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
    const [root, ...afterRoot] = segments;
    if (root === "version" && afterRoot.length === 0) return readOnly(versionInfo());
    let group: string;
    let version: string | undefined;
    let rest: string[];
    if (root === "api") {
      // The core group lives under /api/<version>, without a group segment.
      if (afterRoot.length === 0) return readOnly(coreApiVersions(serverAddress));
      group = "";
      [version, ...rest] = afterRoot;
    } else if (root === "apis") {
      const [named, ...afterGroup] = afterRoot;
      if (named === undefined) return readOnly(apiGroupList(resources));
      group = named;
      [version, ...rest] = afterGroup;
      if (version === undefined) return readOnly(apiGroupDocument(resources, group));
    } else {
      throw statusErrors.pathNotFound();
    }
    if (version === undefined) throw statusErrors.pathNotFound();
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
    if (name === undefined) {
      if (method === "POST" && resource.verbs.includes("create")) {
        return { status: 201, body: await createObject(request, resource, namespace) };
      }
      return readOnly(listOf(resource, namespace));
    }
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

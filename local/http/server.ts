// A small HTTP server for the local gateway: routing, bounded JSON bodies, and errors that never leak internals.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LocalLogger } from "../log.ts";

/** An error meant for the client: its status, a stable code and a message safe to show. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface LocalRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: Buffer;
  /** The body parsed as JSON; a 400 naming the problem when it is not JSON. */
  json(): unknown;
}

export interface LocalResponse {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
}

export type RouteHandler = (request: LocalRequest) => LocalResponse | Promise<LocalResponse>;

export interface Route {
  method: string;
  /** A path with `{param}` segments, like API Gateway route keys: `/executions/{id}`. */
  path: string;
  handler: RouteHandler;
  /** Largest accepted body in bytes. */
  maxBodyBytes?: number;
}

const defaultMaxBodyBytes = 1024 * 1024;

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

const compileRoute = (route: Route): CompiledRoute => {
  const names: string[] = [];
  const source = route.path
    .split("/")
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(param[1]);
      return "([^/]+)";
    })
    .join("/");
  return { ...route, regex: new RegExp(`^${source}$`), names };
};

const readBody = (req: IncomingMessage, limit: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      reject(
        new HttpError(
          413,
          "PayloadTooLarge",
          `Request body is ${declared} bytes; the limit is ${limit} bytes`,
        ),
      );
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, "PayloadTooLarge", `Request body is over the limit of ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

const send = (res: ServerResponse, response: LocalResponse): void => {
  const isText = typeof response.body === "string";
  const payload =
    response.body === undefined
      ? ""
      : isText
        ? String(response.body)
        : JSON.stringify(response.body, null, 2);
  res.writeHead(response.status, {
    "content-type": isText ? "text/plain; charset=utf-8" : "application/json; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...response.headers,
  });
  res.end(payload);
};

/** The JSON body of an error answer: `{ "error": code, "message": text }`. */
export const errorBody = (code: string, message: string) => ({ error: code, message });

/**
 * Builds a server for the routes. Unknown paths get 404, known paths with the wrong method 405, and any
 * unexpected failure a generic 500 — the details go to the log, never to the client.
 *
 * @example
 * const server = createHttpServer([{ method: "GET", path: "/healthz", handler: () => ({ status: 200 }) }], log);
 */
export const createHttpServer = (routes: readonly Route[], logger: LocalLogger): Server => {
  const compiled = routes.map(compileRoute);
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    try {
      const candidates = compiled
        .map((route) => ({ route, match: route.regex.exec(url.pathname) }))
        .filter((c) => c.match !== null);
      if (candidates.length === 0)
        throw new HttpError(404, "NotFound", `No route for ${method} ${url.pathname}`);
      const found = candidates.find(
        (c) => c.route.method === method || (method === "HEAD" && c.route.method === "GET"),
      );
      if (!found?.match) {
        const allowed = [...new Set(candidates.map((c) => c.route.method))].join(", ");
        throw new HttpError(
          405,
          "MethodNotAllowed",
          `${method} is not allowed on ${url.pathname}; use ${allowed}`,
        );
      }
      const { route, match } = found;
      const body = await readBody(req, route.maxBodyBytes ?? defaultMaxBodyBytes);
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(match[i + 1] ?? "");
      });
      const request: LocalRequest = {
        method,
        path: url.pathname,
        params,
        query: url.searchParams,
        headers: req.headers,
        body,
        json: () => {
          if (body.length === 0)
            throw new HttpError(400, "ValidationException", "Request body is empty; expected JSON");
          try {
            return JSON.parse(body.toString("utf8"));
          } catch (cause) {
            const detail = cause instanceof SyntaxError ? `: ${cause.message}` : "";
            throw new HttpError(400, "ValidationException", `Request body is not valid JSON${detail}`);
          }
        },
      };
      send(res, await route.handler(request));
    } catch (error) {
      if (error instanceof HttpError) {
        send(res, { status: error.status, body: errorBody(error.code, error.message) });
        return;
      }
      logger.error(`${method} ${url.pathname} failed`, {
        error: error instanceof Error ? `${error.name}: ${error.message}` : "unknown",
      });
      send(res, {
        status: 500,
        body: errorBody("InternalError", "The request could not be completed; see the runtime log"),
      });
    }
  });
};

/** Listens on host:port and resolves with the bound address (port 0 picks a free one). */
export const listen = (server: Server, port: number, host = "127.0.0.1"): Promise<AddressInfo> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });

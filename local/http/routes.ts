// The local gateway's routes: health, PutEvents, and read-only views of events and executions.

import { NotFoundError } from "../../functions/core/errors.ts";
import type { LocalEventBus } from "../bus/event-bus.ts";
import { maxRequestBytes, PutEventsValidationError } from "../bus/put-events.ts";
import type { LocalRotations } from "../rotations.ts";
import type { WorkflowRunner } from "../workflows/index.ts";
import { HttpError, type LocalRequest, type Route } from "./server.ts";

export interface RouteDeps {
  bus: LocalEventBus;
  runner: WorkflowRunner;
  /** Rotates a secret of switchyard.yaml now, as Secrets Manager's RotateSecret does. */
  rotations?: Pick<LocalRotations, "rotate">;
}

const deliveryStatuses = ["pending", "delivered", "dead"] as const;
const executionStatuses = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] as const;
const maxListLimit = 1000;

const limitOf = (request: LocalRequest): number | undefined => {
  const raw = request.query.get("limit");
  if (raw === null) return undefined;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxListLimit) {
    throw new HttpError(
      400,
      "ValidationException",
      `limit must be a whole number from 1 to ${maxListLimit}; got "${raw}"`,
    );
  }
  return limit;
};

const oneOf = <T extends string>(
  request: LocalRequest,
  name: string,
  allowed: readonly T[],
): T | undefined => {
  const raw = request.query.get(name);
  if (raw === null) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new HttpError(
      400,
      "ValidationException",
      `${name} must be one of ${allowed.join(", ")}; got "${raw}"`,
    );
  }
  return raw as T;
};

/** Maps the runner's AWS-named errors to HTTP answers. */
const notFound = (error: unknown): never => {
  if (error instanceof Error && error.name === "ExecutionDoesNotExist") {
    throw new HttpError(404, "ExecutionDoesNotExist", error.message);
  }
  throw error;
};

/**
 * The routes of the local runtime.
 *
 * @example
 * createHttpServer(localRoutes({ bus, runner }), logger);
 */
export const localRoutes = ({ bus, runner, rotations }: RouteDeps): Route[] => [
  {
    method: "POST",
    path: "/secrets/{name}/rotate",
    handler: async (request) => {
      if (!rotations) throw new HttpError(404, "NotFound", "Rotation is not available");
      const name = request.params.name ?? "";
      try {
        return { status: 200, body: await rotations.rotate(name) };
      } catch (error) {
        if (error instanceof NotFoundError) throw new HttpError(404, "NotFound", error.message);
        // The rotation function's errors name the secret and the version, never a value.
        if (error instanceof Error && ["RotationError", "LoginRefusedError"].includes(error.name)) {
          throw new HttpError(409, "RotationFailed", error.message);
        }
        throw error;
      }
    },
  },
  { method: "GET", path: "/healthz", handler: () => ({ status: 200, body: { status: "ok" } }) },
  {
    method: "GET",
    path: "/status",
    handler: async () => ({
      status: 200,
      body: { status: "ok", ...bus.stats(), executions: await runner.countExecutions() },
    }),
  },
  {
    method: "POST",
    path: "/events",
    maxBodyBytes: maxRequestBytes,
    handler: (request) => {
      try {
        return { status: 200, body: bus.putEvents(request.json()) };
      } catch (error) {
        if (error instanceof PutEventsValidationError) throw new HttpError(400, error.name, error.message);
        throw error;
      }
    },
  },
  {
    method: "GET",
    path: "/events",
    handler: (request) => ({
      status: 200,
      body: {
        events: bus.listEvents({
          ...optional("limit", limitOf(request)),
          ...optional("status", oneOf(request, "status", deliveryStatuses)),
        }),
      },
    }),
  },
  {
    method: "GET",
    path: "/events/{id}",
    handler: (request) => {
      const event = bus.getEvent(request.params.id ?? "");
      if (!event) throw new HttpError(404, "NotFound", `No event with id ${request.params.id}`);
      return { status: 200, body: event };
    },
  },
  {
    method: "GET",
    path: "/executions",
    handler: async (request) => ({
      status: 200,
      body: {
        executions: await runner.listExecutions({
          ...optional("limit", limitOf(request)),
          ...optional("status", oneOf(request, "status", executionStatuses)),
          ...optional("workflow", request.query.get("workflow") ?? undefined),
        }),
      },
    }),
  },
  {
    method: "GET",
    path: "/executions/{id}",
    handler: async (request) => {
      const id = request.params.id ?? "";
      const execution = await runner.describeExecution(id).catch(notFound);
      const transitions = await runner.getExecutionHistory(id).catch(notFound);
      return { status: 200, body: { ...execution, transitions } };
    },
  },
];

const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, V>);

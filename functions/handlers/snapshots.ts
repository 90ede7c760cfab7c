// Lambda behind /snapshots: lists Switchyard's database snapshots, starts a manual snapshot run or a restore drill.

import { z } from "zod";
import type { WorkflowName } from "../../workflows/registry.ts";
import type { SwitchyardConfig } from "../core/config.ts";
import { NotFoundError, ValidationError } from "../core/errors.ts";
import type { IdGenerator, Snapshot, SnapshotService, WorkflowStarter } from "../core/ports.ts";
import {
  type RestoreDrillInput,
  type SnapshotRunInput,
  snapshotNoteSchema,
} from "../core/snapshot-inputs.ts";
import { awsConfig, ids, snapshotService, workflowStarter } from "../wiring/aws.ts";
import {
  describeIssues,
  type HttpRequestFor,
  type HttpResult,
  requestedBy,
  toHttpRequest,
  withHttpStack,
} from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";

/** The workflow POST /snapshots starts. */
export const snapshotRunWorkflow: WorkflowName = "rds-snapshot";
/** The workflow POST /snapshots/drills starts. */
export const restoreDrillWorkflow: WorkflowName = "restore-drill";

/** RDS's limit for a DB instance (and cluster) identifier. */
const maxDatabaseIdentifierLength = 63;
/** A letter first, then letters, digits and single hyphens, no trailing hyphen (RDS's rule). */
const databaseIdentifierPattern = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]$|^[a-zA-Z]$/;
const databaseIdentifierMessage =
  "expected an RDS identifier (1-63 characters: a letter first, then letters, digits and single hyphens; no trailing hyphen)";

const databaseSchema = z
  .string({ error: databaseIdentifierMessage })
  .max(maxDatabaseIdentifierLength, databaseIdentifierMessage)
  .regex(databaseIdentifierPattern, databaseIdentifierMessage);

/** Reason keywords as a caller may spell them; any other text is a note on a manual snapshot. */
const manualKeyword = "manual";
const preChangeKeyword = "pre-change";
const scheduledKeyword = "scheduled";

/** The parts every route shares, validated by the stack: only GET reads `database` from the query. */
export const snapshotsRequest = {
  query: z.strictObject({ database: databaseSchema.optional() }),
} as const;

type SnapshotsRequest = HttpRequestFor<typeof snapshotsRequest>;

/** POST /snapshots: the run's reason, note and promotion, normalised from what the caller wrote. */
const snapshotRunBodySchema = z
  .strictObject({
    database: databaseSchema.optional(),
    reason: z.string({ error: 'expected "manual", "pre-change" or a note saying why (a string)' }).optional(),
    promotionId: z
      .uuid({ error: "expected the id of the promotion the snapshot guards (a UUID)" })
      .optional(),
  })
  .transform((body, ctx) => {
    const keyword = body.reason?.trim().toLowerCase();
    let reason: SnapshotRunInput["reason"] = "manual";
    let note: string | null = null;
    if (keyword === preChangeKeyword) {
      reason = "pre-change";
      if (body.promotionId === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["promotionId"],
          message: "required for a pre-change snapshot: the id of the promotion it guards",
        });
      }
    } else if (keyword === scheduledKeyword) {
      ctx.addIssue({
        code: "custom",
        path: ["reason"],
        message: `scheduled runs are started by the schedule (snapshots.schedule); expected "${manualKeyword}", "${preChangeKeyword}" or a note`,
      });
    } else if (body.reason !== undefined && keyword !== manualKeyword) {
      const parsed = snapshotNoteSchema.safeParse(body.reason);
      if (parsed.success) note = parsed.data;
      else {
        for (const issue of parsed.error.issues) {
          ctx.addIssue({
            code: "custom",
            path: ["reason"],
            message: `expected "${manualKeyword}", "${preChangeKeyword}" or a note (as a note: ${issue.message})`,
          });
        }
      }
    }
    if (body.promotionId !== undefined && keyword !== preChangeKeyword) {
      ctx.addIssue({
        code: "custom",
        path: ["promotionId"],
        message: `only a pre-change snapshot guards a promotion; send "reason": "${preChangeKeyword}" with it`,
      });
    }
    return { database: body.database, reason, note, promotionId: body.promotionId ?? null };
  });

/** POST /snapshots/drills: one database, or every database the selector picks. */
const restoreDrillBodySchema = z.strictObject({ database: databaseSchema.optional() });

/** What GET /snapshots answers (200). */
export interface SnapshotListAnswer {
  snapshots: Snapshot[];
}

/** What POST /snapshots answers (202). */
export interface SnapshotRunAnswer {
  executionArn: string;
  /** The database snapshotted; null: every database the selector picks. */
  database: string | null;
  reason: SnapshotRunInput["reason"];
  note: string | null;
  status: "Started";
}

/** What POST /snapshots/drills answers (202). */
export interface RestoreDrillAnswer {
  executionArn: string;
  database: string | null;
  status: "Started";
}

export interface SnapshotsDeps {
  config: Pick<SwitchyardConfig, "snapshots">;
  snapshots: Pick<SnapshotService, "listSnapshots" | "listDatabases">;
  workflows: WorkflowStarter;
  /** Execution names: UUIDs. */
  ids: IdGenerator;
  /** Trust `x-switchyard-user` to name the caller: only where no authorizer runs (the local runtime). */
  trustUserHeader?: boolean;
}

/** The JSON body of a POST, validated as the stack validates; an empty body is `{}` (every key is optional). */
const bodyOf = <TSchema extends z.ZodType>(request: SnapshotsRequest, schema: TSchema): z.output<TSchema> => {
  if (request.rawBody.toString("utf8").trim() !== "") {
    return toHttpRequest(request.event, { body: schema }).body as z.output<TSchema>;
  }
  const parsed = schema.safeParse({});
  if (!parsed.success) {
    throw new ValidationError(`Invalid request body: ${describeIssues("body", parsed.error.issues)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
};

/** The POST routes read everything from the body; a query parameter there is a mistake worth saying so. */
const refuseQuery = (request: SnapshotsRequest): void => {
  const keys = Object.keys(request.query);
  if (keys.length > 0) {
    throw new ValidationError(
      `Invalid request query: ${request.routeKey} takes no query parameters (got ${keys.map((k) => `"${k}"`).join(", ")}); send {"database": "<identifier>"} in the JSON body`,
    );
  }
};

/**
 * The database as RDS spells it, when it is one the selector picks; null for "every one". The IAM policy only
 * allows snapshots of the tagged databases, so anything else is refused here, naming the ones that qualify.
 */
const selectedDatabase = async (
  deps: SnapshotsDeps,
  requested: string | undefined,
): Promise<string | null> => {
  if (requested === undefined) return null;
  const { tagKey, tagValue } = deps.config.snapshots.selector;
  const databases = await deps.snapshots.listDatabases({ tagKey, tagValue });
  const found = databases.find((d) => d.identifier.toLowerCase() === requested.toLowerCase());
  if (found) return found.identifier;
  const tag = `${tagKey}=${tagValue}`;
  throw new NotFoundError(
    databases.length === 0
      ? `database "${requested}" does not carry the tag ${tag} (snapshots.selector), and no database does: Switchyard snapshots only databases tagged so`
      : `database "${requested}" does not carry the tag ${tag} (snapshots.selector): Switchyard snapshots only databases tagged so; expected one of: ${databases.map((d) => d.identifier).join(", ")}`,
  );
};

/**
 * GET /snapshots?database= → 200 `{ snapshots }`, Switchyard's snapshots newest first;
 * POST /snapshots `{ database?, reason?, promotionId? }` → starts `rds-snapshot` (reason "manual" by default,
 * "pre-change" with the promotion it guards, or any other text as the note of a manual snapshot) and answers 202
 * `{ executionArn, database, reason, note, status }`;
 * POST /snapshots/drills `{ database? }` → starts `restore-drill`, 202 `{ executionArn, database, status }`.
 * Without `database` a run covers every database `snapshots.selector` picks; with it, the database must be one.
 *
 * @example
 * const handler = withHttpStack(makeSnapshots({ config, snapshots, workflows, ids }), snapshotsRequest);
 * // POST /snapshots {"database":"orders","reason":"before the orders migration"}
 * // → 202 {"executionArn":"...","database":"orders","reason":"manual","note":"before the orders migration",...}
 */
export const makeSnapshots =
  (deps: SnapshotsDeps) =>
  async (
    request: SnapshotsRequest,
  ): Promise<HttpResult<SnapshotListAnswer | SnapshotRunAnswer | RestoreDrillAnswer>> => {
    const caller = () => requestedBy(request, { trustUserHeader: deps.trustUserHeader ?? false });
    if (request.routeKey === "GET /snapshots") {
      const { database } = request.query;
      const snapshots = await deps.snapshots.listSnapshots(database === undefined ? {} : { database });
      return { statusCode: 200, body: { snapshots } };
    }
    refuseQuery(request);
    if (request.routeKey === "POST /snapshots/drills") {
      const body = bodyOf(request, restoreDrillBodySchema);
      const database = await selectedDatabase(deps, body.database);
      const input: RestoreDrillInput = { database, requestedBy: caller() };
      const name = `drill-${deps.ids.next()}`;
      const { executionArn } = await deps.workflows.start(restoreDrillWorkflow, input, name);
      return { statusCode: 202, body: { executionArn, database, status: "Started" } };
    }
    const body = bodyOf(request, snapshotRunBodySchema);
    const database = await selectedDatabase(deps, body.database);
    const input: SnapshotRunInput = {
      reason: body.reason,
      database,
      promotionId: body.promotionId,
      note: body.note,
      requestedBy: caller(),
    };
    const name = `snapshot-${deps.ids.next()}`;
    const { executionArn } = await deps.workflows.start(snapshotRunWorkflow, input, name);
    return {
      statusCode: 202,
      body: { executionArn, database, reason: input.reason, note: input.note, status: "Started" },
    };
  };

export const handler = coldStart(() =>
  withHttpStack(
    makeSnapshots({
      config: awsConfig(),
      snapshots: snapshotService(),
      workflows: workflowStarter(),
      ids,
    }),
    snapshotsRequest,
  ),
);

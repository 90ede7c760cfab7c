// The ports: every way the core reaches the world. Each has a production adapter and a local one.

import type { EventBridgeEvent } from "../../events/types.ts";

/** Time, injected so the core never reads the system clock. */
export interface Clock {
  now(): Date;
}

/** Unique ids, injected so tests and replays are deterministic. */
export interface IdGenerator {
  next(): string;
}

/** A domain event as Switchyard publishes it (`source: "switchyard"`, unless it relays another sender's event). */
export interface DomainEvent<TDetail = Record<string, unknown>> {
  /** Defaults to "switchyard"; ingestion relays set the sender's, e.g. "github.com". */
  source?: string;
  detailType: string;
  detail: TDetail;
  resources?: string[];
}

/** Puts Switchyard domain events on its bus (EventBridge PutEvents / the local bus). */
export interface EventPublisher {
  /** Resolves once every event is accepted; rejects (never drops silently) when any is not. */
  publish(events: readonly DomainEvent[]): Promise<void>;
}

/** Secrets Manager's version stages. A stage label is on at most one version of a secret at a time. */
export type VersionStage = "AWSCURRENT" | "AWSPENDING" | "AWSPREVIOUS" | (string & {});

export interface SecretVersion {
  name: string;
  arn: string;
  versionId: string;
  versionStages: VersionStage[];
  createdDate: Date;
  /** The secret text. Never log it, never put it in an error or an event. */
  secretString: string;
}

export interface SecretSummary {
  name: string;
  arn: string;
  description?: string;
  createdDate: Date;
  lastChangedDate?: Date;
  /** versionId → stages, as DescribeSecret's `VersionIdsToStages`. */
  versionIdsToStages: Record<string, VersionStage[]>;
  /** DescribeSecret's `RotationEnabled`: set by the first `rotateSecret`. */
  rotationEnabled: boolean;
  /** When the last rotation finished (DescribeSecret's `LastRotatedDate`). */
  lastRotatedDate?: Date;
}

/** GetRandomPassword's options. */
export interface RandomPasswordOptions {
  length: number;
  excludeCharacters?: string;
  excludeNumbers?: boolean;
  excludePunctuation?: boolean;
  excludeUppercase?: boolean;
  excludeLowercase?: boolean;
  includeSpace?: boolean;
  /** At least one character of every included type (GetRandomPassword's default: true). */
  requireEachIncludedType?: boolean;
}

/**
 * Secrets with Secrets Manager's version-stage semantics (AWSCURRENT / AWSPENDING / AWSPREVIOUS).
 * Errors carry Secrets Manager's names: ResourceNotFoundException, ResourceExistsException,
 * InvalidParameterException, InvalidRequestException.
 */
export interface SecretStore {
  createSecret(input: {
    name: string;
    secretString?: string;
    description?: string;
    clientRequestToken?: string;
  }): Promise<{ name: string; arn: string; versionId?: string }>;
  /** Reads AWSCURRENT unless a `versionId` or `versionStage` is given. */
  getSecretValue(
    secretId: string,
    options?: { versionId?: string; versionStage?: VersionStage },
  ): Promise<SecretVersion>;
  /**
   * Adds a version. Default stages `["AWSCURRENT"]`; moving AWSCURRENT makes the old current AWSPREVIOUS.
   * `clientRequestToken` is the new version id and makes the call idempotent.
   */
  putSecretValue(
    secretId: string,
    secretString: string,
    options?: { clientRequestToken?: string; versionStages?: VersionStage[] },
  ): Promise<{ name: string; arn: string; versionId: string; versionStages: VersionStage[] }>;
  /** Moves a stage label between versions, exactly as UpdateSecretVersionStage. */
  updateSecretVersionStage(
    secretId: string,
    versionStage: VersionStage,
    options: { moveToVersionId?: string; removeFromVersionId?: string },
  ): Promise<void>;
  describeSecret(secretId: string): Promise<SecretSummary>;
  /** Names and metadata only: listing never returns a value. */
  listSecrets(): Promise<SecretSummary[]>;
  /**
   * Starts a rotation as RotateSecret does: turns rotation on and labels the new version `clientRequestToken` (a
   * version with no value yet) AWSPENDING. In Secrets Manager this also invokes the rotation function's four steps;
   * the local store leaves that to its caller. `InvalidRequestException` when a previous rotation is still pending
   * (another version holds AWSPENDING) — a repeat with the same token is accepted and changes nothing.
   */
  rotateSecret(secretId: string, options: { clientRequestToken: string }): Promise<{ versionId: string }>;
  /** Records that a rotation finished (`LastRotatedDate`); Secrets Manager does this itself when finishSecret ends. */
  markRotated?(secretId: string, at: Date): Promise<void>;
  /** A random password as GetRandomPassword makes it (cryptographically random, each included type at least once). */
  getRandomPassword(options: RandomPasswordOptions): Promise<string>;
}

/** The events a rule delivers look like this to its target. */
export type BusEvent = EventBridgeEvent<Record<string, unknown>>;

/** Who a GitOps commit is attributed to. */
export interface CommitAuthor {
  name: string;
  email: string;
}

/** What `GitOpsRepository.updateFile` did. */
export interface FileUpdateResult {
  /** The branch head after the call: the new commit, or the head the edit found nothing to change at. */
  revision: string;
  /** False when `edit` returned no change (no commit was made). */
  changed: boolean;
  /** The file's content the edit was applied to (undefined when the file did not exist). */
  previousContent?: string;
  /** How many times the edit was re-applied because the branch moved under it. */
  conflicts: number;
}

/**
 * The GitOps repository: files on one branch, changed by commits that never overwrite a concurrent writer.
 * GitHub's Git Data API in production, a real git repository on disk locally.
 */
export interface GitOpsRepository {
  /** The commit the branch points at. */
  head(): Promise<string>;
  /** A file's content at `revision` (default: the branch head); undefined when it does not exist there. */
  readFile(path: string, revision?: string): Promise<{ content: string; revision: string } | undefined>;
  /**
   * Reads the file at the head, applies `edit`, and commits the result with the head as parent. When the branch
   * moved meanwhile (another writer), it re-reads and re-applies `edit` on the new head, with backoff, so no
   * update is lost and none is forced over another. `edit` returns undefined for "nothing to change".
   * Throws `ConflictError` when the branch keeps moving after the last attempt.
   */
  updateFile(input: {
    path: string;
    /** The commit message, or a function of the content the edit was applied to (called after `edit`). */
    message: string | ((current: string | undefined) => string);
    edit: (current: string | undefined) => string | undefined;
    author?: CommitAuthor;
  }): Promise<FileUpdateResult>;
}

/** Argo CD's view of an Application, as its `status` reports it. */
export interface ApplicationStatus {
  namespace: string;
  name: string;
  /** `status.sync.status`. */
  syncStatus: "Synced" | "OutOfSync" | "Unknown";
  /** `status.sync.revision`: the git revision Argo CD compared against. */
  syncRevision?: string;
  /** `status.health.status`. */
  healthStatus: "Healthy" | "Progressing" | "Degraded" | "Suspended" | "Missing" | "Unknown";
  /** `status.health.message`, when Argo CD gives one. */
  healthMessage?: string;
  /** `status.reconciledAt`: when the controller last compared live state with git. */
  reconciledAt?: string;
  /** `status.operationState`: the last sync operation, when there is one. */
  operation?: {
    phase: "Running" | "Succeeded" | "Failed" | "Error" | "Terminating";
    message?: string;
    revision?: string;
    startedAt?: string;
    finishedAt?: string;
  };
}

/**
 * Where services run: Argo CD Applications on the cluster (EKS in production, the simulated cluster locally),
 * always reached through the Kubernetes API.
 */
export interface DeployTarget {
  /** Reads an Application's status; `NotFoundError` when it does not exist. */
  getApplication(namespace: string, name: string): Promise<ApplicationStatus>;
  /** Asks Argo CD to re-read git now (the `argocd.argoproj.io/refresh` annotation). */
  refreshApplication(namespace: string, name: string, mode?: "normal" | "hard"): Promise<void>;
  /** Starts a sync, as `argocd app sync` does (the Application's `operation` field). */
  syncApplication(
    namespace: string,
    name: string,
    options?: { revision?: string; prune?: boolean },
  ): Promise<void>;
}

/** A promotion's life: phases that end it are terminal. Failed is a decision (unhealthy, timed out); Errored, the world's fault. */
export type PromotionPhase =
  | "Pending"
  | "WaitingForApproval"
  | "Committing"
  | "Syncing"
  | "Succeeded"
  | "Skipped"
  | "Failed"
  | "RolledBack"
  | "Errored";

export const terminalPromotionPhases: readonly PromotionPhase[] = [
  "Succeeded",
  "Skipped",
  "Failed",
  "RolledBack",
  "Errored",
];

/** Whether a promotion has ended. */
export const isTerminal = (phase: PromotionPhase): boolean => terminalPromotionPhases.includes(phase);

/** An image as a registry push names it. */
export interface ImageRef {
  /** ECR repository name, e.g. `payments/worker`. */
  repository: string;
  /** The pushed tag; absent for a digest-only promotion. */
  tag?: string;
  /** `sha256:<64 hex>`. */
  digest: string;
  /** When the image was pushed (the ECR event's `time`); orders pushes for `pattern` and `tag` policies. */
  pushedAt: string;
}

export interface PromotionRecord {
  id: string;
  service: string;
  environment: string;
  image: ImageRef;
  phase: PromotionPhase;
  /** Why each decision was taken, in order (skips, supersessions, the last observed Argo CD status). */
  reasons: string[];
  trigger: { kind: "ecr" | "github" | "api" | "promotion"; eventId: string; requestedBy?: string };
  /** The image the environment ran before (`pushedAt` when Switchyard deployed it). */
  previous?: { tag?: string; digest: string; pushedAt?: string };
  /** The GitOps commit that carries the change. */
  revision?: string;
  executionArn?: string;
  createdAt: string;
  updatedAt: string;
}

/** What an environment runs for a service, as Switchyard last deployed it. */
export interface DeploymentRecord {
  service: string;
  environment: string;
  tag?: string;
  digest: string;
  pushedAt: string;
  revision: string;
  promotionId: string;
  deployedAt: string;
}

/** Promotions, deployments and quarantined digests (DynamoDB in production, SQLite locally). */
export interface PromotionStore {
  createPromotion(record: PromotionRecord): Promise<void>;
  /** Applies a change to a promotion; `NotFoundError` when unknown. Returns the updated record. */
  updatePromotion(
    id: string,
    change: Partial<Pick<PromotionRecord, "phase" | "revision" | "previous" | "executionArn">> & {
      reason?: string;
    },
  ): Promise<PromotionRecord>;
  getPromotion(id: string): Promise<PromotionRecord | undefined>;
  /** Newest first. */
  listPromotions(filter?: {
    service?: string;
    environment?: string;
    limit?: number;
  }): Promise<PromotionRecord[]>;
  getDeployment(service: string, environment: string): Promise<DeploymentRecord | undefined>;
  listDeployments(): Promise<DeploymentRecord[]>;
  putDeployment(record: DeploymentRecord): Promise<void>;
  /** True when a rollback quarantined the digest for the service. */
  isQuarantined(service: string, digest: string): Promise<boolean>;
  /** Takes a digest out of automatic promotion for a service (idempotent: a repeat keeps the first reason). */
  quarantine(service: string, digest: string, reason: string): Promise<void>;
  /** Lifts a quarantine; false when the digest was not quarantined. */
  clearQuarantine(service: string, digest: string): Promise<boolean>;
  listQuarantine(): Promise<QuarantinedDigest[]>;
}

/** A digest a rollback took out of automatic promotion for one service. */
export interface QuarantinedDigest {
  service: string;
  digest: string;
  /** Why, as the rollback recorded it. */
  reason: string;
  quarantinedAt: string;
}

/** Completes a `.waitForTaskToken` task (Step Functions SendTaskSuccess/Failure, or the local runner's registry). */
export interface WorkflowCallbacks {
  sendTaskSuccess(taskToken: string, output: unknown): Promise<void>;
  /** `error` is what the state's Retry/Catch match on. */
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}

/** Starts workflow executions (Step Functions StartExecution, or the local runner). */
export interface WorkflowStarter {
  /** `name` makes the start idempotent, as StartExecution's execution name does. */
  start(workflow: string, input: unknown, name?: string): Promise<{ executionArn: string }>;
}

/**
 * Remembers keys already processed (webhook delivery ids, request tokens) for a while, so a retried delivery is
 * recognised (DynamoDB with TTL in production, SQLite locally).
 */
export interface IdempotencyStore {
  /** Records `key` and returns true when it was not seen within `ttlSeconds`; false for a repeat. */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  /** Forgets `key`, so a delivery whose processing failed can be retried. */
  release(key: string): Promise<void>;
  /**
   * Holds `key` for `ttlSeconds` from now, whether or not it is held: claim briefly while processing, then complete
   * for the full window once the work is done, so a crash in between frees the key soon instead of never.
   */
  complete(key: string, ttlSeconds: number): Promise<void>;
}

/** An image as the registry knows it. */
export interface RegistryImage {
  repository: string;
  digest: string;
  /** Every tag currently on the image. */
  tags: string[];
  pushedAt: string;
}

/** The container registry (ECR in production; locally, the images the local runtime has seen pushed). */
export interface ImageRegistry {
  /** The image a tag or a digest names in a repository; undefined when the registry has no such image. */
  findImage(
    repository: string,
    ref: { tag: string } | { digest: string },
  ): Promise<RegistryImage | undefined>;
}

/** Where an approval stands. `pending` is the only open state; the others are final. */
export type ApprovalState = "pending" | "approved" | "rejected" | "expired";

/** How a decision reached Switchyard. */
export type ApprovalChannel = "email" | "api" | "cli";

/** One approver's vote. */
export interface ApprovalDecision {
  /** The approver, as switchyard.yaml lists them (an e-mail address, lower-cased). */
  approver: string;
  decision: "approve" | "reject";
  comment?: string;
  at: string;
  channel: ApprovalChannel;
}

/** A request for people to approve one production change. Holds no task token: the store keeps that apart. */
export interface ApprovalRecord {
  /** A UUID. */
  id: string;
  promotionId: string;
  service: string;
  environment: string;
  /** What the environment runs now; absent on a first deploy. */
  from?: { tag?: string; digest: string };
  to: { repository: string; tag?: string; digest: string };
  /** The commits or changelog between the two, when known (a GitHub compare link). */
  changelogUrl?: string;
  /** The pre-change snapshot taken before the request, when the service has a database. */
  snapshotId?: string;
  /** Who asked for the change; they may not approve it (four eyes). */
  requestedBy: string;
  approvers: string[];
  minApprovals: number;
  requestedAt: string;
  expiresAt: string;
  decisions: ApprovalDecision[];
  state: ApprovalState;
  /** When it left `pending`. */
  closedAt?: string;
  /** The workflow execution waiting for it. */
  executionArn?: string;
  /** Incremented by every write; `update` is conditional on it, so two decisions cannot both count on one read. */
  version: number;
}

/**
 * Approval requests (DynamoDB with TTL in production, SQLite locally). The task token of the workflow waiting on an
 * approval is stored beside the record and only `taskToken()` returns it: no listing, no record, no page carries it.
 */
export interface ApprovalStore {
  /** Stores a new request (version 1) with its task token; false, changing nothing, when the id already exists. */
  create(record: ApprovalRecord, taskToken: string): Promise<boolean>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** The request made for a promotion, if any (a promotion has at most one). */
  findByPromotion(promotionId: string): Promise<ApprovalRecord | undefined>;
  /** Newest request first; `state` filters. */
  list(filter?: { state?: ApprovalState; limit?: number }): Promise<ApprovalRecord[]>;
  /**
   * Writes `record` when the stored version equals `record.version`, and returns it with the version incremented.
   * `ConflictError` when another write came first (re-read and re-apply); `NotFoundError` when the id is unknown.
   */
  update(record: ApprovalRecord): Promise<ApprovalRecord>;
  /** The task token of the execution waiting on the request. */
  taskToken(id: string): Promise<string | undefined>;
  /** A retried request step waits on a new token; the decision must answer that one. */
  replaceTaskToken(id: string, taskToken: string): Promise<void>;
}

/** Something that stops changes to a service in gated environments until it is lifted or runs out. */
export interface Freeze {
  service: string;
  /** `manual` for a freeze set through the API; the incident id for one an incident set. */
  id: string;
  reason: string;
  setBy: string;
  setAt: string;
  /** When it lifts by itself; absent: until someone (or the incident's resolution) lifts it. */
  until?: string;
  source: "api" | "incident";
}

/** Freezes (DynamoDB in production, SQLite locally). */
export interface FreezeStore {
  /** Sets or replaces the freeze with this service and id. */
  put(freeze: Freeze): Promise<void>;
  /** Every freeze of a service, or of all services, including ones whose `until` passed (the caller filters). */
  list(service?: string): Promise<Freeze[]>;
  /** Lifts one freeze, or every freeze of the service without `id`; returns how many were lifted. */
  remove(service: string, id?: string): Promise<number>;
}

/** A database snapshot's state, as RDS names it. */
export type SnapshotStatus = "creating" | "available" | "failed" | "deleting";

/** A manual database snapshot Switchyard took. */
export interface Snapshot {
  /** The snapshot identifier, `switchyard-<db>-<UTC timestamp>-<reason>`. */
  id: string;
  /** The DB instance (or cluster) identifier. */
  database: string;
  status: SnapshotStatus;
  reason: "scheduled" | "pre-change" | "manual";
  /** The promotion a pre-change snapshot guards. */
  promotionId?: string;
  createdAt: string;
  sizeBytes?: number;
  tags: Record<string, string>;
  /** Why a `failed` snapshot failed, when the service knows (the local dump's error; RDS gives none). */
  failureReason?: string;
}

/** A copy of a snapshot in another region (the disaster-recovery copy). */
export interface CopiedSnapshot extends Snapshot {
  /** The region the copy lives in. */
  region: string;
}

/** A database that may be snapshotted, as `listDatabases` finds it. */
export interface DatabaseTarget {
  /** The DB instance or DB cluster identifier: what `createSnapshot` takes as `database`. */
  identifier: string;
  /** Aurora databases are clusters and are snapshotted as clusters; every other engine is an instance. */
  kind: "instance" | "cluster";
  /** RDS's engine name, e.g. `postgres` or `aurora-postgresql`. */
  engine: string;
  /** Whether its storage, hence its snapshots, is encrypted: a copy to another region then needs a KMS key there. */
  encrypted: boolean;
  kmsKeyId?: string;
}

/**
 * Any manual snapshot in the region, Switchyard's or not: what counts against the manual-snapshot quota, and what
 * retention looks at (it only ever deletes those with `createdBySwitchyard`).
 */
export interface ManualSnapshot {
  id: string;
  database: string;
  createdAt: string;
  status: SnapshotStatus;
  type: "manual";
  /** Tagged `switchyard:created-by=switchyard`. */
  createdBySwitchyard: boolean;
}

/** Where a restore drill's scratch database stands. */
export type DrillStatus = "creating" | "available" | "failed";

/** Database snapshots (RDS in production; locally, pg_dump files of the embedded PostgreSQL). */
export interface SnapshotService {
  /** Starts a snapshot and returns it (usually `creating`); `NotFoundError` when the database does not exist. */
  createSnapshot(input: {
    database: string;
    reason: Snapshot["reason"];
    promotionId?: string;
    /** Why it was asked for; kept as the `switchyard:note` tag. */
    note?: string;
  }): Promise<Snapshot>;
  getSnapshot(id: string): Promise<Snapshot | undefined>;
  /** Snapshots Switchyard took, newest first. */
  listSnapshots(filter?: { database?: string }): Promise<Snapshot[]>;
  /**
   * The databases carrying the tag `tagKey=tagValue` (the ones a scheduled snapshot covers), in identifier order.
   * Restore-drill targets are never listed, whatever tags they carry.
   */
  listDatabases(selector: { tagKey: string; tagValue: string }): Promise<DatabaseTarget[]>;
  /** Every manual snapshot in the region, others' too (automated backups are not manual), newest first. */
  listManualSnapshots(): Promise<ManualSnapshot[]>;
  /**
   * Deletes a snapshot Switchyard took. A snapshot that does not exist counts as already deleted; one Switchyard did
   * not take is refused with a `ValidationError` and left alone; one still being created, a `TransientError`.
   */
  deleteSnapshot(id: string): Promise<void>;
  /**
   * Copies a snapshot Switchyard took to another region under the same identifier, with its tags, and returns the
   * copy (usually `creating`). An encrypted snapshot needs `kmsKeyArn`, a KMS key in the target region
   * (`ValidationError` without one); a repeat returns the copy already there. `NotFoundError` for an unknown
   * snapshot. The local service refuses every copy (`ValidationError`): copying to another region needs AWS.
   */
  copySnapshot(id: string, target: { region: string; kmsKeyArn?: string }): Promise<CopiedSnapshot>;
  /**
   * Starts restoring a snapshot Switchyard took into a new scratch database for a restore drill, and returns the
   * target to poll with `drillStatus`. `scratchName` must start with `switchyard-drill-` and be a valid RDS instance
   * identifier of at most 63 characters (see `drillScratchName`); the target is that name on RDS, and the name with
   * `_` for `-` locally. A repeat for the same snapshot returns the same target; a name taken by anything else is a
   * `ConflictError`.
   */
  restoreForDrill(snapshotId: string, scratchName: string): Promise<{ target: string }>;
  /** Where a drill target stands; `NotFoundError` when there is no such target. */
  drillStatus(target: string): Promise<DrillStatus>;
  /**
   * Runs one read-only statement on an available drill target and returns how many rows it gave and the first
   * column of the first row as text (absent when no row or SQL NULL).
   */
  runSmokeQuery(target: string, query: string): Promise<{ rows: number; value?: string }>;
  /**
   * Deletes a drill target without a final snapshot. Refuses (`ValidationError`) anything that is not a drill target
   * this service made; a target already gone counts as deleted.
   */
  deleteDrillTarget(target: string): Promise<void>;
}

/** Where an alert came from: Alertmanager's webhook, a CloudWatch alarm, or one of Switchyard's own failures. */
export type AlertSource = "alertmanager" | "cloudwatch" | "switchyard";
export type IncidentSeverityLevel = "critical" | "error" | "warning" | "info";
export type IncidentStatus = "open" | "acknowledged" | "resolved";

/** One line of an incident's timeline (what `GET /incidents/{id}` shows). */
export interface IncidentTimelineEntry {
  at: string;
  kind:
    | "opened"
    | "slack-posted"
    | "slack-failed"
    | "paged"
    | "page-failed"
    | "emailed"
    | "email-failed"
    | "escalated"
    | "escalation-ended"
    | "acknowledged"
    | "resolved"
    | "freeze-set"
    | "freeze-lifted";
  /** Human-readable; never a secret (routing keys and tokens are named by their secret's name). */
  message: string;
}

/** One incident: one alert fingerprint from the moment it fired until it resolved. */
export interface IncidentRecord {
  id: string;
  /** The alert's fingerprint; also the PagerDuty dedup_key (at most 255 characters). */
  fingerprint: string;
  /** When the alert started firing (ISO 8601): with the fingerprint, what makes a repeat the same incident. */
  startsAt: string;
  alertSource: AlertSource;
  status: IncidentStatus;
  severity: IncidentSeverityLevel;
  /** The service of switchyard.yaml the alert is about, when it names one. */
  service?: string;
  summary: string;
  description?: string;
  runbookUrl?: string;
  /** Where the alert is defined or shown (Prometheus graph, CloudWatch console). */
  sourceUrl?: string;
  labels: Record<string, string>;
  /** The escalation level reached, from 1; it only grows, repeats included. */
  level: number;
  openedAt: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  resolution?: "alert-resolved" | "manual";
  /** The Slack message the thread hangs from, once posted. */
  slack?: { channel: string; ts: string };
  /** Secret names of the PagerDuty routing keys paged so far (acknowledge and resolve go to each). */
  pagedRoutingKeys: string[];
  /** Whether this incident froze its service (and so lifts the freeze when it resolves). */
  froze: boolean;
  timeline: IncidentTimelineEntry[];
  /** Optimistic concurrency: each update must name the version it read. */
  version: number;
}

/** What `IncidentStore.open` records; the rest starts empty. */
export type NewIncident = Omit<
  IncidentRecord,
  "status" | "level" | "version" | "timeline" | "pagedRoutingKeys" | "froze" | "slack"
>;

/**
 * Incidents (DynamoDB in production, SQLite locally). One incident per (fingerprint, startsAt): a repeat of the same
 * firing alert finds the one already open.
 */
export interface IncidentStore {
  /** Records a new open incident, or returns the one with the same fingerprint and startsAt (`created: false`). */
  open(incident: NewIncident): Promise<{ created: boolean; incident: IncidentRecord }>;
  get(id: string): Promise<IncidentRecord | undefined>;
  /** The incident of this fingerprint that is not resolved yet (open or acknowledged), if any. */
  findActive(fingerprint: string): Promise<IncidentRecord | undefined>;
  /** Newest first. */
  list(filter?: { status?: IncidentStatus; limit?: number }): Promise<IncidentRecord[]>;
  /**
   * Applies `changes` and appends `timeline` when the stored version is `expectedVersion`; `ConflictError` otherwise,
   * `NotFoundError` for an unknown id. Returns the updated record (version + 1).
   */
  update(
    id: string,
    expectedVersion: number,
    changes: Partial<
      Pick<
        IncidentRecord,
        | "status"
        | "level"
        | "acknowledgedAt"
        | "acknowledgedBy"
        | "resolvedAt"
        | "resolution"
        | "slack"
        | "pagedRoutingKeys"
        | "froze"
      >
    >,
    timeline?: readonly IncidentTimelineEntry[],
  ): Promise<IncidentRecord>;
  /** Stores (or clears, with null) the task token the incident's workflow waits on; kept apart from the record. */
  setWaitToken(id: string, token: string | null): Promise<void>;
  waitToken(id: string): Promise<string | undefined>;
}

/** A PagerDuty Events API v2 event, as sent (the routing key is added by the pager from its secret). */
export interface PagerEvent {
  event_action: "trigger" | "acknowledge" | "resolve";
  /** The incident's fingerprint, at most 255 characters. */
  dedup_key: string;
  /** Required for trigger. */
  payload?: {
    /** At most 1,024 characters. */
    summary: string;
    source: string;
    severity: IncidentSeverityLevel;
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
  client?: string;
  client_url?: string;
}

/** PagerDuty's answer to an accepted event (202). */
export interface PagerResult {
  status: string;
  dedupKey: string;
  /** `outbox` when no routing key is configured locally and the event went to the outbox instead. */
  delivery: "sent" | "outbox";
}

/**
 * Pages through PagerDuty's Events API v2 (`eventsUrl` from switchyard.yaml). Retries 429 and 5xx with back-off as
 * PagerDuty documents; a 400 is a `ValidationError` with PagerDuty's errors; after the retries a `TransientError`.
 * Locally, without the routing key's secret, events go to the outbox.
 */
export interface Pager {
  send(routingKeySecret: string, event: PagerEvent): Promise<PagerResult>;
}

/** A Slack message: fallback text plus Block Kit blocks. */
export interface ChatMessage {
  channel: string;
  text: string;
  blocks?: readonly Record<string, unknown>[];
  /** Reply in the thread of this message. */
  threadTs?: string;
}

/**
 * Posts to Slack through the Web API (`chat.postMessage`, `chat.update`; `apiUrl` from switchyard.yaml). Retries 429
 * after `Retry-After` and 5xx; Slack's `ok: false` is a `ValidationError` naming its `error` code. Locally, without
 * the token's secret, messages go to the outbox.
 */
export interface ChatNotifier {
  postMessage(message: ChatMessage): Promise<{ channel: string; ts: string; delivery: "sent" | "outbox" }>;
  updateMessage(message: ChatMessage & { ts: string }): Promise<void>;
}

/** An e-mail with a plain-text and an HTML body. */
export interface EmailMessage {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/** Sends e-mail (SES v2 in production; locally, `.eml` files in the outbox). */
export interface Mailer {
  send(message: EmailMessage): Promise<{ messageId: string }>;
}

/**
 * A database login, as the secret of an RDS database stores it (the JSON of Secrets Manager's rotation templates).
 * `password` is a secret: never log it, never put it in an error or an event.
 */
export interface DatabaseCredentials {
  engine: "postgres";
  host: string;
  port: number;
  dbname: string;
  username: string;
  password: string;
  /** For the alternating-users strategy: the secret of the user that may change others' passwords. */
  masterarn?: string;
}

/**
 * What rotation asks of the database (PostgreSQL over `pg`; the embedded PostgreSQL locally). SQL identifiers and
 * literals are always quoted by the adapter, never concatenated from input. Errors never carry a password.
 */
export interface DatabaseAdmin {
  /** True when the credentials log in and run a query; false when authentication fails; throws otherwise. */
  canLogin(credentials: DatabaseCredentials): Promise<boolean>;
  /** Logs in as `admin` and sets `username`'s password (`ALTER ROLE … PASSWORD`). */
  setPassword(admin: DatabaseCredentials, username: string, password: string): Promise<void>;
  /**
   * Logs in as `admin` and makes sure the role `clone` exists with LOGIN, is granted `base` (so it has the same
   * privileges) and has `password`.
   */
  ensureCloneRole(admin: DatabaseCredentials, base: string, clone: string, password: string): Promise<void>;
}

/** An ExternalSecret as External Secrets Operator reports it. */
export interface ExternalSecretStatus {
  namespace: string;
  name: string;
  /** `spec.target.name`: the Kubernetes Secret it writes. */
  targetSecret: string;
  /** `status.refreshTime`: when it last synced. */
  refreshTime?: string;
  /** `status.syncedResourceVersion`. */
  syncedResourceVersion?: string;
  /** The `Ready` condition. */
  ready: boolean;
  message?: string;
}

/** A Deployment's rollout as `kubectl rollout status` reads it. */
export interface DeploymentStatus {
  namespace: string;
  name: string;
  generation: number;
  observedGeneration: number;
  /** `spec.replicas`. */
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  /** `spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]`, when set. */
  restartedAt?: string;
}

/**
 * The workloads that consume secrets (ExternalSecrets, Secrets, Deployments) on the cluster, through the Kubernetes
 * API: EKS in production, the simulated cluster locally.
 */
export interface WorkloadTarget {
  getExternalSecret(namespace: string, name: string): Promise<ExternalSecretStatus>;
  /** Makes External Secrets re-read the provider now: the `force-sync` annotation set to a new value. */
  forceSyncExternalSecret(namespace: string, name: string, value: string): Promise<void>;
  /**
   * A SHA-256 over the Secret's `data` (sorted keys), so a change can be seen without the value ever leaving the
   * adapter; undefined when the Secret does not exist.
   */
  secretDataHash(namespace: string, name: string): Promise<string | undefined>;
  /** `kubectl rollout restart`: sets `kubectl.kubernetes.io/restartedAt` on the pod template to `at`. */
  restartDeployment(namespace: string, name: string, at: string): Promise<void>;
  getDeployment(namespace: string, name: string): Promise<DeploymentStatus>;
}

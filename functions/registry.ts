// The Lambda functions Switchyard ships: one entry per handler, read by the CDK app and the local runtime.

/** Names of the functions; a workflow references one as `${<Pascal>FunctionArn}`. */
export type FunctionName = keyof typeof functions;

export interface FunctionDefinition {
  /** Handler module, relative to the repository root; it exports `handler`. */
  entry: string;
  /** PascalCase id used for CDK construct ids and ASL substitution keys. */
  id: string;
  description: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** Publishes domain events: infra grants `events:PutEvents` on the switchyard bus and sets its name in the environment. */
  publishesEvents?: boolean;
  /** HTTP API routes served by this function (API Gateway HTTP API, payload v2; the local gateway serves the same). */
  http?: readonly HttpRoute[];
}

/** An HTTP API route key, as API Gateway writes it: `POST /promotions`, `GET /promotions/{id}`. */
export interface HttpRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  /**
   * Also served, without IAM, by the approval pages API that e-mailed links point at: a browser cannot sign requests,
   * so the function authenticates these by the signed link token instead.
   */
  pages?: true;
}

export const functions = {
  "resolve-services": {
    entry: "functions/handlers/resolve-services.ts",
    id: "ResolveServices",
    description: "Finds the services in switchyard.yaml that deploy an ECR repository",
    timeoutSeconds: 10,
    memoryMb: 256,
  },
  "decide-promotion": {
    entry: "functions/handlers/decide-promotion.ts",
    id: "DecidePromotion",
    description:
      "Records a promotion and decides, by the service's tag policy, whether the image goes to the environment",
    timeoutSeconds: 15,
    memoryMb: 256,
  },
  "commit-images": {
    entry: "functions/handlers/commit-images.ts",
    id: "CommitImages",
    description: "Commits decided images to the GitOps repository, one branch at a time, coalescing bursts",
    timeoutSeconds: 120,
    memoryMb: 512,
  },
  "watch-sync": {
    entry: "functions/handlers/watch-sync.ts",
    id: "WatchSync",
    description:
      "Asks Argo CD to refresh and reports whether the application is Synced and Healthy at a revision",
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  "finish-promotion": {
    entry: "functions/handlers/finish-promotion.ts",
    id: "FinishPromotion",
    description: "Records a promotion's outcome and publishes Promotion Succeeded or Promotion Failed",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
  },
  "promote-from-github": {
    entry: "functions/handlers/promote-from-github.ts",
    id: "PromoteFromGithub",
    description:
      "Starts image promotions for a published GitHub release or a successful default-branch workflow run",
    timeoutSeconds: 15,
    memoryMb: 256,
  },
  "ingest-github-webhook": {
    entry: "functions/handlers/ingest-github-webhook.ts",
    id: "IngestGithubWebhook",
    description:
      "Verifies GitHub webhook signatures, drops repeated deliveries, and puts the events on the bus",
    timeoutSeconds: 10,
    memoryMb: 256,
    publishesEvents: true,
    http: [{ method: "POST", path: "/webhooks/github" }],
  },
  "start-promotion": {
    entry: "functions/handlers/start-promotion.ts",
    id: "StartPromotion",
    description: "Starts a promotion by hand: POST /promotions",
    timeoutSeconds: 10,
    memoryMb: 256,
    http: [{ method: "POST", path: "/promotions" }],
  },
  "get-promotions": {
    entry: "functions/handlers/get-promotions.ts",
    id: "GetPromotions",
    description: "Reports promotions and their decision reasons: GET /promotions, GET /promotions/{id}",
    timeoutSeconds: 10,
    memoryMb: 256,
    http: [
      { method: "GET", path: "/promotions" },
      { method: "GET", path: "/promotions/{id}" },
    ],
  },
  "promote-next-environment": {
    entry: "functions/handlers/promote-next-environment.ts",
    id: "PromoteNextEnvironment",
    description:
      "Carries a succeeded promotion on to the next environment: production-sync when it is gated, else promote-image",
    timeoutSeconds: 15,
    memoryMb: 256,
  },
  "gate-promotion": {
    entry: "functions/handlers/gate-promotion.ts",
    id: "GatePromotion",
    description: "Holds a gated promotion while its service is frozen, and reads what the gate needs",
    timeoutSeconds: 10,
    memoryMb: 256,
  },
  "snapshot-before-change": {
    entry: "functions/handlers/snapshot-before-change.ts",
    id: "SnapshotBeforeChange",
    description:
      "Takes the pre-change database snapshot of a gated promotion and reports when it is available",
    timeoutSeconds: 30,
    memoryMb: 256,
    publishesEvents: true,
  },
  "request-approval": {
    entry: "functions/handlers/request-approval.ts",
    id: "RequestApproval",
    description:
      "Records an approval request with its task token and e-mails each approver a personal signed link",
    timeoutSeconds: 60,
    memoryMb: 256,
    publishesEvents: true,
  },
  "expire-approval": {
    entry: "functions/handlers/expire-approval.ts",
    id: "ExpireApproval",
    description: "Closes an approval request nobody decided in time and publishes Approval Decided (expired)",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
  },
  "sync-application": {
    entry: "functions/handlers/sync-application.ts",
    id: "SyncApplication",
    description: "Starts an Argo CD sync of a service's application to a GitOps revision",
    timeoutSeconds: 15,
    memoryMb: 256,
  },
  "revert-promotion": {
    entry: "functions/handlers/revert-promotion.ts",
    id: "RevertPromotion",
    description: "Quarantines a digest that failed its health gate and reverts its commit with a new commit",
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  "plan-secret-rollout": {
    entry: "functions/handlers/plan-secret-rollout.ts",
    id: "PlanSecretRollout",
    description:
      "Plans a rotated secret's rollout: its AWSCURRENT/AWSPREVIOUS versions and the consumers switchyard.yaml lists",
    timeoutSeconds: 15,
    memoryMb: 256,
  },
  "sync-external-secret": {
    entry: "functions/handlers/sync-external-secret.ts",
    id: "SyncExternalSecret",
    description:
      "Forces External Secrets to re-sync a consumer's ExternalSecret and reports when its Kubernetes Secret changed",
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  "restart-deployment": {
    entry: "functions/handlers/restart-deployment.ts",
    id: "RestartDeployment",
    description:
      "Rollout-restarts one Deployment after a secret rotation (once per rollout), held while its service is frozen",
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  "watch-rollout": {
    entry: "functions/handlers/watch-rollout.ts",
    id: "WatchRollout",
    description:
      "Reports whether a restarted Deployment is Ready: every replica updated, ready and available",
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  "finish-secret-rollout": {
    entry: "functions/handlers/finish-secret-rollout.ts",
    id: "FinishSecretRollout",
    description: "Publishes Secret Rotated when a secret's rollout succeeded, or Secret Rollout Failed",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
  },
  approvals: {
    entry: "functions/handlers/approvals.ts",
    id: "Approvals",
    description:
      "Approval requests: lists them, renders the approval page, and records decisions from the page, the API and the CLI",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
    http: [
      { method: "GET", path: "/approvals" },
      { method: "GET", path: "/approvals/{id}", pages: true },
      { method: "POST", path: "/approvals/{id}/decision", pages: true },
    ],
  },
  freezes: {
    entry: "functions/handlers/freezes.ts",
    id: "Freezes",
    description:
      "Freezes that hold gated promotions of a service: GET /freezes, PUT and DELETE /freezes/{service}",
    timeoutSeconds: 10,
    memoryMb: 256,
    http: [
      { method: "GET", path: "/freezes" },
      { method: "PUT", path: "/freezes/{service}" },
      { method: "DELETE", path: "/freezes/{service}" },
    ],
  },
  quarantine: {
    entry: "functions/handlers/quarantine.ts",
    id: "Quarantine",
    description:
      "Digests rollbacks took out of automatic promotion: GET /quarantine, DELETE /quarantine/{service}/{digest}",
    timeoutSeconds: 10,
    memoryMb: 256,
    http: [
      { method: "GET", path: "/quarantine" },
      { method: "DELETE", path: "/quarantine/{service}/{digest}" },
    ],
  },
  "rotate-secret": {
    entry: "functions/handlers/rotate-secret.ts",
    id: "RotateSecret",
    description:
      "The Secrets Manager rotation function: createSecret, setSecret, testSecret, finishSecret for PostgreSQL users and API keys",
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  "plan-snapshots": {
    entry: "functions/handlers/plan-snapshots.ts",
    id: "PlanSnapshots",
    description:
      "Picks the databases a snapshot run covers (by tag, or the one asked for) and checks the manual snapshot quota",
    timeoutSeconds: 30,
    memoryMb: 256,
    publishesEvents: true,
  },
  "create-snapshot": {
    entry: "functions/handlers/create-snapshot.ts",
    id: "CreateSnapshot",
    description: "Starts a manual snapshot of one database, named and tagged as Switchyard's",
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  "copy-snapshot": {
    entry: "functions/handlers/copy-snapshot.ts",
    id: "CopySnapshot",
    description: "Copies an available snapshot to the disaster-recovery region (snapshots.copyTo)",
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  "finish-snapshot": {
    entry: "functions/handlers/finish-snapshot.ts",
    id: "FinishSnapshot",
    description: "Publishes Snapshot Created or Snapshot Failed for one database of a snapshot run",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
  },
  "prune-snapshots": {
    entry: "functions/handlers/prune-snapshots.ts",
    id: "PruneSnapshots",
    description:
      "Deletes Switchyard's snapshots past retention, never below the minimum count, and publishes Snapshots Pruned",
    timeoutSeconds: 120,
    memoryMb: 256,
    publishesEvents: true,
  },
  "plan-restore-drills": {
    entry: "functions/handlers/plan-restore-drills.ts",
    id: "PlanRestoreDrills",
    description: "Finds the newest available Switchyard snapshot of each database a restore drill covers",
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  "start-restore-drill": {
    entry: "functions/handlers/start-restore-drill.ts",
    id: "StartRestoreDrill",
    description: "Starts restoring a snapshot into a throwaway drill instance",
    timeoutSeconds: 30,
    memoryMb: 256,
  },
  "run-smoke-query": {
    entry: "functions/handlers/run-smoke-query.ts",
    id: "RunSmokeQuery",
    description: "Runs the configured smoke query on a restored drill instance",
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  "finish-restore-drill": {
    entry: "functions/handlers/finish-restore-drill.ts",
    id: "FinishRestoreDrill",
    description:
      "Publishes Restore Drill Passed or Restore Drill Failed with the result and the time to restore",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
  },
  snapshots: {
    entry: "functions/handlers/snapshots.ts",
    id: "Snapshots",
    description:
      "Database snapshots: GET /snapshots, POST /snapshots (a manual run), POST /snapshots/drills (a restore drill)",
    timeoutSeconds: 15,
    memoryMb: 256,
    http: [
      { method: "GET", path: "/snapshots" },
      { method: "POST", path: "/snapshots" },
      { method: "POST", path: "/snapshots/drills" },
    ],
  },
  "ingest-alertmanager-webhook": {
    entry: "functions/handlers/ingest-alertmanager-webhook.ts",
    id: "IngestAlertmanagerWebhook",
    description:
      "Receives Alertmanager webhooks (v4, bearer token) and publishes one Alert Received per alert fingerprint",
    // A 1 MB group can take about a hundred PutEvents calls.
    timeoutSeconds: 30,
    memoryMb: 256,
    publishesEvents: true,
    http: [{ method: "POST", path: "/webhooks/alertmanager" }],
  },
  "normalize-alarm": {
    entry: "functions/handlers/normalize-alarm.ts",
    id: "NormalizeAlarm",
    description: "Turns a CloudWatch Alarm State Change into an Alert Received (ALARM fires, OK resolves)",
    timeoutSeconds: 10,
    memoryMb: 256,
    publishesEvents: true,
  },
  "normalize-failure": {
    entry: "functions/handlers/normalize-failure.ts",
    id: "NormalizeFailure",
    description:
      "Turns Switchyard's own failures (rollout, restore drill, rollback) into Alert Received, and their later success into its resolution",
    timeoutSeconds: 10,
    memoryMb: 256,
    publishesEvents: true,
  },
  "route-alert": {
    entry: "functions/handlers/route-alert.ts",
    id: "RouteAlert",
    description:
      "Opens an incident for a firing alert (one execution per fingerprint and start) or resolves the open one",
    timeoutSeconds: 15,
    memoryMb: 256,
  },
  "open-incident": {
    entry: "functions/handlers/open-incident.ts",
    id: "OpenIncident",
    description: "Records an incident, freezes its service when severe enough, publishes Incident Opened",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
  },
  "notify-incident": {
    entry: "functions/handlers/notify-incident.ts",
    id: "NotifyIncident",
    description:
      "Notifies one escalation level: Slack (the channel and thread), PagerDuty (trigger) and e-mail, each independently",
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  "await-incident": {
    entry: "functions/handlers/await-incident.ts",
    id: "AwaitIncident",
    description: "Parks an incident's workflow on a task token until it is acknowledged or resolved",
    timeoutSeconds: 10,
    memoryMb: 256,
  },
  "escalate-incident": {
    entry: "functions/handlers/escalate-incident.ts",
    id: "EscalateIncident",
    description: "Moves an unacknowledged incident to the next escalation level, or ends escalation",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
  },
  "close-incident": {
    entry: "functions/handlers/close-incident.ts",
    id: "CloseIncident",
    description:
      "Tells PagerDuty and Slack an incident was acknowledged or resolved; on resolve lifts its freeze and publishes Incident Resolved",
    timeoutSeconds: 60,
    memoryMb: 256,
    publishesEvents: true,
  },
  incidents: {
    entry: "functions/handlers/incidents.ts",
    id: "Incidents",
    description:
      "Incidents: GET /incidents, GET /incidents/{id} (timeline), POST /incidents/{id}/ack (API, CLI and the signed ack link)",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
    http: [
      { method: "GET", path: "/incidents" },
      { method: "GET", path: "/incidents/{id}", pages: true },
      { method: "POST", path: "/incidents/{id}/ack", pages: true },
    ],
  },
  "ingest-pagerduty-webhook": {
    entry: "functions/handlers/ingest-pagerduty-webhook.ts",
    id: "IngestPagerdutyWebhook",
    description:
      "Receives PagerDuty v3 webhooks (signature verified): an acknowledgement in PagerDuty acknowledges the incident",
    timeoutSeconds: 15,
    memoryMb: 256,
    publishesEvents: true,
    http: [{ method: "POST", path: "/webhooks/pagerduty" }],
  },
  "list-environments": {
    entry: "functions/handlers/list-environments.ts",
    id: "ListEnvironments",
    description: "Shows what each environment runs per service: GET /environments",
    timeoutSeconds: 10,
    memoryMb: 256,
    http: [{ method: "GET", path: "/environments" }],
  },
} as const satisfies Record<string, FunctionDefinition>;

/** The ASL substitution key for the function with this id, e.g. `ResolveServicesFunctionArn`. */
export const functionArnKeyForId = (id: string): string => `${id}FunctionArn`;

/** The ASL substitution key for a function's ARN, e.g. `ResolveServicesFunctionArn`. */
export const functionArnKey = (name: FunctionName): string => functionArnKeyForId(functions[name].id);

/** An SQS queue feeding a function (an event source mapping on AWS, the local queue runner locally). */
export interface QueueDefinition {
  /** PascalCase id for CDK construct ids; `${<Id>QueueUrl}` is its ASL substitution key. */
  id: string;
  /** Queue name; FIFO queue names end in `.fifo`. */
  name: string;
  fifo: boolean;
  consumer: FunctionName;
  /** Messages handed to one invocation (SQS allows up to 10 for FIFO queues). */
  batchSize: number;
  /** How long a received message stays invisible; at least the consumer's timeout (AWS recommends 6×). */
  visibilityTimeoutSeconds: number;
  /** Receives before a message goes to the dead-letter queue. */
  maxReceiveCount: number;
}

export const queues = {
  /**
   * GitOps commits, one message group per repository branch: FIFO serialises the writers of a branch, and a
   * batch lets the consumer coalesce a burst of pushes for one service into one commit.
   */
  commits: {
    id: "Commits",
    name: "switchyard-commits.fifo",
    fifo: true,
    consumer: "commit-images",
    batchSize: 10,
    visibilityTimeoutSeconds: 6 * 120,
    maxReceiveCount: 5,
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueName = keyof typeof queues;

/** The ASL substitution key for a queue's URL, e.g. `CommitsQueueUrl`. */
export const queueUrlKey = (name: QueueName): string => `${queues[name].id}QueueUrl`;

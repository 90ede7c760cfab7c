// Argo CD's application controller, simulated: answers refresh requests and sync operations on the stored Applications.

import {
  argoApplicationResource,
  refreshAnnotation,
} from "../../functions/adapters/kubernetes/kubernetes-deploy-target.ts";
import { SimulatedController, type SimulatedControllerOptions } from "./controller.ts";
import type { KubernetesObject, NewObject, ObjectChange, ObjectStore } from "./object-store.ts";
import { objectKey } from "./reconcile-queue.ts";

export type { SimulatorTimers } from "./reconcile-queue.ts";

/** One Application to create at start: Switchyard passes one per service and environment. */
export interface SimulatedApplication {
  namespace: string;
  name: string;
  service: string;
  environment: string;
  /** `spec.syncPolicy.automated`: a refresh that finds the head moved syncs to it without being asked. */
  autoSync: boolean;
  /** `spec.source`; only shown, the simulator reads revisions from `resolveRevision`. */
  source?: { repoURL: string; path: string; targetRevision: string };
}

export interface ArgoSimulatorOptions extends SimulatedControllerOptions {
  /** Where the Applications live (the simulated API server serves the same store). */
  store: ObjectStore;
  applications: readonly SimulatedApplication[];
  /** The current head of the GitOps branch, read on every refresh and for syncs that name no revision. */
  resolveRevision: () => Promise<string>;
  /** How long a sync runs (health Progressing, operation Running) before it ends. 0 still ends on a later tick. */
  syncDelayMs: number;
  /** Whether an application comes up Degraded after syncing to a revision (e.g. by the image it pins there). */
  degraded: (application: SimulatedApplication, revision: string) => boolean | Promise<boolean>;
  /**
   * Whether the application's manifests differ between two revisions. Argo CD calls an application Synced at a new
   * head when the commit did not touch it; the default treats every new head as a change.
   */
  sourceChanged?: (
    application: SimulatedApplication,
    fromRevision: string,
    toRevision: string,
  ) => Promise<boolean>;
  /** Where failures of the simulator itself go (a failed head lookup is reported on the Application instead). */
  onError?: (error: unknown, application: string) => void;
}

/** Argo CD's default `revisionHistoryLimit`. */
export const revisionHistoryLimit = 10;
/** The retry limit Argo CD puts on the operations auto-sync starts. */
const autoSyncRetryLimit = 5;

const serviceLabel = "switchyard.io/service";
const environmentLabel = "switchyard.io/environment";
const inClusterServer = "https://kubernetes.default.svc";

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;

/** The status object of a draft, created when missing, so mutations can write into it. */
const statusOf = (draft: KubernetesObject): Json => {
  const status = asObject(draft.status) ?? {};
  draft.status = status;
  return status;
};

const operationPhase = (object: KubernetesObject): unknown =>
  asObject(asObject(object.status)?.operationState)?.phase;

const refreshRequested = (object: KubernetesObject): boolean =>
  object.metadata.annotations?.[refreshAnnotation] !== undefined;

const removeRefresh = (draft: KubernetesObject): void => {
  const annotations = draft.metadata.annotations;
  if (annotations === undefined) return;
  delete annotations[refreshAnnotation];
  if (Object.keys(annotations).length === 0) delete draft.metadata.annotations;
};

const automatedPolicy = (object: KubernetesObject): Json | undefined =>
  asObject(asObject(asObject(object.spec)?.syncPolicy)?.automated);

/** The revision the last finished sync deployed (`status.history`, newest last). */
const deployedRevision = (object: KubernetesObject): string | undefined => {
  const history = asObject(object.status)?.history;
  const last = Array.isArray(history) ? asObject(history.at(-1)) : undefined;
  return typeof last?.revision === "string" ? last.revision : undefined;
};

/**
 * A stand-in for Argo CD's application controller, in memory. At `start()` it creates the configured
 * Applications, Synced and Healthy at the current head; afterwards it watches the store:
 * - `argocd.argoproj.io/refresh` set: reads the head, compares it with the deployed revision (`status.sync`
 *   becomes Synced/OutOfSync at the head, `reconciledAt` now), removes the annotation; with auto-sync and a
 *   difference it starts a sync to the head, as Argo CD's auto-sync does;
 * - `operation` set (by a client or auto-sync): health Progressing and `operationState.phase` Running, then after
 *   `syncDelayMs` Synced at the revision, Healthy (Degraded for `degraded` services), `operationState` Succeeded with
 *   `syncResult.revision`, a history entry, and `operation` cleared. A refresh asked meanwhile runs afterwards.
 * Nothing is persisted: a restart recreates the Applications from configuration. After `stop()` a sync in flight
 * never ends.
 *
 * @example
 * const simulator = new ArgoSimulator({ store, applications, resolveRevision: () => gitops.head(), syncDelayMs: 2000, degraded: () => false });
 * await simulator.start();
 */
export class ArgoSimulator extends SimulatedController {
  private readonly configured = new Map<string, SimulatedApplication>();

  constructor(private readonly options: ArgoSimulatorOptions) {
    super("simulated Argo CD", options);
    for (const application of options.applications) {
      this.configured.set(objectKey(application.namespace, application.name), application);
    }
  }

  /** Creates the Applications at the current head and starts reacting to changes. */
  async start(): Promise<void> {
    const head = await this.options.resolveRevision();
    const now = this.now();
    for (const application of this.options.applications) {
      this.options.store.create(this.initial(application, head, now));
    }
    this.watch(this.options.store);
  }

  private initial(application: SimulatedApplication, head: string, now: string): NewObject {
    const source = application.source ?? { repoURL: "local://gitops", path: ".", targetRevision: "HEAD" };
    return {
      apiVersion: `${argoApplicationResource.group}/${argoApplicationResource.version}`,
      kind: argoApplicationResource.kind,
      metadata: {
        name: application.name,
        namespace: application.namespace,
        labels: { [serviceLabel]: application.service, [environmentLabel]: application.environment },
      },
      spec: {
        project: "default",
        source,
        destination: { server: inClusterServer, namespace: application.service },
        syncPolicy: application.autoSync ? { automated: { prune: true, selfHeal: true } } : {},
      },
      status: {
        sync: { status: "Synced", revision: head },
        health: { status: "Healthy" },
        reconciledAt: now,
        history: [{ id: 0, revision: head, deployStartedAt: now, deployedAt: now, source }],
      },
    };
  }

  private application(object: KubernetesObject): SimulatedApplication {
    const { namespace, name, labels } = object.metadata;
    return (
      this.configured.get(objectKey(namespace, name)) ?? {
        namespace,
        name,
        service: labels?.[serviceLabel] ?? name,
        environment: labels?.[environmentLabel] ?? "",
        autoSync: automatedPolicy(object) !== undefined,
      }
    );
  }

  protected onChange({ object }: ObjectChange): void {
    if (operationPhase(object) === "Running") return;
    if (asObject(object.operation) !== undefined || refreshRequested(object)) {
      this.queue.enqueue(object.metadata.namespace, object.metadata.name);
    }
  }

  protected async reconcile(namespace: string, name: string): Promise<void> {
    const object = this.options.store.find(namespace, name);
    if (object === undefined || this.stopped || operationPhase(object) === "Running") return;
    if (asObject(object.operation) !== undefined) await this.startOperation(object);
    else if (refreshRequested(object)) await this.refresh(object);
  }

  private async refresh(object: KubernetesObject): Promise<void> {
    const { namespace, name, resourceVersion } = object.metadata;
    const expected = { expectedResourceVersion: resourceVersion };
    let head: string;
    try {
      head = await this.options.resolveRevision();
    } catch (error) {
      this.options.store.update(
        namespace,
        name,
        (draft) => {
          removeRefresh(draft);
          const status = statusOf(draft);
          status.sync = { ...asObject(status.sync), status: "Unknown" };
          status.conditions = [
            {
              type: "ComparisonError",
              message: `Failed to load target state: ${error instanceof Error ? error.message : String(error)}`,
              lastTransitionTime: this.now(),
            },
          ];
          status.reconciledAt = this.now();
        },
        expected,
      );
      return;
    }
    const application = this.application(object);
    const deployed = deployedRevision(object);
    const outOfSync =
      deployed === undefined ||
      (deployed !== head &&
        (await (this.options.sourceChanged?.(application, deployed, head) ?? Promise.resolve(true))));
    const automated = automatedPolicy(object);
    this.options.store.update(
      namespace,
      name,
      (draft) => {
        removeRefresh(draft);
        const status = statusOf(draft);
        status.sync = {
          ...asObject(status.sync),
          status: outOfSync ? "OutOfSync" : "Synced",
          revision: head,
        };
        status.reconciledAt = this.now();
        delete status.conditions;
        if (outOfSync && automated !== undefined) {
          draft.operation = {
            initiatedBy: { automated: true },
            sync: { revision: head, prune: automated.prune === true },
            retry: { limit: autoSyncRetryLimit },
          };
        }
      },
      expected,
    );
  }

  private async startOperation(object: KubernetesObject): Promise<void> {
    const { namespace, name, resourceVersion } = object.metadata;
    const operation = asObject(object.operation) ?? {};
    const requested = asObject(operation.sync)?.revision;
    let revision: string;
    try {
      revision =
        typeof requested === "string" && requested !== "" ? requested : await this.options.resolveRevision();
    } catch (error) {
      this.options.store.update(
        namespace,
        name,
        (draft) => {
          delete draft.operation;
          statusOf(draft).operationState = {
            operation,
            phase: "Error",
            message: `failed to resolve the revision to sync to: ${error instanceof Error ? error.message : String(error)}`,
            startedAt: this.now(),
            finishedAt: this.now(),
          };
        },
        { expectedResourceVersion: resourceVersion },
      );
      return;
    }
    const startedAt = this.now();
    this.options.store.update(
      namespace,
      name,
      (draft) => {
        const status = statusOf(draft);
        status.operationState = {
          operation,
          phase: "Running",
          message: "one or more tasks are running",
          startedAt,
        };
        status.health = { status: "Progressing", message: "Waiting for rollout to finish" };
      },
      { expectedResourceVersion: resourceVersion },
    );
    this.after(objectKey(namespace, name), this.options.syncDelayMs, async () => {
      const degraded = await this.options.degraded(this.application(object), revision);
      if (!this.stopped) this.finishOperation(object, operation, revision, startedAt, degraded);
    });
  }

  private finishOperation(
    object: KubernetesObject,
    operation: Json,
    revision: string,
    startedAt: string,
    degraded: boolean,
  ): void {
    const { namespace, name } = object.metadata;
    const { service } = this.application(object);
    // No precondition: the sync has happened whatever was written meanwhile (a refresh asked now runs next).
    this.options.store.update(namespace, name, (draft) => {
      delete draft.operation;
      const status = statusOf(draft);
      const finishedAt = this.now();
      const source = asObject(draft.spec)?.source;
      status.sync = { ...asObject(status.sync), status: "Synced", revision };
      status.health = degraded
        ? { status: "Degraded", message: `Deployment "${service}" exceeded its progress deadline` }
        : { status: "Healthy" };
      status.reconciledAt = finishedAt;
      status.operationState = {
        operation,
        phase: "Succeeded",
        message: "successfully synced (all tasks run)",
        syncResult: { revision, source },
        startedAt,
        finishedAt,
      };
      const history = Array.isArray(status.history) ? status.history : [];
      const lastId = asObject(history.at(-1))?.id;
      status.history = [
        ...history,
        {
          id: typeof lastId === "number" ? lastId + 1 : 0,
          revision,
          deployStartedAt: startedAt,
          deployedAt: finishedAt,
          initiatedBy: operation.initiatedBy ?? {},
          source,
        },
      ].slice(-revisionHistoryLimit);
    });
  }
}

// The Deployment controller, simulated: a new pod template rolls out one replica per step, or gets stuck if told to.

import { createHash } from "node:crypto";
import { SimulatedController, type SimulatedControllerOptions } from "./controller.ts";
import type { KubernetesObject, NewObject, ObjectChange, ObjectStore } from "./object-store.ts";
import { objectKey } from "./reconcile-queue.ts";
import { apiVersionOf, deploymentResource } from "./served-resources.ts";

/** One Deployment to create at start, fully rolled out. */
export interface SimulatedDeployment {
  namespace: string;
  name: string;
  replicas: number;
  /** The Secret its pods read (`envFrom`): the one whose rotation needs this Deployment restarted. */
  secretName: string;
  /** Default `<name>:local`. */
  image?: string;
}

export interface DeploymentSimulatorOptions extends SimulatedControllerOptions {
  /** Where the Deployments live (the simulated API server serves the same store). */
  store: ObjectStore;
  /** Created, complete and available, by `start()`. */
  deployments: readonly SimulatedDeployment[];
  /** How long a rollout takes in all: `replicas` steps of `rolloutDelayMs / replicas`. 0 still ends on later ticks. */
  rolloutDelayMs: number;
  /**
   * Whether a rollout of this Deployment gets stuck: its first new pod never becomes ready, and after
   * `rolloutDelayMs` (standing in for `progressDeadlineSeconds`) `Progressing` turns False with
   * `ProgressDeadlineExceeded`. Asked once per rollout.
   */
  failing?: (deployment: { namespace: string; name: string }) => boolean;
  /** Where failures of the simulator itself go. */
  onError?: (error: unknown, deployment: string) => void;
}

/** The label the simulated Deployments select their pods by. */
export const appLabel = "app.kubernetes.io/name";

/** The Deployments' own strategy, and what the simulation does: replace one pod at a time, never run extra ones. */
const rollingUpdate = { maxSurge: 0, maxUnavailable: 1 };
const maxUnavailable = rollingUpdate.maxUnavailable;
/** The API server's default; only shown, the simulated deadline is `rolloutDelayMs`. */
const progressDeadlineSeconds = 600;

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;

/** The pod template as a string: two templates roll out differently exactly when these differ. */
const templateOf = (object: KubernetesObject): string =>
  JSON.stringify(asObject(object.spec)?.template ?? {});

/** `<deployment>-<pod-template-hash>`, the ReplicaSet Kubernetes would create for the template. */
const replicaSetName = (name: string, template: string): string =>
  `${name}-${createHash("sha256").update(template).digest("hex").slice(0, 10)}`;

interface Condition {
  type: "Available" | "Progressing";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/** Where a rollout stands: how many of the new pods are ready, and whether it has given up. */
interface RolloutState {
  replicas: number;
  readyNew: number;
  replicaSet: string;
  stuck?: boolean;
}

const progressing = ({ replicas, readyNew, replicaSet, stuck }: RolloutState): Condition => {
  if (stuck === true) {
    return {
      type: "Progressing",
      status: "False",
      reason: "ProgressDeadlineExceeded",
      message: `ReplicaSet "${replicaSet}" has timed out progressing.`,
    };
  }
  return readyNew >= replicas
    ? {
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetAvailable",
        message: `ReplicaSet "${replicaSet}" has successfully progressed.`,
      }
    : {
        type: "Progressing",
        status: "True",
        reason: "ReplicaSetUpdated",
        message: `ReplicaSet "${replicaSet}" is progressing.`,
      };
};

const countFields = [
  "replicas",
  "updatedReplicas",
  "readyReplicas",
  "availableReplicas",
  "unavailableReplicas",
] as const;

/**
 * The counts of a rollout with maxSurge 0 and maxUnavailable 1: one old pod at a time is replaced by a new one,
 * which is counted as updated at once and as ready and available once it is up. Zero counts are left out, as the
 * API leaves them out.
 */
const rolloutCounts = ({ replicas, readyNew }: RolloutState): Json => {
  const done = readyNew >= replicas;
  const counts = {
    replicas,
    updatedReplicas: done ? replicas : readyNew + 1,
    readyReplicas: done ? replicas : replicas - 1,
    availableReplicas: done ? replicas : replicas - 1,
    unavailableReplicas: done ? 0 : 1,
  };
  return Object.fromEntries(Object.entries(counts).filter(([, count]) => count > 0));
};

/**
 * A stand-in for Kubernetes' Deployment controller, in memory. `start()` creates the configured Deployments (pods
 * reading their Secret through `envFrom`) complete and available; afterwards, when a Deployment's generation moves
 * past `status.observedGeneration`:
 * - a new pod template (e.g. `kubectl rollout restart`'s `restartedAt` annotation) starts a rollout:
 *   `observedGeneration` follows at once, `updatedReplicas` climbs to `spec.replicas` one pod per step of
 *   `rolloutDelayMs / replicas`, `readyReplicas`/`availableReplicas` one step behind (replicas − 1 while a pod is
 *   replaced), `Progressing` ends NewReplicaSetAvailable; a new template during a rollout starts over;
 * - for a `failing` Deployment the first new pod never becomes ready: the counts stay there and after
 *   `rolloutDelayMs` `Progressing` is False, ProgressDeadlineExceeded;
 * - any other spec change (replicas) is applied at once; a paused Deployment only records the generation.
 * After `stop()` a rollout in progress stays where it is.
 *
 * @example
 * const controller = new DeploymentSimulator({ store, deployments, rolloutDelayMs: 3000 });
 * controller.start();
 */
export class DeploymentSimulator extends SimulatedController {
  /** The template each Deployment last rolled out. */
  private readonly templates = new Map<string, string>();

  constructor(private readonly options: DeploymentSimulatorOptions) {
    super("simulated Deployment controller", options);
  }

  /** Creates the configured Deployments, rolled out, and starts reacting to changes. */
  start(): void {
    for (const deployment of this.options.deployments) {
      const created = this.options.store.create(this.initial(deployment));
      this.templates.set(objectKey(deployment.namespace, deployment.name), templateOf(created));
    }
    this.watch(this.options.store);
  }

  private initial(deployment: SimulatedDeployment): NewObject {
    const { namespace, name, replicas, secretName } = deployment;
    const labels = { [appLabel]: name };
    const template = {
      metadata: { labels },
      spec: {
        containers: [
          {
            name,
            image: deployment.image ?? `${name}:local`,
            envFrom: [{ secretRef: { name: secretName } }],
          },
        ],
      },
    };
    const now = this.now();
    const state = {
      replicas,
      readyNew: replicas,
      replicaSet: replicaSetName(name, JSON.stringify(template)),
    };
    return {
      apiVersion: apiVersionOf(deploymentResource),
      kind: deploymentResource.kind,
      metadata: { name, namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        strategy: { type: "RollingUpdate", rollingUpdate },
        progressDeadlineSeconds,
        template,
      },
      status: {
        observedGeneration: 1,
        ...rolloutCounts(state),
        conditions: [this.availability(state), progressing(state)].map((condition) => ({
          ...condition,
          lastUpdateTime: now,
          lastTransitionTime: now,
        })),
      },
    };
  }

  protected onChange({ object }: ObjectChange): void {
    // Its own status writes carry the generation they observed, so they never ask for another pass.
    if (asObject(object.status)?.observedGeneration === object.metadata.generation) return;
    this.queue.enqueue(object.metadata.namespace, object.metadata.name);
  }

  protected reconcile(namespace: string, name: string): void {
    const object = this.options.store.find(namespace, name);
    if (object === undefined || this.stopped) return;
    const { generation } = object.metadata;
    if (asObject(object.status)?.observedGeneration === generation) return;
    const key = objectKey(namespace, name);
    const spec = asObject(object.spec) ?? {};
    const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
    const template = templateOf(object);
    const replicaSet = replicaSetName(name, template);
    const rolling = this.hasTimer(key);
    if (spec.paused === true) {
      // A rollout cut short by the pause starts again on resume, as the new ReplicaSet is still short of pods.
      if (rolling) this.templates.delete(key);
      this.cancel(key);
      this.writeStatus(namespace, name, generation, (status) => {
        status.observedGeneration = generation;
        this.setCondition(status, {
          type: "Progressing",
          status: "Unknown",
          reason: "DeploymentPaused",
          message: "Deployment is paused",
        });
      });
      return;
    }
    if (this.templates.get(key) === template && !rolling) {
      this.show(namespace, name, generation, { replicas, readyNew: replicas, replicaSet });
      return;
    }
    this.templates.set(key, template);
    this.rollOut(namespace, name, generation, { replicas, readyNew: 0, replicaSet });
  }

  private rollOut(namespace: string, name: string, generation: number, start: RolloutState): void {
    const key = objectKey(namespace, name);
    this.cancel(key);
    const failing = this.options.failing?.({ namespace, name }) === true;
    this.show(namespace, name, generation, start);
    if (start.replicas === 0) return;
    if (failing) {
      this.after(key, this.options.rolloutDelayMs, () =>
        this.show(namespace, name, generation, { ...start, stuck: true }),
      );
      return;
    }
    const stepMs = this.options.rolloutDelayMs / start.replicas;
    const step = (readyNew: number): void => {
      this.show(namespace, name, generation, { ...start, readyNew });
      if (readyNew < start.replicas) this.after(key, stepMs, () => step(readyNew + 1));
    };
    this.after(key, stepMs, () => step(1));
  }

  private show(namespace: string, name: string, generation: number, state: RolloutState): void {
    this.writeStatus(namespace, name, generation, (status) => {
      for (const field of countFields) delete status[field];
      Object.assign(status, { observedGeneration: generation, ...rolloutCounts(state) });
      this.setCondition(status, this.availability(state));
      this.setCondition(status, progressing(state));
    });
  }

  private availability(state: RolloutState): Condition {
    const available = Number(rolloutCounts(state).availableReplicas ?? 0);
    return available >= state.replicas - maxUnavailable
      ? {
          type: "Available",
          status: "True",
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
        }
      : {
          type: "Available",
          status: "False",
          reason: "MinimumReplicasUnavailable",
          message: "Deployment does not have minimum availability.",
        };
  }

  /** Replaces one condition; `lastTransitionTime` moves only when its status does, as the controller keeps it. */
  private setCondition(status: Json, condition: Condition): void {
    const now = this.now();
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).flatMap(
      (c: unknown): Json[] => {
        const condition = asObject(c);
        return condition === undefined ? [] : [condition];
      },
    );
    const index = conditions.findIndex((c) => c.type === condition.type);
    const previous = conditions[index];
    const next = {
      ...condition,
      lastUpdateTime: now,
      lastTransitionTime:
        previous?.status === condition.status && typeof previous.lastTransitionTime === "string"
          ? previous.lastTransitionTime
          : now,
    };
    if (index >= 0) conditions[index] = next;
    else conditions.push(next);
    status.conditions = conditions;
  }

  /** Writes status only while the Deployment is still at `generation`: a newer one has its own rollout. */
  private writeStatus(
    namespace: string,
    name: string,
    generation: number,
    mutate: (status: Json) => void,
  ): void {
    const current = this.options.store.find(namespace, name);
    if (current === undefined || current.metadata.generation !== generation) return;
    this.options.store.update(namespace, name, (draft) => {
      const status = asObject(draft.status) ?? {};
      draft.status = status;
      mutate(status);
    });
  }
}

// External Secrets Operator, simulated: ExternalSecrets read their provider and write their target Secrets.

import { createHash } from "node:crypto";
import { externalSecretResource } from "../../functions/adapters/kubernetes/kubernetes-workload-target.ts";
import { SimulatedController, type SimulatedControllerOptions } from "./controller.ts";
import type { KubernetesObject, NewObject, ObjectChange, ObjectStore } from "./object-store.ts";
import { objectKey } from "./reconcile-queue.ts";

/** One entry of `spec.data`: a key of the target Secret and the remote secret (or JSON property of it) it holds. */
export interface ExternalSecretDataEntry {
  secretKey: string;
  remoteRef: { key: string; property?: string; version?: string };
}

/** One ExternalSecret to create at start. */
export interface SimulatedExternalSecret {
  namespace: string;
  name: string;
  /** `spec.target.name`: the Secret it writes (created by the simulator, owned by the ExternalSecret). */
  targetSecret: string;
  data: readonly ExternalSecretDataEntry[];
  /** `spec.secretStoreRef.name`. Default `defaultSecretStore`; only shown, every read goes to `provider`. */
  secretStore?: string;
  /** `spec.refreshInterval`, a Go duration. Default ESO's "1h"; "0s" syncs only when the ExternalSecret changes. */
  refreshInterval?: string;
}

/**
 * Reads one remote secret's text, as the SecretStore's provider would (locally: the AWSCURRENT value in the local
 * secret store). Its errors are reported by name only: their messages never reach a status or a log.
 */
export type SecretProvider = (remoteRef: { key: string; version?: string }) => Promise<string>;

export interface ExternalSecretsSimulatorOptions extends SimulatedControllerOptions {
  /** Where the ExternalSecrets live (the simulated API server serves the same stores). */
  externalSecrets: ObjectStore;
  secrets: ObjectStore;
  /** Created, and synced once, by `start()`. */
  initial: readonly SimulatedExternalSecret[];
  provider: SecretProvider;
  /** How long after a change the sync happens. Default 0: on a later tick. */
  syncDelayMs?: number;
  /** Where failures of the simulator itself go (provider failures are reported on the ExternalSecret instead). */
  onError?: (error: unknown, externalSecret: string) => void;
}

/** The SecretStore the simulated ExternalSecrets name. */
export const defaultSecretStore = "aws-secrets-manager";
/** ESO's default `spec.refreshInterval`. */
export const defaultRefreshInterval = "1h";

const readyType = "Ready";
const syncedReason = "SecretSynced";
const syncedMessage = "Secret was synced";
const syncFailedReason = "SecretSyncedError";
const providerFailure = "could not get secret data from provider";

const durationUnitsMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const durationPart = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/**
 * A Go duration (`time.ParseDuration`: "1h0m0s", "90s", "0") in milliseconds; undefined when it is not one.
 *
 * @example
 * goDurationMs("1h30m") // 5_400_000
 */
export const goDurationMs = (value: string): number | undefined => {
  if (value === "0") return 0;
  if (value === "") return undefined;
  let totalMs = 0;
  for (let index = 0; index < value.length; index = durationPart.lastIndex) {
    durationPart.lastIndex = index;
    const match = durationPart.exec(value);
    const unitMs = match?.[2] === undefined ? undefined : durationUnitsMs[match[2]];
    if (match === null || unitMs === undefined) return undefined;
    totalMs += Number(match[1]) * unitMs;
  }
  return totalMs;
};

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;

const sortedEntries = (map: Record<string, string> | undefined): [string, string][] =>
  Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * ESO's `syncedResourceVersion`: the generation and a hash of labels and annotations, so that a change to the spec,
 * a label or an annotation (`force-sync`) each make the operator sync again.
 *
 * @example
 * externalSecretVersion(object) // "1-" and 32 hex digits; "2-…" after a spec change, other digits after `force-sync`
 */
export const externalSecretVersion = (object: KubernetesObject): string => {
  const { generation, labels, annotations } = object.metadata;
  const meta = JSON.stringify([sortedEntries(labels), sortedEntries(annotations)]);
  return `${generation}-${createHash("sha256").update(meta).digest("hex").slice(0, 32)}`;
};

/** A sync that cannot complete; the message is safe to show: it names keys, never values. */
class SyncFailure extends Error {}

/** A provider's error, by name only: its message might quote what it read. */
const errorName = (error: unknown): string => (error instanceof Error ? error.name : "unknown error");

/** ESO reads `property` as a path into the JSON secret; a property with dots in its name is tried whole first. */
const propertyOf = (text: string, key: string, property: string): string => {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: never pass it on.
    throw new SyncFailure(`key "${key}" is not JSON, so it has no property "${property}"`);
  }
  const whole = asObject(document);
  const value =
    whole !== undefined && Object.hasOwn(whole, property)
      ? whole[property]
      : property.split(".").reduce<unknown>((node, part) => {
          const map = asObject(node);
          return map !== undefined && Object.hasOwn(map, part) ? map[part] : undefined;
        }, document);
  if (value === undefined || value === null) {
    throw new SyncFailure(`key "${key}" has no property "${property}"`);
  }
  return typeof value === "string" ? value : JSON.stringify(value);
};

/** What the simulator reads of an ExternalSecret; the API server validated its shape. */
const specOf = (object: KubernetesObject) => {
  const spec = asObject(object.spec) ?? {};
  const target = asObject(spec.target)?.name;
  const interval = typeof spec.refreshInterval === "string" ? goDurationMs(spec.refreshInterval) : undefined;
  return {
    targetSecret: typeof target === "string" && target !== "" ? target : object.metadata.name,
    data: Array.isArray(spec.data) ? (spec.data as ExternalSecretDataEntry[]) : [],
    refreshIntervalMs: interval ?? (goDurationMs(defaultRefreshInterval) as number),
  };
};

const sameData = (a: unknown, b: Record<string, string>): boolean => {
  const existing = asObject(a) ?? {};
  const keys = Object.keys(b);
  return Object.keys(existing).length === keys.length && keys.every((key) => existing[key] === b[key]);
};

/**
 * A stand-in for External Secrets Operator's controller, in memory. `start()` creates the configured
 * ExternalSecrets and syncs each once; afterwards it watches them. Whenever an ExternalSecret's generation, labels or
 * annotations change (the `force-sync` annotation, a new spec) — and every `spec.refreshInterval` — it reads each
 * `spec.data[].remoteRef` from `provider` (the `property` of a JSON secret), writes the target Secret's `data`
 * (base64; the Secret is created when missing and owned by the ExternalSecret), and sets `status.refreshTime`,
 * `status.syncedResourceVersion` and the `Ready` condition. A provider failure leaves the Secret as it was and
 * sets `Ready` False with a message that names keys, never values. `dataFrom` and templates are not simulated.
 * After `stop()` a sync waiting for its provider writes nothing when it returns.
 *
 * @example
 * const eso = new ExternalSecretsSimulator({ externalSecrets, secrets, initial, provider: async ({ key }) => (await store.getSecretValue(key)).secretString });
 * await eso.start();
 */
export class ExternalSecretsSimulator extends SimulatedController {
  /** The version each ExternalSecret was last seen at: a change of version is what asks for a sync. */
  private readonly seenVersions = new Map<string, string>();

  constructor(private readonly options: ExternalSecretsSimulatorOptions) {
    super("simulated External Secrets", options);
  }

  /** Creates the configured ExternalSecrets, syncs each once (so their Secrets exist), then watches for changes. */
  async start(): Promise<void> {
    const created = this.options.initial.map((externalSecret) =>
      this.options.externalSecrets.create(this.initial(externalSecret)),
    );
    for (const object of created) {
      const { namespace, name } = object.metadata;
      this.seenVersions.set(objectKey(namespace, name), externalSecretVersion(object));
      await this.reconcile(namespace, name);
    }
    this.watch(this.options.externalSecrets);
  }

  private initial(externalSecret: SimulatedExternalSecret): NewObject {
    return {
      apiVersion: `${externalSecretResource.group}/${externalSecretResource.version}`,
      kind: externalSecretResource.kind,
      metadata: { name: externalSecret.name, namespace: externalSecret.namespace },
      spec: {
        refreshInterval: externalSecret.refreshInterval ?? defaultRefreshInterval,
        secretStoreRef: { kind: "SecretStore", name: externalSecret.secretStore ?? defaultSecretStore },
        target: { name: externalSecret.targetSecret, creationPolicy: "Owner" },
        data: structuredClone(externalSecret.data),
      },
    };
  }

  protected onChange({ object }: ObjectChange): void {
    const { namespace, name } = object.metadata;
    const key = objectKey(namespace, name);
    const version = externalSecretVersion(object);
    // Its own status writes leave the version as it was, so they never ask for another sync.
    if (this.seenVersions.get(key) === version) return;
    this.seenVersions.set(key, version);
    this.queue.enqueue(namespace, name, this.options.syncDelayMs ?? 0);
  }

  protected async reconcile(namespace: string, name: string): Promise<void> {
    const object = this.options.externalSecrets.find(namespace, name);
    if (object === undefined || this.stopped) return;
    const version = externalSecretVersion(object);
    const spec = specOf(object);
    let data: Record<string, string>;
    try {
      data = await this.read(spec.data);
    } catch (error) {
      if (this.stopped) return;
      const detail = error instanceof SyncFailure ? error.message : errorName(error);
      this.writeStatus(namespace, name, version, { ready: false, message: `${providerFailure}: ${detail}` });
      this.scheduleRefresh(namespace, name, spec.refreshIntervalMs);
      return;
    }
    if (this.stopped) return;
    this.writeSecret(object, spec.targetSecret, data);
    this.writeStatus(namespace, name, version, { ready: true, targetSecret: spec.targetSecret });
    this.scheduleRefresh(namespace, name, spec.refreshIntervalMs);
  }

  /** Every entry's value, base64 as a Secret's `data` holds it. */
  private async read(entries: readonly ExternalSecretDataEntry[]): Promise<Record<string, string>> {
    const data: Record<string, string> = {};
    for (const { secretKey, remoteRef } of entries) {
      let text: string;
      try {
        text = await this.options.provider({
          key: remoteRef.key,
          ...(remoteRef.version !== undefined && { version: remoteRef.version }),
        });
      } catch (error) {
        throw new SyncFailure(`key "${remoteRef.key}": ${errorName(error)}`);
      }
      const value =
        remoteRef.property === undefined ? text : propertyOf(text, remoteRef.key, remoteRef.property);
      data[secretKey] = Buffer.from(value, "utf8").toString("base64");
    }
    return data;
  }

  private writeSecret(
    externalSecret: KubernetesObject,
    targetSecret: string,
    data: Record<string, string>,
  ): void {
    const { namespace, name, uid } = externalSecret.metadata;
    const owner = {
      apiVersion: externalSecret.apiVersion,
      kind: externalSecret.kind,
      name,
      uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    const existing = this.options.secrets.find(namespace, targetSecret);
    if (existing === undefined) {
      this.options.secrets.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: targetSecret, namespace, ownerReferences: [owner] },
        type: "Opaque",
        data,
      });
      return;
    }
    const owned = JSON.stringify(existing.metadata.ownerReferences) === JSON.stringify([owner]);
    // As the API server treats an update that changes nothing: no write, no new resourceVersion.
    if (owned && sameData(existing.data, data)) return;
    this.options.secrets.update(namespace, targetSecret, (draft) => {
      draft.data = data;
      draft.metadata.ownerReferences = [owner];
    });
  }

  private writeStatus(
    namespace: string,
    name: string,
    version: string,
    outcome: { ready: true; targetSecret: string } | { ready: false; message: string },
  ): void {
    const current = this.options.externalSecrets.find(namespace, name);
    // Changed since it was read: the change has queued a pass of its own, whose status is the one to show.
    if (current === undefined || externalSecretVersion(current) !== version) return;
    const now = this.now();
    this.options.externalSecrets.update(
      namespace,
      name,
      (draft) => {
        const status = asObject(draft.status) ?? {};
        draft.status = status;
        const previous = (Array.isArray(status.conditions) ? status.conditions : [])
          .map(asObject)
          .find((condition) => condition?.type === readyType);
        const conditionStatus = outcome.ready ? "True" : "False";
        status.conditions = [
          {
            type: readyType,
            status: conditionStatus,
            reason: outcome.ready ? syncedReason : syncFailedReason,
            message: outcome.ready ? syncedMessage : outcome.message,
            lastTransitionTime:
              previous?.status === conditionStatus && typeof previous.lastTransitionTime === "string"
                ? previous.lastTransitionTime
                : now,
          },
        ];
        if (outcome.ready) {
          status.refreshTime = now;
          status.syncedResourceVersion = version;
          status.binding = { name: outcome.targetSecret };
        }
      },
      { expectedResourceVersion: current.metadata.resourceVersion },
    );
  }

  private scheduleRefresh(namespace: string, name: string, intervalMs: number): void {
    const key = objectKey(namespace, name);
    this.cancel(key);
    if (intervalMs <= 0 || this.stopped) return;
    this.after(key, intervalMs, () => this.queue.enqueue(namespace, name));
  }
}

// The simulated cluster's etcd: objects of one resource type in memory, with resourceVersions and change events.

import { randomUUID } from "node:crypto";
import type { Clock } from "../../functions/core/ports.ts";
import { type ResourceName, type StatusCause, statusErrors } from "./kubernetes-status.ts";

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** An object as the API server stores and returns it. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** What a creator supplies; the store fills in uid, resourceVersion, generation and creationTimestamp. */
export interface NewObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    /** Anything else a creator may set, e.g. `ownerReferences`. */
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface ObjectChange {
  type: "ADDED" | "MODIFIED";
  object: KubernetesObject;
}

/** The cluster-wide counter behind every resourceVersion, shared by all stores as etcd's revision is. */
export interface ResourceVersions {
  next(): string;
  current(): string;
}

/**
 * A fresh counter; the first object written gets resourceVersion "1".
 *
 * @example
 * const revisions = createResourceVersions(); revisions.next() // "1"
 */
export const createResourceVersions = (): ResourceVersions => {
  let revision = 0;
  return {
    next: () => String(++revision),
    current: () => String(revision),
  };
};

/**
 * `metav1.Time` on the wire: RFC 3339 in UTC with whole seconds.
 *
 * @example
 * kubernetesTime(new Date("2024-05-01T12:00:00.750Z")) // "2024-05-01T12:00:00Z"
 */
export const kubernetesTime = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

const systemClock: Clock = { now: () => new Date() };

export interface ObjectStoreOptions {
  resource: ResourceName;
  /** The schema checks the API server would run (the CRD's openAPI validation); each cause becomes a 422. */
  validate?: (object: KubernetesObject) => StatusCause[];
  revisions?: ResourceVersions;
  clock?: Clock;
  /**
   * The top-level fields whose change is a new generation. Default: everything but metadata, as for a custom
   * resource without a status subresource; `["spec"]` for one with it (Deployments, ExternalSecrets).
   */
  generationFields?: readonly string[];
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** Everything but metadata: a change there is a new generation, as for custom resources without a status subresource. */
const withoutMetadata = ({ metadata: _metadata, ...rest }: KubernetesObject): string => JSON.stringify(rest);

const onlyFields =
  (fields: readonly string[]) =>
  (object: KubernetesObject): string =>
    JSON.stringify(fields.map((field) => object[field]));

/**
 * Objects of one resource type, kept in memory. Every write gets the next cluster-wide resourceVersion and is
 * announced to subscribers synchronously; readers always get copies.
 *
 * @example
 * const store = new ObjectStore({ resource: { group: "argoproj.io", plural: "applications", kind: "Application" } });
 * store.subscribe(({ object }) => console.log(object.metadata.resourceVersion));
 */
export class ObjectStore {
  readonly resource: ResourceName;
  private readonly objects = new Map<string, KubernetesObject>();
  private readonly listeners = new Set<(change: ObjectChange) => void>();
  private readonly revisions: ResourceVersions;
  private readonly clock: Clock;
  private readonly validate: (object: KubernetesObject) => StatusCause[];
  private readonly generationInput: (object: KubernetesObject) => string;

  constructor(options: ObjectStoreOptions) {
    this.resource = options.resource;
    this.revisions = options.revisions ?? createResourceVersions();
    this.clock = options.clock ?? systemClock;
    this.validate = options.validate ?? (() => []);
    this.generationInput =
      options.generationFields === undefined ? withoutMetadata : onlyFields(options.generationFields);
  }

  create(object: NewObject): KubernetesObject {
    const { namespace, name } = object.metadata;
    if (this.objects.has(key(namespace, name))) throw statusErrors.alreadyExists(this.resource, name);
    const created: KubernetesObject = {
      ...structuredClone(object),
      metadata: {
        ...structuredClone(object.metadata),
        uid: randomUUID(),
        resourceVersion: "",
        generation: 1,
        creationTimestamp: kubernetesTime(this.clock.now()),
      },
    };
    this.check(created);
    created.metadata.resourceVersion = this.revisions.next();
    this.objects.set(key(namespace, name), created);
    this.emit({ type: "ADDED", object: created });
    return structuredClone(created);
  }

  /** A copy of the object, or undefined. */
  find(namespace: string, name: string): KubernetesObject | undefined {
    const found = this.objects.get(key(namespace, name));
    return found === undefined ? undefined : structuredClone(found);
  }

  /** A copy of the object; a 404 `KubernetesApiError` when there is none. */
  get(namespace: string, name: string): KubernetesObject {
    const found = this.find(namespace, name);
    if (found === undefined) throw statusErrors.notFound(this.resource, name);
    return found;
  }

  /** Copies of the objects in `namespace` (all namespaces when omitted), by namespace then name. */
  list(namespace?: string): { items: KubernetesObject[]; resourceVersion: string } {
    const items = [...this.objects.values()]
      .filter((object) => namespace === undefined || object.metadata.namespace === namespace)
      .sort((a, b) =>
        key(a.metadata.namespace, a.metadata.name).localeCompare(key(b.metadata.namespace, b.metadata.name)),
      )
      .map((object) => structuredClone(object));
    return { items, resourceVersion: this.revisions.current() };
  }

  /**
   * Stores `next` in place of the object, as an update or the result of a patch would. A `metadata.resourceVersion`
   * on `next` is a precondition (409 when stale); identity fields cannot change (422); the schema is checked (422).
   */
  replace(namespace: string, name: string, next: KubernetesObject): KubernetesObject {
    const current = this.objects.get(key(namespace, name));
    if (current === undefined) throw statusErrors.notFound(this.resource, name);
    const requested = next.metadata?.resourceVersion;
    if (requested !== undefined && requested !== "" && requested !== current.metadata.resourceVersion) {
      throw statusErrors.conflict(this.resource, name);
    }
    const immutable: StatusCause[] = (["name", "namespace", "uid", "creationTimestamp"] as const)
      .filter(
        (field) => next.metadata?.[field] !== undefined && next.metadata[field] !== current.metadata[field],
      )
      .map((field) => ({
        reason: "FieldValueInvalid",
        field: `metadata.${field}`,
        message: "field is immutable",
      }));
    if (immutable.length > 0) throw statusErrors.invalid(this.resource, name, immutable);
    const stored: KubernetesObject = {
      ...structuredClone(next),
      metadata: {
        ...structuredClone(next.metadata),
        name: current.metadata.name,
        namespace: current.metadata.namespace,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        generation: current.metadata.generation,
        resourceVersion: current.metadata.resourceVersion,
      },
    };
    this.check(stored);
    if (this.generationInput(stored) !== this.generationInput(current)) stored.metadata.generation += 1;
    stored.metadata.resourceVersion = this.revisions.next();
    this.objects.set(key(namespace, name), stored);
    this.emit({ type: "MODIFIED", object: stored });
    return structuredClone(stored);
  }

  /**
   * Read-modify-write for controllers: `mutate` edits a copy in place. With `expectedResourceVersion`, a 409
   * when someone wrote in between (the caller re-reads and tries again).
   */
  update(
    namespace: string,
    name: string,
    mutate: (draft: KubernetesObject) => void,
    options: { expectedResourceVersion?: string } = {},
  ): KubernetesObject {
    const draft = this.get(namespace, name);
    if (
      options.expectedResourceVersion !== undefined &&
      options.expectedResourceVersion !== draft.metadata.resourceVersion
    ) {
      throw statusErrors.conflict(this.resource, name);
    }
    mutate(draft);
    return this.replace(namespace, name, draft);
  }

  /** Calls `listener` after every write, with a copy of the stored object. Returns the unsubscribe function. */
  subscribe(listener: (change: ObjectChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private check(object: KubernetesObject): void {
    const causes = this.validate(object);
    if (causes.length > 0) throw statusErrors.invalid(this.resource, object.metadata.name, causes);
  }

  private emit(change: ObjectChange): void {
    for (const listener of this.listeners)
      listener({ type: change.type, object: structuredClone(change.object) });
  }
}
